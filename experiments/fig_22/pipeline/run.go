package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"

	fig22 "github.com/unikraft-eurosys21/artifact/experiments/fig_22"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/files"
	"github.com/unikraft-eurosys21/artifact/internal/host"
	"github.com/unikraft-eurosys21/artifact/internal/progress"
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/stats"
	"github.com/unikraft-eurosys21/artifact/internal/tsc"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// DefaultReps is the paper's number of boots per VM (run.sh: TIMES=25). REPS overrides it;
// its bundle-wide default (26) is Figure 10's and does not apply here.
const DefaultReps = 25

// DefaultTimeout bounds one boot: QEMU's start, the guest's boot, the benchmark (1000 opens
// four times, then a one-second sleep) and the guest's end. Under KVM a boot takes about
// two seconds, under TCG a Debian kernel about five to ten; one that takes minutes hangs.
const DefaultTimeout = 3 * time.Minute

// AbortAfter is how many consecutive boots of a VM may fail the same way (e.g. "did not end
// within 3m0s") before its series is stopped: a guest that hung three times will hang the
// rest, at a timeout each.
const AbortAfter = 3

// MemoryMiB and VCPUs are the paper's guest (qemu-guest -c 2 -m 1024).
const (
	MemoryMiB = 1024
	VCPUs     = 2
)

// LinuxAppend is the paper's kernel command line (run.sh), which it passed to every VM,
// the Unikraft one included; NoMitigations is added for the linux-nomitig series. Linux
// ends with a panic once /init returns: panic=-1 reboots at once, and -no-reboot turns the
// reboot into QEMU's exit.
const (
	LinuxAppend   = "isolcpus=1 console=ttyS0 panic=-1"
	NoMitigations = "mitigations=off"
)

// DriveOptions are the paper's options of the SHFS volume's drive (qemu-guest -d):
// Linux native AIO on the file opened with O_DIRECT. DriveFallback is used where the file
// system holding the volume does not allow O_DIRECT (tmpfs): QEMU would refuse to start.
const (
	DriveOptions  = "aio=native,cache.direct=on"
	DriveFallback = "aio=threads,cache.direct=off"
)

// RunOptions configure Run.
type RunOptions struct {
	Accel string // "kvm" or "tcg"
	// Plan gives Reps (DefaultReps when 0) and the per-boot Timeout (DefaultTimeout when 0);
	// Series, RawDir and Log are set per VM.
	Plan       rep.Plan
	ResultsDir string // results root (RESULTS_DIR)
	Images     string // image cache root, where prepare left its index
	Fixture    string // the fixture the images were prepared from ("" for real sources)
	QEMU       string // QEMU binary ("" for qemu-system-x86_64 on PATH)
	QEMUCPU    string // QEMU's -cpu ("" for vmm's defaults: max under TCG)
	// LinuxKernel is LINUX_KERNEL: it must be the one prepare was given ("" for Debian's
	// pinned kernel), else the run would boot another kernel than the settings say.
	LinuxKernel string
	// Settings and SettingsFrom are recorded in the manifest (settings.Settings.Record).
	Settings, SettingsFrom map[string]string
	Log                    logrus.FieldLogger
	Out                    io.Writer // the results table; os.Stdout when nil
	// Progress shows each VM's boots as they go; plain lines on Out when nil.
	Progress *progress.Display

	// boot runs one VM to its end; nil is bootQEMU. Tests replace it.
	boot bootFunc
	// measureTSC measures the TSC frequency; nil is tsc.Measure. Tests replace it.
	measureTSC func(context.Context) (tsc.Measurement, error)
}

// ErrBootsFailed is what Run returns (wrapped) when boots were tried and failed; the run is
// written and kept as the latest when every VM has boots to show, and its verdict shows
// the failures.
var ErrBootsFailed = errors.New("boots failed")

// bootFunc starts the VM q, waits up to timeout for it to end and returns what it printed
// and how it ended. The console is returned also when the boot failed.
type bootFunc func(ctx context.Context, q vmm.QEMU, timeout time.Duration) (console []byte, exit vmm.Exit, pid int, err error)

// bootQEMU is a boot: a fresh QEMU in its own process group, its serial console (stdio)
// captured by the harness, killed by its pid when it outlives timeout or ctx.
func bootQEMU(ctx context.Context, q vmm.QEMU, timeout time.Duration) ([]byte, vmm.Exit, int, error) {
	p, err := q.New()
	if err != nil {
		return nil, vmm.Exit{}, 0, err
	}
	if err := p.Start(ctx); err != nil {
		return p.Console(), vmm.Exit{}, 0, err
	}
	e, err := p.Wait(timeout)
	if err != nil {
		p.Stop()
	}
	return p.Console(), e, p.Pid(), err
}

// VM is one of the three VM configurations, booted REPS times each.
type VM struct {
	Console string // fig22.Consoles(): raw/<Console>.<N>
	QEMU    vmm.QEMU
}

// Boot is what one boot left, in raw/<console>/repetitions.json.
type Boot struct {
	QEMUPid    int    `json:"qemu_pid,omitempty"`
	LifetimeNS int64  `json:"qemu_lifetime_ns"`
	QEMUExit   string `json:"qemu_exit,omitempty"`
	// Console is the console log's path in the run directory: raw/<console>.<N> for a
	// good boot, raw/<console>/rep-NN.console.log for a failed one (ParseRaw reads every
	// raw/<console>.<N>, and a failed boot's log would stop the whole figure).
	Console string `json:"console,omitempty"`
	// Panic is the Linux guest's last words ("Kernel panic - not syncing: Attempted to kill
	// init! exitcode=0x00000000"): the expected end of a Linux boot.
	Panic string `json:"panic,omitempty"`
}

// bootError is a failed boot with how it stopped, in words equal for boots that stopped
// the same way (rep.Stopper), so that AbortAfter can see a repeating failure.
type bootError struct {
	err  error
	stop string
}

func (e *bootError) Error() string        { return e.err.Error() }
func (e *bootError) Unwrap() error        { return e.err }
func (e *bootError) ObservedStop() string { return e.stop }

// SeriesStatus is one VM's series in series.json.
type SeriesStatus = fig22.SeriesStatus

// RunSummary is summary.json of a measured run: the figure's statistics, the TSC
// measurement and what the harness cost.
type RunSummary struct {
	fig22.Summary
	Accel   string          `json:"accel"`
	Fixture string          `json:"fixture,omitempty"`
	TSC     tsc.Measurement `json:"tsc"`
	Harness Harness         `json:"harness"`
	// Frequency says whether the host's CPU frequency and turbo were fixed (the paper's
	// prescription for this figure).
	Frequency host.Frequency `json:"host_frequency"`
	Series    []SeriesStatus `json:"boots"`
}

// Harness is the cost of the boot loops around the VMs.
type Harness struct {
	// Overhead is the loops' wall time over the sum of the QEMU processes' lifetimes: what
	// starting QEMU, capturing and writing the consoles cost beyond the VMs themselves.
	Overhead    float64 `json:"overhead"`
	LoopWallNS  int64   `json:"loop_wall_ns"`
	LifetimesNS int64   `json:"qemu_lifetimes_ns"`
}

// Run measures the TSC frequency, then boots each VM Plan.Reps times in run.sh's order
// (linux, linux-nomitig, unikraft), each boot a fresh pinned QEMU (pc, 2 vCPUs, 1024 MiB,
// -no-reboot) whose serial console the harness captures, and writes a run directory:
// raw/<console>.<N> (each good boot's console), raw/<console>/ (failed boots' consoles,
// repetitions.json, the QEMU command line), the four results CSVs and tsc_mhz.txt,
// series.json, summary.json and manifest.json. It returns the run directory when the run was
// kept as the latest (also with failed boots: the error then says which).
func Run(ctx context.Context, o RunOptions) (string, error) {
	if err := host.CheckAccel(o.Accel); err != nil {
		return "", err
	}
	out := outOr(o.Out)
	log := o.Log
	if log == nil {
		log = logrus.StandardLogger()
	}
	log = log.WithFields(logrus.Fields{"figure": fig22.Figure.Dir, "step": "run"})
	pr, err := ReadPrepared(o.Images, o.Fixture)
	if err != nil {
		return "", err
	}
	if err := checkPrepared(pr, o.LinuxKernel); err != nil {
		return "", err
	}
	if o.boot == nil {
		o.boot = bootQEMU
	}
	if o.measureTSC == nil {
		o.measureTSC = func(ctx context.Context) (tsc.Measurement, error) { return tsc.Measure(ctx, tsc.Options{}) }
	}
	qemuBin, err := vmm.QEMUBinary(o.QEMU)
	if err != nil {
		return "", fmt.Errorf("fig22: %w", err)
	}
	qemuVersion, err := vmm.QEMUVersion(ctx, qemuBin)
	if err != nil {
		return "", fmt.Errorf("fig22: %w", err)
	}
	// The paper pinned the two vCPUs to host CPUs 4 and 5 (qemu-guest -p 4-5).
	cpus, err := host.ChooseCPUs(VCPUs)
	if err != nil {
		return "", fmt.Errorf("fig22: %w", err)
	}
	drive, driveNote, err := driveOptions(pr.SHFS.Path)
	if err != nil {
		return "", err
	}
	vms := VMs(pr, vmm.QEMU{Binary: qemuBin, CPU: o.QEMUCPU, Machine: "pc", Accel: o.Accel, MemoryMiB: MemoryMiB, SMP: VCPUs, CPUs: cpus.CPUs}, drive)
	if err := checkCPUModel(vms[0].QEMU.CPUModel()); err != nil {
		return "", err
	}
	if o.Plan.Reps == 0 {
		o.Plan.Reps = DefaultReps
	}
	if o.Plan.Timeout == 0 {
		o.Plan.Timeout = DefaultTimeout
	}

	setup := results.Setup{Accel: o.Accel, Fixture: pr.Fixture, QEMU: qemuBin, Settings: o.Settings, SettingsFrom: o.SettingsFrom,
		ToolchainRef: pr.Toolchain.Ref, ToolchainID: pr.Toolchain.ID, ToolchainPackages: pr.Toolchain.Packages}
	run, m, err := results.Start(ctx, o.ResultsDir, fig22.Figure.Dir, setup)
	if err != nil {
		return "", err
	}
	defer run.Keep(log)
	m.Sources = pr.Sources
	m.Tools["qemu"] = qemuVersion
	if pr.Linux.Compiler != "" {
		m.Tools["linux /init compiler"] = pr.Linux.Compiler
	}
	for k, v := range imageRecords(pr) {
		m.Images[k] = v
	}
	m.Notes = append(m.Notes, kernelNote(pr),
		fmt.Sprintf("QEMU pinned to CPUs %s (%s); CPU model %s", host.FormatCPUList(cpus.CPUs), cpus.Reason, vms[0].QEMU.CPUModel()),
		"SHFS volume drive: "+drive+driveNote)
	for _, vm := range vms {
		args, err := vm.QEMU.Args()
		if err != nil {
			return "", fmt.Errorf("fig22: %s: %w", vm.Console, err)
		}
		mo, _ := vm.QEMU.MachineOptions()
		m.Machines[vm.Console] = mo
		cmd := shellJoin(append([]string{qemuBin}, args...))
		m.Notes = append(m.Notes, "qemu command line ("+vm.Console+"): "+cmd)
		if err := run.WriteFile(filepath.Join(fig22.RawDir, vm.Console, "qemu-cmdline.txt"), []byte(cmd+"\n")); err != nil {
			return "", err
		}
	}
	setup.Announce(out, "fig22", "the Unikraft image is the stand-in, not Unikraft")
	if driveNote != "" {
		fmt.Fprintf(out, "fig22: SHFS volume drive %s%s\n", drive, driveNote)
	}
	freq := m.Isolation.Frequency
	if w := freq.Warning(); w != "" {
		fmt.Fprintln(out, "fig22: WARNING: "+w)
		m.Notes = append(m.Notes, w)
	}

	// The TSC first, as run.sh did, on a host not yet busy with QEMU.
	mt, err := o.measureTSC(ctx)
	if err != nil {
		return "", fmt.Errorf("fig22: the host's TSC frequency (needed to convert cycles to ns): %w", err)
	}
	fmt.Fprintf(out, "fig22: %s\n", mt)
	m.Notes = append(m.Notes, "TSC frequency: "+mt.String())
	if mt.Warning != "" {
		fmt.Fprintln(out, "fig22: WARNING: "+mt.Warning)
		log.Warn(mt.Warning)
		m.Notes = append(m.Notes, "TSC: "+mt.Warning)
	}
	if err := run.WriteJSON("tsc.json", mt); err != nil {
		return "", err
	}

	r := &runner{o: o, run: run, log: log, cpus: cpus.CPUs}
	var status []SeriesStatus
	for _, vm := range vms {
		st, err := r.series(ctx, vm)
		status = append(status, st)
		if err == nil && ctx.Err() != nil {
			err = fmt.Errorf("%s: interrupted: %w", vm.Console, context.Cause(ctx))
		}
		if err != nil {
			// An interrupt or a run-wide failure (disk full) stops the run at once; what
			// was measured is kept in failed/, and the one message says where.
			run.WriteJSON(fig22.SeriesFile, status)
			return "", fmt.Errorf("fig22: %w", run.Stop(m, err))
		}
		if why := st.Why(); why != "" {
			fmt.Fprintf(out, "fig22: %s FAILED: %s\n", vm.Console, why)
		}
	}
	if err := run.WriteJSON(fig22.SeriesFile, status); err != nil {
		return "", err
	}
	if note := volumeChanged(pr.SHFS); note != "" {
		fmt.Fprintln(out, "fig22: WARNING: "+note)
		m.Notes = append(m.Notes, note)
	}
	m.Ended = time.Now().UTC()
	why := failures(status)
	d, perr := fig22.FromRaw(run.RawDir(), mt.MHz)
	if perr != nil {
		// Without good boots of every VM there is no figure: the run is kept in failed/
		// with its raw output, and the message says what failed.
		m.Notes = append(m.Notes, "incomplete: "+results.Moved(perr, run.Dir(), ".").Error())
		if err := run.WriteJSON("manifest.json", m); err != nil {
			log.Warn(err)
		}
		// perr names the raw files where they were parsed (.incomplete/<id>); the
		// message names them where the run is kept.
		from := run.Dir()
		to := run.Abort()
		perr = results.Moved(perr, from, to)
		if why == "" {
			why = perr.Error()
		}
		return "", fmt.Errorf("fig22: %s; no figure can be made from this run (%v); it is kept in %s: %w", why, perr, to, ErrBootsFailed)
	}
	if err := d.Write(run.Dir()); err != nil {
		return "", err
	}
	sum := RunSummary{Summary: d.Summary().(fig22.Summary), Accel: o.Accel, Fixture: pr.Fixture, TSC: mt,
		Frequency: freq, Series: status,
		Harness: Harness{LoopWallNS: r.loopWall.Nanoseconds(), LifetimesNS: r.lifetime.Nanoseconds()}}
	if r.lifetime > 0 {
		sum.Harness.Overhead = float64(r.loopWall) / float64(r.lifetime)
	}
	if err := run.WriteJSON("summary.json", sum); err != nil {
		return "", err
	}
	if err := run.WriteJSON("manifest.json", m); err != nil {
		return "", err
	}
	dir, err := run.Commit()
	if err != nil {
		return "", err
	}
	r.printTable(out, dir, pr, d, status)
	if why != "" {
		return dir, fmt.Errorf("fig22: %s; the run is kept in %s, and its verdict (go tool mage fig22:verify) shows the failures as FAIL: %w",
			why, dir, ErrBootsFailed)
	}
	return dir, nil
}

// VMs are the three VM configurations in run.sh's order: the Linux kernel with its
// initrd (default mitigations), the same with mitigations=off, and the Unikraft image with
// its initrd and the SHFS volume on virtio-blk (drive: the -drive options after the file).
// base holds what they share (binary, accelerator, CPU model, memory, vCPUs, pinning).
func VMs(pr *Prepared, base vmm.QEMU, drive string) []VM {
	linux := base
	linux.Kernel, linux.Initrd, linux.Append = pr.Linux.Kernel.Path, pr.Linux.Initrd.Path, LinuxAppend
	nomitig := linux
	nomitig.Append = LinuxAppend + " " + NoMitigations
	uk := base
	uk.Kernel, uk.Initrd, uk.Append = pr.Unikraft.Kernel, pr.UKInitrd.Path, LinuxAppend
	uk.Devices = []string{
		"-drive", "file=" + pr.SHFS.Path + ",if=none,id=hvirtio0,format=raw," + drive,
		"-device", "virtio-blk-pci,drive=hvirtio0,id=virtio0",
	}
	return []VM{{"linux", linux}, {"linux-nomitig", nomitig}, {"unikraft", uk}}
}

// driveOptions are the SHFS volume's drive options: the paper's where the volume's file
// system allows O_DIRECT, else DriveFallback and a note saying why.
func driveOptions(volume string) (opts, note string, err error) {
	ok, err := probeDirectIO(volume)
	if errors.Is(err, errNotWritable) {
		return "", "", fmt.Errorf("fig22: the SHFS volume is %w", err)
	}
	if err != nil {
		return "", "", fmt.Errorf("fig22: the SHFS volume: %w; run `go tool mage fig22:prepare` again", err)
	}
	if ok {
		return DriveOptions, "", nil
	}
	return DriveFallback, fmt.Sprintf(" (instead of the paper's %s: the file system holding %s does not allow O_DIRECT, e.g. tmpfs before Linux 6.6; put IMAGES_CACHE on a disk file system for the paper's options)",
		DriveOptions, volume), nil
}

// probeDirectIO is directIO; tests replace it to take the fallback on any file system
// (tmpfs allows O_DIRECT since Linux 6.6).
var probeDirectIO = directIO

// cpusWithoutRDTSCP are QEMU's CPU models without RDTSCP: the benchmark dies on them with an
// invalid opcode. The list is what QEMU 7.2 (Debian 12's qemu-system-x86 1:7.2+dfsg-7)
// reports, every model of `-cpu help` expanded with QMP query-cpu-model-expansion (type
// static, -accel tcg) and its "rdtscp" property read: false for exactly these, with every
// version (-v1, -v2, …) of each alike. QEMU leaves RDTSCP out of Nehalem and Westmere even
// though those CPUs had it; Opteron_G3 and phenom have it. Models QEMU added later
// (SapphireRapids, EPYC-Genoa, …) are newer than any of these and not listed.
var cpusWithoutRDTSCP = map[string]bool{
	"base": true, "qemu64": true, "qemu32": true, "kvm64": true, "kvm32": true,
	"486": true, "pentium": true, "pentium2": true, "pentium3": true, "athlon": true, "n270": true,
	"coreduo": true, "core2duo": true, "Conroe": true, "Penryn": true,
	"Nehalem": true, "Nehalem-IBRS": true, "Westmere": true, "Westmere-IBRS": true,
	"Opteron_G1": true, "Opteron_G2": true,
}

// modelVersion is a versioned CPU model's suffix (Westmere-v2): the versions of a model
// listed above all lack RDTSCP.
var modelVersion = regexp.MustCompile(`-v[0-9]+$`)

// checkCPUModel refuses a CPU model (QEMU_CPU) that the benchmark cannot run on: its timer
// reads the TSC with RDTSCP, an invalid opcode without that feature.
func checkCPUModel(model string) error {
	fields := strings.Split(model, ",")
	has := !cpusWithoutRDTSCP[modelVersion.ReplaceAllString(fields[0], "")]
	for _, f := range fields[1:] {
		switch f {
		case "+rdtscp", "rdtscp=on", "rdtscp=true":
			has = true
		case "-rdtscp", "rdtscp=off", "rdtscp=false":
			has = false
		}
	}
	if !has {
		return fmt.Errorf("fig22: QEMU_CPU=%s has no RDTSCP, which the benchmark's timer executes (the guest would die with an invalid opcode); use a model with it (max under TCG, host under KVM) or add +rdtscp", model)
	}
	return nil
}

// checkPrepared says what is missing for the run in what prepare left, and what to do;
// linuxKernel is LINUX_KERNEL, which must be what prepare was given.
func checkPrepared(pr *Prepared, linuxKernel string) error {
	again := "run `go tool mage fig22:prepare` again (with the same SOURCES_MIRROR and LINUX_KERNEL)"
	if err := checkLinuxKernel(pr.Linux, linuxKernel); err != nil {
		return err
	}
	if pr.Unikraft == nil {
		return fmt.Errorf("fig22: the Unikraft image was not prepared; %s", again)
	}
	for what, p := range map[string]string{
		"the Unikraft image": pr.Unikraft.Kernel, "the Unikraft initrd": pr.UKInitrd.Path, "the SHFS volume": pr.SHFS.Path,
		"the Linux kernel": pr.Linux.Kernel.Path, "the Linux initrd": pr.Linux.Initrd.Path,
	} {
		if p == "" {
			return fmt.Errorf("fig22: %s was not prepared; %s", what, again)
		}
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("fig22: %s: %w; %s", what, err, again)
		}
	}
	return nil
}

// checkLinuxKernel refuses a run whose LINUX_KERNEL is not the one prepare was given: the
// run boots what prepare placed, so the manifest would record LINUX_KERNEL=x next to
// another kernel.
func checkLinuxKernel(l Linux, linuxKernel string) error {
	again := "run `go tool mage fig22:prepare` again with the same LINUX_KERNEL"
	switch {
	case linuxKernel != "" && !l.UserKernel:
		return fmt.Errorf("fig22: LINUX_KERNEL=%s is set, but prepare placed %s; %s (or unset LINUX_KERNEL to boot that one)", linuxKernel, l.KernelFrom, again)
	case linuxKernel == "" && l.UserKernel:
		return fmt.Errorf("fig22: LINUX_KERNEL is not set, but prepare placed the kernel of LINUX_KERNEL=%s; %s (or set LINUX_KERNEL=%[1]s for the run)", l.UserKernelPath, again)
	case linuxKernel != "":
		abs, err := filepath.Abs(linuxKernel)
		if err != nil {
			return fmt.Errorf("fig22: LINUX_KERNEL=%s: %w", linuxKernel, err)
		}
		if abs != l.UserKernelPath {
			prepared := "LINUX_KERNEL=" + l.UserKernelPath
			if l.UserKernelPath == "" {
				prepared = "a LINUX_KERNEL whose path it did not record"
			}
			return fmt.Errorf("fig22: LINUX_KERNEL=%s, but prepare placed the kernel of %s; %s", linuxKernel, prepared, again)
		}
	}
	return nil
}

// imageRecords are the sha256 of everything booted, for the manifest.
func imageRecords(pr *Prepared) map[string]string {
	m := map[string]string{
		"unikraft image " + filepath.Base(pr.Unikraft.Kernel): "sha256:" + pr.Unikraft.KernelSHA256,
		"unikraft initrd":               "sha256:" + pr.UKInitrd.SHA256,
		"shfs volume":                   "sha256:" + pr.SHFS.SHA256,
		"linux kernel":                  "sha256:" + pr.Linux.Kernel.SHA256,
		"linux initrd":                  "sha256:" + pr.Linux.Initrd.SHA256,
		"linux /init":                   "sha256:" + pr.Linux.Init.SHA256,
		"toolchain " + pr.Toolchain.Ref: pr.Toolchain.ID,
	}
	for name, sum := range pr.SHFS.Tools {
		m["shfs tool "+name] = "sha256:" + sum
	}
	return m
}

// kernelNote says which Linux kernel the Linux series booted, and where it comes from.
func kernelNote(pr *Prepared) string {
	s := "Linux kernel: " + pr.Linux.KernelFrom
	if pr.Linux.KernelRelease != "" {
		s += " (release " + pr.Linux.KernelRelease + ")"
	}
	if pr.Linux.UserKernel {
		s += "; chosen by LINUX_KERNEL (the paper booted the host's own kernel)"
	} else {
		s += "; the bundle's pinned kernel, not the host's (the paper booted /boot/vmlinuz-$(uname -r); LINUX_KERNEL reproduces that)"
	}
	return s
}

// volumeChanged says when the SHFS volume is not what prepare made any more (the guest
// opened it read-write, as the paper did); "" when it is unchanged.
func volumeChanged(v Volume) string {
	sum, err := files.SHA256(v.Path)
	if err != nil || sum == v.SHA256 {
		return ""
	}
	return fmt.Sprintf("the SHFS volume %s changed during the run (sha256 %s, prepared %s); run `go tool mage fig22:prepare` before the next run", v.Path, sum, v.SHA256)
}

// shellJoin renders a command line that a shell would split back into args: arguments
// with spaces or quotes (the -append value) are single-quoted.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if a == "" || strings.ContainsAny(a, " \t'\"$\\") {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// failures lists the VMs with failed boots ("" when none failed).
func failures(status []SeriesStatus) string {
	var out []string
	for _, s := range status {
		if why := s.Why(); why != "" {
			out = append(out, s.Console+": "+why)
		}
	}
	return strings.Join(out, "; ")
}

// runner holds one run's state.
type runner struct {
	o        RunOptions
	run      *results.Run
	log      logrus.FieldLogger
	cpus     []int
	loopWall time.Duration
	lifetime time.Duration
}

// series boots one VM Plan.Reps times. The error is for the run as a whole (interrupted,
// disk full); failed boots are in the status.
func (r *runner) series(ctx context.Context, vm VM) (SeriesStatus, error) {
	st := SeriesStatus{Console: vm.Console, Tally: rep.Tally{Planned: r.o.Plan.Reps}}
	log := r.log.WithField("vmm", "qemu").WithField("vm", vm.Console)
	plan := r.o.Plan
	plan.Series, plan.RawDir, plan.Base, plan.Log, plan.AbortAfter = vm.Console, r.run.RawDir(), r.run.Dir(), log, AbortAfter
	bootTimeout := plan.Timeout
	// The repetition's own deadline comes later than the boot's, so that a guest that
	// hangs is reported by the boot (killed after its timeout), not as cancelled.
	plan.Timeout = bootTimeout + 30*time.Second
	fmt.Fprintf(outOr(r.o.Out), "fig22: %s: %d boots, QEMU on CPUs %s\n", vm.Console, plan.Reps, host.FormatCPUList(r.cpus))
	task := r.progress().Start("fig22 "+vm.Console, plan.Reps, "boots")
	defer task.Done()
	want := fig22.Probes(vm.Console)
	outer := ctx
	res, runErr := rep.Run(ctx, plan, func(ctx context.Context, rp rep.Rep) (Boot, error) {
		console, exit, pid, err := r.o.boot(ctx, vm.QEMU, bootTimeout)
		b := Boot{QEMUPid: pid, QEMUExit: exit.String(), Panic: panicLine(console)}
		if exit.Ended > 0 {
			b.LifetimeNS = exit.Lifetime().Nanoseconds()
		}
		if outer.Err() != nil {
			// Interrupted: keep what the guest printed, not as a measurement.
			if console != nil {
				results.WriteFileAtomic(rp.Raw+".interrupted.log", console, 0o644)
			}
			return b, err
		}
		good := filepath.Join(fig22.RawDir, fmt.Sprintf("%s.%d", vm.Console, rp.Index))
		// A failed boot's log goes next to its repetition record, where ParseRaw does
		// not read it; a console that does not parse is kept there, so the parse error
		// names that file (run-relative), not the good boot's.
		failedLog := files.Rel(r.run.Dir(), rp.Raw+".console.log")
		if err == nil {
			_, err = fig22.ParseConsole(failedLog, strings.NewReader(string(console)), want)
		}
		if err == nil {
			b.Console = good
			if werr := r.run.WriteFile(good, console); werr != nil {
				// Not this boot's failure: a run that cannot keep its consoles (disk
				// full) stops at once rather than counting every later boot as failed.
				return b, rep.Fatal(fmt.Errorf("keeping the console of boot %d: %w", rp.Index, werr))
			}
			task.Step(true)
			return b, nil
		}
		err = explainBoot(err, console, bootTimeout)
		b.Console = failedLog
		if werr := results.WriteFileAtomic(rp.Raw+".console.log", console, 0o644); werr != nil {
			return b, rep.Fatal(fmt.Errorf("keeping the console of failed boot %d (%v): %w", rp.Index, err, werr))
		}
		task.Step(false)
		return b, err
	})
	if err := r.run.WriteJSON(filepath.Join(fig22.RawDir, vm.Console, "repetitions.json"), res); err != nil {
		return st, err
	}
	st.Tally = rep.TallyOf(res, st.Planned, func(b Boot) time.Duration { return time.Duration(b.LifetimeNS) })
	r.loopWall += res.Wall
	r.lifetime += time.Duration(st.LifetimesNS)
	return st, runErr
}

// explainBoot wraps a boot's failure with how it stopped (the same words for boots that
// stopped the same way) and, where the console shows it, what to do.
func explainBoot(err error, console []byte, timeout time.Duration) error {
	var stop string
	var pe *figure.ParseError
	switch {
	case errors.Is(err, vmm.ErrTimeout):
		stop = fmt.Sprintf("did not end within %v (killed)", timeout)
		err = fmt.Errorf("the VM %s: %w", stop, err)
	case errors.As(err, &pe):
		stop = "console: " + pe.Msg
	default:
		stop = vmm.FirstLine(err.Error())
	}
	text := string(console)
	if strings.Contains(text, "invalid opcode") || strings.Contains(text, "Unhandled Trap 6") {
		err = fmt.Errorf("%w (the guest hit an invalid opcode: the CPU model probably lacks RDTSCP; set QEMU_CPU to a model with it)", err)
	}
	return &bootError{err: err, stop: stop}
}

// panicLine is the Linux kernel's panic message in a console, "" when there is none.
func panicLine(console []byte) string {
	for line := range strings.SplitSeq(string(console), "\n") {
		if i := strings.Index(line, "Kernel panic - not syncing:"); i >= 0 {
			return strings.TrimSpace(line[i:])
		}
	}
	return ""
}

// printTable prints each VM's boots and, per series and case, the mean cycles with the
// 95% confidence interval over the boots and the ns at the measured TSC frequency; then the
// harness overhead.
func (r *runner) printTable(w io.Writer, dir string, pr *Prepared, d *fig22.Dataset, status []SeriesStatus) {
	fmt.Fprintf(w, "\nfig22 results (%s)", dir)
	if pr.Fixture != "" {
		fmt.Fprintf(w, " — FIXTURE %s, the Unikraft image is not Unikraft", pr.Fixture)
	}
	fmt.Fprintf(w, ", accel %s; cycles per open() (mean ± 95%% CI over the boots), ns at %d MHz\n", r.o.Accel, d.TSCMHz)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "series\tboots ok\tfile exists\t\tno file\t\tmin–max (exists)\t")
	for _, s := range fig22.AllSeries {
		var st SeriesStatus
		for _, x := range status {
			if x.Console == s.Console {
				st = x
			}
		}
		line := fmt.Sprintf("%s\t%d/%d\t", s.Name(), st.OK, st.Planned)
		for _, c := range fig22.Cases {
			v := d.Value(s, c)
			line += fmt.Sprintf("%s\t%.1f ns\t", v.MeanCI(), v.NS)
		}
		sm := stats.Summarize(d.Value(s, fig22.FileExists).Runs)
		fmt.Fprintf(tw, "%s%.0f–%.0f\t\n", line, sm.Min, sm.Max)
	}
	tw.Flush()
	if r.lifetime > 0 {
		fmt.Fprintf(w, "harness overhead: boot loops %v / QEMU process lifetimes %v = %.3f\n",
			r.loopWall.Round(time.Millisecond), r.lifetime.Round(time.Millisecond), float64(r.loopWall)/float64(r.lifetime))
	}
}

// progress is the display of the boots: RunOptions.Progress, else plain lines on Out.
func (r *runner) progress() *progress.Display {
	if r.o.Progress == nil {
		r.o.Progress = progress.New(outOr(r.o.Out))
	}
	return r.o.Progress
}

func outOr(w io.Writer) io.Writer {
	if w == nil {
		return os.Stdout
	}
	return w
}
