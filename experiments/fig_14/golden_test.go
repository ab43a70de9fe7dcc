package fig14

import (
	"bytes"
	"math"
	"testing"
)

// The paper's raw gdb logs, parsed here, give the paper's CSVs: every value within 0.01 µs
// and the files byte for byte.
func TestPaperTracesGivePaperCSVs(t *testing.T) {
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range d.Series {
		if n := len(s.Trace.Boots); n != 10 {
			t.Errorf("%s: %d boots, want 10", s.Name, n)
		}
		want, err := PaperCSV(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range Components {
			if diff := math.Abs(s.Mean[c] - want[c]); diff > 0.01 {
				t.Errorf("%s %s: parsed %.4f µs, paper %.2f µs", s.Name, c, s.Mean[c], want[c])
			}
		}
		paperBytes, err := paperFS.ReadFile(paperResultsDir + "/" + s.Name + ".csv")
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatCSV(s.Mean); !bytes.Equal(got, paperBytes) {
			t.Errorf("%s.csv differs from the paper's:\n%s\nwant:\n%s", s.Name, got, paperBytes)
		}
	}
}
