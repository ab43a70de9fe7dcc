//go:build mage

// The Unikraft EuroSys'21 artifact: regenerate, measure and verify the paper's figures 8,
// 10, 14 and 22. Run `go tool mage -l` for the targets and `go tool mage -h <target>` for
// one target's settings. Settings are environment variables (README.md lists them all), read
// once here, before a target does anything; `-v` shows debug logs.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/magefile/mage/mg"
	"github.com/sirupsen/logrus"
	"golang.org/x/term"

	"github.com/unikraft-eurosys21/artifact/experiments"
	"github.com/unikraft-eurosys21/artifact/internal/boottime"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/host"
	"github.com/unikraft-eurosys21/artifact/internal/progress"
	"github.com/unikraft-eurosys21/artifact/internal/report"
	"github.com/unikraft-eurosys21/artifact/internal/settings"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
)

// Aliases run a namespace's main target under a short name. mage -l does not list them:
// `mage containers` = containers:all.
var Aliases = map[string]interface{}{
	"containers": Containers.All,
	"fig08":      Fig08.All,
	"fig10":      Fig10.All,
	"fig14":      Fig14.All,
	"fig22":      Fig22.All,
}

// display shows the progress of the long steps (builds, boots) on stderr: live lines on a
// terminal, timestamped milestones elsewhere. Logs and messages go through its Writer, so
// that they are not drawn over the live lines.
var display = progress.New(os.Stderr)

func init() {
	logrus.SetOutput(display.Writer())
	logrus.SetLevel(logrus.InfoLevel)
	if mg.Verbose() {
		logrus.SetLevel(logrus.DebugLevel)
	}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		// logrus sees the display's writer, not the terminal behind it.
		logrus.SetFormatter(&logrus.TextFormatter{ForceColors: true})
	} else {
		logrus.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, DisableColors: true})
	}
}

// Paper regenerates all four figures from the paper's recorded data (embedded in this
// bundle; no KVM, Docker or root needed) into plots/: fig_08_unikraft-image-size,
// fig_10_unikraft-boot, fig_14_unikraft-nginx-alloc-boot and fig_22_compare-vfs, each as
// .svg and .html. Running it twice changes no byte. PLOTS_DIR overrides the output folder;
// ECHARTS_DIR the folder of the ECharts lockfile (outside the checkout).
func Paper(ctx context.Context) error {
	s, err := config()
	if err != nil {
		return err
	}
	o := plotOptions(s)
	o.From = "paper"
	return experiments.Plot(ctx, o, experiments.All...)
}

// Check reports whether this host is set up for measurements as the paper prescribes:
// KVM access, isolated CPUs, nohz_full, SMT, CPU frequency (driver, governor, limits,
// turbo), C-states, IOMMU, IPv6, irqbalance and IRQ affinity, transparent hugepages,
// watchdogs, clock source, invariant TSC and NUMA balancing. It prints a one-line host
// fingerprint, one row per setting (expected, found, ok/warn/fail/unknown, hint), and the
// kernel command line and runtime commands that would fix the rest; they are printed, never
// run, and nothing on the host is changed. It fails when KVM is unusable; with STRICT=1 it
// also fails on any warning. Unknown rows (a knob this kernel does not expose) never fail.
// QEMU names the QEMU binary whose version the fingerprint shows.
func Check(ctx context.Context) error {
	s, err := config()
	if err != nil {
		return err
	}
	fmt.Println("host:", host.Describe(ctx, s.QEMU))
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
	s, err := config()
	if err != nil {
		return err
	}
	o := boottime.NewSelftestOptions(s.Accel, s.Observers)
	o.Plan.Reps, o.Plan.Warmup, o.CPU, o.QEMU = s.Reps, s.Warmup, s.QEMUCPU, s.QEMU
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
// debootstrap (needs root and the debootstrap package; DEBOOTSTRAP_MIRROR picks its Debian
// mirror), logged under $STATE_DIR/logs. DOCKER_HOST names the engine. -v shows the build
// output.
func (Containers) All(ctx context.Context) error {
	s, err := config()
	if err != nil {
		return err
	}
	_, err = docker.BuildAll(ctx, "containers", dockerOptions(s))
	return err
}

// Prune removes images of this bundle that no recipe in containers/ uses any more (older
// content hashes, leftovers of interrupted builds); the base image is kept.
func (Containers) Prune(ctx context.Context) error {
	s, err := config()
	if err != nil {
		return err
	}
	_, err = docker.Prune(ctx, "containers", dockerOptions(s))
	return err
}

// Sources fetches and archives the pinned upstream sources of containers/sources.json.
type Sources mg.Namespace

// Fetch fills the source cache (SOURCES_CACHE, default $STATE_DIR/sources; STATE_DIR defaults to ~/.cache/unikraft-eurosys21),
// verifying every commit and sha256; a mismatch stops with both values printed.
// SOURCES_MIRROR=<directory or archive> reads everything from there instead of the network.
func (Sources) Fetch(ctx context.Context) error {
	s, err := config()
	if err != nil {
		return err
	}
	_, err = sources.FetchAll(ctx, sources.ManifestPath, sourcesOptions(s))
	return err
}

// Archive writes every pinned source, the manifest and the trust-on-first-use records into
// one tarball (SOURCES_ARCHIVE, default sources-archive-<date>.tar); SOURCES_MIRROR=<that
// file> replays it on a machine with no network. SOURCES_CACHE as for sources:fetch.
func (Sources) Archive(ctx context.Context) error {
	s, err := config()
	if err != nil {
		return err
	}
	_, err = sources.ArchiveAll(ctx, sources.ManifestPath, sourcesOptions(s), s.SourcesArchive)
	return err
}

// Fig08 — image sizes of helloworld/nginx/redis/sqlite with DCE and LTO. `mage fig08` is
// fig08:all. Settings of prepare and run: APPS (helloworld,nginx,redis,sqlite) and VARIANTS
// (default,lto,dce,dce_lto) select images, comma-separated, all 16 by default; JOBS bounds
// the builds running at once (default: the number of CPUs); GCC=11 (default) or 12 picks the
// toolchain's compiler; SOURCES_MIRROR=<directory or archive> replaces every upstream (a
// FIXTURE mirror brings its own stand-in sources, and everything built from it says
// FIXTURE); SOURCES_CACHE the source cache; RESULTS_DIR the results root (default results/);
// FIG08_BUILD_CACHE the image cache of the Unikraft builder (default $STATE_DIR/fig08);
// FIXTURE_FAIL=<image,…> makes fixture builds fail on purpose.
type Fig08 mg.Namespace

// All runs fig08:prepare, fig08:run, fig08:plot and fig08:verify in this order. A run with
// failed builds is still plotted and verified (the verdict shows them as FAIL), and then
// the target fails.
func (Fig08) All(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Fig08.Prepare)
	dir, err := runFig(ctx, "fig08")
	return plotAndVerifyKept(ctx, "fig08", dir, err)
}

// Prepare fetches and verifies the pinned sources of the selected images (Unikraft 0.4, its
// libraries, the archives they would download) and builds the toolchain image. With both
// cached it takes seconds and needs no network.
func (Fig08) Prepare(ctx context.Context) error { return prepareFig(ctx, "fig08") }

// Run builds the selected images from their kraft.yaml (plain Unikraft make build, no
// kraft), JOBS at once, each in its own directory and container, and measures them:
// results/fig_08/<run id>/ gets results.csv (the paper's format, written fresh), the ELF
// sections, build times, compiler versions, summary.json, manifest.json and every build log
// in raw/. An image whose inputs (config, source pins, toolchain image, GCC) are unchanged is
// not rebuilt but measured again. A failing build stops only its image: the run is written
// with the others, verify shows the failure as FAIL, and the target fails. A lost Docker
// daemon or Ctrl-C stops every build at once and keeps the partial run under
// RESULTS_DIR/fig_08/failed/. Prints the build phase's wall time against the sum of the builds.
func (Fig08) Run(ctx context.Context) error {
	_, err := runFig(ctx, "fig08")
	return err
}

// Clean removes Figure 8's image cache (FIG08_BUILD_CACHE, real and fixture builds).
// Measured runs under RESULTS_DIR, sources, toolchain images and plots are kept.
func (Fig08) Clean(ctx context.Context) error { return cleanFig(ctx, "fig08") }

// Plot writes plots/fig_08_unikraft-image-size.svg/.html. FROM=latest (default) plots the
// newest run under RESULTS_DIR (default results/), FROM=paper the paper's data, FROM=<run
// id or directory> a given run. PLOTS_DIR (default plots/) changes the output folder.
func (Fig08) Plot(ctx context.Context) error { return plotFig(ctx, "fig08") }

// Verify compares a run (FROM as for plot) with the paper: prints a verdict table, writes
// verify.json (RESULTS_DIR/<fig>/paper/ for FROM=paper), and fails when one of the paper's
// claims does not hold. STRICT=1 also fails on series outside their tolerance or not judged.
func (Fig08) Verify(ctx context.Context) error { return verifyFig(ctx, "fig08") }

// Fig10 — boot time of a hello-world unikernel on QEMU, QEMU+1 NIC, QEMU microvm, Solo5
// and Firecracker. `mage fig10` is fig10:all. Settings: VMMS selects VMMs, comma-separated
// (qemu,qemu1nic,qemumicrovm,solo5,firecracker; all by default); REPS boots per VMM (26, as
// the paper's loop ran) after WARMUP uncounted ones (1); ACCEL=kvm (default) or tcg
// (software emulation: QEMU only, not comparable with the paper); QEMU and QEMU_CPU the
// QEMU binary and -cpu model (a nested KVM may need host,migratable=no,+invtsc,-arch-capabilities);
// FIRECRACKER and SOLO5_HVT replace the prepared VMM binaries; SOURCES_MIRROR=<directory
// or archive> replaces every upstream (a FIXTURE mirror brings its stand-in sources, and
// everything built from it says FIXTURE); SOURCES_CACHE the source cache; GCC=11 (default)
// or 12 the guests' compiler; IMAGES_CACHE the built guests (default
// $STATE_DIR/images); FC_GUEST=paper (default) or 0.13 the Firecracker guest; RESULTS_DIR
// the results root (default results/); STRICT=1 fails on a VMM that cannot run here; OBSERVERS=ftrace, debugcon or
// ftrace,debugcon overrides the choice of observers. Root is needed for the ftrace observer
// (Solo5, Firecracker; QEMU falls back to its debug console) and for QEMU (1NIC)'s tap.
type Fig10 mg.Namespace

// All runs fig10:prepare, fig10:run, fig10:plot and fig10:verify in this order. A run with
// failed boots is still plotted and verified (the verdict shows them as FAIL), and then
// the target fails.
func (Fig10) All(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Fig10.Prepare)
	dir, err := runFig(ctx, "fig10")
	return plotAndVerifyKept(ctx, "fig10", dir, err)
}

// Prepare fetches and verifies the pinned sources of the guests of VMMS, builds the
// toolchain image and the guests in it (the paper's patches applied by build steps; their
// tracepoints write the boot markers), and extracts the pinned Firecracker release;
// everything is cached by content, so a second prepare rebuilds nothing. -v shows the
// build output.
func (Fig10) Prepare(ctx context.Context) error { return prepareFig(ctx, "fig10") }

// Run boots each prepared guest REPS times on each VMM of VMMS, a fresh pinned VMM process
// per boot, timed on the host (ftrace as root under KVM, else QEMU's debug console;
// OBSERVERS=ftrace,debugcon for both), and writes results/fig_10/<run-id>/ (<vmm>.csv in the paper's format,
// extended.csv, series.json, summary.json, manifest.json, raw/ logs of every boot). A VMM
// that cannot run here is recorded as not run with the reason. Prints the results and the
// harness overhead. ACCEL=kvm with an unusable KVM stops before the first boot.
func (Fig10) Run(ctx context.Context) error {
	_, err := runFig(ctx, "fig10")
	return err
}

// Clean removes Figure 10's built guests from IMAGES_CACHE; sources, the toolchain image
// and results are kept.
func (Fig10) Clean(ctx context.Context) error { return cleanFig(ctx, "fig10") }

// Plot writes plots/fig_10_unikraft-boot.svg/.html. FROM=latest (default) plots the newest
// run under RESULTS_DIR (default results/), FROM=paper the paper's data, FROM=<run id or
// directory> a given run. PLOTS_DIR (default plots/) changes the output folder.
func (Fig10) Plot(ctx context.Context) error { return plotFig(ctx, "fig10") }

// Verify compares a run (FROM as for plot) with the paper: prints a verdict table, writes
// verify.json, and fails when one of the paper's claims does not hold. STRICT=1 also fails
// on series outside their tolerance and on series that were not run.
func (Fig10) Verify(ctx context.Context) error { return verifyFig(ctx, "fig10") }

// Fig14 — NGINX guest boot-time breakdown with five memory allocators. `mage fig14` is
// fig14:all. Settings: SOURCES_MIRROR=<directory or archive> replaces every upstream (a
// FIXTURE mirror brings its stand-in sources, and everything built from it says FIXTURE);
// SOURCES_CACHE the source cache; GCC=11 (default) or 12 the images' compiler; IMAGES_CACHE
// the built images (default $STATE_DIR/images); REPS boots per allocator (10, as the paper's
// benchmark.sh; the bundle-wide default 26 is fig10's); ACCEL=kvm (default) or tcg (software
// emulation: marked, not judged); QEMU and QEMU_CPU the QEMU binary and -cpu model;
// RESULTS_DIR the results root. The captures need gdb and binutils on the host.
type Fig14 mg.Namespace

// All runs fig14:prepare, fig14:run, fig14:plot and fig14:verify in this order. A run with
// failed boots is still plotted and verified when every allocator has boots, and then the
// target fails.
func (Fig14) All(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Fig14.Prepare)
	dir, err := runFig(ctx, "fig14")
	return plotAndVerifyKept(ctx, "fig14", dir, err)
}

// Prepare fetches and verifies the pinned sources, builds the toolchain image and in it the
// five NGINX images (tinyalloc, tlsf, buddy, mimalloc, region) from the paper's
// configurations on unikraft 7fd6797 with the paper's patches, keeping each unstripped
// image (.dbg) for gdb, and records them with the paper's initrd nginx.cpio and its sha256.
// Everything is cached by content: a second prepare rebuilds nothing. -v shows the build output.
func (Fig14) Prepare(ctx context.Context) error { return prepareFig(ctx, "fig14") }

// Run boots each prepared image REPS times (tinyalloc, tlsf, buddy, mimalloc, region, as
// the paper ran them), each boot a fresh pinned QEMU (pc, 1024 MiB, no NIC, the paper's
// initrd) started paused with its gdb stub on a private socket; the host's gdb breaks at
// main (the trace ends just before it) and prints the trace with the tree's uk-gdb.py, whose addresses are
// resolved from the image's symbols. Writes results/fig_14/<run-id>/ (raw/<alloc>-<time>.txt
// in the paper's format, every boot's raw output, 1024M/<alloc>.csv, series.json,
// summary.json, manifest.json) and prints the breakdown and the harness overhead.
func (Fig14) Run(ctx context.Context) error {
	_, err := runFig(ctx, "fig14")
	return err
}

// Clean removes Figure 14's built images from IMAGES_CACHE; sources, the toolchain image
// and results are kept.
func (Fig14) Clean(ctx context.Context) error { return cleanFig(ctx, "fig14") }

// Plot writes plots/fig_14_unikraft-nginx-alloc-boot.svg/.html. FROM=latest (default)
// plots the newest run under RESULTS_DIR (default results/), FROM=paper the paper's data
// (parsed from its raw gdb traces), FROM=<run id or directory> a given run. PLOTS_DIR
// (default plots/) changes the output folder.
func (Fig14) Plot(ctx context.Context) error { return plotFig(ctx, "fig14") }

// Verify compares a run (FROM as for plot) with the paper: prints a verdict table, writes
// verify.json (RESULTS_DIR/<fig>/paper/ for FROM=paper), and fails when one of the paper's
// claims does not hold. STRICT=1 also fails on series outside their tolerance or not judged.
func (Fig14) Verify(ctx context.Context) error { return verifyFig(ctx, "fig14") }

// Fig22 — file-open cost: Unikraft VFS vs SHFS vs Linux VFS (with/without mitigations).
// `mage fig22` is fig22:all. Settings: SOURCES_MIRROR=<directory or archive> replaces every
// upstream (a FIXTURE mirror brings its stand-in sources, and everything built from it says
// FIXTURE); SOURCES_CACHE the source cache; GCC=11 (default) or 12; IMAGES_CACHE the built
// images; LINUX_KERNEL=<bzImage> boots that kernel instead of Debian's pinned one (the paper
// booted the host's); REPS boots per VM (25, as the paper's run.sh; the bundle-wide default
// 26 is fig10's); ACCEL=kvm (default) or tcg (software emulation: marked, not judged); QEMU
// and QEMU_CPU the QEMU binary and -cpu model; RESULTS_DIR the results root.
type Fig22 mg.Namespace

// All runs fig22:prepare, fig22:run, fig22:plot and fig22:verify in this order. A run with
// failed boots is still plotted and verified when every series has boots, and then the
// target fails.
func (Fig22) All(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Fig22.Prepare)
	dir, err := runFig(ctx, "fig22")
	return plotAndVerifyKept(ctx, "fig22", dir, err)
}

// Prepare fetches and verifies the pinned sources (skuenzer's Unikraft, lib-shfs, lib-tlsf,
// TLSF 2.4.6), builds the toolchain image and in it the bundle's benchmark as a Unikraft
// image (the paper's config.app-fsbench) and as a static-PIE Linux /init, lib-shfs's SHFS
// tools, the SHFS volume (rnd4k under its SHA-256) and both initrds, and takes Debian's
// kernel at the pinned version (sha256-checked) unless LINUX_KERNEL names one. Everything is
// cached by content: a second prepare builds and downloads nothing.
func (Fig22) Prepare(ctx context.Context) error { return prepareFig(ctx, "fig22") }

// Run measures the TSC frequency on the host (CPUID leaves 0x15/0x16, checked by a
// calibration against CLOCK_MONOTONIC_RAW), then boots the three VMs REPS times each in the
// paper's order (linux, linux-nomitig, unikraft), each boot a fresh pinned QEMU (pc, 2
// vCPUs, 1024 MiB, -no-reboot) whose serial console the bundle reads itself; the Unikraft
// VM has its initrd and the SHFS volume on virtio-blk (aio=native,cache.direct=on where the
// file system allows O_DIRECT). Writes results/fig_22/<run-id>/ (the paper's four CSVs,
// tsc_mhz.txt, raw/<vm>.<N> consoles, series.json, summary.json with the per-boot spread,
// manifest.json) and prints the table and the harness overhead.
func (Fig22) Run(ctx context.Context) error {
	_, err := runFig(ctx, "fig22")
	return err
}

// Clean removes Figure 22's built images, tools, volume, initrds and kernel from
// IMAGES_CACHE; sources, the toolchain image and results are kept.
func (Fig22) Clean(ctx context.Context) error { return cleanFig(ctx, "fig22") }

// Plot writes plots/fig_22_compare-vfs.svg/.html. FROM=latest (default) plots the newest
// run under RESULTS_DIR (default results/), FROM=paper the paper's data, FROM=<run id or
// directory> a given run. PLOTS_DIR (default plots/) changes the output folder.
func (Fig22) Plot(ctx context.Context) error { return plotFig(ctx, "fig22") }

// Verify compares a run (FROM as for plot) with the paper: prints a verdict table, writes
// verify.json (RESULTS_DIR/<fig>/paper/ for FROM=paper), and fails when one of the paper's
// claims does not hold. STRICT=1 also fails on series outside their tolerance or not judged.
func (Fig22) Verify(ctx context.Context) error { return verifyFig(ctx, "fig22") }

// config is the settings, parsed from the environment once per mage process: a bad value
// stops the first target that asks, before it does anything.
var config = sync.OnceValues(settings.FromEnv)

func plotOptions(s settings.Settings) experiments.Options {
	return experiments.Options{From: s.From, ResultsDir: s.ResultsDir, PlotsDir: s.PlotsDir, Strict: s.Strict, EChartsDir: s.EChartsDir}
}

func dockerOptions(s settings.Settings) docker.Options {
	return docker.Options{Verbose: mg.Verbose(), LogDir: s.LogDir(), DebootstrapMirror: s.DebootstrapMirror}
}

func sourcesOptions(s settings.Settings) sources.Options {
	return sources.Options{Cache: s.SourcesCache, Mirror: s.SourcesMirror, Progress: display.Writer()}
}

// plotAndVerifyKept ends a figure's all target after its run step: a run that was kept as
// the latest (dir set, also when units of it failed) is plotted and verified, so the user
// gets the plot and the verdict of what was measured; the run step's error comes first.
// Without a kept run there is nothing new to plot: the run step's error alone.
func plotAndVerifyKept(ctx context.Context, id, dir string, runErr error) error {
	if dir == "" {
		return runErr
	}
	if err := plotFig(ctx, id); err != nil {
		return errors.Join(runErr, err)
	}
	return errors.Join(runErr, verifyFig(ctx, id))
}

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

func prepareFig(ctx context.Context, id string) error { return stepFig(ctx, id, experiments.Prepare) }

func cleanFig(ctx context.Context, id string) error { return stepFig(ctx, id, experiments.Clean) }

// runFig runs figure id's run step; it returns the run directory when the run was kept as
// the latest (also when units of it failed).
func runFig(ctx context.Context, id string) (string, error) {
	s, fig, err := settingsAndFig(id)
	if err != nil {
		return "", err
	}
	return experiments.Run(ctx, s, console(), fig)
}

// stepFig runs one step of figure id's pipeline with the settings.
func stepFig(ctx context.Context, id string, step func(context.Context, settings.Settings, figure.Console, figure.Figure) error) error {
	s, fig, err := settingsAndFig(id)
	if err != nil {
		return err
	}
	return step(ctx, s, console(), fig)
}

func settingsAndFig(id string) (settings.Settings, figure.Figure, error) {
	s, err := config()
	if err != nil {
		return s, figure.Figure{}, err
	}
	fig, err := experiments.ByID(id)
	return s, fig, err
}

// console is where a pipeline step prints: results to stdout, everything else through the
// progress display on stderr.
func console() figure.Console {
	return figure.Console{Stdout: os.Stdout, Stderr: display.Writer(), Progress: display, Verbose: mg.Verbose()}
}

func figAndSettings(id string) (figure.Figure, experiments.Options, error) {
	s, err := config()
	if err != nil {
		return figure.Figure{}, experiments.Options{}, err
	}
	fig, err := experiments.ByID(id)
	return fig, plotOptions(s), err
}

// All runs every figure end to end (fig08, fig10, fig14, fig22: prepare, run, plot and verify
// of the run just made), going on past a figure that fails, then writes the report (see
// Report) and prints one row per figure: ok, failed and why, or not run and why (a figure the
// bundle cannot measure yet), with its run directory. It fails when any figure failed. The
// settings apply to every figure (ACCEL, REPS where a figure takes it, SOURCES_MIRROR, …).
func All(ctx context.Context) error {
	s, err := config()
	if err != nil {
		return err
	}
	outs, runErr := experiments.RunAll(ctx, s, console(), plotOptions(s), experiments.All...)
	var repErr error
	if ctx.Err() == nil {
		r := report.FromSettings(s)
		r.From, r.Outcomes = "latest", outs
		_, repErr = report.Write(ctx, r)
	} else {
		logrus.WithField("step", "report").Warn("interrupted: no report written (go tool mage report writes it from the runs kept)")
	}
	fmt.Println()
	experiments.WriteOutcomes(os.Stdout, outs)
	return errors.Join(runErr, repErr)
}

// Report writes RESULTS_DIR/report.html (one self-contained page: plots inline, nothing
// fetched when opened) and RESULTS_DIR/report.md (its Markdown twin, for a CI step summary)
// from each figure's latest run, or the paper's data (FROM=paper, and for a figure without a
// run, marked so): per figure the measured plot next to the paper's, the verdict, what was not
// run and why, host, isolation and provenance; the documentation's headline claims checked
// against the runs; and the artifact badges, computed: Available verifies every pinned source
// offline from SOURCES_ARCHIVE (when set), else SOURCES_MIRROR, else SOURCES_CACHE.
func Report(ctx context.Context) error {
	s, err := config()
	if err != nil {
		return err
	}
	_, err = report.Write(ctx, report.FromSettings(s))
	return err
}
