package fig08

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

func readPaperResults(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("paper", ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestParseResultsReadsThePapersFile(t *testing.T) {
	s, err := ParseResults("paper/results.csv", bytes.NewReader(readPaperResults(t)))
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 16 {
		t.Fatalf("got %d images, want 16", len(s))
	}
	// The paper's results.csv values, including the variant that keeps its underscore.
	for key, want := range map[string]int64{
		"helloworld_default": 262816, "helloworld_dce": 197280,
		"nginx_default": 1639224, "nginx_lto": 1246392, "nginx_dce": 852792, "nginx_dce_lto": 852928,
		"redis_default": 1835832, "redis_dce_lto": 1115072,
		"sqlite_default": 1639224, "sqlite_dce_lto": 852928,
	} {
		app, v, _ := strings.Cut(key, "_")
		if got := s[Image{app, v}]; got != want {
			t.Errorf("%s = %d, want %d", key, got, want)
		}
	}
}

func TestWriteResultsRoundTripsThePapersFile(t *testing.T) {
	raw := readPaperResults(t)
	s, err := ParseResults("paper/results.csv", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteResults(&out, s); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), raw) {
		t.Errorf("round trip differs:\n got %q\nwant %q", out.String(), raw)
	}
}

func TestParseResultsRejectsMalformedInput(t *testing.T) {
	for _, tc := range []struct {
		file string
		line int
		want string
	}{
		{"missing-column.csv", 2, `one column "helloworld_default"; expected <app>_<variant><TAB><bytes> (the size column is missing)`},
		{"extra-column.csv", 1, "3 columns; expected <app>_<variant><TAB><bytes> (exactly 2)"},
		{"spaces.csv", 1, "the size column is missing"},
		{"non-numeric.csv", 2, `size "832.8KB" of nginx_dce: expected a positive whole number of bytes`},
		{"negative.csv", 1, `size "-1114936" of redis_dce: expected a positive whole number of bytes`},
		{"zero.csv", 1, "an image of 0 bytes is an empty file"},
		{"unknown-app.csv", 2, `unknown application "memcached" in "memcached_dce"; expected one of helloworld, nginx, redis, sqlite`},
		{"unknown-variant.csv", 1, `unknown variant "dce+lto" in "nginx_dce+lto"; expected one of default, lto, dce, dce_lto`},
		{"no-variant.csv", 1, `image name "nginx" has no '_'`},
		{"duplicate.csv", 3, "helloworld_dce appears again (first on line 1); expected one row per image"},
		{"blank-line.csv", 2, "empty line"},
		{"empty.csv", 0, "no images"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			name := filepath.Join("testdata", tc.file)
			f, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s, err := ParseResults(name, f)
			if err == nil {
				t.Fatalf("parsed %v, want an error", s)
			}
			var pe *figure.ParseError
			if !errors.As(err, &pe) || pe.File != name || pe.Line != tc.line {
				t.Errorf("error %q: want a ParseError at %s:%d", err, name, tc.line)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseResultsAcceptsASubsetAndAMissingFinalNewline(t *testing.T) {
	s, err := ParseResults("x", strings.NewReader("redis_dce\t1114936\nsqlite_dce_lto\t852928"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 || s[Image{"sqlite", "dce_lto"}] != 852928 {
		t.Errorf("got %v", s)
	}
}
