package pipeline

import (
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

	fig14 "github.com/unikraft-eurosys21/artifact/experiments/fig_14"
	"github.com/unikraft-eurosys21/artifact/internal/gdbtrace"
	"github.com/unikraft-eurosys21/artifact/internal/host"
	"github.com/unikraft-eurosys21/artifact/internal/progress"
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// DefaultReps is the paper's number of boots per allocator (benchmark.sh: ITERATIONS=10).
// REPS overrides it; its bundle-wide default (26) is Figure 10's and does not apply here.
const DefaultReps = 10

// DefaultTimeout bounds one capture: QEMU's start, the boot up to main() and
// `uk trace`. A Unikraft NGINX boot takes well under a second under KVM and a few seconds
// under TCG; one that takes minutes is broken.
const DefaultTimeout = 3 * time.Minute

// AbortAfter is how many consecutive boots of an allocator may fail the same way (e.g. "the
// guest did not reach the breakpoint") before its series is stopped: a guest that hung
// three times will hang the rest, at a timeout each.
const AbortAfter = 3

// RunOptions configure Run.
type RunOptions struct {
	Accel string // "kvm" or "tcg"
	// Plan gives Reps (DefaultReps when 0) and the per-boot Timeout (DefaultTimeout when 0);
	// Series, RawDir and Log are set per allocator.
	Plan       rep.Plan
	ResultsDir string // results root (RESULTS_DIR)
	Images     string // image cache root, where prepare left its index
	Fixture    string // the fixture the images were prepared from ("" for real sources)
	QEMU       string // QEMU binary ("" for qemu-system-x86_64 on PATH)
	QEMUCPU    string // QEMU's -cpu ("" for vmm's defaults)
	GDB        string // gdb binary ("" for gdb on PATH)
	// Settings and SettingsFrom are recorded in the manifest (settings.Settings.Record).
	Settings, SettingsFrom map[string]string
	Log                    logrus.FieldLogger
	Out                    io.Writer // the results table; os.Stdout when nil
	// Progress shows each allocator's boots as they go; plain lines on Out when nil.
	Progress *progress.Display
}

// ErrBootsFailed is what Run returns (wrapped) when boots were tried and failed; the run is
// written and kept as the latest when every allocator has boots to show, and its verdict
// shows the failures.
var ErrBootsFailed = errors.New("boots failed")

// Boot is what one boot (one capture) left: the processes and how long QEMU lived.
type Boot struct {
	QEMUPid    int    `json:"qemu_pid,omitempty"`
	GDBPid     int    `json:"gdb_pid,omitempty"`
	LifetimeNS int64  `json:"qemu_lifetime_ns"`
	QEMUExit   string `json:"qemu_exit,omitempty"`
	Lines      int    `json:"trace_lines,omitempty"` // trace lines `uk trace` printed
}

// captureError is a failed capture with how it stopped, in words equal for boots that
// stopped the same way (rep.Stopper), so that AbortAfter can see a repeating failure.
type captureError struct {
	err  error
	stop string
}

func (e *captureError) Error() string        { return e.err.Error() }
func (e *captureError) Unwrap() error        { return e.err }
func (e *captureError) ObservedStop() string { return e.stop }

// SeriesStatus is one allocator's series in series.json.
type SeriesStatus = fig14.SeriesStatus

// RunSummary is summary.json of a measured run: the figure's statistics and what the
// harness cost.
type RunSummary struct {
	fig14.Summary
	Accel   string  `json:"accel"`
	Fixture string  `json:"fixture,omitempty"`
	Harness Harness `json:"harness"`
}

// Harness is the cost of the capture loop around the VMs.
type Harness struct {
	// Overhead is the loops' wall time over the sum of the QEMU processes' lifetimes: what
	// starting QEMU paused, gdb, `uk trace` and resolving cost beyond the VMs themselves.
	Overhead    float64 `json:"overhead"`
	LoopWallNS  int64   `json:"loop_wall_ns"`
	LifetimesNS int64   `json:"qemu_lifetimes_ns"`
}

// Run boots each prepared image Plan.Reps times in the paper's order (tinyalloc, tlsf,
// buddy, mimalloc, region), each boot a fresh pinned QEMU (pc, 1024 MiB, no NIC, the
// paper's initrd) captured through its gdb stub (internal/gdbtrace), and writes a run
// directory: raw/<alloc>-<timestamp>.txt in the paper's format, raw/<alloc>/ with every
// boot's gdb output, console and resolved trace, 1024M/<alloc>.csv, series.json,
// summary.json and manifest.json. It returns the run directory when the run was kept as the
// latest (also with failed boots: the error then says which).
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
	log = log.WithFields(logrus.Fields{"figure": fig14.Figure.Dir, "step": "run"})
	pr, err := ReadPrepared(o.Images, o.Fixture)
	if err != nil {
		return "", err
	}
	if err := checkPrepared(pr); err != nil {
		return "", err
	}
	gdbBin, err := gdbtrace.Binary(o.GDB)
	if err != nil {
		return "", fmt.Errorf("fig14: %w", err)
	}
	gdbVersion, err := gdbtrace.Version(ctx, gdbBin)
	if err != nil {
		return "", fmt.Errorf("fig14: %w", err)
	}
	qemuBin, err := vmm.QEMUBinary(o.QEMU)
	if err != nil {
		return "", fmt.Errorf("fig14: %w", err)
	}
	qemuVersion, err := vmm.QEMUVersion(ctx, qemuBin)
	if err != nil {
		return "", fmt.Errorf("fig14: %w", err)
	}
	// Two CPUs as for fig10's QEMU (the paper pinned QEMU with taskset -c 4,5).
	cpus, err := host.ChooseCPUs(2)
	if err != nil {
		return "", fmt.Errorf("fig14: %w", err)
	}
	if o.Plan.Reps == 0 {
		o.Plan.Reps = DefaultReps
	}
	if o.Plan.Timeout == 0 {
		o.Plan.Timeout = DefaultTimeout
	}

	setup := results.Setup{Accel: o.Accel, Fixture: pr.Fixture, QEMU: qemuBin, Settings: o.Settings, SettingsFrom: o.SettingsFrom,
		ToolchainRef: pr.Toolchain.Ref, ToolchainID: pr.Toolchain.ID, ToolchainPackages: pr.Toolchain.Packages}
	run, m, err := results.Start(ctx, o.ResultsDir, fig14.Figure.Dir, setup)
	if err != nil {
		return "", err
	}
	defer run.Keep(log)
	m.Sources = pr.Sources
	m.Tools["qemu"], m.Tools["gdb"] = qemuVersion, gdbVersion+" (host: "+gdbBin+")"
	for _, im := range Images {
		m.Images["image "+im.Alloc] = "sha256:" + pr.Images[im.Alloc].KernelSHA256
	}
	m.Images["initrd "+InitrdFile] = "sha256:" + pr.Initrd.SHA256
	m.Notes = append(m.Notes, patchNotes(pr)...)
	m.Notes = append(m.Notes, "uk-gdb.py: "+pr.GDBScript,
		fmt.Sprintf("QEMU pinned to CPUs %s (%s)", host.FormatCPUList(cpus.CPUs), cpus.Reason))
	// Every image's full build record (trees, patch steps with their sha256, configuration).
	if err := run.WriteJSON("images.json", pr.Images); err != nil {
		return "", err
	}
	setup.Announce(out, "fig14", "the images are the stand-in test kernel, not Unikraft or NGINX")

	r := &runner{o: o, pr: pr, run: run, log: log, gdb: gdbBin, qemu: qemuBin, cpus: cpus.CPUs}
	var status []SeriesStatus
	for _, im := range Images {
		st, err := r.series(ctx, im.Alloc, m)
		status = append(status, st)
		if err == nil && ctx.Err() != nil {
			err = fmt.Errorf("%s: interrupted: %w", im.Alloc, context.Cause(ctx))
		}
		if err != nil {
			// An interrupt or a run-wide failure (disk full) stops the run at once; what
			// was measured is kept in failed/, and the one message says where.
			run.WriteJSON(fig14.SeriesFile, status)
			return "", fmt.Errorf("fig14: %w", run.Stop(m, err))
		}
		if why := st.Why(); why != "" {
			fmt.Fprintf(out, "fig14: %s FAILED: %s\n", im.Alloc, why)
		}
	}
	if err := run.WriteJSON(fig14.SeriesFile, status); err != nil {
		return "", err
	}
	m.Ended = time.Now().UTC()
	why := failures(status)
	d, perr := fig14.FromRaw(run.RawDir())
	if perr != nil {
		// Without a trace of every allocator there is no figure: the run is kept in failed/
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
		return "", fmt.Errorf("fig14: %s; no figure can be made from this run (%v); it is kept in %s: %w", why, perr, to, ErrBootsFailed)
	}
	if err := d.Write(run.Dir()); err != nil {
		return "", err
	}
	sum := RunSummary{Summary: d.Summary().(fig14.Summary), Accel: o.Accel, Fixture: pr.Fixture,
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
	r.printTable(out, dir, d, status)
	if why != "" {
		return dir, fmt.Errorf("fig14: %s; the run is kept in %s, and its verdict (go tool mage fig14:verify) shows the failures as FAIL: %w",
			why, dir, ErrBootsFailed)
	}
	return dir, nil
}

// checkPrepared says what is missing for the run in what prepare left, and what to do.
func checkPrepared(pr *Prepared) error {
	again := "run `go tool mage fig14:prepare` again (with the same SOURCES_MIRROR)"
	for _, im := range Images {
		img, ok := pr.Images[im.Alloc]
		if !ok {
			return fmt.Errorf("fig14: the %s image was not prepared; %s", im.Alloc, again)
		}
		for _, p := range []string{img.Kernel, Debug(img)} {
			if _, err := os.Stat(p); err != nil {
				return fmt.Errorf("fig14: the %s image: %w; %s", im.Alloc, err, again)
			}
		}
	}
	if pr.GDBScript == "" {
		return fmt.Errorf("fig14: the images were prepared by an older bundle that did not record uk-gdb.py; %s", again)
	}
	if _, err := os.Stat(pr.GDBScript); err != nil {
		return fmt.Errorf("fig14: Unikraft's gdb script: %w (the source cache changed since prepare?); %s", err, again)
	}
	if _, err := os.Stat(pr.Initrd.Path); err != nil {
		return fmt.Errorf("fig14: the initrd: %w; %s", err, again)
	}
	return nil
}

// patchNotes are the patch steps the images were built with, each with its sha256 (the
// same for the five images: one common build).
func patchNotes(pr *Prepared) []string {
	var notes []string
	for _, im := range Images {
		for _, st := range pr.Images[im.Alloc].Spec.Steps {
			n := "applied: " + st.Kind + " " + st.Name
			if st.PatchSHA256 != "" {
				n += " (sha256 " + st.PatchSHA256 + ")"
			}
			if !slices.Contains(notes, n) {
				notes = append(notes, n)
			}
		}
	}
	return notes
}

// failures lists the allocators with failed boots ("" when none failed).
func failures(status []SeriesStatus) string {
	var out []string
	for _, s := range status {
		if why := s.Why(); why != "" {
			out = append(out, s.Alloc+": "+why)
		}
	}
	return strings.Join(out, "; ")
}

// runner holds one run's state.
type runner struct {
	o          RunOptions
	pr         *Prepared
	run        *results.Run
	log        logrus.FieldLogger
	gdb, qemu  string
	cpus       []int
	loopWall   time.Duration
	lifetime   time.Duration
	manifested bool
}

// series boots one allocator's image Plan.Reps times and writes its raw trace. The error is
// for the run as a whole (interrupted, disk full); failed boots are in the status.
func (r *runner) series(ctx context.Context, alloc string, m *results.Manifest) (SeriesStatus, error) {
	img := r.pr.Images[alloc]
	st := SeriesStatus{Alloc: alloc, Image: img.KernelSHA256, Tally: rep.Tally{Planned: r.o.Plan.Reps}}
	log := r.log.WithField("vmm", "qemu").WithField("alloc", alloc)
	q := vmm.QEMU{Binary: r.qemu, CPU: r.o.QEMUCPU, Machine: "pc", Accel: r.o.Accel, MemoryMiB: fig14.MemoryMB,
		Kernel: img.Kernel, Initrd: r.pr.Initrd.Path, CPUs: r.cpus}
	if !r.manifested {
		if mo, err := q.MachineOptions(); err == nil {
			m.Machines["qemu"] = mo
		}
		r.manifested = true
	}
	plan := r.o.Plan
	plan.Series, plan.RawDir, plan.Base, plan.Log, plan.AbortAfter = alloc, r.run.RawDir(), r.run.Dir(), log, AbortAfter
	capTimeout := plan.Timeout
	// The repetition's own deadline comes later than the capture's, so that a guest that
	// hangs is reported by the capture (as not reaching main), not as cancelled.
	plan.Timeout = capTimeout + 30*time.Second
	fmt.Fprintf(outOr(r.o.Out), "fig14: %s: %d boots, QEMU on CPUs %s, captured with %s\n", alloc, plan.Reps, host.FormatCPUList(r.cpus), r.gdb)
	task := r.progress().Start("fig14 "+alloc, plan.Reps, "boots")
	defer task.Done()
	if err := os.MkdirAll(filepath.Join(r.run.RawDir(), alloc), 0o755); err != nil {
		return st, err
	}
	traces := map[int][]byte{}
	outer := ctx
	res, runErr := rep.Run(ctx, plan, func(ctx context.Context, rp rep.Rep) (Boot, error) {
		c, err := gdbtrace.Capture(ctx, gdbtrace.Options{QEMU: q, Debug: Debug(img), Script: r.pr.GDBScript, GDB: r.gdb,
			Break: gdbtrace.DefaultBreak, Timeout: capTimeout})
		var b Boot
		if c != nil {
			b = Boot{QEMUPid: c.QEMUPid, GDBPid: c.GDBPid, LifetimeNS: c.QEMU.Lifetime().Nanoseconds(), QEMUExit: c.QEMU.String(),
				Lines: gdbtrace.TraceLines(c.Trace)}
			// Every boot's raw output is kept, also (above all) when it failed.
			var werr error
			for suffix, data := range map[string][]byte{".gdb.txt": c.GDBOutput, ".console.log": c.Console, ".trace.txt": c.Trace} {
				if data != nil {
					werr = errors.Join(werr, results.WriteFileAtomic(rp.Raw+suffix, data, 0o644))
				}
			}
			if werr != nil {
				// Not this boot's failure: a run that cannot keep its raw output (disk
				// full) stops at once rather than counting every later boot as failed.
				return b, rep.Fatal(fmt.Errorf("keeping the raw output of boot %d: %w", rp.Index, werr))
			}
		}
		if err == nil {
			traces[rp.Index] = c.Trace
		} else if outer.Err() == nil {
			err = &captureError{err: err, stop: stopOf(err)}
		}
		if outer.Err() == nil {
			task.Step(err == nil)
		}
		return b, err
	})
	if err := r.run.WriteJSON("raw/"+alloc+"/repetitions.json", res); err != nil {
		return st, err
	}
	st.Tally = rep.TallyOf(res, st.Planned, func(b Boot) time.Duration { return time.Duration(b.LifetimeNS) })
	r.loopWall += res.Wall
	r.lifetime += time.Duration(st.LifetimesNS)
	// The paper's raw file: one batch per successful boot, numbered as the boot was.
	var raw []byte
	for _, o := range res.Runs {
		if o.OK {
			raw = append(raw, gdbtrace.Batch(alloc, o.Index, plan.Reps, traces[o.Index])...)
		}
	}
	if len(raw) > 0 {
		st.Trace = filepath.Join(fig14.RawDir, fig14.TraceFileName(alloc, time.Now().Format("02012006150405")))
		if err := r.run.WriteFile(st.Trace, raw); err != nil {
			return st, err
		}
	}
	if runErr != nil {
		return st, runErr
	}
	return st, nil
}

// stopOf names how a capture stopped, equal for captures that stopped the same way.
func stopOf(err error) string {
	switch {
	case errors.Is(err, gdbtrace.ErrNoBreak):
		return gdbtrace.ErrNoBreak.Error()
	case errors.Is(err, gdbtrace.ErrNoBootEnd):
		return gdbtrace.ErrNoBootEnd.Error()
	}
	return ""
}

// printTable prints the run's breakdown per allocator and the harness overhead.
func (r *runner) printTable(w io.Writer, dir string, d *fig14.Dataset, status []SeriesStatus) {
	fmt.Fprintf(w, "\nfig14 results (%s)", dir)
	if r.pr.Fixture != "" {
		fmt.Fprintf(w, " — FIXTURE %s, not Unikraft", r.pr.Fixture)
	}
	fmt.Fprintf(w, ", accel %s; mean µs per boot\n", r.o.Accel)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "allocator\tboots ok\t"
	for _, c := range fig14.Components {
		head += c.String() + "\t"
	}
	fmt.Fprintln(tw, head+"total\tharness overhead\t")
	for _, im := range Images {
		var st SeriesStatus
		for _, s := range status {
			if s.Alloc == im.Alloc {
				st = s
			}
		}
		for _, s := range d.Series {
			if s.Name != im.Alloc {
				continue
			}
			line := fmt.Sprintf("%s\t%d/%d\t", s.Name, st.OK, st.Planned)
			for _, c := range fig14.Components {
				line += fmt.Sprintf("%.1f\t", s.Mean[c])
			}
			fmt.Fprintf(tw, "%s%.1f\t%.3f\t\n", line, s.Mean.Total(), st.Overhead)
		}
	}
	tw.Flush()
	if r.lifetime > 0 {
		fmt.Fprintf(w, "harness overhead: capture loops %v / QEMU process lifetimes %v = %.3f\n",
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
