package figure

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestProvenanceNamesItsSource(t *testing.T) {
	cases := []struct {
		p        Provenance
		want     []string
		wantNone string
	}{
		{Paper, []string{"paper data"}, "run"},
		{Provenance{Source: "run", RunID: "20261127T223555Z", Accel: "kvm"}, []string{"run 20261127T223555Z", "accel kvm"}, "not comparable"},
		{Provenance{Source: "run", RunID: "x", Accel: "tcg"}, []string{"accel tcg", "software emulation", "not comparable"}, "FIXTURE"},
		{Provenance{Source: "run", RunID: "x", Fixture: "stand-in unikraft"}, []string{"FIXTURE stand-in unikraft", "not a measurement of Unikraft"}, "accel"},
	}
	for _, c := range cases {
		s := c.p.String()
		for _, w := range c.want {
			if !strings.Contains(s, w) {
				t.Errorf("%+v: %q lacks %q", c.p, s, w)
			}
		}
		if strings.Contains(s, c.wantNone) {
			t.Errorf("%+v: %q must not contain %q", c.p, s, c.wantNone)
		}
	}
}

func TestParseErrorNamesFileAndLine(t *testing.T) {
	err := Errorf("results/qemu.csv", 7, "expected 2 tab-separated fields, found %d", 1)
	if err.Error() != "results/qemu.csv:7: expected 2 tab-separated fields, found 1" {
		t.Errorf("%v", err)
	}
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 7 {
		t.Errorf("not a ParseError: %#v", err)
	}
	if got := Errorf("a.csv", 0, "empty file").Error(); got != "a.csv: empty file" {
		t.Errorf("%q", got)
	}
}

type fakeData struct{ Dataset }

func TestLoadedNeverWrapsANilPointer(t *testing.T) {
	var none *fakeData
	d, err := Loaded(none, errors.New("no run"))
	if d != nil || err == nil {
		t.Fatalf("a failed load must give a nil Dataset: %#v, %v", d, err)
	}
	d, err = Loaded(&fakeData{}, nil)
	if d == nil || err != nil {
		t.Fatalf("a loaded dataset must come through: %#v, %v", d, err)
	}
}

func TestReadLinesStopsAtTheFirstError(t *testing.T) {
	var seen []string
	n, err := ReadLines("r.tsv", strings.NewReader("h\r\na\nbad\nc\n"), func(n int, text string) error {
		seen = append(seen, text)
		if text == "bad" {
			return Errorf("r.tsv", n, "bad row")
		}
		return nil
	})
	if n != 3 || err == nil || err.Error() != "r.tsv:3: bad row" || strings.Join(seen, ",") != "h,a,bad" {
		t.Errorf("read %d lines %q, error %v", n, seen, err)
	}
	if n, err := ReadLines("empty", strings.NewReader(""), func(int, string) error { return nil }); n != 0 || err != nil {
		t.Errorf("empty file: %d lines, %v", n, err)
	}
	long := strings.Repeat("x", 70*1024) // over bufio.Scanner's 64 KiB line limit
	if _, err := ReadLines("long", strings.NewReader("ok\n"+long), func(int, string) error { return nil }); err == nil || !strings.HasPrefix(err.Error(), "long: line 2: ") {
		t.Errorf("unreadable line: %v", err)
	}
}

// A missing index says which prepare step to run; a fixture's index is its own file.
func TestReadPrepared(t *testing.T) {
	dir := t.TempDir()
	var v struct{ X int }
	err := ReadPrepared(dir, "standin-1", "fig14", "images", &v)
	if err == nil || !strings.Contains(err.Error(), "the images of FIXTURE standin-1 are not prepared") ||
		!strings.Contains(err.Error(), "go tool mage fig14:prepare") {
		t.Errorf("missing index: %v", err)
	}
	if PreparedPath(dir, "standin-1") == PreparedPath(dir, "") {
		t.Error("a fixture's index is the real sources' index")
	}
	os.WriteFile(PreparedPath(dir, ""), []byte(`{"X": 3}`), 0o644)
	if err := ReadPrepared(dir, "", "fig10", "guests", &v); err != nil || v.X != 3 {
		t.Errorf("read %+v, %v", v, err)
	}
}
