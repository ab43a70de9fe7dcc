package experiments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sirupsen/logrus"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/settings"
)

// Outcomes of one figure in RunAll.
const (
	OutcomeOK     = "ok"
	OutcomeFailed = "failed"
	OutcomeNotRun = "not run"
)

// Outcome is what RunAll did with one figure.
type Outcome struct {
	Figure string // the figure's ID, e.g. "fig10"
	Status string // OutcomeOK, OutcomeFailed or OutcomeNotRun
	// Why says why the figure failed or was not run ("" when ok).
	Why string
	// RunDir is the run directory the run step kept ("" when none was kept).
	RunDir string
}

// RunAll runs every figure of figs end to end, in order — prepare, run, then plot and
// verify of the run just made (not of FROM: `mage all` shows what it measured) — and goes
// on past a figure that fails, so that one broken figure does not hide the others' results.
// A figure without a pipeline, or whose run step is not built, is not run, with the
// reason; it does not fail. The settings s apply to every figure; o gives the results and
// plots folders. The error is non-nil when any figure failed, and names each.
func RunAll(ctx context.Context, s settings.Settings, c figure.Console, o Options, figs ...figure.Figure) ([]Outcome, error) {
	var outs []Outcome
	var errs []error
	for _, fig := range figs {
		out := runOne(ctx, s, c, o, fig)
		log := logrus.WithFields(logrus.Fields{"figure": fig.Dir, "step": "all"})
		switch out.Status {
		case OutcomeFailed:
			log.Errorf("%s failed: %s", fig.ID, out.Why)
			errs = append(errs, fmt.Errorf("%s: %s", fig.ID, out.Why))
		case OutcomeNotRun:
			log.Warnf("%s not run: %s", fig.ID, out.Why)
		default:
			log.Infof("%s done: %s", fig.ID, out.RunDir)
		}
		outs = append(outs, out)
		if ctx.Err() != nil {
			// Ctrl-C stops every figure, not only the one running; the summary still has a
			// row for each.
			errs = append(errs, ctx.Err())
			for _, rest := range figs[len(outs):] {
				outs = append(outs, Outcome{Figure: rest.ID, Status: OutcomeNotRun, Why: "not run: interrupted before it started"})
			}
			break
		}
	}
	return outs, errors.Join(errs...)
}

func runOne(ctx context.Context, s settings.Settings, c figure.Console, o Options, fig figure.Figure) Outcome {
	out := Outcome{Figure: fig.ID}
	s = s.ForFigure(fig.Dir)
	switch {
	case fig.Pipeline == nil:
		out.Status, out.Why = OutcomeNotRun, "not measured: no pipeline yet (the bundle only redraws the paper's data for it)"
		return out
	case fig.Pipeline.Run == nil:
		out.Status, out.Why = OutcomeNotRun, "not measured: its run step is not built yet"
		return out
	}
	fail := func(step string, err error) Outcome {
		out.Status, out.Why = OutcomeFailed, step+": "+oneLine(err)
		return out
	}
	if fig.Pipeline.Prepare != nil {
		if err := fig.Pipeline.Prepare(ctx, s, c); err != nil {
			return fail("prepare", err)
		}
	}
	dir, runErr := fig.Pipeline.Run(ctx, s, c)
	out.RunDir = dir
	if dir == "" {
		if runErr == nil {
			runErr = errors.New("the run step kept no run directory")
		}
		return fail("run", runErr)
	}
	// Plot and verify what was measured, also when units of it failed (as fig*:all does).
	po := o
	po.From = dir
	var errs []string
	if runErr != nil {
		errs = append(errs, "run: "+oneLine(runErr))
	}
	if err := Plot(ctx, po, fig); err != nil {
		errs = append(errs, "plot: "+oneLine(err))
	}
	if err := Verify(ctx, po, stdout(c), fig); err != nil {
		errs = append(errs, "verify: "+oneLine(err))
	}
	if len(errs) > 0 {
		out.Status, out.Why = OutcomeFailed, strings.Join(errs, "; ")
		return out
	}
	out.Status = OutcomeOK
	return out
}

func stdout(c figure.Console) io.Writer {
	if c.Stdout == nil {
		return io.Discard
	}
	return c.Stdout
}

// oneLine keeps an error's first line: the summary table has one row per figure; the full
// message was logged when the step failed.
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// WriteOutcomes prints RunAll's summary table: one row per figure.
func WriteOutcomes(w io.Writer, outs []Outcome) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tOUTCOME\tRUN DIRECTORY\tWHY")
	for _, o := range outs {
		dir := o.RunDir
		if dir == "" {
			dir = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Figure, o.Status, dir, o.Why)
	}
	return tw.Flush()
}
