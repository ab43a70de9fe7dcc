// Package verify compares a figure's measured data with the paper's: per series within a
// tolerance, and the paper's qualitative claims ("microvm boots faster than QEMU pc").
//
// Verdicts have three levels. A claim that does not hold is FAIL and makes the report fail.
// A series outside its tolerance is WARN: absolute numbers depend on the host, so a
// difference is reported, not hidden, and STRICT turns it into a failure. Everything else is OK.
package verify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Verdict of one row.
type Verdict string

const (
	OK   Verdict = "OK"
	Warn Verdict = "WARN"
	Fail Verdict = "FAIL"
	// Skip marks a row that could not be judged (series not run, not comparable).
	Skip Verdict = "SKIP"
)

// Row is one line of the verdict table: a series compared with the paper, or a claim.
type Row struct {
	Kind     string  `json:"kind"` // "series", "claim" or "unit" (Failed)
	Series   string  `json:"series"`
	Paper    string  `json:"paper"`
	Measured string  `json:"measured"`
	Diff     string  `json:"difference"`
	Verdict  Verdict `json:"verdict"`
	Note     string  `json:"note,omitempty"`
}

// Report collects the rows of one figure's verification.
type Report struct {
	Figure string `json:"figure"`
	Source string `json:"source"` // provenance of the measured data
	Rows   []Row  `json:"rows"`
	// Notes are printed under the table (e.g. "software emulation: timings not comparable").
	Notes []string `json:"notes,omitempty"`
}

// New starts a report for a figure and a data source.
func New(figure, source string) *Report { return &Report{Figure: figure, Source: source} }

// Tolerance says how far a measured value may be from the paper's and still be OK.
// A value is within tolerance when it is within Rel (relative to the paper's value)
// or within Abs (absolute, in the value's unit), whichever is larger.
type Tolerance struct {
	Rel float64
	Abs float64
}

func (t Tolerance) String() string {
	switch {
	case t.Rel > 0 && t.Abs > 0:
		return fmt.Sprintf("±%g%% or ±%g", t.Rel*100, t.Abs)
	case t.Abs > 0:
		return fmt.Sprintf("±%g", t.Abs)
	default:
		return fmt.Sprintf("±%g%%", t.Rel*100)
	}
}

// Compare adds a series row: measured against paper, in unit, with tolerance tol.
func (r *Report) Compare(series, unit string, paper, measured float64, tol Tolerance) Verdict {
	d := measured - paper
	rel := math.NaN()
	if paper != 0 {
		rel = d / paper
	}
	v := OK
	// A value that is not a finite number is never within tolerance (a NaN makes the
	// comparison false, which would otherwise read as OK).
	if math.Abs(d) > math.Max(tol.Rel*math.Abs(paper), tol.Abs) || !finite(measured) || !finite(paper) {
		v = Warn
	}
	diff := fmt.Sprintf("%+.4g %s", d, unit)
	if !math.IsNaN(rel) {
		diff += fmt.Sprintf(" (%+.1f%%)", rel*100)
	}
	r.Rows = append(r.Rows, Row{
		Kind: "series", Series: series,
		Paper:    fmt.Sprintf("%.6g %s", paper, unit),
		Measured: fmt.Sprintf("%.6g %s", measured, unit),
		Diff:     strings.TrimSpace(diff), Verdict: v,
		Note: "tolerance " + tol.String(),
	})
	return v
}

// Claim adds a claim row; holds decides OK or FAIL. paper and measured describe each
// side in words or numbers ("9.1 ms < 38.4 ms").
func (r *Report) Claim(claim, paper, measured string, holds bool) Verdict {
	v := OK
	if !holds {
		v = Fail
	}
	r.Rows = append(r.Rows, Row{Kind: "claim", Series: claim, Paper: paper, Measured: measured, Verdict: v})
	return v
}

// Skipped adds a row that could not be judged, with the reason.
func (r *Report) Skipped(series, reason string) {
	r.Rows = append(r.Rows, Row{Kind: "series", Series: series, Verdict: Skip, Note: reason})
}

// Failed adds a row for a unit of work (a build, a boot, a capture) that was tried and
// failed: FAIL, in every kind of run (Unjudged leaves it as it is).
func (r *Report) Failed(unit, reason string) {
	r.Rows = append(r.Rows, Row{Kind: "unit", Series: unit, Verdict: Fail, Note: reason})
}

// Note adds a line printed under the table.
func (r *Report) Note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Count returns how many rows have verdict v.
func (r *Report) Count(v Verdict) int {
	n := 0
	for _, row := range r.Rows {
		if row.Verdict == v {
			n++
		}
	}
	return n
}

// Err is nil when the report passes: no FAIL row, and with strict also no WARN or SKIP row.
func (r *Report) Err(strict bool) error {
	fails, warns, skips := r.Count(Fail), r.Count(Warn), r.Count(Skip)
	switch {
	case fails > 0:
		units := 0
		for _, row := range r.Rows {
			if row.Kind == "unit" && row.Verdict == Fail {
				units++
			}
		}
		if units > 0 {
			return fmt.Errorf("%s: %d unit(s) of work failed in %s (and %d other FAIL row(s))", r.Figure, units, r.Source, fails-units)
		}
		return fmt.Errorf("%s: %d claim(s) of the paper do not hold for %s", r.Figure, fails, r.Source)
	case strict && warns+skips > 0:
		return fmt.Errorf("%s: STRICT=1 and %d series outside tolerance, %d not judged", r.Figure, warns, skips)
	}
	return nil
}

// WriteTable prints the verdict table for a terminal.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "%s — verification of %s against the paper\n", r.Figure, r.Source)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIES\tPAPER\tMEASURED\tDIFFERENCE\tVERDICT\tNOTE")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", row.Series, dash(row.Paper), dash(row.Measured), dash(row.Diff), row.Verdict, row.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	_, err := fmt.Fprintf(w, "%d OK, %d WARN, %d FAIL, %d SKIP\n", r.Count(OK), r.Count(Warn), r.Count(Fail), r.Count(Skip))
	return err
}

// JSON encodes the report as written to verify.json. Claims read "9.1 ms < 38.4 ms", so
// HTML escaping (which would write \u003c) is off.
func (r *Report) JSON() ([]byte, error) {
	type out struct {
		*Report
		Counts map[Verdict]int `json:"counts"`
		Pass   bool            `json:"pass"`
	}
	o := out{Report: r, Counts: map[Verdict]int{OK: r.Count(OK), Warn: r.Count(Warn), Fail: r.Count(Fail), Skip: r.Count(Skip)}, Pass: r.Err(false) == nil}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(o); err != nil { // Encode ends with a newline
		return nil, err
	}
	return b.Bytes(), nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Unjudged turns every row added since index from into SKIP, keeping the values and noting
// what the verdict would have been and why it is not given (a FIXTURE stand-in, software
// emulation): numbers that are not a measurement of the paper's system are shown, never judged.
func (r *Report) Unjudged(from int, reason string) {
	for i := from; i < len(r.Rows); i++ {
		row := &r.Rows[i]
		if row.Verdict == Skip || row.Kind == "unit" {
			continue // a unit that failed fails every kind of run
		}
		note := reason + "; would be " + string(row.Verdict)
		if row.Note != "" {
			note += " (" + row.Note + ")"
		}
		row.Verdict, row.Note = Skip, note
	}
}
