package fig10

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

func TestPaperFilesRoundTripByteForByte(t *testing.T) {
	for _, v := range VMMs {
		path := filepath.Join("paper", "results", v.File())
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		samples, err := ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v", v.Key, err)
		}
		if len(samples) != 26 {
			t.Errorf("%s: %d rows, the paper has 26 (REPS=25 ran 26 times)", v.Key, len(samples))
		}
		out, err := FormatTSV(samples)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, raw) {
			t.Errorf("%s: written file differs from the paper's:\n%q\nwant\n%q", v.Key, out, raw)
		}
	}
}

func TestFirstPaperRowsAreReadAsWritten(t *testing.T) {
	samples, err := ReadFile(filepath.Join("paper", "results", "firecracker.csv"))
	if err != nil {
		t.Fatal(err)
	}
	// firecracker.csv starts with "5226\t1674" and "1814\t1399" (the outlier the means hide).
	if samples[0] != (BootTime{VMMus: 5226, GuestUs: 1674}) || samples[1] != (BootTime{VMMus: 1814, GuestUs: 1399}) {
		t.Errorf("first rows = %+v %+v", samples[0], samples[1])
	}
	if got := samples[0].TotalUs(); got != 6900 {
		t.Errorf("TotalUs = %v, want 6900", got)
	}
}

func TestDecimalsAndCRLFAreAccepted(t *testing.T) {
	samples, err := ReadFile(filepath.Join("testdata", "decimal.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := []BootTime{{38346.125, 55.5}, {8968, 85}}
	if len(samples) != 2 || samples[0] != want[0] || samples[1] != want[1] {
		t.Fatalf("got %+v, want %+v", samples, want)
	}
	out, _ := FormatTSV(samples)
	raw, _ := os.ReadFile(filepath.Join("testdata", "decimal.csv"))
	if !bytes.Equal(out, raw) {
		t.Errorf("decimal file does not round-trip: %q", out)
	}
	crlf, err := ReadFile(filepath.Join("testdata", "crlf.csv"))
	if err != nil || len(crlf) != 1 || crlf[0] != (BootTime{35578, 51}) {
		t.Errorf("crlf.csv: %+v, %v", crlf, err)
	}
}

func TestNoFinalNewlineIsAccepted(t *testing.T) {
	s, err := ReadTSV("x.csv", strings.NewReader("vmm_us\tguest_us\n1\t2"))
	if err != nil || len(s) != 1 || s[0] != (BootTime{1, 2}) {
		t.Errorf("got %+v, %v", s, err)
	}
}

// Every malformed file is an error naming file:line and what was expected; none is skipped.
func TestMalformedFilesNameFileLineAndExpectation(t *testing.T) {
	cases := []struct {
		file string
		line int
		want string
	}{
		{"no-header.csv", 1, `missing header: expected the first line to be "vmm_us<TAB>guest_us"`},
		{"header-missing-column.csv", 1, "header is missing column guest_us"},
		{"header-extra-column.csv", 1, `header has extra column "clock"`},
		{"header-wrong-name.csv", 1, `header column 1 is "vmm": expected "vmm_us<TAB>guest_us"`},
		{"missing-column.csv", 3, "missing column guest_us: expected 2 tab-separated fields"},
		{"space-separated.csv", 2, "separated by a tab"},
		{"extra-column.csv", 3, "extra column: expected 2 tab-separated fields (vmm_us, guest_us), found 3"},
		{"non-numeric.csv", 3, `guest_us is not a number ("56us")`},
		{"empty-field.csv", 3, "vmm_us is empty"},
		{"negative.csv", 3, "vmm_us is negative (-44267)"},
		{"empty.csv", 0, "empty file; expected the header"},
		{"header-only.csv", 0, "no rows after the header"},
		{"blank-line.csv", 3, "empty line"},
	}
	for _, c := range cases {
		path := filepath.Join("testdata", c.file)
		samples, err := ReadFile(path)
		var pe *figure.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: got %v (%d rows), want a ParseError", c.file, err, len(samples))
			continue
		}
		if samples != nil {
			t.Errorf("%s: returned %d rows alongside the error", c.file, len(samples))
		}
		if pe.File != path || pe.Line != c.line {
			t.Errorf("%s: error at %s:%d, want %s:%d", c.file, pe.File, pe.Line, path, c.line)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %q does not say %q", c.file, err, c.want)
		}
	}
}

func TestWriterRefusesWhatTheReaderWouldReject(t *testing.T) {
	for name, s := range map[string][]BootTime{
		"no rows":  nil,
		"negative": {{VMMus: 1, GuestUs: -1}},
		"NaN":      {{VMMus: math.NaN(), GuestUs: 1}},
		"infinite": {{VMMus: math.Inf(1), GuestUs: 1}},
	} {
		if b, err := FormatTSV(s); err == nil {
			t.Errorf("%s: wrote %q, want an error", name, b)
		}
	}
}

func TestWrittenFilesReadBack(t *testing.T) {
	in := []BootTime{{38346.123, 55.004}, {0, 0}, {1e6, 0.001}}
	var b bytes.Buffer
	if err := WriteTSV(&b, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadTSV("mem.csv", &b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if out[i] != in[i] {
			t.Errorf("row %d: %+v, want %+v", i, out[i], in[i])
		}
	}
}
