// Package rep repeats a measurement the way every figure does: N measured repetitions
// (REPS, parsed by package settings), optional warm-up runs reported apart from them, a timeout per repetition, and
// failures recorded with their raw logs and counted rather than hidden.
//
// The original artifact slept a fixed time around every run and let a failed run leave a
// blank row in its CSV. Here a repetition ends when its measurement returns; a failed one
// keeps its error and raw files, and the result says how many failed.
package rep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/unikraft-eurosys21/artifact/internal/files"
)

// Plan says how often and how to repeat one series.
type Plan struct {
	// Series names the measured thing in logs, raw file names and summaries ("qemu-microvm").
	Series string
	// Reps is the number of measured repetitions (REPS). The paper ran 26 per VMM.
	Reps int
	// Warmup runs happen before the measured ones and are reported separately.
	Warmup int
	// Timeout bounds each repetition (its context's deadline); 0 means none.
	Timeout time.Duration
	// RawDir receives each repetition's raw logs under <RawDir>/<Series>/; empty keeps none.
	RawDir string
	// Base makes the raw paths recorded in the Result relative to it (the run directory, so
	// they stay valid when the run directory is renamed or moved); absolute when empty.
	Base string
	// Log receives one debug line per repetition and a warning per failure; nil is quiet.
	Log logrus.FieldLogger
	// AbortAfter stops the series after this many consecutive failed repetitions (warm-ups
	// included) whose errors report the same observed stop (see Stopper): a guest that hangs
	// the same way three times will hang the rest, and each costs a whole Timeout. 0 never
	// stops early. Failures without an observed stop never count.
	AbortAfter int
}

// ErrTimeout is wrapped by the cause of a repetition's context when its Timeout expired.
var ErrTimeout = errors.New("timed out")

// Stopper is an error that says how far the measured thing got and how it ended, in words
// that are equal for repetitions that stopped the same way (no pids, no times), e.g.
// "entry marker (port 1112) seen, main marker (port 1500) never; timed out after 1m0s".
type Stopper interface {
	ObservedStop() string
}

// observedStop is err's observed stop, "" when it does not say.
func observedStop(err error) string {
	var s Stopper
	if errors.As(err, &s) {
		return s.ObservedStop()
	}
	return ""
}

// Fatal marks err as the end of the whole run rather than of one repetition: a measurement
// that cannot keep what it measured (writing its raw log failed: the results disk is full)
// returns Fatal(err). Run then stops at once — no further repetition, and no counting
// towards AbortAfter, whose "same way" test a write error's random temporary-file name
// would defeat anyway — records the repetition as failed and returns an error wrapping err
// (IsFatal reports it). Fatal(nil) is nil.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return &fatalError{err}
}

// IsFatal reports whether err is, or wraps, an error made by Fatal.
func IsFatal(err error) bool {
	var f *fatalError
	return errors.As(err, &f)
}

type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// Rep identifies one repetition for the measurement function.
type Rep struct {
	Index  int  // 1-based, counted separately for warm-ups and measured runs
	Warmup bool // a warm-up run, not part of the statistics
	// Raw is the path prefix for this repetition's raw logs (<RawDir>/<Series>/rep-07);
	// empty when the plan keeps none. Every file starting with it is listed in the outcome.
	Raw string
}

func (r Rep) String() string {
	if r.Warmup {
		return fmt.Sprintf("warm-up %d", r.Index)
	}
	return fmt.Sprintf("repetition %d", r.Index)
}

// Outcome is what one repetition gave.
type Outcome[T any] struct {
	Index  int           `json:"index"`
	Warmup bool          `json:"warmup,omitempty"`
	OK     bool          `json:"ok"`
	Value  T             `json:"value"`           // what measure returned (partial when it failed)
	Err    string        `json:"error,omitempty"` // why it failed
	Raw    []string      `json:"raw,omitempty"`   // raw log files, also for failures
	Wall   time.Duration `json:"wall_ns"`         // the repetition's duration as the engine saw it
	// Stop is the failure's observed stop when the error says it (see Stopper).
	Stop string `json:"stop,omitempty"`
	err  error
}

// Result is one series' repetitions.
type Result[T any] struct {
	Series  string       `json:"series"`
	Planned int          `json:"planned"`
	Warmups []Outcome[T] `json:"warmups,omitempty"`
	Runs    []Outcome[T] `json:"runs"`
	Failed  int          `json:"failed"` // failed measured repetitions
	// Interrupted is set when the run was cancelled (Ctrl-C) before all repetitions ran.
	Interrupted bool `json:"interrupted,omitempty"`
	// Aborted says why the series stopped early (Plan.AbortAfter): "3 consecutive
	// repetitions stopped the same way: <observed stop>"; the rest were not run.
	Aborted string `json:"aborted,omitempty"`
	// Wall is the duration of the measured repetitions' loop, warm-ups excluded.
	Wall time.Duration `json:"wall_ns"`
}

// Values are the values of the successful measured repetitions, in order.
func (r Result[T]) Values() []T {
	var vs []T
	for _, o := range r.Runs {
		if o.OK {
			vs = append(vs, o.Value)
		}
	}
	return vs
}

// Summary is one line for terminals and summary files: how many ran, failed, warmed up.
func (r Result[T]) Summary() string {
	s := fmt.Sprintf("%s: %d of %d repetitions ok", r.Series, len(r.Runs)-r.Failed, r.Planned)
	if r.Failed > 0 {
		s += fmt.Sprintf(", %d FAILED", r.Failed)
	}
	if r.Interrupted {
		s += fmt.Sprintf(", interrupted after %d", len(r.Runs))
	}
	if r.Aborted != "" {
		s += fmt.Sprintf(", stopped after %d: %s", len(r.Runs), r.Aborted)
	}
	if len(r.Warmups) > 0 {
		s += fmt.Sprintf(" (+%d warm-up)", len(r.Warmups))
	}
	return s
}

// Err is nil when every planned repetition ran and succeeded; otherwise it says how many
// failed, why the first did, and where its raw logs are.
func (r Result[T]) Err() error {
	if r.Failed == 0 && !r.Interrupted && r.Aborted == "" {
		return nil
	}
	msg := r.Summary()
	for _, o := range r.Runs {
		if !o.OK {
			msg += fmt.Sprintf("; repetition %d: %s", o.Index, o.Err)
			if len(o.Raw) > 0 {
				msg += " (raw logs: " + strings.Join(o.Raw, ", ") + ")"
			}
			break
		}
	}
	return errors.New(msg)
}

// Run performs p.Warmup warm-up repetitions, then p.Reps measured ones, calling measure for
// each with a context bounded by p.Timeout. A failed repetition is recorded and counted;
// the loop goes on, unless p.AbortAfter consecutive ones stopped the same way: then the
// series ends with Aborted set (no error: the result says it). A repetition that returned
// Fatal(err) ends the loop at once with an error wrapping err. Cancelling ctx stops the
// loop: the result so far is returned with Interrupted set and an error saying so.
func Run[T any](ctx context.Context, p Plan, measure func(context.Context, Rep) (T, error)) (Result[T], error) {
	res := Result[T]{Series: p.Series, Planned: p.Reps}
	if p.Reps < 1 || p.Warmup < 0 {
		return res, fmt.Errorf("%s: %d repetitions and %d warm-ups: need at least one repetition", p.Series, p.Reps, p.Warmup)
	}
	if p.Series == "" || strings.ContainsAny(p.Series, `/\`) {
		return res, fmt.Errorf("series name %q: must be non-empty, without slashes (it names raw log directories)", p.Series)
	}
	log := p.Log
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = l
	}
	log = log.WithField("series", p.Series)
	one := func(r Rep) (Outcome[T], bool) {
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if p.Timeout > 0 {
			// The same words as the VMM driver's own timeout ("killed: timed out after 1m0s");
			// the repetition is named by the log fields and the outcome.
			rctx, cancel = context.WithTimeoutCause(ctx, p.Timeout, fmt.Errorf("%w after %v", ErrTimeout, p.Timeout))
		}
		start := time.Now()
		v, err := measure(rctx, r)
		cancel()
		o := Outcome[T]{Index: r.Index, Warmup: r.Warmup, OK: err == nil, Value: v, Wall: time.Since(start)}
		if r.Raw != "" {
			o.Raw, _ = filepath.Glob(r.Raw + "*")
			for i, f := range o.Raw {
				o.Raw[i] = files.Rel(p.Base, f)
			}
		}
		if err == nil {
			log.WithField("rep", r.String()).Debugf("ok in %v", o.Wall.Round(time.Microsecond))
			return o, true
		}
		o.Err, o.Stop, o.err = err.Error(), observedStop(err), err
		if ctx.Err() != nil { // the whole run was cancelled, not this repetition's fault
			return o, false
		}
		log.WithField("rep", r.String()).WithField("raw", o.Raw).Warnf("failed: %v", err)
		return o, true
	}
	raw := func(kind string, i int) string {
		if p.RawDir == "" {
			return ""
		}
		return filepath.Join(p.RawDir, p.Series, fmt.Sprintf("%s-%02d", kind, i))
	}
	// same counts the consecutive failures with the observed stop last.
	var last string
	same := 0
	abort := func(o Outcome[T]) bool {
		stop := observedStop(o.err)
		switch {
		case o.OK || stop == "":
			last, same = "", 0
		case stop == last:
			same++
		default:
			last, same = stop, 1
		}
		if p.AbortAfter > 0 && same >= p.AbortAfter {
			res.Aborted = fmt.Sprintf("%d consecutive repetitions stopped the same way: %s", same, last)
			log.Warnf("stopping the series: %s", res.Aborted)
			return true
		}
		return false
	}
	fatal := func(r Rep, o Outcome[T]) (Result[T], error) {
		return res, fmt.Errorf("%s: %s: %w", p.Series, r, o.err)
	}
	interrupted := func() (Result[T], error) {
		res.Interrupted = true
		return res, fmt.Errorf("%s: interrupted after %d of %d repetitions: %w", p.Series, len(res.Runs), p.Reps, context.Cause(ctx))
	}
	for i := 1; i <= p.Warmup; i++ {
		if ctx.Err() != nil {
			return interrupted()
		}
		r := Rep{Index: i, Warmup: true, Raw: raw("warmup", i)}
		o, done := one(r)
		if IsFatal(o.err) {
			res.Warmups = append(res.Warmups, o)
			return fatal(r, o)
		}
		if !done {
			return interrupted()
		}
		res.Warmups = append(res.Warmups, o)
		if abort(o) {
			return res, nil
		}
	}
	start := time.Now()
	for i := 1; i <= p.Reps; i++ {
		if ctx.Err() != nil {
			res.Wall = time.Since(start)
			return interrupted()
		}
		r := Rep{Index: i, Raw: raw("rep", i)}
		o, done := one(r)
		if IsFatal(o.err) {
			res.Runs = append(res.Runs, o)
			res.Failed++
			res.Wall = time.Since(start)
			return fatal(r, o)
		}
		if !done {
			res.Wall = time.Since(start)
			return interrupted()
		}
		res.Runs = append(res.Runs, o)
		if !o.OK {
			res.Failed++
		}
		if abort(o) {
			break
		}
	}
	res.Wall = time.Since(start)
	return res, nil
}
