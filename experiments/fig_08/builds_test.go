package fig08

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

// A run directory as the build step writes it: builds.tsv says how each image was built, and a
// failed build shows as SKIP "build failed" in the verdict.
func TestRunWithAFailedBuild(t *testing.T) {
	dir := t.TempDir()
	sizes := Sizes{{"helloworld", "default"}: 262816, {"helloworld", "lto"}: 262816}
	layouts := map[Image]Layout{{"helloworld", "default"}: {LoadBytes: 60000, IntrStackOffset: 0x20000, Sections: 11}}
	builds := map[Image]Build{
		{"helloworld", "default"}: {Status: Built, Seconds: 12.5, Compiler: "gcc (Debian 11.3.0-12) 11.3.0", Log: "raw/helloworld_default.log"},
		{"helloworld", "lto"}:     {Status: Reused, Seconds: 14, Compiler: "gcc (Debian 11.3.0-12) 11.3.0", Log: "raw/helloworld_lto.log"},
		{"helloworld", "dce"}:     {Status: Failed, Seconds: 3, Log: "raw/helloworld_dce.log"},
	}
	var b bytes.Buffer
	WriteResults(&b, sizes)
	os.WriteFile(filepath.Join(dir, ResultsFile), b.Bytes(), 0o644)
	b.Reset()
	if err := WriteLayout(&b, sizes, layouts); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, LayoutFile), b.Bytes(), 0o644)
	b.Reset()
	if err := WriteBuilds(&b, builds); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, BuildsFile), b.Bytes(), 0o644)

	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Builds) != 3 || d.Builds[Image{"helloworld", "lto"}] != builds[Image{"helloworld", "lto"}] {
		t.Errorf("builds read back as %+v", d.Builds)
	}
	if l := d.Layout[Image{"helloworld", "default"}]; l != layouts[Image{"helloworld", "default"}] {
		t.Errorf("layout read back as %+v", l)
	}
	r := verify.New("fig_08", "test")
	d.Verify(r)
	// A build that was tried and failed is a FAIL; an image not selected is a SKIP.
	var rows []string
	for _, row := range r.Rows {
		if strings.HasPrefix(row.Series, "helloworld_d") {
			rows = append(rows, fmt.Sprintf("%s %s: %s", row.Verdict, row.Series, row.Note))
		}
	}
	if got := strings.Join(rows, "; "); !strings.Contains(got, "FAIL helloworld_dce: build failed; log: raw/helloworld_dce.log") ||
		!strings.Contains(got, "SKIP helloworld_dce_lto: image not in this run") {
		t.Errorf("rows: %s", got)
	}
	if err := r.Err(false); err == nil || !strings.Contains(err.Error(), "1 unit(s) of work failed") {
		t.Errorf("verdict with a failed build: %v; want it to fail", err)
	}
}

func TestBuildsParserNamesTheLine(t *testing.T) {
	sizes := Sizes{{"nginx", "dce"}: 852792}
	head := "image\tstatus\tbuild_seconds\tcompiler\tlog\n"
	cases := map[string]string{
		head + "nginx_dce\tbuilt\t1.0\tgcc\traw/x.log\nnginx_dce\tbuilt\t1.0\tgcc\traw/x.log\n": "b.tsv:3: nginx_dce appears again",
		head + "nginx_dce\tdone\t1.0\tgcc\traw/x.log\n":                                         "b.tsv:2: status \"done\"",
		head + "nginx_lto\tbuilt\t1.0\tgcc\traw/x.log\n":                                        "b.tsv:2: nginx_lto is built but has no size",
		head + "nginx_dce\tfailed\t1.0\tgcc\traw/x.log\n":                                       "b.tsv:2: nginx_dce failed but has a size",
		head + "nginx_dce\tbuilt\t-1\tgcc\traw/x.log\n":                                         "b.tsv:2: build_seconds \"-1\"",
		"image\tstatus\n":           "b.tsv:1: header",
		head + "nginx_dce\tbuilt\n": "b.tsv:2: 2 columns",
	}
	for in, want := range cases {
		_, err := ParseBuilds("b.tsv", strings.NewReader(in), sizes)
		var pe *figure.ParseError
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		} else if !errors.As(err, &pe) {
			t.Errorf("%q: %T is not a ParseError", in, err)
		}
	}
}

func TestFixtureChartSaysSoInItsTitle(t *testing.T) {
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	f := d.Chart(figure.Provenance{Source: "run", RunID: "r1", Fixture: "standin"})
	if !strings.HasPrefix(f.Chart.Title.Title, "FIXTURE") || !strings.Contains(f.Chart.Title.Subtitle, "FIXTURE standin") {
		t.Errorf("title %q / %q does not say FIXTURE", f.Chart.Title.Title, f.Chart.Title.Subtitle)
	}
	if p := d.Chart(figure.Provenance{Source: "run", RunID: "r1"}); strings.Contains(p.Chart.Title.Title, "FIXTURE") {
		t.Errorf("a real run's title says FIXTURE")
	}
}
