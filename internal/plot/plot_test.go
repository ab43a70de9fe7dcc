package plot

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// ensure installs the pinned ECharts (npm ci on a fresh clone) or fails the test.
func ensure(tb testing.TB) {
	tb.Helper()
	if _, err := EnsureECharts(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// bootChart is a small bar chart with a formatter function (it turns 12.5 into "12.5 ms")
// and an Extra that renames the y axis, so the output shows whether both ran.
func bootChart(name string) Figure {
	bar := NewBar("Boot time", "paper data (test)")
	bar.SetXAxis([]string{"qemu", "firecracker", "solo5"})
	bar.SetGlobalOptions(charts.WithYAxisOpts(opts.YAxis{Name: "set in Go"}))
	bar.AddSeries("boot", []opts.BarData{{Value: 12.5}, {Value: 3.1}, {Value: 7}},
		charts.WithLabelOpts(opts.Label{
			Show: opts.Bool(true), Position: "top",
			Formatter: string(opts.FuncOpts("function (p) { return p.value + ' ms'; }")),
		}))
	return Figure{
		Name: name, Chart: bar, Width: 640, Height: 400,
		Extra: "option.yAxis[0].name = 'renamed by Extra';",
	}
}

func TestSVGShowsFormatterAndExtra(t *testing.T) {
	ensure(t)
	svg, err := SVG(bootChart("boot"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte("<svg")) {
		t.Fatalf("no <svg element in output:\n%.300s", svg)
	}
	assertXML(t, svg)
	for _, want := range []string{"12.5 ms", "3.1 ms", "firecracker", "Boot time", "renamed by Extra", FontFamily} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if bytes.Contains(svg, []byte("set in Go")) {
		t.Error("Extra did not replace the y axis name")
	}
	if bytes.Contains(svg, []byte("__f__")) {
		t.Error("function marker left in the SVG")
	}
}

func assertXML(t *testing.T, b []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
	}
}

func TestHTMLLoadsLocalEChartsAndRunsExtra(t *testing.T) {
	html, err := HTML(bootChart("fig_10_unikraft-boot"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<script src="assets/echarts.min.js"></script>`,
		`id="chart_fig_10_unikraft_boot"`,
		"option.yAxis[0].name = 'renamed by Extra';",
		"(option_chart_fig_10_unikraft_boot);\n    goecharts_chart_fig_10_unikraft_boot.setOption(option_chart_fig_10_unikraft_boot);",
		"function (p) { return p.value + ' ms'; }",
		"width:640px;height:400px;",
		"<title>fig_10_unikraft-boot</title>",
	} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, bad := range []string{"__f__", "go-echarts.github.io"} {
		if bytes.Contains(html, []byte(bad)) {
			t.Errorf("HTML contains %q", bad)
		}
	}
}

func TestSameInputSameBytes(t *testing.T) {
	ensure(t)
	svg1, err := SVG(bootChart("boot"))
	if err != nil {
		t.Fatal(err)
	}
	svg2, err := SVG(bootChart("boot"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(svg1, svg2) {
		t.Error("two renders of the same chart differ")
	}
	again := bootChart("boot")
	svg3, _ := SVG(again)
	svg4, err := SVG(again) // the same chart value rendered twice (Validate runs twice)
	if err != nil || !bytes.Equal(svg3, svg4) || !bytes.Equal(svg1, svg3) {
		t.Errorf("re-rendering one chart value changed the SVG (err %v)", err)
	}
	html1, _ := HTML(bootChart("boot"))
	html2, _ := HTML(bootChart("boot"))
	if !bytes.Equal(html1, html2) {
		t.Error("two HTML pages of the same chart differ")
	}
}

func TestThrowingExtraNamesFigure(t *testing.T) {
	ensure(t)
	f := bootChart("fig_99_broken")
	f.Extra = "option.series[7].label.show = true;"
	_, err := SVG(f)
	if err == nil {
		t.Fatal("no error from an Extra that throws")
	}
	for _, want := range []string{"fig_99_broken", "Extra", "TypeError"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestEChartsErrorNamesFigure(t *testing.T) {
	ensure(t)
	f := bootChart("fig_98_bad_axis")
	f.Extra = "option.yAxis[0].type = 'nosuch';"
	_, err := SVG(f)
	if err == nil {
		t.Fatal("no error for an axis type ECharts does not know")
	}
	for _, want := range []string{"fig_98_bad_axis", "ECharts", "yAxis.nosuch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestEndlessExtraTimesOut(t *testing.T) {
	ensure(t)
	defer func(d time.Duration) { renderTimeout = d }(renderTimeout)
	renderTimeout = 200 * time.Millisecond
	f := bootChart("fig_97_loop")
	f.Extra = "for (;;) {}"
	_, err := SVG(f)
	if err == nil || !strings.Contains(err.Error(), "fig_97_loop") || !strings.Contains(err.Error(), "did not finish") {
		t.Fatalf("want a timeout error naming the figure, got %v", err)
	}
}

func TestWriteOutputsAndLeavesNothingElse(t *testing.T) {
	ensure(t)
	dir := filepath.Join(t.TempDir(), "plots")
	if err := Write(dir, bootChart("a"), bootChart("b")); err != nil {
		t.Fatal(err)
	}
	want := []string{"a.html", "a.svg", "assets", "b.html", "b.svg"}
	if got := names(t, dir); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("files %v, want %v", got, want)
	}
	assets := names(t, filepath.Join(dir, "assets"))
	if fmt.Sprint(assets) != "[LICENSE LICENSE-d3 LICENSE-zrender NOTICE echarts.min.js]" {
		t.Errorf("assets %v", assets)
	}
	notice, _ := os.ReadFile(filepath.Join(dir, "assets", "NOTICE"))
	if !bytes.Contains(notice, []byte("Apache ECharts")) {
		t.Errorf("NOTICE is not ECharts' NOTICE: %.80s", notice)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "a.svg"))
	direct, _ := SVG(bootChart("a"))
	if !bytes.Equal(svg, direct) {
		t.Error("written SVG differs from SVG()")
	}
}

func TestWriteFailureWritesNothing(t *testing.T) {
	ensure(t)
	dir := filepath.Join(t.TempDir(), "plots")
	broken := bootChart("b")
	broken.Extra = "throw new Error('boom');"
	err := Write(dir, bootChart("a"), broken)
	if err == nil || !strings.Contains(err.Error(), "plot b:") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("want an error naming figure b and the JS error, got %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Write created %s although a figure failed: %v", dir, names(t, dir))
	}
}

func TestBadFigures(t *testing.T) {
	for _, f := range []Figure{
		{Name: "", Chart: NewBar("t", "s")},
		{Name: "../x", Chart: NewBar("t", "s")},
		{Name: "assets", Chart: NewBar("t", "s")},
		{Name: "nochart"},
		{Name: "script", Chart: NewBar("t", "s"), Extra: "var s = '</script>';"},
	} {
		if _, err := HTML(f); err == nil {
			t.Errorf("no error for %+v", f)
		}
	}
	if err := Write(t.TempDir(), bootChart("same"), bootChart("same")); err == nil {
		t.Error("no error for two figures with one Name")
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := moduleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, echartsRel, "package-lock.json")); err != nil {
		t.Errorf("module root %s has no lockfile: %v", root, err)
	}
	if _, err := moduleRoot(t.TempDir()); err == nil || !strings.Contains(err.Error(), "ECHARTS_DIR") {
		t.Errorf("outside the checkout: want an error suggesting ECHARTS_DIR, got %v", err)
	}
}

func TestInstalledEChartsNeedsNoNpm(t *testing.T) {
	ensure(t)
	dir, err := findEChartsDir("")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := install(context.Background(), dir); err != nil {
		t.Errorf("node_modules matches the lockfile, yet install wanted npm: %v", err)
	}
}

func TestMissingNpmSaysWhatToInstall(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join("echarts", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", t.TempDir())
	_, err := install(context.Background(), dir)
	if err == nil {
		t.Fatal("no error although ECharts is not installed and npm is missing")
	}
	for _, want := range []string{"npm is not on PATH", "apt-get install nodejs npm", "Node.js >= 18"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestEChartsDirOverride(t *testing.T) {
	if _, err := findEChartsDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no package-lock.json") {
		t.Errorf("ECHARTS_DIR without a lockfile: got %v", err)
	}
	abs, _ := filepath.Abs("echarts")
	if dir, err := findEChartsDir("echarts"); err != nil || dir != abs {
		t.Errorf("ECHARTS_DIR=echarts: got %q, %v; want %q", dir, err, abs)
	}
}

func TestLockfileHasNoRegistryAddresses(t *testing.T) {
	lock, err := os.ReadFile(filepath.Join("echarts", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(lock, []byte(`"resolved"`)) || bytes.Contains(lock, []byte("://")) {
		t.Error("package-lock.json records registry addresses; regenerate it with the folder's .npmrc")
	}
	if !bytes.Contains(lock, []byte(`"integrity": "sha512-`)) {
		t.Error("package-lock.json has no integrity hashes")
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
