// Package report gathers the bundle's four figures into one page a reviewer can read: per
// figure the measured plot next to the paper's, the verdict, what was not run and why, the
// host it ran on and the run's provenance; the headline claims of Unikraft's documentation
// that the figures illustrate, checked against the measured runs; and an artifact-badge
// checklist (Available, Functional, Reproduced) computed from what is on disk.
//
// Write renders it twice: results/report.html, one self-contained page (inline SVG and CSS,
// nothing fetched when it is opened), and results/report.md, its Markdown twin for a CI step
// summary (tables only, no plots).
//
// Nothing in the report is asserted: a figure without a measured run shows the paper's data,
// marked as such, and earns no badge; a FIXTURE or software-emulated (TCG) run is shown as it
// is plotted and never counts as reproducing or checking a claim.
package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/unikraft-eurosys21/artifact/experiments"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/plot"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/settings"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

// File names of the report, written into the results root.
const (
	HTMLFile     = "report.html"
	MarkdownFile = "report.md"
)

// Options say where the report reads from and writes to.
type Options struct {
	// From is "latest" (each figure's latest run, the paper's data where there is none) or
	// "paper" (the paper's data for every figure).
	From string
	// ResultsDir is the results root: runs are read from it, the report written into it.
	ResultsDir string
	// EChartsDir holds the ECharts lockfile ("" for the checkout's).
	EChartsDir string
	// Sources is what the Available badge verifies (see CheckAvailable).
	Sources SourcesCheck
	// Outcomes are what `mage all` just did with each figure (nil for `mage report`): a
	// figure that failed there without keeping a run is shown as failed, not by an older run.
	Outcomes []experiments.Outcome
}

// SourcesCheck names the pinned sources the Available badge verifies.
type SourcesCheck struct {
	// Manifest is containers/sources.json.
	Manifest string
	// Archive is a sources:archive tarball, checked when set (SOURCES_ARCHIVE set by the
	// user: its default name carries a date and names no file that exists).
	Archive string
	// Mirror is SOURCES_MIRROR, checked when Archive is not set.
	Mirror string
	// Cache is SOURCES_CACHE, checked when neither is set.
	Cache string
}

// FromSettings takes the report's options from the bundle's settings.
func FromSettings(s settings.Settings) Options {
	o := Options{From: s.From, ResultsDir: s.ResultsDir, EChartsDir: s.EChartsDir,
		Sources: SourcesCheck{Manifest: sources.ManifestPath, Mirror: s.SourcesMirror, Cache: s.SourcesCache}}
	if s.Sources["SOURCES_ARCHIVE"] == settings.Environment {
		o.Sources.Archive = s.SourcesArchive
	}
	return o
}

// Report is everything the page shows.
type Report struct {
	Generated time.Time
	From      string
	Bundle    string // git describe of the checkout that wrote the report
	Figures   []Figure
	Claims    []DocClaim
	Badges    []Badge
}

// Figure is one figure's section.
type Figure struct {
	figure.Figure
	// Measured is the run shown; nil when there is none (NoRun says why) and the paper's
	// data stands in.
	Measured *experiments.Source
	NoRun    string
	Paper    *experiments.Source
	// MeasuredSVG and PaperSVG are the figure's own chart of each, as its plot step draws it.
	MeasuredSVG, PaperSVG []byte
	// Verdict is the verification of the data shown (the paper's data against itself when
	// there is no run).
	Verdict *verify.Report
	// Missing lists what the run did not run or what failed in it, with why (see notRun).
	Missing []string
	// Manifest is the run's manifest.json; nil without a run or when the run has none.
	Manifest *results.Manifest
}

// Judged reports whether the figure's numbers can reproduce the paper: a measured run with
// its manifest, not a FIXTURE, not software emulation.
func (f Figure) Judged() (bool, string) {
	if f.Measured == nil {
		return false, f.NoRun
	}
	var why []string
	if f.Manifest == nil {
		// A folder of result files without the run step's manifest (copied by hand, or the
		// paper's own files) says nothing of how, where and from what it was measured.
		why = append(why, "the run has no manifest.json: how, where and from which sources it was measured is unknown")
	}
	if p := f.Measured.Provenance; p.Fixture != "" {
		why = append(why, "FIXTURE "+p.Fixture+": stand-in, not Unikraft")
	}
	if f.Measured.Provenance.Accel == "tcg" {
		why = append(why, "software emulation (ACCEL=tcg): not comparable with the paper's KVM host")
	}
	return len(why) == 0, strings.Join(why, "; ")
}

// Build reads every figure of figs (in order) and computes the report; ctx bounds the
// source verification of the Available badge.
func Build(ctx context.Context, o Options, figs ...figure.Figure) (*Report, error) {
	if o.From != "latest" && o.From != "paper" {
		return nil, fmt.Errorf("FROM=%s: the report shows every figure, so it takes FROM=latest (each figure's latest run, the default) or FROM=paper; plot or verify one run with fig10:plot FROM=%s", o.From, o.From)
	}
	if _, err := plot.EnsureEChartsIn(ctx, o.EChartsDir); err != nil {
		return nil, err
	}
	r := &Report{Generated: time.Now().UTC(), From: o.From, Bundle: results.BundleCommit()}
	for _, fig := range figs {
		f, err := readFigure(fig, o)
		if err != nil {
			return nil, err
		}
		r.Figures = append(r.Figures, *f)
	}
	r.Claims = docClaims(r.Figures)
	r.Badges = []Badge{CheckAvailable(ctx, o.Sources), functional(r.Figures), reproduced(r.Figures)}
	return r, nil
}

func readFigure(fig figure.Figure, o Options) (*Figure, error) {
	f := &Figure{Figure: fig}
	var err error
	if f.Paper, err = experiments.Open(fig, "paper", ""); err != nil {
		return nil, err
	}
	if f.PaperSVG, err = chart(fig, f.Paper); err != nil {
		return nil, err
	}
	f.NoRun = "FROM=paper"
	if o.From == "latest" {
		f.NoRun = ""
		dir, err := results.LatestDir(o.ResultsDir, fig.Dir)
		out, inAll := outcome(o.Outcomes, fig.ID)
		switch {
		case inAll && out.RunDir != "":
			dir, err = out.RunDir, nil // the run `mage all` just made
		case inAll && out.Status == experiments.OutcomeFailed:
			f.NoRun = "failed in this `mage all` before keeping a run: " + out.Why
		case inAll && out.Status == experiments.OutcomeNotRun:
			f.NoRun = out.Why
		}
		switch {
		case f.NoRun != "":
		case errors.Is(err, results.ErrNoRun) && fig.Pipeline == nil:
			f.NoRun = "not measured: this bundle has no pipeline for " + fig.ID + " yet"
		case errors.Is(err, results.ErrNoRun):
			f.NoRun = "no run under " + filepath.Join(o.ResultsDir, fig.Dir) + " (measure one with `go tool mage " + fig.ID + "`)"
		case err != nil:
			return nil, err
		}
		if f.NoRun == "" {
			if f.Measured, err = experiments.Open(fig, dir, o.ResultsDir); err != nil {
				return nil, fmt.Errorf("%s: latest run %s: %w", fig.ID, dir, err)
			}
			if f.MeasuredSVG, err = chart(fig, f.Measured); err != nil {
				return nil, err
			}
			if f.Manifest, err = results.ReadManifest(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
	}
	f.Verdict = newVerdict(*f)
	if f.Measured != nil {
		f.Missing = notRun(f.Measured.Data, f.Verdict)
	}
	return f, nil
}

// outcome is figure id's outcome in outs.
func outcome(outs []experiments.Outcome, id string) (experiments.Outcome, bool) {
	for _, o := range outs {
		if o.Figure == id {
			return o, true
		}
	}
	return experiments.Outcome{}, false
}

// newVerdict verifies the data shown: the run, or the paper's data against itself.
func newVerdict(f Figure) *verify.Report {
	shown := f.Measured
	if shown == nil {
		shown = f.Paper
	}
	r := verify.New(f.Dir, shown.Provenance.String())
	shown.Data.Verify(r)
	return r
}

// chart draws src with the figure's own chart and provenance subtitle, as its plot step does.
func chart(fig figure.Figure, src *experiments.Source) ([]byte, error) {
	pf := src.Data.Chart(src.Provenance)
	pf.Name = fig.Plot
	return plot.SVG(pf)
}

// Write builds the report of experiments.All and writes report.html and report.md into
// o.ResultsDir, each atomically; it returns their paths.
func Write(ctx context.Context, o Options) ([]string, error) {
	r, err := Build(ctx, o, experiments.All...)
	if err != nil {
		return nil, err
	}
	return r.WriteFiles(o.ResultsDir)
}

// WriteFiles writes report.html and report.md into dir.
func (r *Report) WriteFiles(dir string) ([]string, error) {
	page, err := r.HTML()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range []struct {
		name string
		data []byte
	}{{HTMLFile, page}, {MarkdownFile, r.Markdown()}} {
		p := filepath.Join(dir, f.name)
		if err := results.WriteFileAtomic(p, f.data, 0o644); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	for _, b := range r.Badges {
		logrus.WithFields(logrus.Fields{"step": "report", "badge": b.Name, "earned": b.Earned}).Info(b.Why)
	}
	logrus.WithField("step", "report").Infof("wrote %s", paths)
	return paths, nil
}
