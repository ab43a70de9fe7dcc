// Package figure is the contract between the bundle's steps and one figure's package
// (experiments/fig_NN): where its data comes from, how it is loaded from disk, what a
// loaded dataset can do (summarise, chart, verify), and, for a figure that measures, the
// steps of its pipeline (prepare, run, clean).
package figure

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/unikraft-eurosys21/artifact/internal/plot"
	"github.com/unikraft-eurosys21/artifact/internal/progress"
	"github.com/unikraft-eurosys21/artifact/internal/settings"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

// Provenance says where a dataset came from. It is printed in the plot subtitle and in
// verify.json so that a figure can never be mistaken for another source's.
type Provenance struct {
	// Source is "paper" for the paper's recorded data or "run" for a measured run.
	Source string `json:"source"`
	RunID  string `json:"run_id,omitempty"`
	// Accel is the accelerator of a measured run ("kvm", "tcg"); empty when none applies.
	Accel string `json:"accel,omitempty"`
	// Fixture names a stand-in used instead of the real system (test fixtures only);
	// a dataset with a fixture is never presented as a measurement of Unikraft.
	Fixture string `json:"fixture,omitempty"`
}

// Paper is the provenance of the paper's recorded data.
var Paper = Provenance{Source: "paper"}

// String is the one-line description used in subtitles and tables.
func (p Provenance) String() string {
	if p.Source == "paper" {
		return "paper data (EuroSys'21 artifact)"
	}
	s := "run " + p.RunID
	if p.Accel != "" {
		s += ", accel " + p.Accel
	}
	if p.Accel == "tcg" {
		s += " (software emulation — not comparable with the paper)"
	}
	if p.Fixture != "" {
		s += ", FIXTURE " + p.Fixture + " — not a measurement of Unikraft"
	}
	return s
}

// Dataset is one figure's data, loaded from the paper or from a run directory.
type Dataset interface {
	// Summary returns the statistics per series, written to summary.json.
	Summary() any
	// Chart builds the figure's chart; p goes into the subtitle. Name is set by the caller.
	Chart(p Provenance) plot.Figure
	// Verify compares the dataset with the paper's data and claims.
	Verify(r *verify.Report)
}

// Figure describes one of the paper's figures.
type Figure struct {
	ID    string // mage namespace, e.g. "fig10"
	Dir   string // results/<Dir> and experiments/<Dir>, e.g. "fig_10"
	Plot  string // plots/<Plot>.svg and .html, e.g. "fig_10_unikraft-boot"
	Title string // one line: what the figure shows
	// Paper loads the paper's recorded data (embedded in the binary).
	Paper func() (Dataset, error)
	// Load reads a run directory written by the figure's run step.
	Load func(runDir string) (Dataset, error)
	// Pipeline measures the figure; nil while the figure only redraws the paper's data. It
	// lives in experiments/fig_NN/pipeline, which imports the figure's package, so the
	// registry (package experiments) sets it, never the figure's package itself.
	Pipeline *Pipeline
}

// Pipeline is how a figure measures: the steps behind its prepare, run and clean targets.
type Pipeline struct {
	// Prepare gets everything Run needs (pinned sources, toolchain image, built images),
	// cached by content: a second prepare with nothing changed does no work.
	Prepare Step
	// Run measures into a new run directory under RESULTS_DIR, which Load reads back.
	Run RunStep
	// Clean removes what Prepare built for the figure; runs, sources and plots are kept.
	Clean Step
}

// Step is one step of a pipeline. It takes the settings as one value, parsed and
// validated once by the magefile, and prints for the user on c.
type Step func(ctx context.Context, s settings.Settings, c Console) error

// RunStep is the run step: it also returns the run directory when the run was kept as the
// latest, also when units of it failed (the error says which), so that the figure's all
// target can still plot and verify what was measured.
type RunStep func(ctx context.Context, s settings.Settings, c Console) (runDir string, err error)

// Console is where a step prints: Stdout for results and tables, Stderr for everything
// else; Progress shows the long steps (one live line per running task on a terminal,
// timestamped milestones elsewhere) and, when set, Stderr is its Writer; Verbose (mage -v)
// also shows the output of builds.
type Console struct {
	Stdout, Stderr io.Writer
	Progress       *progress.Display
	Verbose        bool
}

// ParseError is a malformed input: which file, which line, what was expected.
type ParseError struct {
	File string
	Line int // 1-based; 0 when the error concerns the whole file
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errorf builds a ParseError.
func Errorf(file string, line int, format string, args ...any) error {
	return &ParseError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// ReadLines calls line for each line of the result file r (named file in errors) with its
// 1-based number and its text, line end removed (CRLF is accepted), and stops at the first
// error line returns. It returns the number of lines read: 0 is an empty file.
func ReadLines(file string, r io.Reader, line func(n int, text string) error) (int, error) {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		if err := line(n, sc.Text()); err != nil {
			return n, err
		}
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("%s: line %d: %w", file, n+1, err)
	}
	return n, nil
}

// Loaded adapts a figure package's loader result to Dataset. A failed load gives a nil
// Dataset, not a non-nil interface holding a nil pointer (which would pass `d != nil`).
func Loaded[D Dataset](d D, err error) (Dataset, error) {
	if err != nil {
		return nil, err
	}
	return d, nil
}
