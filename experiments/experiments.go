// Package experiments ties the four figures to the bundle's steps: it knows every figure
// and its pipeline, resolves where a figure's data comes from (the paper's recorded data,
// the latest run, or a given run directory), plots and verifies it, and runs its pipeline's
// steps. The magefile's targets are thin calls into this package.
package experiments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"

	fig08 "github.com/unikraft-eurosys21/artifact/experiments/fig_08"
	fig08pipeline "github.com/unikraft-eurosys21/artifact/experiments/fig_08/pipeline"
	fig10 "github.com/unikraft-eurosys21/artifact/experiments/fig_10"
	fig10pipeline "github.com/unikraft-eurosys21/artifact/experiments/fig_10/pipeline"
	fig14 "github.com/unikraft-eurosys21/artifact/experiments/fig_14"
	fig14pipeline "github.com/unikraft-eurosys21/artifact/experiments/fig_14/pipeline"
	fig22 "github.com/unikraft-eurosys21/artifact/experiments/fig_22"
	fig22pipeline "github.com/unikraft-eurosys21/artifact/experiments/fig_22/pipeline"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/plot"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/settings"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

// All lists the paper's figures in the paper's order, each with its pipeline.
var All = []figure.Figure{
	measured(fig08.Figure, fig08pipeline.Steps),
	measured(fig10.Figure, fig10pipeline.Steps),
	measured(fig14.Figure, fig14pipeline.Steps),
	measured(fig22.Figure, fig22pipeline.Steps),
}

// measured is f with its pipeline p: p's package imports f's, so f cannot name p itself.
func measured(f figure.Figure, p figure.Pipeline) figure.Figure {
	f.Pipeline = &p
	return f
}

// ByID finds a figure by its mage namespace ("fig10") or directory name ("fig_10").
func ByID(id string) (figure.Figure, error) {
	for _, f := range All {
		if f.ID == id || f.Dir == id {
			return f, nil
		}
	}
	return figure.Figure{}, fmt.Errorf("unknown figure %q (known: fig08, fig10, fig14, fig22)", id)
}

// Options are the settings the plot and verify steps take (package settings parses them).
type Options struct {
	// From selects the data: "paper", "latest", a run id, or a run directory (FROM).
	From string
	// ResultsDir is the root of run directories (RESULTS_DIR).
	ResultsDir string
	// PlotsDir is where figures are written (PLOTS_DIR).
	PlotsDir string
	// Strict turns warnings (series outside tolerance, series not run) into failures (STRICT).
	Strict bool
	// EChartsDir holds the ECharts lockfile ("" for the checkout's; ECHARTS_DIR).
	EChartsDir string
}

// Source is a figure's loaded data with its provenance.
type Source struct {
	Data       figure.Dataset
	Provenance figure.Provenance
	// Dir is the run directory, empty for the paper's data.
	Dir string
}

// Open loads fig's data from the source named by from: "paper", "latest", a run id under
// resultsDir/<fig>/, or a path to a run directory.
func Open(fig figure.Figure, from, resultsDir string) (*Source, error) {
	if from == "paper" {
		d, err := fig.Paper()
		if err != nil {
			return nil, fmt.Errorf("%s: the paper's data: %w", fig.Dir, err)
		}
		return &Source{Data: d, Provenance: figure.Paper}, nil
	}
	dir, err := runDir(fig, from, resultsDir)
	if err != nil {
		return nil, err
	}
	d, err := fig.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fig.Dir, err)
	}
	p := figure.Provenance{Source: "run", RunID: filepath.Base(dir)}
	if m, err := results.ReadManifest(dir); err == nil {
		p.RunID, p.Accel, p.Fixture = m.RunID, m.Accel, m.Fixture
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", fig.Dir, err)
	}
	return &Source{Data: d, Provenance: p, Dir: dir}, nil
}

func runDir(fig figure.Figure, from, resultsDir string) (string, error) {
	if from == "latest" {
		dir, err := results.LatestDir(resultsDir, fig.Dir)
		if errors.Is(err, results.ErrNoRun) {
			return "", fmt.Errorf("%w; plot the paper's recorded data with FROM=paper, or point FROM at a run directory", err)
		}
		return dir, err
	}
	for _, dir := range []string{from, filepath.Join(resultsDir, fig.Dir, from)} {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir, nil
		}
	}
	return "", fmt.Errorf("FROM=%s: no such run directory (nor %s); use FROM=paper, FROM=latest, a run id or a path",
		from, filepath.Join(resultsDir, fig.Dir, from))
}

// Plot writes the plots of figs from the source named by s.From into s.PlotsDir.
// ECharts is compiled once for all of them.
func Plot(ctx context.Context, s Options, figs ...figure.Figure) error {
	var out []plot.Figure
	for _, fig := range figs {
		src, err := Open(fig, s.From, s.ResultsDir)
		if err != nil {
			return err
		}
		pf := src.Data.Chart(src.Provenance)
		pf.Name = fig.Plot
		out = append(out, pf)
	}
	if _, err := plot.EnsureEChartsIn(ctx, s.EChartsDir); err != nil {
		return err
	}
	if err := plot.Write(s.PlotsDir, out...); err != nil {
		return err
	}
	for i, f := range out {
		logrus.WithFields(logrus.Fields{"step": "plot", "figure": figs[i].Dir}).
			Infof("wrote %s.svg and .html", filepath.Join(s.PlotsDir, f.Name))
	}
	return nil
}

// Verify compares fig's data from s.From with the paper, prints the verdict table to w,
// writes verify.json into the run directory (results/<fig>/paper/verify.json for the
// paper's own data), and returns an error when a claim fails (or, with s.Strict, on any
// warning).
func Verify(ctx context.Context, s Options, w io.Writer, fig figure.Figure) error {
	src, err := Open(fig, s.From, s.ResultsDir)
	if err != nil {
		return err
	}
	r := verify.New(fig.Dir, src.Provenance.String())
	src.Data.Verify(r)
	if err := r.WriteTable(w); err != nil {
		return err
	}
	dir := src.Dir
	if dir == "" {
		dir = filepath.Join(s.ResultsDir, fig.Dir, "paper")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	b, err := r.JSON()
	if err != nil {
		return err
	}
	if err := results.WriteFileAtomic(filepath.Join(dir, "verify.json"), b, 0o644); err != nil {
		return err
	}
	logrus.WithFields(logrus.Fields{"step": "verify", "figure": fig.Dir}).Debugf("wrote %s", filepath.Join(dir, "verify.json"))
	return r.Err(s.Strict)
}

// Prepare runs fig's prepare step with the settings s.
func Prepare(ctx context.Context, s settings.Settings, c figure.Console, fig figure.Figure) error {
	p, err := pipeline(fig)
	if err != nil {
		return err
	}
	return p.Prepare(ctx, s.ForFigure(fig.Dir), c)
}

// Run runs fig's run step with the settings s; it returns the run directory when the run
// was kept as the latest (see figure.RunStep).
func Run(ctx context.Context, s settings.Settings, c figure.Console, fig figure.Figure) (string, error) {
	p, err := pipeline(fig)
	if err != nil {
		return "", err
	}
	if p.Run == nil {
		return "", fmt.Errorf("%s is not measured yet: its run step is not built (%s:prepare builds its images); plot or verify the paper's data with FROM=paper", fig.ID, fig.ID)
	}
	return p.Run(ctx, s.ForFigure(fig.Dir), c)
}

// Clean runs fig's clean step with the settings s.
func Clean(ctx context.Context, s settings.Settings, c figure.Console, fig figure.Figure) error {
	p, err := pipeline(fig)
	if err != nil {
		return err
	}
	return p.Clean(ctx, s.ForFigure(fig.Dir), c)
}

func pipeline(fig figure.Figure) (*figure.Pipeline, error) {
	if fig.Pipeline == nil {
		return nil, fmt.Errorf("%s is not measured yet: this bundle has no pipeline for it; plot or verify the paper's data with FROM=paper", fig.ID)
	}
	return fig.Pipeline, nil
}
