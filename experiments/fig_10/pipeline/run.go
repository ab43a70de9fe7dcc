package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	fig10 "github.com/unikraft-eurosys21/artifact/experiments/fig_10"
	"github.com/unikraft-eurosys21/artifact/internal/boottime"
	"github.com/unikraft-eurosys21/artifact/internal/host"
	"github.com/unikraft-eurosys21/artifact/internal/progress"
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/stats"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// RunOrder is the order in which the paper's benchmark.sh ran the VMMs (the figure shows
// them in VMMs order).
var RunOrder = []string{fig10.Solo5, fig10.Firecracker, fig10.QEMUMicroVM, fig10.QEMU, fig10.QEMU1NIC}

// DefaultReps is the paper's number of boots per VMM: its loop over {0..25} ran 26 times.
const DefaultReps = 26

// DefaultTimeout bounds one boot. QEMU pc under a nested KVM spends ~5 s in SeaBIOS; a boot
// that takes a minute is broken.
const DefaultTimeout = time.Minute

// AbortAfter is how many consecutive boots of a series may stop the same way (the same
// markers seen, the same ending, e.g. "entry marker (port 1112) seen, main marker (port
// 1500) never; timed out after 1m0s") before the series is stopped and marked failed with
// that observation: a guest that hung three times will hang the rest, at a timeout each.
const AbortAfter = 3

// RunOptions configure Run.
type RunOptions struct {
	VMMs  []string // the VMMs to boot (all when empty)
	Accel string   // "kvm" or "tcg"
	// Plan gives Reps, Warmup and the per-boot Timeout; Series, RawDir and Log are set per VMM.
	Plan       rep.Plan
	ResultsDir string   // results root (RESULTS_DIR)
	Images     string   // image cache root, where prepare left its index
	Fixture    string   // the fixture the guests were prepared from ("" for real sources)
	Strict     bool     // a VMM that cannot run is a failure
	FCGuest    string   // the Firecracker guest (FC_GUEST): "paper" (default) or "0.13"
	Binaries   Binaries // QEMU, SOLO5_HVT, FIRECRACKER
	QEMUCPU    string   // QEMU's -cpu (QEMU_CPU); "" for vmm.DefaultCPU (vmm.DefaultTCGCPU under tcg)
	// Settings are every setting's value and SettingsFrom where each came from
	// (settings.Settings.Record), recorded in the manifest.
	Settings, SettingsFrom map[string]string
	// Observers are "ftrace" and/or "debugcon" (OBSERVERS); nil chooses: ftrace as root
	// under KVM, else the debug console (QEMU only).
	Observers []string
	Tracefs   string // tracefs mount point for the ftrace observer ("" = default)
	Log       logrus.FieldLogger
	Out       io.Writer // the results table; os.Stdout when nil
	// Progress shows each series' boots as they go; plain lines on Out when nil.
	Progress *progress.Display
}

// ErrBootsFailed is what Run returns (wrapped, with the series) when boots were tried and
// failed; the run is written, kept as the latest, and its verdict shows them as FAIL.
var ErrBootsFailed = errors.New("boots failed")

// Run boots the prepared guests Plan.Reps times on each selected VMM, in the paper's order,
// each boot a fresh VMM process pinned to the chosen CPUs and watched by the observers, and
// writes a run directory: <vmm>.csv in the paper's format from the primary observer,
// extended.csv with every phase of every observer and both clocks, series.json (what ran,
// what did not and why), summary.json, manifest.json and the raw logs of every boot. With
// ACCEL=kvm and an unusable KVM it stops before the first boot. It returns the run directory.
func Run(ctx context.Context, o RunOptions) (string, error) {
	if err := host.CheckAccel(o.Accel); err != nil {
		return "", err
	}
	out := o.Out
	if out == nil {
		out = os.Stdout
	}
	log := o.Log
	if log == nil {
		log = logrus.StandardLogger()
	}
	log = log.WithField("figure", fig10.Figure.Dir)
	selected, err := selectVMMs(o.VMMs)
	if err == nil {
		_, err = firecrackerGuest(o.FCGuest)
	}
	if err != nil {
		return "", err
	}
	pr, err := ReadPrepared(o.Images, o.Fixture)
	if err != nil {
		return "", err
	}
	if o.Plan.Reps == 0 {
		o.Plan.Reps = DefaultReps
	}
	if o.Plan.Timeout == 0 {
		o.Plan.Timeout = DefaultTimeout
	}
	setup := results.Setup{Accel: o.Accel, Fixture: pr.Fixture, QEMU: o.Binaries.QEMU, Settings: o.Settings, SettingsFrom: o.SettingsFrom,
		ToolchainRef: pr.Toolchain.Ref, ToolchainID: pr.Toolchain.ID, ToolchainPackages: pr.Toolchain.Packages}
	run, m, err := results.Start(ctx, o.ResultsDir, fig10.Figure.Dir, setup)
	if err != nil {
		return "", err
	}
	defer run.Keep(log.WithField("step", "run"))
	m.Sources = pr.Sources
	for k, img := range pr.Guests {
		m.Images["guest "+k] = "sha256:" + img.KernelSHA256
		m.Notes = append(m.Notes, guestNote(k, img))
	}
	// Every guest's full build record (trees, patch steps with their sha256, configuration,
	// dropped lines) beside the results.
	if err := run.WriteJSON("guests.json", pr.Guests); err != nil {
		return "", err
	}
	setup.Announce(out, "fig10", "the guests are the stand-in test kernel, not Unikraft")

	r := &runner{o: o, pr: pr, run: run, log: log, manifest: m, root: os.Geteuid() == 0, cannot: map[string]string{}}
	// What each VMM needs of the host, checked again here: the host may have changed since
	// prepare (or prepare ran with another ACCEL).
	for _, v := range selected {
		if why := hostNeeds(ctx, v, o.Accel, o.Binaries); why != "" {
			r.cannot[v.Key] = why
		}
	}
	var status fig10.RunStatus
	for _, key := range RunOrder {
		v, _ := fig10.LookupVMM(key)
		if !slices.Contains(selected, v) {
			status.Series = append(status.Series, fig10.SeriesStatus{VMM: key, Status: fig10.NotRun, NotSelected: true,
				Reason: "not selected (VMMS=" + keys(selected) + ")"})
			continue
		}
		st, err := r.series(ctx, v)
		if err == nil && ctx.Err() != nil {
			// Interrupted outside the boots (setting up a series): what the series said
			// then is not about the host.
			err = fmt.Errorf("%s: interrupted: %w", v.Key, context.Cause(ctx))
		}
		status.Series = append(status.Series, st)
		if err != nil {
			// An interrupt or a run-wide failure (disk full) stops the run at once; what
			// was measured is kept in failed/, and the one message says where.
			r.writeAll(&status)
			return "", fmt.Errorf("fig10: %w", run.Stop(m, err))
		}
		switch st.Status {
		case fig10.NotRun:
			fmt.Fprintf(out, "fig10: %s not run: %s\n", v.Label, st.Reason)
		case fig10.Failed:
			fmt.Fprintf(out, "fig10: %s FAILED: %s\n", v.Label, st.Reason)
		}
	}
	if err := r.writeAll(&status); err != nil {
		return "", err
	}
	m.Ended = time.Now().UTC()
	if r.samples == 0 {
		// Kept in failed/ with its raw logs: the manifest says on what host and with what.
		why := reasons(status)
		m.Notes = append(m.Notes, "incomplete: no VMM could be booted: "+why)
		if err := run.WriteJSON("manifest.json", m); err != nil {
			log.WithField("step", "run").Warn(err)
		}
		return "", fmt.Errorf("fig10: no VMM could be booted: %s; the run is kept in %s", why, run.Abort())
	}
	if err := run.WriteJSON("manifest.json", m); err != nil {
		return "", err
	}
	dir, err := run.Commit()
	if err != nil {
		return "", err
	}
	r.printTable(out, dir, &status)
	if o.Strict {
		if why := reasons(status); why != "" {
			return dir, fmt.Errorf("fig10: STRICT=1 and not every VMM ran: %s", why)
		}
	}
	if why := failures(status); why != "" {
		return dir, fmt.Errorf("fig10: %s; the run is kept in %s, and its verdict (go tool mage fig10:verify) shows the failures as FAIL: %w",
			why, dir, ErrBootsFailed)
	}
	return dir, nil
}

// failures lists the series that were tried and failed, or had failed boots: a boot that
// was tried and failed fails the run step (a series the host cannot run does not).
func failures(st fig10.RunStatus) string {
	var out []string
	for _, s := range st.Series {
		switch {
		case s.Status == fig10.Failed:
			out = append(out, s.VMM+" failed: "+s.Reason)
		case s.Status == fig10.Ran && s.Failed > 0:
			out = append(out, fmt.Sprintf("%s: %d of %d boots failed", s.VMM, s.Failed, s.Planned))
		}
	}
	return strings.Join(out, "; ")
}

// reasons lists the selected VMMs that did not run, or whose boots failed, with why.
func reasons(st fig10.RunStatus) string {
	var out []string
	for _, s := range st.Series {
		switch {
		case s.NotSelected:
		case s.Status != fig10.Ran:
			out = append(out, s.VMM+" "+s.Status+": "+s.Reason)
		case s.Failed > 0:
			out = append(out, fmt.Sprintf("%s: %d of %d boots failed", s.VMM, s.Failed, s.Planned))
		}
	}
	return strings.Join(out, "; ")
}

// CheckSettings refuses VMM keys (the VMMS setting) and a Firecracker guest (FC_GUEST)
// this figure does not know, with the message Prepare and Run would give, so the magefile
// can stop before anything runs.
func CheckSettings(vmms []string, fcGuest string) error {
	if _, err := selectVMMs(vmms); err != nil {
		return err
	}
	_, err := firecrackerGuest(fcGuest)
	return err
}

// selectVMMs resolves VMMS keys to the figure's VMMs, in figure order (all when empty).
func selectVMMs(keys []string) ([]fig10.VMM, error) {
	if len(keys) == 0 {
		return slices.Clone(fig10.VMMs), nil
	}
	var out []fig10.VMM
	for _, v := range fig10.VMMs {
		if slices.Contains(keys, v.Key) {
			out = append(out, v)
		}
	}
	for _, k := range keys {
		if _, ok := fig10.LookupVMM(k); !ok {
			var all []string
			for _, v := range fig10.VMMs {
				all = append(all, v.Key)
			}
			return nil, fmt.Errorf("VMMS: unknown VMM %q; expected a comma-separated subset of %s", k, strings.Join(all, ","))
		}
	}
	return out, nil
}

// runner holds one run's state.
type runner struct {
	o        RunOptions
	pr       *Prepared
	run      *results.Run
	log      logrus.FieldLogger
	manifest *results.Manifest
	root     bool              // may use ftrace, create taps, lock memory
	cannot   map[string]string // VMM key → why the host cannot run it (hostNeeds)

	csv      map[string][]fig10.BootTime
	extended []fig10.ExtendedRow
	phases   map[string]map[string]map[string]stats.Summary // vmm → observer → phase
	samples  int
	loopWall time.Duration
	lifetime time.Duration
}

// setup is how one VMM is booted: the target, its markers and observers, or why it cannot be.
type setup struct {
	target  boottime.Target
	markers boottime.Markers
	obs     boottime.Observers
	primary string
	close   func() error
}

// series boots one VMM Plan.Reps times. A VMM that cannot run on this host is returned as
// NotRun with the reason; the error is for the run as a whole (interrupted, disk full).
func (r *runner) series(ctx context.Context, v fig10.VMM) (fig10.SeriesStatus, error) {
	st := fig10.SeriesStatus{VMM: v.Key, Status: fig10.NotRun}
	log := r.log.WithFields(logrus.Fields{"step": "run", "vmm": v.Key})
	g := GuestOf(v.Key, r.o.FCGuest)
	st.Guest = g.Key
	if why := r.cannot[v.Key]; why != "" {
		st.Reason = why
		return st, nil
	}
	img, ok := r.pr.Guests[g.Key]
	if !ok {
		st.Reason = "its guest was not prepared"
		if why := r.pr.Missing[g.Key]; why != "" {
			st.Reason += ": " + why
		} else if why := r.pr.NotRun[v.Key]; why != "" {
			st.Reason += " (prepare found: " + why + "); run `go tool mage fig10:prepare` again where it can run"
		} else {
			st.Reason += " (run `go tool mage fig10:prepare` with this VMM in VMMS)"
		}
		return st, nil
	}
	st.Kernel = img.KernelSHA256
	s, err := r.setup(ctx, v, img.Kernel, &st)
	if err != nil {
		return st, err
	}
	if s == nil || s.target == nil {
		return st, nil // not runnable; st.Reason says why
	}
	defer func() {
		if s.close != nil {
			if err := s.close(); err != nil {
				log.Warn(err)
			}
		}
	}()
	st.Status, st.Observers, st.Observer = fig10.Ran, s.obs.Names(), s.primary
	plan := r.o.Plan
	plan.Series, plan.RawDir, plan.Log, plan.AbortAfter = v.Key, r.run.RawDir(), log, AbortAfter
	plan.Base = r.run.Dir() // raw paths relative to the run directory: valid after Commit
	st.Planned = plan.Reps
	if g.HaltsAfterMain {
		st.StopAfterMain = true
		st.Notes = append(st.Notes, fmt.Sprintf("the guest halts after main() without ending its VM: each boot ends when the observers "+
			"have seen its end marker (port %#x), and the harness then stops the VMM (SIGKILL to its process group); the original "+
			"artifact killed it after a fixed 4 s", s.markers.Main))
	}
	fmt.Fprintf(outOr(r.o.Out), "fig10: %s: %d boots (+%d warm-up), observers %s, CPUs %s\n",
		v.Label, plan.Reps, plan.Warmup, strings.Join(st.Observers, "+"), host.FormatCPUList(st.CPUs))
	task := r.progress().Start(v.Label, plan.Reps, "boots")
	defer task.Done()
	outer := ctx
	res, runErr := rep.Run(ctx, plan, func(ctx context.Context, rp rep.Rep) (boottime.Boot, error) {
		b, err := boottime.Run(ctx, s.target, s.obs, boottime.Options{Markers: s.markers, Accel: r.o.Accel, Timeout: plan.Timeout,
			Raw: rp.Raw, Base: plan.Base, StopAfterMain: g.HaltsAfterMain})
		if rp.Raw != "" {
			// A boot whose record cannot be kept (disk full) stops the run: the next boots
			// would lose theirs too.
			if werr := b.WriteJSON(rp.Raw); werr != nil {
				return b, rep.Fatal(errors.Join(err, fmt.Errorf("keeping the record of boot %d: %w", rp.Index, werr)))
			}
		}
		if !rp.Warmup && outer.Err() == nil {
			task.Step(err == nil)
		}
		return b, err
	})
	if err := r.run.WriteJSON("raw/"+v.Key+"/repetitions.json", res); err != nil {
		return st, err
	}
	if runErr != nil {
		st.Status, st.Reason = fig10.Failed, runErr.Error()
		return st, runErr
	}
	st.OK, st.Failed, st.Warmups = len(res.Runs)-res.Failed, res.Failed, len(res.Warmups)
	for _, o := range res.Runs {
		if !o.OK && len(st.Errors) < 3 {
			st.Errors = append(st.Errors, fmt.Sprintf("boot %d: %s", o.Index, o.Err))
		}
	}
	var lifetimes time.Duration
	for _, o := range res.Runs {
		if o.Value.Pid != 0 {
			lifetimes += o.Value.Exit.Lifetime()
		}
		if o.Value.Ending == boottime.EndedAtMarker {
			st.EndedAtMarker++
		}
	}
	st.LoopWallNS, st.LifetimesNS = res.Wall.Nanoseconds(), lifetimes.Nanoseconds()
	if lifetimes > 0 {
		st.Overhead = float64(res.Wall) / float64(lifetimes)
	}
	r.loopWall += res.Wall
	r.lifetime += lifetimes
	if err := r.collect(v, s, res, &st); err != nil {
		return st, err
	}
	return st, nil
}

// collect turns the boots into result rows.
func (r *runner) collect(v fig10.VMM, s *setup, res rep.Result[boottime.Boot], st *fig10.SeriesStatus) error {
	if r.csv == nil {
		r.csv, r.phases = map[string][]fig10.BootTime{}, map[string]map[string]map[string]stats.Summary{}
	}
	perObs := map[string]map[string][]float64{}
	var rows []fig10.BootTime
	for _, o := range res.Runs {
		if !o.OK {
			continue
		}
		b := o.Value
		var bt *vmm.BootTimer
		if v.Key == fig10.Firecracker {
			if console, err := os.ReadFile(filepath.Join(r.run.Dir(), rawConsole(b))); err == nil {
				if t, ok := vmm.ParseBootTimer(console); ok {
					bt = &t
				}
			}
		}
		for _, smp := range b.Samples {
			r.extended = append(r.extended, fig10.NewExtendedRow(v.Key, o.Index, smp, smp.Observer == s.primary, bt))
			if perObs[smp.Observer] == nil {
				perObs[smp.Observer] = map[string][]float64{}
			}
			for _, ph := range boottime.Phases {
				if x, ok := smp.Phase(ph); ok {
					perObs[smp.Observer][ph] = append(perObs[smp.Observer][ph], x)
				}
			}
		}
		p, ok := b.Sample(s.primary)
		if !ok || p.VMMUS == nil || p.GuestUS == nil {
			st.Failed++
			st.OK--
			if len(st.Errors) < 3 {
				st.Errors = append(st.Errors, fmt.Sprintf("boot %d: the %s observer could not split VMM and guest time", o.Index, s.primary))
			}
			continue
		}
		rows = append(rows, fig10.BootTime{VMMus: *p.VMMUS, GuestUs: *p.GuestUS})
	}
	r.phases[v.Key] = map[string]map[string]stats.Summary{}
	for obs, phases := range perObs {
		r.phases[v.Key][obs] = map[string]stats.Summary{}
		for ph, xs := range phases {
			r.phases[v.Key][obs][ph] = stats.Summarize(xs)
		}
	}
	if res.Aborted != "" {
		// The boots left out count as failed: the series did not give what was planned.
		booted := len(res.Warmups) + len(res.Runs)
		st.Status, st.Failed = fig10.Failed, st.Planned-len(rows)
		st.Reason = fmt.Sprintf("%s; series stopped after %d of %d boots (warm-up included)", res.Aborted, booted, st.Planned+r.o.Plan.Warmup)
		return nil
	}
	if len(rows) == 0 {
		st.Status = fig10.Failed
		st.Reason = fmt.Sprintf("none of %d boots succeeded", st.Planned)
		if len(st.Errors) > 0 {
			st.Reason += "; " + st.Errors[0]
		}
		return nil
	}
	r.csv[v.Key] = rows
	r.samples += len(rows)
	return nil
}

// rawConsole is the console log a boot kept.
func rawConsole(b boottime.Boot) string {
	for _, p := range b.Raw {
		if strings.HasSuffix(p, ".console.log") {
			return p
		}
	}
	return ""
}

// setup prepares the boots of one VMM, or returns nil with st.Reason when it cannot run here.
func (r *runner) setup(ctx context.Context, v fig10.VMM, kernel string, st *fig10.SeriesStatus) (*setup, error) {
	root := r.root
	kvm := r.o.Accel == vmm.KVM
	s := &setup{markers: boottime.QEMUMarkers}
	ncpu := 1
	if strings.HasPrefix(v.Key, "qemu") {
		ncpu = 2 // the paper: taskset -c 4,5 for QEMU, -c 4 for Solo5 and Firecracker
	}
	cpus, err := host.ChooseCPUs(ncpu)
	if err != nil {
		st.Reason = err.Error()
		return nil, nil
	}
	st.CPUs, st.CPUReason = cpus.CPUs, cpus.Reason

	switch v.Key {
	case fig10.QEMU, fig10.QEMU1NIC, fig10.QEMUMicroVM:
		bin, err := vmm.QEMUBinary(r.o.Binaries.QEMU)
		if err != nil {
			st.Reason = err.Error()
			return nil, nil
		}
		st.Binary = bin
		if st.Version, err = vmm.QEMUVersion(ctx, bin); err != nil {
			st.Reason = err.Error()
			return nil, nil
		}
		r.manifest.Tools["qemu"] = st.Version
		q := vmm.QEMU{Binary: bin, CPU: r.o.QEMUCPU, Machine: "pc", Accel: r.o.Accel, MemoryMiB: 2, Kernel: kernel, DebugExit: true, CPUs: cpus.CPUs}
		if v.Key == fig10.QEMUMicroVM {
			q.Machine = "microvm"
			if !root && !memlockUnlimited() {
				q.NoMemLock = true
				st.Notes = append(st.Notes, "deviation: without root (or an unlimited memlock limit) microvm runs without the paper's -overcommit mem-lock=on")
			}
		}
		if v.Key == fig10.QEMU1NIC {
			// Creating the tap device needs CAP_NET_ADMIN: try once, so a user without it
			// gets this VMM reported as not run instead of 26 failed boots.
			t, err := vmm.CreateTap(vmm.NewTapName())
			if err != nil {
				st.Reason = err.Error()
				return nil, nil
			}
			if err := t.Close(); err != nil {
				return nil, err
			}
			q.NIC = &vmm.NIC{}
		}
		args, err := q.Args()
		if err != nil {
			return nil, err
		}
		st.Machine, _ = q.MachineOptions()
		leaf := q.TSCFrequencyLeaf()
		st.TSCLeaf = &leaf
		r.manifest.Machines[v.Key] = st.Machine
		if !leaf {
			st.Notes = append(st.Notes, noTSCLeafNote(r.o.Accel))
			if v.Key == fig10.QEMUMicroVM {
				st.Notes = append(st.Notes, "deviation: microvm with pit=on (the paper: pit=off): without the TSC-frequency leaf the guest polls the PIT to calibrate its clock and would never boot without it")
			}
		}
		st.Command = append([]string{bin}, args...)
		s.target = q
	case fig10.Solo5:
		if !kvm {
			st.Reason = "needs KVM: Solo5 hvt has no software emulation (ACCEL=tcg)"
			return nil, nil
		}
		bin := r.o.Binaries.Solo5HVT
		if bin == "" {
			bin = r.pr.Guests[GuestOf(fig10.Solo5, r.o.FCGuest).Key].Extras["solo5-hvt"]
		}
		if why := runnable(ctx, bin, "--help"); why != "" {
			st.Reason = "solo5-hvt (" + bin + "): " + why
			return nil, nil
		}
		st.Binary = bin
		s.markers = boottime.Solo5Markers
		t := vmm.Solo5{Binary: bin, MemoryMiB: 2, Kernel: kernel, CPUs: cpus.CPUs}
		args, err := t.CommandArgs()
		if err != nil {
			return nil, err
		}
		st.Command = append([]string{bin}, args...)
		s.target = t
	case fig10.Firecracker:
		if !kvm {
			st.Reason = "needs KVM: Firecracker has no software emulation (ACCEL=tcg)"
			return nil, nil
		}
		bin := r.o.Binaries.Firecracker
		if bin == "" {
			bin = r.pr.Firecracker
		}
		if why := runnable(ctx, bin, "--version"); why != "" {
			st.Reason = "firecracker (" + bin + "): " + why
			return nil, nil
		}
		st.Binary = bin
		if out, err := vmm.Output(ctx, 30*time.Second, bin, "--version"); err == nil {
			st.Version = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
			r.manifest.Tools["firecracker"] = st.Version
		}
		// The 0.13 guest writes 1112 at lxboot_entry() and 1500 at main(), as on QEMU; the
		// paper's guest (FC_GUEST=paper) only the boot-timer port at main(), so its platform
		// entry is the first KVM_RUN, as the paper's Firecracker counted.
		f := vmm.Firecracker{Binary: bin, Kernel: kernel, MemoryMiB: 16, StopOnBootTimer: true, CPUs: cpus.CPUs}
		if GuestOf(fig10.Firecracker, r.o.FCGuest).Key == "firecracker" {
			s.markers = boottime.FirecrackerMarkers
		}
		st.Notes = append(st.Notes, "deviation: 16 MiB of guest memory (the paper's 0.4-era guest ran in 2 MiB; the 0.13 guest is larger)")
		st.Command = append([]string{bin}, f.Args("<private dir>")...)
		s.target = f
	}

	return s, r.observe(v, s, st)
}

// observe chooses the boots' observers (OBSERVERS, or by default: ftrace as root under
// KVM, else QEMU's debug console). The two are not combined by default: QEMU writes a
// debug-console marker to its socket before it resumes the vCPU, which adds to the guest
// part what it measures (on the development machine's nested KVM the test guest's 8 µs
// became 40–3000 µs). Solo5 and Firecracker have no debug console: ftrace is their only
// observer. A VMM that cannot be observed gets st.Reason and a nil target.
func (r *runner) observe(v fig10.VMM, s *setup, st *fig10.SeriesStatus) error {
	isQEMU := strings.HasPrefix(v.Key, "qemu")
	var noFtrace string // why ftrace cannot watch here
	switch {
	case r.o.Accel != vmm.KVM:
		noFtrace = "the ftrace observer sees KVM guests only (ACCEL=" + r.o.Accel + ")"
	case !r.root:
		noFtrace = "the ftrace observer needs root; run as root"
	}
	useFtrace, useDebugcon := noFtrace == "", isQEMU && noFtrace != ""
	if r.o.Observers != nil {
		useFtrace, useDebugcon = slices.Contains(r.o.Observers, "ftrace"), isQEMU && slices.Contains(r.o.Observers, "debugcon")
	}
	notRun := func(why string) error {
		st.Reason, s.target = why, nil
		return nil
	}
	if useFtrace && noFtrace != "" {
		if !useDebugcon {
			return notRun(noFtrace)
		}
		useFtrace = false
		st.Notes = append(st.Notes, noFtrace+": timed by the debug console only")
	}
	if useFtrace {
		ft, err := boottime.OpenFtrace(boottime.FtraceOptions{Tracefs: r.o.Tracefs}, s.markers)
		switch {
		case err != nil && (!isQEMU || r.o.Observers != nil && !useDebugcon):
			return notRun("the ftrace observer failed: " + err.Error())
		case err != nil:
			st.Notes = append(st.Notes, "the ftrace observer failed ("+err.Error()+"): timed by the debug console")
			useDebugcon = true
		case v.Key == fig10.Solo5 && !ft.SeesKVMRun():
			ft.Close()
			return notRun("the ftrace observer cannot see KVM_RUN (no syscall tracepoints in this kernel), which marks the start of a Solo5 guest")
		default:
			s.obs.Ftrace, s.primary, s.close = ft, "ftrace", ft.Close
		}
	}
	if useDebugcon {
		s.obs.Debugcon = true
		if s.primary == "" {
			s.primary = "debugcon"
		}
	}
	switch {
	case s.primary != "":
		return nil
	case !isQEMU && noFtrace != "":
		return notRun("needs the ftrace observer (Solo5 and Firecracker have no debug console), but " + noFtrace)
	case !isQEMU:
		return notRun("needs the ftrace observer (Solo5 and Firecracker have no debug console); OBSERVERS=" + strings.Join(r.o.Observers, ","))
	default:
		return notRun("no observer selected: OBSERVERS=" + strings.Join(r.o.Observers, ","))
	}
}

// noTSCLeafNote says why a QEMU series' guest part includes a clock calibration.
func noTSCLeafNote(accel string) string {
	why := "ACCEL=tcg: TCG has no CPUID leaf 0x40000010"
	if accel != vmm.TCG {
		why = "the CPU model (QEMU_CPU) has no invariant TSC (+invtsc), so QEMU gives no CPUID leaf 0x40000010"
	}
	return why + ": the guest calibrates its TSC against the i8254 PIT (a 100 ms delay in Unikraft 7fd6797), which is in its guest part"
}

// runnable says why bin cannot be executed ("" when it can): missing, not executable, or
// built for another system (missing shared libraries).
func runnable(ctx context.Context, bin string, arg string) string {
	if bin == "" {
		return "no binary (prepare it with `go tool mage fig10:prepare`, or set the path)"
	}
	if _, err := os.Stat(bin); err != nil {
		return err.Error()
	}
	out, err := vmm.Output(ctx, 30*time.Second, bin, arg)
	if err == nil {
		return ""
	}
	for _, bad := range []string{"error while loading shared libraries", "No such file", "cannot execute", "exec format error", "permission denied", "GLIBC_"} {
		if bytes.Contains(out, []byte(bad)) || strings.Contains(err.Error(), bad) {
			return "cannot be executed on this host: " + vmm.FirstLine(err.Error())
		}
	}
	return "" // it ran and printed its usage (some tools exit non-zero doing so)
}

// memlockUnlimited reports whether this process may lock all its memory (QEMU's
// -overcommit mem-lock=on) without root.
func memlockUnlimited() bool {
	var l unix.Rlimit
	return unix.Getrlimit(unix.RLIMIT_MEMLOCK, &l) == nil && l.Cur == unix.RLIM_INFINITY
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

// writeAll writes the run's files: result files, extended.csv, series.json, summary.json.
func (r *runner) writeAll(status *fig10.RunStatus) error {
	var errs []error
	measured := &fig10.Dataset{}
	for _, v := range fig10.VMMs {
		if rows, ok := r.csv[v.Key]; ok {
			measured.Series = append(measured.Series, fig10.Series{VMM: v, Boots: rows})
		}
	}
	errs = append(errs, measured.Write(r.run.Dir()))
	b, err := fig10.FormatExtended(r.extended)
	if err == nil {
		err = r.run.WriteFile(fig10.ExtendedFile, b)
	}
	errs = append(errs, err, r.run.WriteJSON(fig10.SeriesFile, status))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if r.samples == 0 {
		return nil
	}
	d, err := fig10.Load(r.run.Dir())
	if err != nil {
		return err
	}
	d.Provenance.Fixture = r.pr.Fixture
	d.Provenance.Accel = r.o.Accel
	sum := RunSummary{Summary: d.Summary().(fig10.Summary), Phases: r.phases, Harness: Harness{
		LoopWallNS: r.loopWall.Nanoseconds(), LifetimesNS: r.lifetime.Nanoseconds()}}
	if r.lifetime > 0 {
		sum.Harness.Overhead = float64(r.loopWall) / float64(r.lifetime)
	}
	return r.run.WriteJSON("summary.json", sum)
}

// RunSummary is summary.json of a measured run: the figure's statistics per VMM, the
// statistics of every phase per observer, and what the harness cost.
type RunSummary struct {
	fig10.Summary
	// Phases: VMM → observer → phase (boottime.Phases) → statistics in µs.
	Phases  map[string]map[string]map[string]stats.Summary `json:"phases"`
	Harness Harness                                        `json:"harness"`
}

// Harness is the cost of the measuring loop around the VMMs.
type Harness struct {
	// Overhead is the measured loops' wall time over the sum of the VMM processes'
	// lifetimes (fork to exit): 1.0 would be a harness that costs nothing.
	Overhead    float64 `json:"overhead"`
	LoopWallNS  int64   `json:"loop_wall_ns"`
	LifetimesNS int64   `json:"vmm_lifetimes_ns"`
}

// printTable prints the run's results per VMM and the harness overhead.
func (r *runner) printTable(w io.Writer, dir string, status *fig10.RunStatus) {
	fmt.Fprintf(w, "\nfig10 results (%s)", dir)
	if r.pr.Fixture != "" {
		fmt.Fprintf(w, " — FIXTURE %s, not Unikraft", r.pr.Fixture)
	}
	fmt.Fprintf(w, ", accel %s\n", r.o.Accel)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VMM\tboots ok\tobserver\tVMM part (ms)\tguest part (ms)\ttotal (ms)\tmin–max total\tharness overhead")
	for _, key := range RunOrder {
		v, _ := fig10.LookupVMM(key)
		st, _ := status.Get(key)
		rows := r.csv[key]
		if st.Status != fig10.Ran || len(rows) == 0 {
			fmt.Fprintf(tw, "%s\t%s: %s\n", v.Label, st.Status, st.Reason)
			continue
		}
		s := fig10.Series{VMM: v, Boots: rows}
		vm, g, t := s.Stats()
		fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\t%s\t%s\t%s–%s\t%.3f\n", v.Label, len(rows), st.Planned, st.Observer,
			fig10.Millis(vm.Mean), fig10.Millis(g.Mean), fig10.Millis(t.Mean), fig10.Millis(t.Min), fig10.Millis(t.Max), st.Overhead)
	}
	tw.Flush()
	if r.lifetime > 0 {
		fmt.Fprintf(w, "harness overhead: measured loops %v / VMM process lifetimes %v = %.3f\n",
			r.loopWall.Round(time.Millisecond), r.lifetime.Round(time.Millisecond), float64(r.loopWall)/float64(r.lifetime))
	}
}
