package fig14

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

// newRun lays out a run directory with the paper's raw traces under raw/, as the run step
// will, plus an unrelated log that Load must leave alone.
func newRun(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	raw := filepath.Join(dir, RawDir)
	if err := os.MkdirAll(raw, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := paperFS.ReadDir(paperRawDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := paperFS.ReadFile(paperRawDir + "/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(raw, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(raw, "build-buddy.log"), []byte("make: ok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The parse step turns a run's raw traces into the paper's CSV files, and Load reads the
// run back to the same numbers as the paper's data.
func TestParseStepThenLoad(t *testing.T) {
	dir := newRun(t)
	if err := writeRun(dir); err != nil {
		t.Fatal(err)
	}
	for _, a := range Allocators {
		got, err := os.ReadFile(filepath.Join(dir, ResultsDir, a.Name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := paperFS.ReadFile(paperResultsDir + "/" + a.Name + ".csv")
		if !bytes.Equal(got, want) {
			t.Errorf("%s.csv differs from the paper's", a.Name)
		}
	}
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.Series {
		if d.Series[i].Mean != p.Series[i].Mean || len(d.Series[i].Trace.Boots) != 10 {
			t.Errorf("%s: loaded %v, paper %v", d.Series[i].Name, d.Series[i].Mean, p.Series[i].Mean)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	t.Run("missing allocator", func(t *testing.T) {
		dir := newRun(t)
		matches, _ := filepath.Glob(filepath.Join(dir, RawDir, "tlsf-*.txt"))
		os.Remove(matches[0])
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), "no trace of allocator(s) tlsf; expected <alloc>-<timestamp>.txt") {
			t.Errorf("error %v", err)
		}
		if err := writeRun(dir); err == nil {
			t.Error("the parse step wrote results without the tlsf trace")
		}
		if _, err := os.Stat(filepath.Join(dir, ResultsDir)); err == nil {
			t.Error("the parse step left partial output")
		}
	})
	t.Run("two traces of one allocator", func(t *testing.T) {
		dir := newRun(t)
		os.WriteFile(filepath.Join(dir, RawDir, "tlsf-1.txt"), nil, 0o644)
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "two traces of allocator tlsf") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("missing CSV", func(t *testing.T) {
		dir := newRun(t)
		if err := writeRun(dir); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dir, ResultsDir, "region.csv"))
		want := filepath.Join(dir, ResultsDir, "region.csv") + ": missing"
		if _, err := Load(dir); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %v\nwant prefix %q", err, want)
		}
	})
	t.Run("stale CSV", func(t *testing.T) {
		dir := newRun(t)
		if err := writeRun(dir); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, ResultsDir, "buddy.csv")
		b, _ := os.ReadFile(name)
		os.WriteFile(name, bytes.Replace(b, []byte("2423.00"), []byte("1000.00"), 1), 0o644)
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "alloc is 1000.00 µs but") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("broken trace", func(t *testing.T) {
		dir := newRun(t)
		matches, _ := filepath.Glob(filepath.Join(dir, RawDir, "mimalloc-*.txt"))
		b, _ := os.ReadFile(matches[0])
		i := bytes.LastIndex(b, []byte("trace_boot_end"))
		os.WriteFile(matches[0], b[:i+8], 0o644) // the log ends inside the last boot_end line
		if _, err := Load(dir); err == nil || !strings.HasPrefix(err.Error(), matches[0]+":") || !strings.Contains(err.Error(), "truncated trace line") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("no raw dir", func(t *testing.T) {
		if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "expected one <alloc>-<timestamp>.txt trace per allocator") {
			t.Errorf("error %v", err)
		}
	})
}

// The per-boot numbers give the spread the paper's CSVs could not (buddy's per-boot totals
// span 3020.9–3161.4 µs around a mean of 3065.77 µs). The paper's means are sums
// of the nine rounded CSV values, so they may differ from the mean per-boot total by up to
// 9 × 0.005 µs.
func TestSummary(t *testing.T) {
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	s := d.Summary().(Summary)
	want := map[string][3]float64{ // mean, min, max of the per-boot totals, µs
		"buddy": {3065.77, 3020.9, 3161.4}, "mimalloc": {940.68, 922.5, 1002.8}, "region": {487.77, 485.7, 492.7},
		"tinyalloc": {873.46, 869.6, 883.6}, "tlsf": {507.53, 504.2, 516.4},
	}
	for i, a := range s.Allocators {
		w := want[a.Allocator]
		if a.Allocator != Allocators[i].Name || a.Total.N != 10 ||
			math.Abs(a.Total.Mean-w[0]) > 0.045 || math.Abs(a.Total.Min-w[1]) > 0.05 || math.Abs(a.Total.Max-w[2]) > 0.05 {
			t.Errorf("%s: total %+v, want mean %g, min–max %g–%g", a.Allocator, a.Total, w[0], w[1], w[2])
		}
		if len(a.Components) != NumComponents || a.Components[Alloc].Component != "alloc" || a.Total.CI95 <= 0 {
			t.Errorf("%s: components %+v", a.Allocator, a.Components)
		}
	}
}

func TestPaperVerifiesAgainstItself(t *testing.T) {
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	r := verify.New("fig14", "paper")
	d.Verify(r)
	var out bytes.Buffer
	r.WriteTable(&out)
	if r.Count(verify.Fail)+r.Count(verify.Warn)+r.Count(verify.Skip) > 0 || r.Count(verify.OK) != 2*len(Allocators)+len(claims) {
		t.Errorf("paper data does not verify cleanly:\n%s", &out)
	}
	t.Logf("\n%s", &out)
}

// A dataset where the binary buddy allocator initialises as fast as Bootalloc contradicts the
// figure: the claims about buddy fail and its numbers are out of tolerance.
func TestVerifyCatchesFastBuddy(t *testing.T) {
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	d.series("buddy").Mean[Alloc] = 1
	r := verify.New("fig14", "changed")
	d.Verify(r)
	failed := map[string]bool{}
	for _, row := range r.Rows {
		if row.Verdict != verify.OK {
			failed[row.Series] = true
		}
	}
	for _, want := range []string{"Binary buddy boots slowest", "Allocator initialisation is most (>50%) of Binary buddy's boot", "Binary buddy total boot", "Binary buddy alloc init"} {
		if !failed[want] {
			t.Errorf("%q did not fail", want)
		}
	}
	if r.Err(false) == nil {
		t.Error("report passes")
	}
}

func TestVerifyCatchesEachClaim(t *testing.T) {
	for _, c := range []struct {
		claim  string
		change func(d *Dataset)
	}{
		{"Bootalloc (region) and TLSF boot fastest", func(d *Dataset) { d.series("tinyalloc").Mean[Alloc], d.series("tinyalloc").Mean[Ukbus] = 0, 0 }},
		{"The allocator changes the boot time several-fold (slowest/fastest ≥ 3×)", func(d *Dataset) { d.series("buddy").Mean[Alloc] = 800; d.series("mimalloc").Mean[Lwip] = 100 }},
		{"lwip's initialisation is slowest with Mimalloc", func(d *Dataset) { d.series("mimalloc").Mean[Lwip] = 100 }},
		{"plat and ukbus take the same time with every allocator (max/min ≤ 1.25)", func(d *Dataset) { d.series("tlsf").Mean[Ukbus] *= 2 }},
	} {
		d, err := Paper()
		if err != nil {
			t.Fatal(err)
		}
		c.change(d)
		r := verify.New("fig14", "changed")
		d.Verify(r)
		found := false
		for _, row := range r.Rows {
			if row.Series == c.claim {
				found = true
				if row.Verdict != verify.Fail {
					t.Errorf("%q: %s (%s)", c.claim, row.Verdict, row.Measured)
				}
			}
		}
		if !found {
			t.Errorf("no claim %q", c.claim)
		}
	}
}

// A trace may be a symbolic link (e.g. to a kept copy of an earlier run's log): it is read
// like the file it points at, not skipped as if the allocator had no trace.
func TestSymlinkedTraceIsRead(t *testing.T) {
	dir := newRun(t)
	matches, _ := filepath.Glob(filepath.Join(dir, RawDir, "tlsf-*.txt"))
	kept := filepath.Join(t.TempDir(), filepath.Base(matches[0]))
	if err := os.Rename(matches[0], kept); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(kept, matches[0]); err != nil {
		t.Fatal(err)
	}
	if err := writeRun(dir); err != nil {
		t.Fatal(err)
	}
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s := d.series("tlsf"); s == nil || len(s.Trace.Boots) != 10 {
		t.Errorf("tlsf through a symlink: %+v", s)
	}
}

// writeRun is the parse step of a run: the traces in dir's raw/ to dir's CSVs.
func writeRun(dir string) error {
	d, err := FromRaw(filepath.Join(dir, RawDir))
	if err != nil {
		return err
	}
	return d.Write(dir)
}
