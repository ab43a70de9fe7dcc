package fig10

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

// writeStatus adds series.json (and a manifest naming a fixture, if any) to a run directory.
func writeStatus(t *testing.T, dir, fixture string, st RunStatus) {
	t.Helper()
	if err := results.WriteJSONAtomic(filepath.Join(dir, SeriesFile), st); err != nil {
		t.Fatal(err)
	}
	if fixture != "" {
		m := `{"figure": "fig_10", "run_id": "r", "accel": "kvm", "fixture": "` + fixture + `"}`
		os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(m), 0o644)
	}
}

func TestLoadGivesTheReasonAVMMDidNotRun(t *testing.T) {
	dir := writeRun(t, "kvm", QEMU, QEMUMicroVM)
	writeStatus(t, dir, "", RunStatus{Series: []SeriesStatus{
		{VMM: Solo5, Status: NotRun, Reason: "solo5-hvt: binary not found"},
		{VMM: Firecracker, Status: NotRun, Reason: "not selected (VMMS=qemu,qemumicrovm)", NotSelected: true},
		{VMM: QEMUMicroVM, Status: Ran, Planned: 26, Failed: 0},
		{VMM: QEMU, Status: Ran, Planned: 28, Failed: 2},
		{VMM: QEMU1NIC, Status: Failed, Reason: "none of 26 boots succeeded", Planned: 26, Failed: 26},
	}})
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s := d.Get(Solo5); s.Ran() || s.Why() != "not run: solo5-hvt: binary not found" {
		t.Errorf("solo5: %q", s.Why())
	}
	if s := d.Get(QEMU1NIC); s.Ran() || s.Missing != Failed || !strings.Contains(s.Why(), "none of 26") {
		t.Errorf("qemu1nic: %q", s.Why())
	}
	r := verified(t, d)
	if got := row(t, r, "Solo5 total"); got.Verdict != verify.Skip || got.Note != "not run: solo5-hvt: binary not found" {
		t.Errorf("Solo5 row %+v", got)
	}
	if got := row(t, r, "Solo5 boots faster than QEMU (MicroVM)"); !strings.Contains(got.Note, "solo5-hvt: binary not found") {
		t.Errorf("claim note %q does not give the reason", got.Note)
	}
	if got := row(t, r, "every boot on QEMU succeeded"); got.Verdict != verify.Fail || got.Measured != "26 of 28" {
		t.Errorf("failed boots: %+v; want FAIL", got)
	}
	if got := row(t, r, "every boot on QEMU (1NIC) succeeded"); got.Verdict != verify.Fail {
		t.Errorf("a series whose boots all failed: %+v", got)
	}
	if got := row(t, r, "every boot on QEMU (MicroVM) succeeded"); got.Verdict != verify.OK {
		t.Errorf("%+v", got)
	}
	sum := d.Summary().(Summary)
	if sum.Series[3].Reason != "solo5-hvt: binary not found" || sum.Series[0].Failed != 2 || sum.Series[0].Planned != 28 {
		t.Errorf("summary %+v", sum.Series)
	}
}

func TestLoadRefusesAResultFileOfASeriesThatDidNotRun(t *testing.T) {
	dir := writeRun(t, "kvm", QEMU)
	writeStatus(t, dir, "", RunStatus{Series: []SeriesStatus{{VMM: QEMU, Status: NotRun, Reason: "x"}}})
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "series.json says qemu was not run") {
		t.Errorf("err = %v", err)
	}
	writeStatus(t, dir, "", RunStatus{Series: []SeriesStatus{{VMM: "qemu2", Status: Ran}}})
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), `unknown VMM "qemu2"`) {
		t.Errorf("err = %v", err)
	}
	writeStatus(t, dir, "", RunStatus{Series: []SeriesStatus{{VMM: QEMU, Status: "done"}}})
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), `status "done"`) {
		t.Errorf("err = %v", err)
	}
}

func TestAFixtureIsNeverJudgedAsUnikraft(t *testing.T) {
	dir := writeRun(t, "kvm", QEMU, QEMU1NIC, QEMUMicroVM, Solo5, Firecracker)
	writeStatus(t, dir, "fig10-standin-1", RunStatus{})
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Provenance.Fixture != "fig10-standin-1" {
		t.Fatalf("provenance %+v", d.Provenance)
	}
	r := verified(t, d)
	if r.Count(verify.OK)+r.Count(verify.Warn)+r.Count(verify.Fail) != 0 {
		var b strings.Builder
		r.WriteTable(&b)
		t.Errorf("a fixture run was judged against the paper:\n%s", b.String())
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "FIXTURE fig10-standin-1") {
		t.Error("no note names the fixture")
	}
	s := svg(t, d, figure.Provenance{Source: "run", RunID: "r", Accel: "kvm", Fixture: "fig10-standin-1"})
	for _, want := range []string{"FIXTURE fig10-standin-1 — stand-in guest, not Unikraft", "Stand-in guest (FIXTURE)"} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG has no %q", want)
		}
	}
	if strings.Contains(s, ">Unikraft Guest<") {
		t.Error("a fixture's guest part is labelled Unikraft Guest")
	}
}

func TestRunChartFootnotes(t *testing.T) {
	dir := writeRun(t, "kvm", QEMU, Firecracker)
	hang := "3 consecutive repetitions stopped the same way: entry marker (port 1112) seen, main marker (port 1500) never; " +
		"timed out after 1m0s; series stopped after 3 of 27 boots (warm-up included)"
	writeStatus(t, dir, "", RunStatus{Series: []SeriesStatus{
		{VMM: Solo5, Status: NotRun, Reason: "needs the ftrace observer, which needs root " + strings.Repeat("x", 200)},
		{VMM: QEMUMicroVM, Status: Failed, Reason: hang}}})
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := svg(t, d, d.Provenance)
	// Long reasons are wrapped, never cut: each line is one text element of the SVG.
	for _, want := range []string{"Timed on the host", "guest (a4cf6565 + firecrackersupport.patch)", "Solo5 — not run: needs the ftrace observer, which needs root",
		"QEMU (MicroVM) — failed: 3 consecutive repetitions stopped the same way: entry marker (port 1112) seen, main marker (port",
		"1500) never; timed out after 1m0s; series stopped after 3 of 27 boots (warm-up included)"} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG has no footnote %q", want)
		}
	}
	if strings.Contains(s, "…") || strings.Contains(s, strings.Repeat("x", footnoteWidth+1)) {
		t.Error("a footnote was cut, or a line is wider than footnoteWidth")
	}
	// A run with FC_GUEST=0.13 says its Firecracker guest is not the paper's.
	for i := range d.Series {
		if d.Series[i].Key == Firecracker {
			d.Series[i].Guest = "firecracker-0.13"
		}
	}
	if s := svg(t, d, d.Provenance); !strings.Contains(s, "RELEASE-0.13.0 (FC_GUEST=0.13)") || strings.Contains(s, "guest (a4cf6565") {
		t.Error("the 0.13 Firecracker guest is not named in the footnote")
	}
	if p, _ := Paper(); strings.Contains(svg(t, p, figure.Paper), "Timed on the host") {
		t.Error("the paper's figure got a run's footnotes")
	}
}

// A guest without the TSC-frequency leaf (always under TCG) spends 100 ms calibrating its
// clock against the PIT inside its guest part: the plot's subtitle and the verdict say so.
func TestCalibrationWithoutTheTSCLeafIsNamed(t *testing.T) {
	no, yes := false, true
	dir := writeRun(t, "tcg", QEMU, QEMUMicroVM, QEMU1NIC)
	writeStatus(t, dir, "", RunStatus{Series: []SeriesStatus{
		{VMM: QEMU, Status: Ran, TSCLeaf: &no}, {VMM: QEMUMicroVM, Status: Ran, TSCLeaf: &no}, {VMM: QEMU1NIC, Status: Ran, TSCLeaf: &yes}}})
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "guest part (QEMU, QEMU (MicroVM)) includes a 100 ms TSC calibration on the PIT"
	if s := svg(t, d, d.Provenance); !strings.Contains(s, want) {
		t.Errorf("subtitle lacks %q", want)
	}
	if notes := strings.Join(verified(t, d).Notes, "\n"); !strings.Contains(notes, want) || !strings.Contains(notes, "tscclock.c") {
		t.Errorf("verdict notes lack the calibration:\n%s", notes)
	}
	// Runs that do not record the leaf (older runs, the paper's data) get no such note.
	p, _ := Paper()
	if len(p.Calibrating()) != 0 {
		t.Error("the paper's data is said to calibrate")
	}
}
