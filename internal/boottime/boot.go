package boottime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/files"
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// Target is a VMM configuration that can be launched again and again: vmm.QEMU,
// vmm.Firecracker or vmm.Solo5 (value or pointer). It must not carry Files, which a launch
// consumes.
type Target interface {
	New() (*vmm.Process, error)
}

// Observers selects how boots are observed; both may watch the same boot.
type Observers struct {
	// Ftrace, when set, observes through its private tracing instance (KVM only).
	Ftrace *Ftrace
	// Debugcon adds isa-debugcon devices on the marker ports (QEMU only).
	Debugcon bool
}

// Names lists the enabled observers.
func (o Observers) Names() []string {
	var n []string
	if o.Ftrace != nil {
		n = append(n, "ftrace")
	}
	if o.Debugcon {
		n = append(n, "debugcon")
	}
	return n
}

// Options of one boot.
type Options struct {
	Markers Markers // which ports mark entry and main (QEMUMarkers when zero)
	Accel   string  // "kvm" or "tcg", recorded in every sample
	// Timeout bounds the boot; 0 means one minute. The VMM is killed when it expires.
	Timeout time.Duration
	// Raw is the path prefix of the raw logs written for this boot, on success and failure:
	// <Raw>.console.log, <Raw>.ftrace.txt, <Raw>.debugcon.txt. Empty keeps none.
	Raw string
	// Base makes the raw paths recorded in the Boot relative to it (the run directory, so
	// they stay valid when the run directory is renamed or moved); absolute when empty.
	Base string
	// StopAfterMain is for guests that never end their VM after main() (the paper's
	// Firecracker guest halts its vCPU): the boot is over once every observer has seen the
	// main marker, live, and the harness then stops the VMM (SIGKILL to the process group it
	// started) and counts the boot as successful, Boot.Ending EndedAtMarker. Without it a
	// boot lasts until the VMM exits: a guest that writes the marker and then crashes is
	// still caught, but one that halts runs into Timeout.
	StopAfterMain bool
}

// How a boot's VMM run ended (Boot.Ending).
const (
	EndedByExit   = "the VMM exited"
	EndedAtMarker = "stopped by the harness after the end marker"
	// EndedStopped is a stop the VM's driver asked for (vmm.Firecracker.StopOnBootTimer).
	EndedStopped = "stopped by the harness"
	EndedKilled  = "killed by the harness" // timeout, cancellation; the error says which
)

// Boot is the result of booting one VM once.
type Boot struct {
	Pid     int      `json:"pid"`
	Exit    vmm.Exit `json:"exit"`
	Samples []Sample `json:"samples"` // one per observer, in Observers.Names order
	// Timelines are what each observer saw (CLOCK_MONOTONIC ns), the samples' source.
	Timelines []Timeline `json:"timelines"`
	Raw       []string   `json:"raw,omitempty"` // relative to Options.Base when it was set
	// Ending says how the VMM's run ended: EndedByExit, EndedAtMarker (Options.StopAfterMain;
	// Exit then shows the SIGKILL), EndedStopped or EndedKilled.
	Ending string `json:"ending,omitempty"`
	// Stop says, for a failed boot, how far it got and how it ended, in words that are the
	// same for every boot that stopped the same way (no pids, no times): "entry marker
	// (port 1112) seen, main marker (port 1500) never; timed out after 1m0s".
	Stop string `json:"stop,omitempty"`

	base string // Options.Base
}

// StopError is a failed boot's error with its observed stop (Boot.Stop), which the
// repetition engine compares across boots (rep.Plan.AbortAfter).
type StopError struct {
	Observed string
	Err      error
}

func (e *StopError) Error() string { return e.Err.Error() }
func (e *StopError) Unwrap() error { return e.Err }

// ObservedStop implements rep.Stopper.
func (e *StopError) ObservedStop() string { return e.Observed }

// Timeline returns what the named observer saw.
func (b Boot) Timeline(observer string) (Timeline, bool) {
	for _, t := range b.Timelines {
		if t.Observer == observer {
			return t, true
		}
	}
	return Timeline{}, false
}

// Sample returns the sample of the named observer.
func (b Boot) Sample(observer string) (Sample, bool) {
	for _, s := range b.Samples {
		if s.Observer == observer {
			return s, true
		}
	}
	return Sample{}, false
}

// Run boots target once, observed by obs, and returns one sample per observer. The raw
// logs are written first, so a failed boot keeps its evidence. The VMM is always gone when
// Run returns: it exited, it was stopped after the end marker (Options.StopAfterMain), or it
// was killed (timeout, cancellation).
func Run(ctx context.Context, target Target, obs Observers, opts Options) (b Boot, err error) {
	if opts.Markers.Main == 0 {
		opts.Markers = QEMUMarkers
	}
	b.base = opts.Base
	if len(obs.Names()) == 0 {
		return b, errors.New("boottime: no observer selected (ftrace or debugcon)")
	}
	if obs.Ftrace != nil && opts.Accel == vmm.TCG {
		return b, errors.New("boottime: the ftrace observer sees KVM events only; with ACCEL=tcg use the debug-console observer")
	}
	var dc *debugcon
	if obs.Debugcon {
		var q vmm.QEMU
		switch t := target.(type) {
		case vmm.QEMU:
			q = t
		case *vmm.QEMU:
			q = *t
		default:
			return b, fmt.Errorf("boottime: the debug-console observer needs QEMU, not %T; use the ftrace observer", target)
		}
		if len(q.Files) > 0 {
			return b, errors.New("boottime: the target carries Files, which one launch consumes; pass them per launch")
		}
		q.Devices = slices.Clone(q.Devices)
		if dc, err = attachDebugcon(&q, opts.Markers); err != nil {
			return b, err
		}
		defer dc.close()
		target = q
	}
	if obs.Ftrace != nil {
		if err := obs.Ftrace.Reset(); err != nil {
			closeFiles(target)
			return b, err
		}
	}
	p, err := target.New()
	if err != nil {
		closeFiles(target)
		return b, err
	}
	if err := p.Start(ctx); err != nil {
		return b, err
	}
	b.Pid = p.Pid()
	timeout := or(opts.Timeout, time.Minute)
	var ends []<-chan struct{} // one per observer: closed when it has seen the main marker
	var tw *traceWatch
	var watchErr error
	if opts.StopAfterMain {
		if obs.Ftrace != nil {
			if tw, watchErr = obs.Ftrace.watch(b.Pid, opts.Markers.Main); tw != nil {
				ends = append(ends, tw.seen)
			}
		}
		if dc != nil {
			ends = append(ends, dc.seen(opts.Markers.Main))
		}
	}
	var exit vmm.Exit
	var werr error
	atEnd := false
	if watchErr != nil {
		werr = errors.Join(watchErr, p.Stop()) // it cannot be watched: do not wait for nothing
		exit, _ = p.Wait(timeout)
	} else {
		exit, atEnd, werr = waitOrStop(p, timeout, ends)
	}
	b.Exit = exit
	timedOut := errors.Is(werr, vmm.ErrTimeout) || errors.Is(werr, rep.ErrTimeout)
	if timedOut {
		// One wording whichever deadline fired first: Wait's own or the repetition's.
		werr = fmt.Errorf("%s (pid %d) killed: %w after %v", p.Name, b.Pid, vmm.ErrTimeout, timeout)
	}
	switch {
	case atEnd:
		b.Ending = EndedAtMarker
	case !exit.Stopped:
		b.Ending = EndedByExit
	case werr == nil:
		b.Ending = EndedStopped
	default:
		b.Ending = EndedKilled
	}
	var errs []error
	if werr != nil {
		errs = append(errs, werr)
	}
	seen := map[int]bool{} // marker ports any observer saw, also in a failed boot
	errs = append(errs, b.keep(opts.Raw, ".console.log", p.Console()))
	if obs.Ftrace != nil {
		var taken []byte
		if tw != nil {
			var terr error
			taken, terr = tw.finish()
			errs = append(errs, terr)
		}
		trace, rerr := obs.Ftrace.readAfter(taken)
		errs = append(errs, b.keep(opts.Raw, ".ftrace.txt", trace))
		if rerr != nil {
			errs = append(errs, rerr)
		} else {
			tl, perr := ParseTrace(bytes.NewReader(trace), b.Pid)
			switch {
			case perr != nil && werr == nil:
				errs = append(errs, fmt.Errorf("ftrace: %w", perr))
			case perr == nil:
				for port := range tl.Ports {
					seen[port] = true
				}
				if werr == nil {
					errs = append(errs, b.add(tl, opts, exit, obs.Ftrace.SeesKVMRun(), trace))
				}
			}
		}
	}
	if dc != nil {
		tl, raw, derr := dc.finish(exit.Started)
		errs = append(errs, b.keep(opts.Raw, ".debugcon.txt", raw))
		for port := range tl.Ports {
			seen[port] = true
		}
		if derr != nil {
			errs = append(errs, derr)
		} else if werr == nil {
			errs = append(errs, b.add(tl, opts, exit, false, nil))
		}
	}
	if err := errors.Join(errs...); err != nil {
		b.Stop = stopOf(opts.Markers, seen, timedOut, timeout, werr, exit, atEnd)
		return b, &StopError{Observed: b.Stop, Err: fmt.Errorf("boot of %s (pid %d): %w", p.Name, b.Pid, err)}
	}
	return b, nil
}

// stopOf describes how far a failed boot got (which markers were seen) and how it ended,
// without pids or times, so that boots that stopped the same way have the same text.
func stopOf(m Markers, seen map[int]bool, timedOut bool, timeout time.Duration, werr error, e vmm.Exit, atEnd bool) string {
	marker := func(name string, port int) string { return fmt.Sprintf("%s marker (port %d)", name, port) }
	var got, never []string
	if m.Entry != 0 {
		if seen[m.Entry] {
			got = append(got, marker("entry", m.Entry))
		} else {
			never = append(never, marker("entry", m.Entry))
		}
	}
	if seen[m.Main] {
		got = append(got, marker("main", m.Main))
	} else {
		never = append(never, marker("main", m.Main))
	}
	var s string
	switch {
	case len(got) == 0:
		s = "no marker seen (" + strings.Join(never, ", ") + " never)"
	case len(never) == 0:
		s = strings.Join(got, " and ") + " seen"
	default:
		s = strings.Join(got, ", ") + " seen, " + strings.Join(never, ", ") + " never"
	}
	switch {
	case timedOut:
		return s + "; timed out after " + timeout.String()
	case werr != nil:
		return s + "; " + pidless.ReplaceAllString(werr.Error(), "")
	case atEnd:
		return s + "; " + EndedAtMarker + ", but the observers' times did not give a boot (see the error)"
	case len(never) > 0:
		return s + "; the VMM ended (" + e.String() + ")"
	default:
		return s + "; the VMM ended (" + e.String() + ") but the observers' times did not give a boot (see the error)"
	}
}

// waitOrStop waits up to timeout for the VMM to exit, as p.Wait; but once every channel in
// ends is closed (each observer has seen the main marker) before that, it stops the VMM and
// reports atEnd: the guest's boot is complete and it will not end its VM itself. With no
// channels it is p.Wait. Bounded by timeout plus Wait's and Stop's grace after SIGKILL.
func waitOrStop(p *vmm.Process, timeout time.Duration, ends []<-chan struct{}) (e vmm.Exit, atEnd bool, err error) {
	if len(ends) == 0 {
		e, err = p.Wait(timeout)
		return e, false, err
	}
	type result struct {
		e   vmm.Exit
		err error
	}
	waited := make(chan result, 1)
	go func() {
		e, err := p.Wait(timeout)
		waited <- result{e, err}
	}()
	all, quit := make(chan struct{}), make(chan struct{})
	defer close(quit)
	go func() {
		for _, c := range ends {
			select {
			case <-c:
			case <-quit:
				return
			}
		}
		close(all)
	}()
	select {
	case r := <-waited:
		return r.e, false, r.err
	case <-all:
	}
	serr := p.Stop() // SIGKILL to the VMM's own process group, by the pid it started
	r := <-waited
	if serr != nil {
		return r.e, false, errors.Join(r.err, serr)
	}
	// The timeout may have fired first (its error), or the VMM exited by itself meanwhile.
	return r.e, r.err == nil && r.e.Stopped, r.err
}

// pidless removes the pids from an error text.
var pidless = regexp.MustCompile(` \(pid \d+\)`)

func (b *Boot) add(tl Timeline, opts Options, e vmm.Exit, wantKVMRun bool, trace []byte) error {
	if tl.Observer == "ftrace" && tl.Exec == 0 && !traceHas(trace, b.Pid) {
		return fmt.Errorf("ftrace: no event of pid %d in the trace (events disabled, or the buffer filled up before the run)", b.Pid)
	}
	if wantKVMRun && tl.KVMRun == 0 && opts.Accel != vmm.TCG {
		return fmt.Errorf("ftrace: pid %d never issued KVM_RUN: did it run under KVM?", b.Pid)
	}
	b.Timelines = append(b.Timelines, tl)
	s, err := tl.Sample(opts.Markers, opts.Accel, e)
	if err != nil {
		return err
	}
	b.Samples = append(b.Samples, s)
	return nil
}

// closeFiles closes the files a debugcon attach put into a QEMU target that is not
// going to start (a started VM closes them itself).
func closeFiles(t Target) {
	if q, ok := t.(vmm.QEMU); ok {
		for _, f := range q.Files {
			f.Close()
		}
	}
}

// keep writes one raw log next to prefix and records it.
func (b *Boot) keep(prefix, suffix string, data []byte) error {
	if prefix == "" {
		return nil
	}
	path := prefix + suffix
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("keep raw log: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("keep raw log: %w", err)
	}
	b.Raw = append(b.Raw, files.Rel(b.base, path))
	return nil
}

// WriteJSON writes the boot (samples, exit, raw files) as <prefix>.json.
func (b Boot) WriteJSON(prefix string) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(prefix+".json", append(data, '\n'), 0o644)
}

// or is v, or def when v is the zero value.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
