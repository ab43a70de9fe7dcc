package fig08

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

// paperWith returns the paper's data with some sizes changed.
func paperWith(t *testing.T, change map[string]int64) *Dataset {
	t.Helper()
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	for key, b := range change {
		app, v, _ := strings.Cut(key, "_")
		d.Sizes[Image{app, v}] = b
	}
	return d
}

func check(t *testing.T, d *Dataset) *verify.Report {
	t.Helper()
	r := verify.New("fig_08", "test")
	d.Verify(r)
	return r
}

func row(t *testing.T, r *verify.Report, series string) verify.Row {
	t.Helper()
	for _, x := range r.Rows {
		if x.Series == series {
			return x
		}
	}
	t.Fatalf("no row %q", series)
	return verify.Row{}
}

func TestThePaperVerifiesAgainstItself(t *testing.T) {
	r := check(t, paperWith(t, nil))
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if r.Count(verify.Fail)+r.Count(verify.Warn)+r.Count(verify.Skip) != 0 || r.Err(true) != nil {
		t.Errorf("paper against itself:\n%s", table.String())
	}
	if n := r.Count(verify.OK); n != 16+1+3*4 {
		t.Errorf("%d OK rows, want 16 sizes and 13 claims:\n%s", n, table.String())
	}
	nginx := row(t, r, "nginx_dce_lto")
	if nginx.Paper != "852928 B (13 steps)" || nginx.Diff != "+0 B, +0 steps" {
		t.Errorf("size row %+v", nginx)
	}
	if c := row(t, r, "every image is under 2 MB (2 MiB = 2097152 B)"); c.Measured != "largest of 16: redis_default 1835832 B (1.8MB)" {
		t.Errorf("claim row %+v", c)
	}
	if !strings.Contains(table.String(), "nginx and sqlite have identical sizes in all 4 variants measured: 64 KiB quantisation") {
		t.Errorf("no quantisation note:\n%s", table.String())
	}
}

func TestAnImageOver2MBFailsTheClaim(t *testing.T) {
	r := check(t, paperWith(t, map[string]int64{"redis_default": 2200000}))
	c := row(t, r, "every image is under 2 MB (2 MiB = 2097152 B)")
	if c.Verdict != verify.Fail || !strings.Contains(c.Measured, "at or above: redis_default") {
		t.Errorf("claim row %+v, want FAIL naming redis_default", c)
	}
	if s := row(t, r, "redis_default"); s.Verdict != verify.Warn || s.Diff != "+364168 B, +5 steps" {
		t.Errorf("size row %+v, want WARN +5 steps", s)
	}
	if r.Err(false) == nil {
		t.Error("report passes with a failed claim")
	}
}

func TestSizesAreJudgedInLayoutSteps(t *testing.T) {
	r := check(t, paperWith(t, map[string]int64{
		"nginx_dce":     852792 + LayoutStep + 200, // one step more, more bytes than 64 KiB
		"nginx_dce_lto": 852928 - 2*LayoutStep,     // two steps less
	}))
	if s := row(t, r, "nginx_dce"); s.Verdict != verify.OK || s.Diff != "+65736 B, +1 steps" {
		t.Errorf("one step: %+v, want OK", s)
	}
	if s := row(t, r, "nginx_dce_lto"); s.Verdict != verify.Warn || s.Diff != "-131072 B, -2 steps" {
		t.Errorf("two steps: %+v, want WARN", s)
	}
	if r.Err(false) != nil || r.Err(true) == nil {
		t.Error("a size outside tolerance must fail only with STRICT")
	}
}

func TestSavingsClaims(t *testing.T) {
	r := check(t, paperWith(t, map[string]int64{"nginx_dce": 1639224, "redis_lto": 1900000, "sqlite_dce_lto": 1639225}))
	for _, claim := range []string{
		"nginx: DCE makes the image smaller than the default build",
		"redis: LTO does not make the image larger than the default build",
		"sqlite: DCE+LTO does not make the image larger than the default build",
	} {
		if c := row(t, r, claim); c.Verdict != verify.Fail {
			t.Errorf("%+v, want FAIL", c)
		}
	}
	if c := row(t, r, "helloworld: LTO does not make the image larger than the default build"); c.Verdict != verify.OK ||
		c.Measured != "262816 B vs 262816 B (+0.0%)" {
		t.Errorf("equal sizes: %+v, want OK", c)
	}
}

func TestASubsetRunSkipsWhatItLacks(t *testing.T) {
	d, err := Load(filepath.Join("testdata", "run-helloworld-gcc12"))
	if err != nil {
		t.Fatal(err)
	}
	r := check(t, d)
	if got := r.Count(verify.Skip); got != 12+3*3 {
		t.Errorf("%d SKIP rows, want 12 images and 9 claims", got)
	}
	if r.Count(verify.Fail)+r.Count(verify.Warn) != 0 {
		t.Errorf("gcc 12 helloworld builds are within a step of the paper: %+v", r.Rows)
	}
	if s := row(t, r, "nginx: DCE makes the image smaller than the default build"); s.Verdict != verify.Skip ||
		s.Note != "needs nginx_default and nginx_dce; not both in this run" {
		t.Errorf("%+v", s)
	}
}
