package fig14

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// The results CSV is parse.py's output for one allocator (results/1024M/<alloc>.csv): a
// tab-separated header "component\tboottime_us", then one row per component in the fixed
// order plat … misc with the mean in µs to two decimals.

// csvHeader is the first line of a results CSV; csvHeaderShown is how messages print it.
const (
	csvHeader      = "component\tboottime_us"
	csvHeaderShown = `"component\tboottime_us"`
)

// FormatCSV renders mean in the paper's format, byte for byte what parse.py wrote:
// "%.2f" % round(v, 2) per value (both round the exact binary value half-to-even, as
// strconv's 'f' format does) and each row left-justified to 10 characters.
func FormatCSV(mean Breakdown) []byte {
	var b bytes.Buffer
	b.WriteString(csvHeader + "\n")
	for _, c := range Components {
		fmt.Fprintf(&b, "%-10s\n", c.String()+"\t"+strconv.FormatFloat(mean[c], 'f', 2, 64))
	}
	return b.Bytes()
}

// WriteCSV writes mean to w in the paper's format.
func WriteCSV(w io.Writer, mean Breakdown) error {
	_, err := w.Write(FormatCSV(mean))
	return err
}

// ReadCSV reads a results CSV. name is used in error messages (file:line). Rows may come in
// any order but every component must appear exactly once; trailing spaces (parse.py's ljust
// padding) are allowed.
func ReadCSV(name string, r io.Reader) (Breakdown, error) {
	var b Breakdown
	var seen [NumComponents]int // line of each component's row
	n, err := figure.ReadLines(name, r, func(n int, text string) error {
		s := strings.TrimRight(text, " \r")
		if n == 1 {
			if s != csvHeader {
				return figure.Errorf(name, n, "header %q; expected %s", s, csvHeaderShown)
			}
			return nil
		}
		f := strings.Split(s, "\t")
		if len(f) != 2 {
			return figure.Errorf(name, n, "%d tab-separated column(s) in %q; expected 2: component, boottime_us", len(f), s)
		}
		c, ok := ComponentByName(f[0])
		if !ok {
			return figure.Errorf(name, n, "unknown component %q; expected one of %s", f[0], strings.Join(componentNames[:], ", "))
		}
		if seen[c] > 0 {
			return figure.Errorf(name, n, "component %s again (first at line %d); expected each component once", c, seen[c])
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return figure.Errorf(name, n, "boottime_us of %s is %q; expected a non-negative number of µs", c, f[1])
		}
		b[c], seen[c] = v, n
		return nil
	})
	if err != nil {
		return b, err
	}
	if n == 0 {
		return b, figure.Errorf(name, 0, "empty file; expected the header %s and %d rows", csvHeaderShown, NumComponents)
	}
	var missing []string
	for _, c := range Components {
		if seen[c] == 0 {
			missing = append(missing, c.String())
		}
	}
	if len(missing) > 0 {
		return b, figure.Errorf(name, 0, "missing component row(s): %s", strings.Join(missing, ", "))
	}
	return b, nil
}
