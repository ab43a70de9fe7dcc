package fig10

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// Header is the first line of a result file. The format is the original artifact's
// results/<vmm>.csv (tab-separated despite the extension), kept so that the paper's own
// plot.py could read a run of this bundle.
const Header = "vmm_us\tguest_us"

// columns are the header's column names, in order.
var columns = strings.Split(Header, "\t")

// BootTime is one boot's time as a result file row holds it: the paper's vmm_us and
// guest_us, the primary observer's boottime.Sample reduced to the two parts the figure
// stacks. (boottime.Sample is the measurement itself, per observer, with every phase.)
type BootTime struct {
	VMMus   float64 // before the guest's platform entry (VMM setup and firmware)
	GuestUs float64 // guest platform entry to main()
}

// TotalUs is the boot time the figure's bar height stands for.
func (s BootTime) TotalUs() float64 { return s.VMMus + s.GuestUs }

// number is a duration as the format allows it: a non-negative integer or decimal. No sign,
// exponent, hex or spaces: the original files hold plain integers and nothing else should
// slip in unnoticed.
var number = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// ReadFile parses the result file at path.
func ReadFile(path string) ([]BootTime, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadTSV(path, f)
}

// ReadTSV parses a result file: the header line, then one row per boot with two
// tab-separated non-negative numbers of µs. name is the file name used in errors, which
// are *figure.ParseError naming the line and what was expected. A final newline is
// optional and CRLF line ends are accepted; anything else that is not a row, blank lines
// included, is an error, never skipped.
func ReadTSV(name string, r io.Reader) ([]BootTime, error) {
	var rows []BootTime
	lines, err := figure.ReadLines(name, r, func(line int, text string) error {
		if line == 1 {
			return checkHeader(name, text)
		}
		s, err := parseRow(name, line, text)
		rows = append(rows, s)
		return err
	})
	switch {
	case err != nil:
		return nil, err
	case lines == 0:
		return nil, figure.Errorf(name, 0, "empty file; expected the header %s and one row per boot", show(Header))
	case len(rows) == 0:
		return nil, figure.Errorf(name, 0, "no rows after the header; expected one row %s per boot", show(Header))
	}
	return rows, nil
}

func checkHeader(name, text string) error {
	if text == Header {
		return nil
	}
	fields := strings.Split(text, "\t")
	if number.MatchString(fields[0]) || strings.HasPrefix(fields[0], "-") {
		return figure.Errorf(name, 1, "missing header: expected the first line to be %s, found the data row %q", show(Header), text)
	}
	for i, want := range columns {
		if i >= len(fields) {
			return figure.Errorf(name, 1, "header is missing column %s: expected %s, found %q%s", want, show(Header), text, tabHint(text))
		}
		if fields[i] != want {
			return figure.Errorf(name, 1, "header column %d is %q: expected %s", i+1, fields[i], show(Header))
		}
	}
	return figure.Errorf(name, 1, "header has extra column %q: expected only %s", fields[len(columns)], show(Header))
}

func parseRow(name string, line int, text string) (BootTime, error) {
	if strings.TrimSpace(text) == "" {
		return BootTime{}, figure.Errorf(name, line, "empty line: expected a row %s (blank lines are not allowed)", show(Header))
	}
	fields := strings.Split(text, "\t")
	if len(fields) < len(columns) {
		return BootTime{}, figure.Errorf(name, line, "missing column %s: expected %d tab-separated fields (%s), found %d in %q%s",
			columns[len(fields)], len(columns), strings.Join(columns, ", "), len(fields), text, tabHint(text))
	}
	if len(fields) > len(columns) {
		return BootTime{}, figure.Errorf(name, line, "extra column: expected %d tab-separated fields (%s), found %d in %q",
			len(columns), strings.Join(columns, ", "), len(fields), text)
	}
	var v [2]float64
	for i, f := range fields {
		x, err := parseMicros(f)
		if err != nil {
			return BootTime{}, figure.Errorf(name, line, "%s %s", columns[i], err)
		}
		v[i] = x
	}
	return BootTime{VMMus: v[0], GuestUs: v[1]}, nil
}

// parseMicros reads one field; its error completes "<column> ...".
func parseMicros(f string) (float64, error) {
	switch {
	case f == "":
		return 0, fmt.Errorf("is empty: expected a non-negative number of microseconds")
	case strings.HasPrefix(f, "-") && number.MatchString(f[1:]):
		return 0, fmt.Errorf("is negative (%s): a duration in microseconds cannot be negative", f)
	case !number.MatchString(f):
		return 0, fmt.Errorf("is not a number (%q): expected a non-negative integer or decimal number of microseconds, e.g. 38346 or 38346.5", f)
	}
	x, err := strconv.ParseFloat(f, 64)
	if err != nil || math.IsInf(x, 0) {
		return 0, fmt.Errorf("is out of range (%q): expected a number of microseconds", f)
	}
	return x, nil
}

// WriteTSV writes samples in the result-file format: the header, then one row per sample.
// Numbers are written in the shortest form that reads back to the same value, so integer
// µs come out as integers and the paper's files round-trip byte for byte. It refuses what
// ReadTSV would reject (no rows, negative or non-finite values), so it never writes a file
// the bundle cannot read back.
func WriteTSV(w io.Writer, samples []BootTime) error {
	b, err := FormatTSV(samples)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// FormatTSV is WriteTSV into a byte slice (for results.Run.WriteFile).
func FormatTSV(samples []BootTime) ([]byte, error) {
	if len(samples) == 0 {
		return nil, fmt.Errorf("fig10: no samples to write: a result file needs at least one boot")
	}
	var b bytes.Buffer
	b.WriteString(Header + "\n")
	for i, s := range samples {
		for j, x := range []float64{s.VMMus, s.GuestUs} {
			if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
				return nil, fmt.Errorf("fig10: sample %d: %s = %v: expected a non-negative finite number of microseconds", i+1, columns[j], x)
			}
			if j > 0 {
				b.WriteByte('\t')
			}
			b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// show renders a header or row with a visible tab for error messages.
func show(s string) string { return `"` + strings.ReplaceAll(s, "\t", "<TAB>") + `"` }

// tabHint explains the most likely cause of a one-field line.
func tabHint(text string) string {
	if strings.ContainsAny(text, " ,;") {
		return " (columns must be separated by a tab, not spaces, commas or semicolons)"
	}
	return ""
}
