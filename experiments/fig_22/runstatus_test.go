package fig22

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

// writeRun writes a run directory as the run step does: consoles, CSVs, tsc_mhz.txt, and
// the manifest and series.json it records.
func writeRun(t *testing.T, m *results.Manifest, status []SeriesStatus) string {
	t.Helper()
	dir := t.TempDir()
	writeBoots(t, dir, 3, paperBase)
	d, err := FromRaw(filepath.Join(dir, RawDir), 3600)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write(dir); err != nil {
		t.Fatal(err)
	}
	if m != nil {
		if err := results.WriteJSONAtomic(filepath.Join(dir, "manifest.json"), m); err != nil {
			t.Fatal(err)
		}
	}
	if status != nil {
		if err := results.WriteJSONAtomic(filepath.Join(dir, SeriesFile), status); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A run under TCG is shown but not judged: every comparison and claim is SKIP and says
// what it would have been; a failed boot is FAIL all the same.
func TestTCGRunIsNotJudged(t *testing.T) {
	status := []SeriesStatus{
		{Console: "linux", Tally: rep.Tally{Planned: 4, Ran: 4, OK: 3, Failed: 1, Errors: []string{"boot 2: the VM did not end within 3m0s (killed)"}}},
		{Console: "linux-nomitig", Tally: rep.Tally{Planned: 3, Ran: 3, OK: 3}},
		{Console: "unikraft", Tally: rep.Tally{Planned: 3, Ran: 3, OK: 3}},
	}
	dir := writeRun(t, &results.Manifest{Figure: Figure.Dir, Accel: "tcg"}, status)
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Accel != "tcg" || len(d.Status) != 3 || !d.HasRuns() {
		t.Fatalf("run records not read: accel %q, status %v", d.Accel, d.Status)
	}
	r, table := report(t, d)
	if r.Count(verify.OK)+r.Count(verify.Warn) != 0 {
		t.Errorf("a TCG run was judged:\n%s", table)
	}
	if r.Count(verify.Fail) != 1 || !strings.Contains(table, "every boot of the linux VM") || !strings.Contains(table, "1 of 4 boots failed") {
		t.Errorf("the failed boot is not FAIL:\n%s", table)
	}
	if !strings.Contains(table, "software emulation (accel tcg)") || !strings.Contains(table, "would be OK") {
		t.Errorf("the SKIP rows do not say why:\n%s", table)
	}
}

// A KVM run with every boot good is judged as the paper's data is; without manifest and
// series.json (a run copied by hand) too.
func TestKVMRunIsJudged(t *testing.T) {
	for _, m := range []*results.Manifest{{Figure: Figure.Dir, Accel: "kvm"}, nil} {
		d, err := Load(writeRun(t, m, nil))
		if err != nil {
			t.Fatal(err)
		}
		r, table := report(t, d)
		if r.Count(verify.Skip) != 0 || r.Count(verify.OK) == 0 || r.Err(false) != nil {
			t.Errorf("manifest %v:\n%s", m, table)
		}
	}
}

// A FIXTURE run under KVM: the Linux series boot the real kernel and are judged; every row
// that involves the stand-in Unikraft image is not.
func TestFixtureRunJudgesOnlyTheLinuxSeries(t *testing.T) {
	d, err := Load(writeRun(t, &results.Manifest{Figure: Figure.Dir, Accel: "kvm", Fixture: "fig22-standin-1"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	r, table := report(t, d)
	for _, row := range r.Rows {
		linuxOnly := !strings.Contains(row.Series, "Unikraft")
		if judged := row.Verdict != verify.Skip; judged != linuxOnly {
			t.Errorf("%s: %s (%s)", row.Series, row.Verdict, row.Note)
		}
		if !linuxOnly && !strings.Contains(row.Note, "FIXTURE fig22-standin-1") {
			t.Errorf("%s: the SKIP does not name the fixture: %s", row.Series, row.Note)
		}
	}
	if t.Failed() {
		t.Log(table)
	}
}
