//go:build mage

// The Unikraft EuroSys'21 artifact: regenerate, measure and verify the paper's figures 8,
// 10, 14 and 22. Run `go tool mage -l` for the targets and `go tool mage -h <target>` for
// one target's settings. Settings are environment variables; `-v` shows debug logs.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"
	"github.com/sirupsen/logrus"
	"golang.org/x/term"

	"github.com/unikraft-eurosys21/artifact/experiments"
	"github.com/unikraft-eurosys21/artifact/internal/boottime"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/host"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
)

// Aliases run a namespace's main target under a short name. mage -l does not list them:
// `mage containers` = containers:all.
var Aliases = map[string]interface{}{
	"containers": Containers.All,
}

func init() {
	logrus.SetOutput(os.Stderr)
	logrus.SetLevel(logrus.InfoLevel)
	if mg.Verbose() {
		logrus.SetLevel(logrus.DebugLevel)
	}
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		logrus.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, DisableColors: true})
	}
}

// Paper regenerates all four figures from the paper's recorded data (embedded in this
// bundle; no KVM, Docker or root needed) into plots/: fig_08_unikraft-image-size,
// fig_10_unikraft-boot, fig_14_unikraft-nginx-alloc-boot and fig_22_compare-vfs, each as
// .svg and .html. Running it twice changes no byte. PLOTS_DIR overrides the output folder.
func Paper(ctx context.Context) error {
	s, err := settings()
	if err != nil {
		return err
	}
	s.From = "paper"
	return experiments.Plot(ctx, s, experiments.All...)
}

// Check reports whether this host is set up for measurements as the paper prescribes:
// KVM access, isolated CPUs, nohz_full, SMT, CPU frequency (driver, governor, limits,
// turbo), C-states, IOMMU, IPv6, irqbalance and IRQ affinity, transparent hugepages,
// watchdogs, clock source, invariant TSC and NUMA balancing. It prints a one-line host
// fingerprint, one row per setting (expected, found, ok/warn/fail/unknown, hint), and the
// kernel command line and runtime commands that would fix the rest; they are printed, never
// run, and nothing on the host is changed. It fails when KVM is unusable; with STRICT=1 it
// also fails on any warning. Unknown rows (a knob this kernel does not expose) never fail.
func Check(ctx context.Context) error {
	s, err := settings()
	if err != nil {
		return err
	}
	fmt.Println("host:", host.Describe(ctx))
	r := host.Check()
	if err := r.WriteTable(os.Stdout); err != nil {
		return err
	}
	return r.Err(s.Strict)
}

// Boottime holds checks of the boot-time instrument itself.
type Boottime mg.Namespace

// Selftest boots the bundled test guest REPS times (26) on QEMU microvm under ACCEL (kvm)
// and prints per-phase boot times per observer (OBSERVERS: "ftrace,debugcon" as root under
// KVM, else "debugcon"), how far the observers agree, and the harness overhead (loop wall
// time / sum of VMM lifetimes; target < 1.2). WARMUP (1) warm-up boots are not counted.
// QEMU and QEMU_CPU override the binary and CPU model (nested KVMs may need
// QEMU_CPU=host,migratable=no,+invtsc,-arch-capabilities). Raw logs go to a printed temp dir.
func (Boottime) Selftest(ctx context.Context) error {
	o, err := boottime.SelftestOptionsFromEnv()
	if err != nil {
		return err
	}
	if c, err := host.ChooseCPUs(1); err == nil {
		o.CPUs = c.CPUs
	}
	r, err := boottime.Selftest(ctx, o)
	if r != nil {
		r.WriteText(os.Stdout)
	}
	return err
}

// Containers builds the toolchain images from containers/ (`mage containers` is
// containers:all; aliases are not listed by mage -l).
type Containers mg.Namespace

// All builds every toolchain image in containers/. Images are content-addressed: one whose
// recipe, base and build arguments are unchanged is reused, so a second run takes well
// under a second. Without a pullable debian:bookworm the base is built once with
// debootstrap (needs root and the debootstrap package). -v shows the build output.
func (Containers) All(ctx context.Context) error {
	_, err := docker.BuildAll(ctx, "containers", docker.Options{Verbose: mg.Verbose()})
	return err
}

// Prune removes images of this bundle that no recipe in containers/ uses any more (older
// content hashes, leftovers of interrupted builds); the base image is kept.
func (Containers) Prune(ctx context.Context) error {
	_, err := docker.Prune(ctx, "containers", docker.Options{Verbose: mg.Verbose()})
	return err
}

// Sources fetches and archives the pinned upstream sources of containers/sources.json.
type Sources mg.Namespace

// Fetch fills the source cache (SOURCES_CACHE, default ~/.cache/unikraft-eurosys21/sources),
// verifying every commit and sha256; a mismatch stops with both values printed.
// SOURCES_MIRROR=<directory or archive> reads everything from there instead of the network.
func (Sources) Fetch(ctx context.Context) error {
	_, err := sources.FetchAll(ctx, sources.ManifestPath, os.Stderr)
	return err
}

// Archive writes every pinned source, the manifest and the trust-on-first-use records into
// one tarball (SOURCES_ARCHIVE, default sources-archive-<date>.tar); SOURCES_MIRROR=<that
// file> replays it on a machine with no network.
func (Sources) Archive(ctx context.Context) error {
	_, err := sources.ArchiveAll(ctx, sources.ManifestPath, os.Stderr)
	return err
}

// Fig08 — image sizes of helloworld/nginx/redis/sqlite with DCE and LTO.
type Fig08 mg.Namespace

// Plot writes plots/fig_08_unikraft-image-size.svg/.html. FROM=latest (default) plots the
// newest run under RESULTS_DIR (default results/), FROM=paper the paper's data, FROM=<run
// id or directory> a given run.
func (Fig08) Plot(ctx context.Context) error { return plotFig(ctx, "fig08") }

// Verify compares a run (FROM as for plot) with the paper: prints a verdict table, writes
// verify.json, and fails when one of the paper's claims does not hold. STRICT=1 also fails
// on series outside their tolerance.
func (Fig08) Verify(ctx context.Context) error { return verifyFig(ctx, "fig08") }

// Fig10 — boot time of a hello-world unikernel on QEMU, QEMU+1 NIC, QEMU microvm, Solo5
// and Firecracker.
type Fig10 mg.Namespace

// Plot writes plots/fig_10_unikraft-boot.svg/.html. FROM=latest (default) plots the newest
// run under RESULTS_DIR (default results/), FROM=paper the paper's data, FROM=<run id or
// directory> a given run.
func (Fig10) Plot(ctx context.Context) error { return plotFig(ctx, "fig10") }

// Verify compares a run (FROM as for plot) with the paper: prints a verdict table, writes
// verify.json, and fails when one of the paper's claims does not hold. STRICT=1 also fails
// on series outside their tolerance and on series that were not run.
func (Fig10) Verify(ctx context.Context) error { return verifyFig(ctx, "fig10") }

// Fig14 — NGINX guest boot-time breakdown with five memory allocators.
type Fig14 mg.Namespace

// Plot writes plots/fig_14_unikraft-nginx-alloc-boot.svg/.html. FROM=latest (default)
// plots the newest run under RESULTS_DIR (default results/), FROM=paper the paper's data
// (parsed from its raw gdb traces), FROM=<run id or directory> a given run.
func (Fig14) Plot(ctx context.Context) error { return plotFig(ctx, "fig14") }

// Verify compares a run (FROM as for plot) with the paper: prints a verdict table, writes
// verify.json, and fails when one of the paper's claims does not hold. STRICT=1 also fails
// on series outside their tolerance.
func (Fig14) Verify(ctx context.Context) error { return verifyFig(ctx, "fig14") }

// Fig22 — file-open cost: Unikraft VFS vs SHFS vs Linux VFS (with/without mitigations).
type Fig22 mg.Namespace

// Plot writes plots/fig_22_compare-vfs.svg/.html. FROM=latest (default) plots the newest
// run under RESULTS_DIR (default results/), FROM=paper the paper's data, FROM=<run id or
// directory> a given run.
func (Fig22) Plot(ctx context.Context) error { return plotFig(ctx, "fig22") }

// Verify compares a run (FROM as for plot) with the paper: prints a verdict table, writes
// verify.json, and fails when one of the paper's claims does not hold. STRICT=1 also fails
// on series outside their tolerance.
func (Fig22) Verify(ctx context.Context) error { return verifyFig(ctx, "fig22") }

func settings() (experiments.Settings, error) { return experiments.SettingsFromEnv() }

func plotFig(ctx context.Context, id string) error {
	fig, s, err := figAndSettings(id)
	if err != nil {
		return err
	}
	return experiments.Plot(ctx, s, fig)
}

func verifyFig(ctx context.Context, id string) error {
	fig, s, err := figAndSettings(id)
	if err != nil {
		return err
	}
	return experiments.Verify(ctx, s, os.Stdout, fig)
}

func figAndSettings(id string) (figure.Figure, experiments.Settings, error) {
	s, err := settings()
	if err != nil {
		return figure.Figure{}, s, err
	}
	fig, err := experiments.ByID(id)
	return fig, s, err
}
