package fig22

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// The paper's numbers, read through Figure.Paper as the bundle reads them.
func TestPaperData(t *testing.T) {
	ds, err := Figure.Paper()
	if err != nil {
		t.Fatal(err)
	}
	d := ds.(*Dataset)
	want := map[string][4]float64{ // cycles, ns for file-exists, then for no-file
		"unikraft_shfs":     {308.08, 85.58, 291.04, 80.84},
		"unikraft_vfs":      {1637.44, 454.84, 2219.48, 616.52},
		"linux_nomitig-vfs": {1968.36, 546.77, 3277.0, 910.28},
		"linux_vfs":         {2647.28, 735.36, 4054.28, 1126.19},
	}
	for id, w := range want {
		s := seriesByID(id)
		fe, nf := d.Value(s, FileExists), d.Value(s, NoFile)
		if got := [4]float64{fe.Cycles, fe.NS, nf.Cycles, nf.NS}; got != w {
			t.Errorf("%s: %v, want %v", id, got, w)
		}
		if fe.Runs != nil || nf.Runs != nil {
			t.Errorf("%s: the paper has no per-boot values", id)
		}
	}
	if d.TSCMHz != 3600 || d.HasRuns() {
		t.Errorf("TSC %d, runs %v", d.TSCMHz, d.HasRuns())
	}
}

// The paper's ns column is its cycles at a 3600 MHz TSC: cycles/ns = 3.6 for every value,
// exactly after the original's rounding. At the submission's 2600 MHz it would not be.
func TestPaperTSCIs3600MHz(t *testing.T) {
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range AllSeries {
		for _, c := range Cases {
			v := d.Value(s, c)
			if got := npRound2(v.Cycles / 3.6); got != v.NS {
				t.Errorf("%s %s: %v cycles / 3.6 = %v, CSV says %v ns", s.Name(), c, v.Cycles, got, v.NS)
			}
		}
		if err := checkNS(s.File(), d.Results[s.ID()], 3600); err != nil {
			t.Error(err)
		}
		if err := checkNS(s.File(), d.Results[s.ID()], 2600); err == nil {
			t.Errorf("%s: ns consistent with 2600 MHz too?", s.File())
		}
	}
}

// A run directory as the run step writes it: console logs in raw/, then FromRaw and
// Write. Load reads it back with the per-boot values.
func TestRunDirectoryRoundTrip(t *testing.T) {
	dir := t.TempDir()
	writeBoots(t, dir, 25, paperBase)
	d, err := FromRaw(filepath.Join(dir, RawDir), 2995)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write(dir); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "unikraft_shfs.csv"))
	// Boots print 301..325 and 291..315: means 313 and 303; ns at 2.995 GHz.
	if got := string(b); got != "file-exists\t313.0\t104.51\nno-file\t303.0\t101.17\n" {
		t.Errorf("unikraft_shfs.csv = %q", got)
	}
	ds, err := Figure.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := ds.(*Dataset)
	if got.TSCMHz != 2995 || !got.HasRuns() || len(got.Value(AllSeries[3], NoFile).Runs) != 25 {
		t.Errorf("loaded %+v", got)
	}
	sum := got.Summary().(Summary)
	if len(sum.Series) != 8 || sum.Series[0].Boots == nil || sum.Series[0].Boots.N != 25 || sum.Series[0].Boots.Min != 301 {
		t.Errorf("summary %+v", sum.Series[0])
	}
	js, _ := json.Marshal(sum)
	if !strings.Contains(string(js), `"tsc_mhz":2995`) || !strings.Contains(string(js), `"boots_cycles":{"n":25`) {
		t.Errorf("summary.json: %s", js)
	}
	// The per-boot values themselves, in boot order (raw/unikraft.1 … .25, not 1, 10, 11, …):
	// boot i printed 300+i for SHFS with the file.
	var want []string
	for i := 1; i <= 25; i++ {
		want = append(want, strconv.Itoa(300+i))
	}
	if !strings.Contains(string(js), `"boots":[`+strings.Join(want, ",")+`]`) {
		t.Errorf("summary.json lacks SHFS's per-boot values %v: %s", want, js)
	}
}

func TestLoadWithoutRawHasNoSpread(t *testing.T) {
	dir := t.TempDir()
	p, _ := Paper()
	if err := p.Write(dir); err != nil {
		t.Fatal(err)
	}
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.HasRuns() || d.TSCMHz != 3600 || d.Value(AllSeries[0], NoFile).Cycles != 291.04 {
		t.Errorf("got %+v", d)
	}
	if s := d.Summary().(Summary); s.Series[0].Boots != nil || s.Series[0].Values != nil {
		t.Error("no per-boot summary without raw logs")
	}
}

// Parts of a run directory that disagree are reported, not plotted.
func TestLoadRejectsInconsistentRunDirectory(t *testing.T) {
	setup := func(t *testing.T) string {
		dir := t.TempDir()
		writeBoots(t, dir, 5, paperBase)
		d, err := FromRaw(filepath.Join(dir, RawDir), 3600)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Write(dir); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	t.Run("csv edited", func(t *testing.T) {
		dir := setup(t)
		p := filepath.Join(dir, "unikraft_vfs.csv")
		os.WriteFile(p, []byte("file-exists\t1000.0\t277.78\nno-file\t2203.0\t611.94\n"), 0o644)
		_, err := Load(dir)
		wantParseError(t, err, p, 0, "file-exists: the CSV says 1000.0 cycles / 277.78 ns, the console logs in raw give 1603.0 / 445.28")
	})
	t.Run("other TSC", func(t *testing.T) {
		dir := setup(t)
		os.WriteFile(filepath.Join(dir, TSCFile), []byte("2600\n"), 0o644)
		_, err := Load(dir)
		wantParseError(t, err, filepath.Join(dir, "unikraft_shfs.csv"), 0, "is not 303.0 cycles at the TSC frequency 2600 MHz")
	})
	t.Run("no TSC", func(t *testing.T) {
		dir := setup(t)
		os.Remove(filepath.Join(dir, TSCFile))
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), "records the TSC frequency") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("empty TSC", func(t *testing.T) {
		dir := setup(t)
		os.WriteFile(filepath.Join(dir, TSCFile), nil, 0o644)
		_, err := Load(dir)
		wantParseError(t, err, filepath.Join(dir, TSCFile), 0, "empty")
	})
	t.Run("missing csv", func(t *testing.T) {
		dir := setup(t)
		os.Remove(filepath.Join(dir, "linux_vfs.csv"))
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), "linux_vfs.csv") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("bad log", func(t *testing.T) {
		dir := setup(t)
		bad := filepath.Join(dir, RawDir, "unikraft.3")
		os.WriteFile(bad, []byte("SHFS,<n/a>,iterations:1000,avg:12\n"), 0o644)
		_, err := Load(dir)
		wantParseError(t, err, bad, 1, "malformed benchmark line")
	})
}

func TestLoadReturnsNilDatasetOnError(t *testing.T) {
	ds, err := Figure.Load(t.TempDir())
	if err == nil || ds != nil {
		t.Errorf("got %v, %v", ds, err)
	}
	var _ figure.Dataset = (*Dataset)(nil)
}

func TestProcessNeedsValues(t *testing.T) {
	if _, err := Process(Boots{}, 3600); err == nil || !strings.Contains(err.Error(), "Unikraft SHFS, file exists: no boot measured") {
		t.Errorf("got %v", err)
	}
	if _, err := FromRaw(t.TempDir(), 3600); err == nil || !strings.Contains(err.Error(), "no console logs") {
		t.Errorf("got %v", err)
	}
}
