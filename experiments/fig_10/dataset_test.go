package fig10

import (
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// The paper's means (computed independently from the same files), in µs.
var paperMeans = map[string]struct{ vmm, guest, total float64 }{
	QEMU:        {38346, 55, 38401},
	QEMU1NIC:    {42198, 544, 42742},
	QEMUMicroVM: {8968, 85, 9053},
	Solo5:       {2994, 74, 3068},
	Firecracker: {1753, 1309, 3062},
}

func TestPaperHasAllVMMsWithTheSpecMeans(t *testing.T) {
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	if d.Provenance != figure.Paper {
		t.Errorf("provenance %+v", d.Provenance)
	}
	if len(d.Series) != len(VMMs) {
		t.Fatalf("%d series, want %d", len(d.Series), len(VMMs))
	}
	for i, s := range d.Series {
		if s.VMM != VMMs[i] || !s.Ran() || len(s.Boots) != 26 {
			t.Errorf("series %d: %s ran=%v n=%d", i, s.Key, s.Ran(), len(s.Boots))
		}
		v, g, tot := s.Stats()
		want := paperMeans[s.Key]
		// Those means are rounded to the µs.
		for _, c := range []struct {
			what      string
			got, want float64
		}{{"vmm", v.Mean, want.vmm}, {"guest", g.Mean, want.guest}, {"total", tot.Mean, want.total}} {
			if math.Abs(c.got-c.want) > 1 {
				t.Errorf("%s %s mean = %.1f µs, the paper's %.0f", s.Key, c.what, c.got, c.want)
			}
		}
		if math.Abs(tot.Mean-(v.Mean+g.Mean)) > 1e-6 {
			t.Errorf("%s: mean total %v ≠ mean vmm + mean guest %v", s.Key, tot.Mean, v.Mean+g.Mean)
		}
	}
}

func TestFigureDescribesFig10(t *testing.T) {
	if Figure.ID != "fig10" || Figure.Dir != "fig_10" || Figure.Plot != "fig_10_unikraft-boot" {
		t.Errorf("Figure = %+v", Figure)
	}
	if _, err := Figure.Paper(); err != nil {
		t.Error(err)
	}
	if ds, err := Figure.Load(t.TempDir()); err == nil || ds != nil {
		t.Errorf("Load of an empty dir: %v, %v; want a nil Dataset and an error", ds, err)
	}
}

// writeRun makes a run directory holding the paper's files for keys and, if accel is not
// empty, a manifest naming the accelerator.
func writeRun(t *testing.T, accel string, keys ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "20261127T230000Z")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		b, err := os.ReadFile(filepath.Join("paper", "results", k+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, k+".csv"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if accel != "" {
		m := `{"figure": "fig_10", "run_id": "run-from-manifest", "accel": "` + accel + `"}`
		if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadKeepsVMMsNotRunInPlace(t *testing.T) {
	dir := writeRun(t, "kvm", QEMU, QEMUMicroVM)
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := figure.Provenance{Source: "run", RunID: "run-from-manifest", Accel: "kvm"}
	if d.Provenance != want {
		t.Errorf("provenance %+v, want %+v", d.Provenance, want)
	}
	for i, s := range d.Series {
		ran := s.Key == QEMU || s.Key == QEMUMicroVM
		if s.Key != VMMs[i].Key || s.Ran() != ran {
			t.Errorf("series %d: %s ran=%v", i, s.Key, s.Ran())
		}
		if !ran && s.Missing != NotRun {
			t.Errorf("%s: missing reason %q, want %q", s.Key, s.Missing, NotRun)
		}
	}
}

func TestLoadWithoutManifestUsesTheDirectoryName(t *testing.T) {
	d, err := Load(writeRun(t, "", Solo5))
	if err != nil {
		t.Fatal(err)
	}
	if d.Provenance != (figure.Provenance{Source: "run", RunID: "20261127T230000Z"}) {
		t.Errorf("provenance %+v", d.Provenance)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nope")); err == nil || !strings.Contains(err.Error(), "fig10:run") {
		t.Errorf("missing dir: %v", err)
	}
	empty := t.TempDir()
	if _, err := Load(empty); err == nil || !strings.Contains(err.Error(), "holds none of qemu.csv") {
		t.Errorf("empty dir: %v", err)
	}
	bad := writeRun(t, "", QEMU)
	b, _ := os.ReadFile(filepath.Join("testdata", "negative.csv"))
	os.WriteFile(filepath.Join(bad, "solo5.csv"), b, 0o644)
	_, err := Load(bad)
	var pe *figure.ParseError
	if !errors.As(err, &pe) || pe.File != filepath.Join(bad, "solo5.csv") || pe.Line != 3 {
		t.Errorf("malformed solo5.csv: %v", err)
	}
	broken := writeRun(t, "", QEMU)
	os.WriteFile(filepath.Join(broken, "manifest.json"), []byte("{"), 0o644)
	if _, err := Load(broken); err == nil || !strings.Contains(err.Error(), "manifest.json") {
		t.Errorf("broken manifest: %v", err)
	}
}

func TestSummaryNamesUnitsAndMissingSeries(t *testing.T) {
	d, err := Load(writeRun(t, "kvm", QEMU))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(d.Summary())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Figure     string
		Provenance figure.Provenance
		Series     []map[string]json.RawMessage
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Figure != "fig10" || got.Provenance.Accel != "kvm" || len(got.Series) != 5 {
		t.Fatalf("summary %s", b)
	}
	for _, k := range []string{"vmm", "label", "vmm_us", "guest_us", "total_us"} {
		if _, ok := got.Series[0][k]; !ok {
			t.Errorf("qemu summary has no %q: %s", k, b)
		}
	}
	var total struct{ N int }
	json.Unmarshal(got.Series[0]["total_us"], &total)
	if total.N != 26 {
		t.Errorf("total_us.n = %d", total.N)
	}
	if string(got.Series[1]["missing"]) != `"not run"` || got.Series[1]["total_us"] != nil {
		t.Errorf("qemu1nic summary: %v", got.Series[1])
	}
}

// Write puts the paper's data back byte for byte: the run step writes what the paper's
// scripts would read.
func TestWriteGivesThePapersFilesBack(t *testing.T) {
	p, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := p.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, v := range VMMs {
		got, err := os.ReadFile(filepath.Join(dir, v.File()))
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := fs.ReadFile(PaperFiles(), "results/"+v.File()); string(got) != string(want) {
			t.Errorf("%s differs from the paper's", v.File())
		}
	}
}
