package fig22

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// The paper's CSVs parse, and writing what was parsed gives back the same bytes.
func TestPaperCSVsRoundTrip(t *testing.T) {
	for _, s := range AllSeries {
		path := filepath.Join("paper", "results", s.File())
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		res, err := ParseResults(path, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatResults(res); !bytes.Equal(got, b) {
			t.Errorf("%s: wrote\n%q\nread\n%q", path, got, b)
		}
	}
}

func TestResultsRowOrderDoesNotMatter(t *testing.T) {
	res, err := ParseResults("x.csv", strings.NewReader("no-file\t3277.0\t910.28\r\nfile-exists\t1968.36\t546.77\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res[NoFile].Cycles != 3277 || res[FileExists].NS != 546.77 {
		t.Errorf("got %+v", res)
	}
	// Written back in the original's order.
	if got := string(FormatResults(res)); got != "file-exists\t1968.36\t546.77\nno-file\t3277.0\t910.28\n" {
		t.Errorf("wrote %q", got)
	}
}

// wantParseError checks that err is a ParseError for file at line whose message contains want.
func wantParseError(t *testing.T, err error, file string, line int, want string) {
	t.Helper()
	var pe *figure.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("%s: want a parse error about %q, got %v", file, want, err)
	}
	if pe.File != file || pe.Line != line || !strings.Contains(pe.Msg, want) {
		t.Errorf("got %q, want %s:%d: …%s…", err, file, line, want)
	}
}

func TestMalformedResults(t *testing.T) {
	for _, tc := range []struct {
		file string
		line int
		want string
	}{
		{"missing-column.csv", 1, "expected 3 tab-separated fields <case>\\t<cycles>\\t<ns>, found 2"},
		{"extra-column.csv", 1, "found 4"},
		{"blank-line.csv", 2, "found 0"},
		{"non-numeric.csv", 2, `cycles of "no-file": expected a non-negative number, found "291,04"`},
		{"nan.csv", 2, `ns of "no-file": expected a non-negative number, found "nan"`},
		{"unknown-case.csv", 1, `unknown case "file-exist"`},
		{"duplicate-case.csv", 2, `duplicate case "file-exists" (first on line 1)`},
		{"missing-case.csv", 0, `missing case "no-file"`},
	} {
		path := filepath.Join("testdata", "results", tc.file)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ParseResults(path, bytes.NewReader(b))
		wantParseError(t, err, path, tc.line, tc.want)
	}
}

func TestTSC(t *testing.T) {
	mhz, err := ParseTSC("tsc_mhz.txt", strings.NewReader(" 3600\n"))
	if err != nil || mhz != 3600 {
		t.Fatalf("got %d, %v", mhz, err)
	}
	if got := string(FormatTSC(2995)); got != "2995\n" {
		t.Errorf("FormatTSC = %q", got)
	}
	for _, tc := range []struct {
		file string
		line int
		want string
	}{
		{"empty.txt", 0, "empty: expected the TSC frequency in MHz"},
		{"zero.txt", 1, "TSC frequency 0 MHz: expected a positive number"},
		{"negative.txt", 1, "TSC frequency -2600 MHz"},
		{"fraction.txt", 1, `as an integer, e.g. 3600, found "3600.00"`},
		{"two-lines.txt", 0, "found several lines"},
	} {
		path := filepath.Join("testdata", "tsc", tc.file)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ParseTSC(path, f)
		f.Close()
		wantParseError(t, err, path, tc.line, tc.want)
	}
}
