package verify

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestCompareWithinAndOutsideTolerance(t *testing.T) {
	r := New("fig_10", "paper data")
	if v := r.Compare("QEMU total", "ms", 38.4, 40.0, Tolerance{Rel: 0.10}); v != OK {
		t.Errorf("4%% off with 10%% tolerance: %s", v)
	}
	if v := r.Compare("Solo5 total", "ms", 3.1, 4.0, Tolerance{Rel: 0.10}); v != Warn {
		t.Errorf("29%% off with 10%% tolerance: %s", v)
	}
	// The absolute tolerance wins where it is larger than the relative one.
	if v := r.Compare("guest", "ms", 0.05, 0.09, Tolerance{Rel: 0.10, Abs: 0.05}); v != OK {
		t.Errorf("within the absolute tolerance: %s", v)
	}
	if err := r.Err(false); err != nil {
		t.Errorf("warnings alone must pass: %v", err)
	}
	if err := r.Err(true); err == nil {
		t.Error("STRICT must fail on a warning")
	}
}

func TestClaimFails(t *testing.T) {
	r := New("fig_10", "run x")
	r.Claim("microvm faster than QEMU pc", "9.1 < 38.4 ms", "9.1 < 38.4 ms", true)
	if r.Err(false) != nil {
		t.Fatal("a holding claim must pass")
	}
	r.Claim("Solo5 faster than microvm", "3.1 < 9.1 ms", "12 < 9.1 ms", false)
	err := r.Err(false)
	if err == nil || !strings.Contains(err.Error(), "1 claim") {
		t.Fatalf("want a failed claim, got %v", err)
	}
}

func TestTableAndJSON(t *testing.T) {
	r := New("fig_08", "paper data")
	r.Compare("helloworld_default", "B", 262816, 262816, Tolerance{Abs: 65536})
	r.Skipped("firecracker", "binary not found")
	r.Note("sizes are quantised in 64 KiB steps")
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SERIES", "helloworld_default", "SKIP", "binary not found", "note: sizes", "1 OK, 0 WARN, 0 FAIL, 1 SKIP"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	b, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Pass   bool
		Counts map[string]int
		Rows   []Row
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !got.Pass || got.Counts["SKIP"] != 1 || len(got.Rows) != 2 {
		t.Errorf("json: %s", b)
	}
}

// A missing or broken number on either side is never OK: a NaN compares false with
// everything, so it would otherwise slip through as within tolerance.
func TestNonFiniteValuesWarn(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	r := New("fig_10", "run x")
	for _, c := range []struct{ paper, measured float64 }{{nan, 1}, {1, nan}, {inf, 1}, {1, inf}} {
		if v := r.Compare("s", "ms", c.paper, c.measured, Tolerance{Rel: 0.5}); v != Warn {
			t.Errorf("paper %v, measured %v: %s, want WARN", c.paper, c.measured, v)
		}
	}
}

// verify.json keeps claims readable: "9.1 ms < 38.4 ms", not "9.1 ms \u003c 38.4 ms".
func TestJSONIsNotHTMLEscaped(t *testing.T) {
	r := New("fig_10", "paper data")
	r.Claim("microvm faster than QEMU pc", "9.1 ms < 38.4 ms", "9.1 ms < 38.4 ms & more", true)
	b, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"9.1 ms < 38.4 ms & more"`)) || bytes.Contains(b, []byte(`\u003c`)) {
		t.Errorf("verify.json escapes HTML:\n%s", b)
	}
	if !bytes.HasSuffix(b, []byte("}\n")) || bytes.HasSuffix(b, []byte("\n\n")) {
		t.Errorf("verify.json must end with exactly one newline: %q", b[len(b)-3:])
	}
}

func TestUnjudgedKeepsValuesAndSaysWhy(t *testing.T) {
	r := New("fig_08", "run x, FIXTURE y")
	r.Claim("already here", "a", "b", true)
	from := len(r.Rows)
	r.Compare("nginx_dce", "steps", 13, 6, Tolerance{Abs: 1})
	r.Claim("every image under 2 MB", "1.8MB", "3MB", false)
	r.Unjudged(from, "FIXTURE y")
	if r.Rows[0].Verdict != OK {
		t.Error("rows before from must keep their verdict")
	}
	if r.Count(Skip) != 2 || r.Err(false) != nil {
		t.Fatalf("rows: %+v", r.Rows)
	}
	if r.Rows[2].Measured != "3MB" || !strings.Contains(r.Rows[2].Note, "FIXTURE y; would be FAIL") {
		t.Errorf("row %+v", r.Rows[2])
	}
	if !strings.Contains(r.Rows[1].Note, "would be WARN (tolerance ±1)") {
		t.Errorf("row %+v", r.Rows[1])
	}
}

// A unit of work that failed fails the report also where the values are not judged (a
// FIXTURE or TCG run).
func TestFailedUnitFailsAnUnjudgedRun(t *testing.T) {
	r := New("fig", "FIXTURE run")
	r.Compare("a", "B", 100, 100, Tolerance{Rel: 0.1})
	r.Failed("b", "build failed; log: raw/b.log")
	r.Unjudged(0, "FIXTURE x")
	if r.Rows[0].Verdict != Skip || r.Rows[1].Verdict != Fail {
		t.Fatalf("rows %+v; want the comparison unjudged and the failure kept", r.Rows)
	}
	if err := r.Err(false); err == nil || !strings.Contains(err.Error(), "1 unit(s) of work failed") {
		t.Errorf("Err = %v", err)
	}
}
