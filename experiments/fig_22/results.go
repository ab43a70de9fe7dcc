package fig22

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// Value is one bar: the mean cost of one open() for one case of one series.
type Value struct {
	// Cycles is the mean over the VM boots of each boot's integer average TSC cycles
	// per open(), rounded to two decimals (as written to the CSV).
	Cycles float64 `json:"cycles"`
	// NS is the mean of the per-boot averages converted to nanoseconds at the TSC
	// frequency, rounded likewise.
	NS float64 `json:"ns"`
	// Runs are the per-boot integer averages (cycles) the means come from. The paper's
	// data kept only the means, so Runs is nil for it.
	Runs []float64 `json:"-"`
}

// Result is one series' CSV: a value per case.
type Result map[Case]Value

// ParseResults reads a results CSV of the original artifact: no header, one row per case,
// `<case>\t<mean cycles>\t<mean ns>`, e.g. "file-exists\t308.08\t85.58". Both cases must be
// present, once each. file names the input in errors.
func ParseResults(file string, r io.Reader) (Result, error) {
	res := Result{}
	line := map[Case]int{}
	_, err := figure.ReadLines(file, r, func(n int, text string) error {
		f := strings.Split(text, "\t")
		if text == "" || len(f) != 3 {
			return figure.Errorf(file, n, "expected 3 tab-separated fields <case>\\t<cycles>\\t<ns>, found %d in %q", len(fieldsOf(text)), text)
		}
		c := Case(f[0])
		if c != FileExists && c != NoFile {
			return figure.Errorf(file, n, "unknown case %q: expected %q or %q", f[0], FileExists, NoFile)
		}
		if prev, dup := line[c]; dup {
			return figure.Errorf(file, n, "duplicate case %q (first on line %d)", c, prev)
		}
		var v [2]float64
		for i, name := range []string{"cycles", "ns"} {
			x, err := strconv.ParseFloat(f[1+i], 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
				return figure.Errorf(file, n, "%s of %q: expected a non-negative number, found %q", name, c, f[1+i])
			}
			v[i] = x
		}
		line[c] = n
		res[c] = Value{Cycles: v[0], NS: v[1]}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, c := range Cases {
		if _, ok := res[c]; !ok {
			return nil, figure.Errorf(file, 0, "missing case %q: expected one row each for %q and %q", c, FileExists, NoFile)
		}
	}
	return res, nil
}

// fieldsOf counts the fields of a row for error messages (an empty line has none).
func fieldsOf(text string) []string {
	if text == "" {
		return nil
	}
	return strings.Split(text, "\t")
}

// FormatResults writes res in the original's format: file-exists then no-file, each value
// as the original wrote it, str(round(numpy.float64(x), 2)) ("3277.0", "1637.44"), tab-separated,
// newline-terminated.
func FormatResults(res Result) []byte {
	var b bytes.Buffer
	for _, c := range Cases {
		v := res[c]
		fmt.Fprintf(&b, "%s\t%s\t%s\n", c, pyStr(npRound2(v.Cycles)), pyStr(npRound2(v.NS)))
	}
	return b.Bytes()
}
