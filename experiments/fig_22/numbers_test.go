package fig22

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// goldenRows reads a tab-separated golden file from testdata, skipping # comments.
func goldenRows(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		rows = append(rows, strings.Split(sc.Text(), "\t"))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) < 100 {
		t.Fatalf("%s: only %d rows", name, len(rows))
	}
	return rows
}

// testdata/python-numbers.tsv was written by CPython 3.11 with numpy 1.24: str() of a float,
// str(round(numpy.float64(x), 2)) as do_process_dataset.py wrote its columns, and Python's
// round(x) as plot.py labelled the bars.
func TestNumbersFormatLikePythonAndNumpy(t *testing.T) {
	for _, row := range goldenRows(t, "python-numbers.tsv") {
		x, err := strconv.ParseFloat(row[0], 64)
		if err != nil {
			t.Fatalf("%q: %v", row[0], err)
		}
		if got := pyStr(x); got != row[1] {
			t.Errorf("str(%s) = %q, Python says %q", row[0], got, row[1])
		}
		if got := pyStr(npRound2(x)); got != row[2] {
			t.Errorf("str(round(numpy.float64(%s), 2)) = %q, numpy says %q", row[1], got, row[2])
		}
		if row[3] != "" {
			if got := strconv.FormatInt(pyRound(x), 10); got != row[3] {
				t.Errorf("round(%s) = %s, Python says %s", row[1], got, row[3])
			}
		}
	}
}

// The rounding is numpy's, not Python's: the two differ on values like 1.115.
func TestRoundingIsNumpys(t *testing.T) {
	if got := pyStr(npRound2(1.115)); got != "1.12" {
		t.Errorf("round(numpy.float64(1.115), 2) = %s, want 1.12 (Python's round would give 1.11)", got)
	}
	if pyRound(308.5) != 308 || pyRound(309.5) != 310 {
		t.Error("bar labels round halves to even, as Python's round does")
	}
}

// testdata/numpy-process.tsv holds do_process_dataset.py's output for random per-boot values
// and TSC frequencies (computed by its own arithmetic with numpy). Process followed by
// FormatResults must print the same digits.
func TestProcessPrintsWhatDoProcessDatasetPrinted(t *testing.T) {
	for _, row := range goldenRows(t, "numpy-process.tsv") {
		mhz, err := strconv.Atoi(row[0])
		if err != nil {
			t.Fatal(err)
		}
		var runs []float64
		for _, s := range strings.Split(row[1], ",") {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			runs = append(runs, x)
		}
		boots := Boots{}
		for _, s := range AllSeries {
			boots[s.ID()] = map[Case][]float64{FileExists: runs, NoFile: runs}
		}
		d, err := Process(boots, mhz)
		if err != nil {
			t.Fatal(err)
		}
		want := "file-exists\t" + row[2] + "\t" + row[3] + "\n"
		if got := string(FormatResults(d.Results["unikraft_shfs"]))[:len(want)]; got != want {
			t.Errorf("%d MHz, %d boots: got %q, do_process_dataset.py printed %q", mhz, len(runs), got, want)
		}
	}
}

func TestNumpyMeanIsPairwise(t *testing.T) {
	// numpy.average of these is 5/9 (numpy 1.24): its eight accumulators absorb two of
	// the ones into ±1e16; a running sum absorbs only one and gives 6/9.
	xs := []float64{1e16, 1, -1e16, 1, 1, 1, 1, 1, 1}
	if got := numpyMean(xs); got != 5.0/9 {
		t.Errorf("numpyMean = %v, numpy says %v", got, 5.0/9)
	}
	if got := numpyMean([]float64{3, 4}); got != 3.5 {
		t.Errorf("numpyMean(3, 4) = %v", got)
	}
}
