package report

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/host"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

// The page is built once as blocks (headings, text, tables, plots) and written twice, as HTML
// and as Markdown, so the two files cannot say different things.

type table struct {
	Head []string
	Rows [][]string
}

type plotView struct {
	Caption string
	SVG     []byte
	Prefix  string // makes the SVG's ids and classes unique in the page
}

type block struct {
	Heading string   // an h3 when set
	Text    []string // paragraphs
	Alert   string   // a paragraph that must not be missed (not measured, FIXTURE, TCG)
	Plots   []plotView
	Table   *table
	List    []string
	Details bool // HTML: folded (long tables); Markdown shows them whole
	Summary string
}

type section struct {
	ID, Title string
	Blocks    []block
}

func (r *Report) sections() []section {
	out := []section{r.overview()}
	for _, f := range r.Figures {
		out = append(out, f.section())
	}
	return out
}

func (r *Report) overview() section {
	s := section{ID: "overview", Title: "Overview"}
	from := "each figure's latest run under the results folder; the paper's data where a figure has none"
	if r.From == "paper" {
		from = "the paper's recorded data (FROM=paper): nothing here is a measurement"
	}
	s.Blocks = append(s.Blocks, block{Text: []string{
		fmt.Sprintf("Generated %s by bundle commit %s from %s.", r.Generated.Format(time.RFC3339), dash(r.Bundle), from),
	}})
	bt := &table{Head: []string{"Badge", "Earned", "Finding", "What is checked"}}
	for _, b := range r.Badges {
		earned := "not earned"
		if b.Earned {
			earned = "earned"
		}
		bt.Rows = append(bt.Rows, []string{b.Name, earned, b.Why, b.Check})
	}
	s.Blocks = append(s.Blocks, block{Heading: "Artifact badges (computed from what is on disk)", Table: bt})

	ft := &table{Head: []string{"Figure", "Data shown", "OK", "WARN", "FAIL", "SKIP", "Verdict"}}
	for _, f := range r.Figures {
		v := "pass"
		switch ok, _ := f.Judged(); {
		case failedUnits(f.Verdict) > 0 || (ok && f.Verdict.Err(false) != nil):
			v = "FAIL" // a failed unit fails every kind of run
		case !ok:
			v = NotJudged
		}
		ft.Rows = append(ft.Rows, []string{f.ID + " " + f.Title, f.dataShown(),
			fmt.Sprint(f.Verdict.Count(verify.OK)), fmt.Sprint(f.Verdict.Count(verify.Warn)),
			fmt.Sprint(f.Verdict.Count(verify.Fail)), fmt.Sprint(f.Verdict.Count(verify.Skip)), v})
	}
	s.Blocks = append(s.Blocks, block{Heading: "Figures", Table: ft})

	ct := &table{Head: []string{"Claim of Unikraft's documentation", "Figure", "Read as", "Data", "Verdict", "Why"}}
	for _, c := range r.Claims {
		ct.Rows = append(ct.Rows, []string{c.Claim, dash(c.Figure), dash(c.Reading), dash(c.Evidence), c.Verdict, c.Why})
	}
	s.Blocks = append(s.Blocks, block{Heading: "Headline claims of Unikraft's documentation", Table: ct,
		Text: []string{"Judged only on a measured run of the real sources under KVM; a FIXTURE or software-emulated (TCG) run, " +
			"or the paper's data, is shown for information and never counts as checking a claim."}})
	return s
}

func (f Figure) dataShown() string {
	if f.Measured == nil {
		return "paper's data — " + f.NoRun
	}
	return f.Measured.Provenance.String()
}

func (f Figure) section() section {
	s := section{ID: f.ID, Title: f.ID + " — " + f.Title}
	head := block{Text: []string{"Data shown: " + f.dataShown() + "."}}
	if f.Measured != nil {
		head.Text = append(head.Text, "Run directory: "+f.Measured.Dir)
	}
	if ok, why := f.Judged(); !ok {
		head.Alert = "Not judged against the paper: " + why + "."
	}
	s.Blocks = append(s.Blocks, head)

	prefix := strings.ReplaceAll(f.ID, "_", "")
	if f.Measured != nil {
		s.Blocks = append(s.Blocks, block{Plots: []plotView{
			{Caption: "Measured: " + f.Measured.Provenance.String(), SVG: f.MeasuredSVG, Prefix: prefix + "m"},
			{Caption: "Paper: " + f.Paper.Provenance.String(), SVG: f.PaperSVG, Prefix: prefix + "p"},
		}})
	} else {
		s.Blocks = append(s.Blocks, block{Plots: []plotView{
			{Caption: "Paper: " + f.Paper.Provenance.String() + " (no measured plot: " + f.NoRun + ")", SVG: f.PaperSVG, Prefix: prefix + "p"},
		}})
	}

	vt := &table{Head: []string{"Series or claim", "Paper", "Measured", "Difference", "Verdict", "Note"}}
	for _, row := range f.Verdict.Rows {
		vt.Rows = append(vt.Rows, []string{row.Series, dash(row.Paper), dash(row.Measured), dash(row.Diff), string(row.Verdict), row.Note})
	}
	vb := block{Heading: "Verdict — " + f.Verdict.Source, Table: vt, List: f.Verdict.Notes}
	if f.Measured == nil {
		vb.Heading += " against itself"
		vb.Text = []string{"No run to judge: this is the paper's data checked against the paper's claims, a check of how " +
			"the bundle reads the paper's files, not a reproduction."}
	}
	s.Blocks = append(s.Blocks, vb)

	nr := block{Heading: "Not run or failed"}
	switch {
	case f.Measured == nil:
		nr.Text = []string{"Nothing was measured: " + f.NoRun + "."}
	case len(f.Missing) == 0:
		nr.Text = []string{"Everything the figure shows was run; no build, boot or capture failed."}
	default:
		nr.List = f.Missing
	}
	s.Blocks = append(s.Blocks, nr)
	s.Blocks = append(s.Blocks, f.hostBlocks()...)
	s.Blocks = append(s.Blocks, f.provenanceBlocks()...)
	return s
}

func (f Figure) hostBlocks() []block {
	m := f.Manifest
	if m == nil || m.Host == nil {
		why := "no measured run"
		if f.Measured != nil {
			why = "the run's manifest records no host"
		}
		return []block{{Heading: "Host", Text: []string{"Not recorded: " + why + "."}}}
	}
	h := m.Host
	ht := &table{Head: []string{"Host", "Value"}, Rows: [][]string{
		{"CPU", fmt.Sprintf("%s (%s), %d CPUs, %d cores", h.CPUModel, h.CPUVendor, h.CPUs, h.Cores)},
		{"virtual machine", yesNo(h.Virtual)},
		{"memory", fmt.Sprintf("%.1f GiB", float64(h.MemoryBytes)/(1<<30))},
		{"kernel", h.Kernel + " " + h.KernelVersion},
		{"kernel command line", dash(h.Cmdline)},
		{"QEMU", dash(h.QEMU)},
		{"Docker server", dash(h.Docker)},
		{"clock source", dash(h.Clocksource)},
		{"TSC", fmt.Sprintf("invariant %s, %.3f MHz (%s)", yesNo(h.InvariantTSC), float64(h.TSCKHz)/1000, dash(h.TSCSource))},
	}}
	for _, k := range slices.Sorted(maps.Keys(h.Unknown)) {
		ht.Rows = append(ht.Rows, []string{k, "unknown: " + h.Unknown[k]})
	}
	out := []block{{Heading: "Host", Table: ht}}
	if m.Isolation != nil {
		out = append(out, isolationBlock(m.Isolation))
	}
	return out
}

func isolationBlock(iso *host.Report) block {
	t := &table{Head: []string{"Setting", "Expected", "Found", "Status", "Hint"}}
	for _, s := range iso.Settings {
		t.Rows = append(t.Rows, []string{s.Name, s.Expected, s.Found, string(s.Status), s.Hint})
	}
	return block{Heading: "Isolation", Table: t, Details: true,
		Summary: fmt.Sprintf("measurement CPUs %s (%s): %d ok, %d warn, %d fail, %d unknown", dash(iso.CPUs.String()), iso.CPUs.Reason,
			iso.Count(host.OK), iso.Count(host.Warn), iso.Count(host.Fail), iso.Count(host.Unknown))}
}

func (f Figure) provenanceBlocks() []block {
	if f.Measured == nil {
		return []block{{Heading: "Provenance", Text: []string{"The paper's recorded data, embedded in this bundle (experiments/" + f.Dir + "/paper/)."}}}
	}
	p := f.Measured.Provenance
	pt := &table{Head: []string{"Provenance", "Value"}, Rows: [][]string{
		{"run id", p.RunID},
		{"accelerator", dash(p.Accel)},
		{"FIXTURE", dash(p.Fixture)},
	}}
	m := f.Manifest
	if m == nil {
		pt.Rows = append(pt.Rows, []string{"manifest.json", "absent: the run records no bundle commit, sources or images"})
		return []block{{Heading: "Provenance", Table: pt}}
	}
	pt.Rows = append(pt.Rows,
		[]string{"bundle commit", dash(m.Bundle)},
		[]string{"started – ended", m.Started.Format(time.RFC3339) + " – " + timeOrDash(m.Ended)},
		[]string{"command", strings.Join(m.Command, " ")},
	)
	for _, k := range slices.Sorted(maps.Keys(m.Machines)) {
		pt.Rows = append(pt.Rows, []string{"machine " + k, m.Machines[k]})
	}
	for _, k := range slices.Sorted(maps.Keys(m.Settings)) {
		if m.SettingsFrom[k] == "environment" {
			pt.Rows = append(pt.Rows, []string{"setting " + k, m.Settings[k]})
		}
	}
	out := []block{{Heading: "Provenance", Table: pt, List: m.Notes}}
	if len(m.Images) > 0 {
		it := &table{Head: []string{"Image", "Id / sha256"}}
		for _, k := range slices.Sorted(maps.Keys(m.Images)) {
			it.Rows = append(it.Rows, []string{k, m.Images[k]})
		}
		out = append(out, block{Heading: "Images", Table: it})
	}
	if len(m.Tools) > 0 {
		tt := &table{Head: []string{"Tool", "Version"}}
		for _, k := range slices.Sorted(maps.Keys(m.Tools)) {
			tt.Rows = append(tt.Rows, []string{k, m.Tools[k]})
		}
		out = append(out, block{Heading: "Tool versions", Table: tt, Details: true, Summary: fmt.Sprintf("%d tools and packages", len(tt.Rows))})
	}
	if st := sourcesTable(m.Sources); st != nil {
		out = append(out, block{Heading: "Source pins", Table: st, Details: true,
			Summary: fmt.Sprintf("%d pinned sources", len(st.Rows))})
	}
	return out
}

// sourcesTable renders the manifest's source pins (a list of sources.Resolved as JSON).
func sourcesTable(v any) *table {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var pins []sources.Resolved
	t := &table{Head: []string{"Source", "Kind", "URL", "Commit / sha256", "Pin"}}
	if err := json.Unmarshal(b, &pins); err != nil {
		t.Rows = append(t.Rows, []string{"(as recorded)", "", "", string(b), ""})
		return t
	}
	for _, p := range pins {
		id := p.Commit
		if id == "" {
			id = "sha256:" + p.SHA256
		}
		t.Rows = append(t.Rows, []string{p.Name, p.Kind, p.URL, id, p.Pin})
	}
	return t
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}
