package fig22

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/plot"
)

// The chart holds the original's bars in its order, colours and labels.
func TestChartOfThePaper(t *testing.T) {
	d, _ := Paper()
	f := d.Chart(figure.Paper)
	if f.Name != "fig_22_compare-vfs" || f.Width != 800 || f.Height != 500 {
		t.Errorf("figure %q %dx%d", f.Name, f.Width, f.Height)
	}
	if top, step := yAxis(d); top != 6000 || step != 1000 {
		t.Errorf("y axis up to %d every %d, the original's is 6000 every 1000", top, step)
	}
	want := map[string][]string{ // per case: label per bar, in plot order
		"FILE EXISTS": {"308\n(86ns)", "1637\n(455ns)", "1968\n(547ns)", "2647\n(735ns)"},
		"NO FILE":     {"291\n(81ns)", "2219\n(617ns)", "3277\n(910ns)", "4054\n(1126ns)"},
	}
	colours := []string{"#D5316A", "#3DB2D7", "#E06E36", "#3DB2D7"}
	if len(f.Chart.MultiSeries) != 2 {
		t.Fatalf("%d series", len(f.Chart.MultiSeries))
	}
	for _, s := range f.Chart.MultiSeries {
		bars := s.Data.([]opts.BarData)
		for i, b := range bars {
			if b.Label.Formatter != want[s.Name][i] || b.ItemStyle.Color != colours[i] {
				t.Errorf("%s bar %d: label %q colour %s", s.Name, i, b.Label.Formatter, b.ItemStyle.Color)
			}
		}
	}
	f.Chart.Validate() // applies SetXAxis
	if got := f.Chart.XAxisList[0].Data; strings.Join(got.([]string), "|") != "SHFS|VFS|VFS\n(No mitig.)|VFS" {
		t.Errorf("x axis %q", got)
	}
	if !strings.Contains(f.Chart.Title.Subtitle, "paper data") || !strings.Contains(f.Chart.Title.Subtitle, "TSC 3600 MHz") ||
		!strings.Contains(f.Chart.Title.Subtitle, "no per-boot spread") {
		t.Errorf("subtitle %q", f.Chart.Title.Subtitle)
	}
	if !strings.Contains(f.Extra, `"whiskers":[]`) {
		t.Error("the paper's means get no whiskers")
	}
}

// Rendered to SVG (ECharts in goja), the figure shows the labels, headers, legend, the
// hatch pattern and the y axis without its top label, as the original.
func TestChartRendersToSVG(t *testing.T) {
	if _, err := plot.EnsureECharts(context.Background()); err != nil {
		t.Fatal(err)
	}
	d, _ := Paper()
	svg, err := plot.SVG(d.Chart(figure.Paper))
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	for _, want := range []string{">308<", ">(86ns)<", ">4054<", ">(1126ns)<", ">Unikraft<", ">Linux<",
		">FILE EXISTS<", ">NO FILE<", ">Average # TSC<", ">5000<", ">SHFS<", ">(No mitig.)<",
		`fill="#D5316A"`, `fill="#E06E36"`, `fill="#3DB2D7"`, "<pattern", "paper data (EuroSys"} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if strings.Contains(s, ">6000<") || strings.Contains(s, ">5,000<") {
		t.Error("the top tick is unlabelled and numbers are not grouped, as in the original")
	}
	// Five hatched shapes: the four no-file bars and the legend swatch.
	if n := len(regexp.MustCompile(`fill="url\(#`).FindAllString(s, -1)); n != 5 {
		t.Errorf("%d hatched shapes, want 5", n)
	}
}

// With per-boot values the chart gets 95% CI whiskers, the axis makes room for them, and the
// subtitle says what the bars and whiskers are and where the data came from.
func TestChartOfARunHasWhiskers(t *testing.T) {
	dir := t.TempDir()
	writeBoots(t, dir, 25, paperBase)
	d, err := FromRaw(filepath.Join(dir, RawDir), 2995)
	if err != nil {
		t.Fatal(err)
	}
	f := d.Chart(figure.Provenance{Source: "run", RunID: "20260101T000000Z", Accel: "kvm"})
	if !strings.Contains(f.Extra, `"whiskers":[[0,`) {
		t.Errorf("no whiskers in %s", f.Extra)
	}
	sub := f.Chart.Title.Subtitle
	for _, want := range []string{"run 20260101T000000Z, accel kvm", "TSC 2995 MHz", "means of 25 boots per VM", "95% CI"} {
		if !strings.Contains(sub, want) {
			t.Errorf("subtitle %q lacks %q", sub, want)
		}
	}
	if _, err := plot.EnsureECharts(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := plot.SVG(f); err != nil {
		t.Fatal(err)
	}
}

// Emulated open() costs tens of thousands of cycles: the axis steps up (1000, 2000, 5000,
// 10000, …) instead of drawing hundreds of ticks, and keeps a step of room over the top.
func TestYAxisOfLargeValuesStaysReadable(t *testing.T) {
	for _, c := range []struct {
		hi        float64
		top, step int64
	}{
		{4054.28, 6000, 1000}, // the paper's
		{6500, 8000, 1000},
		{9000, 12000, 2000},
		{90675.5, 120000, 20000},
		{311000, 400000, 50000},
	} {
		d, _ := Paper()
		d.Results["linux_vfs"][NoFile] = Value{Cycles: c.hi}
		top, step := yAxis(d)
		if top != c.top || step != c.step || top/step > 8 || float64(top) <= c.hi {
			t.Errorf("highest bar %.0f: axis to %d every %d, want %d every %d", c.hi, top, step, c.top, c.step)
		}
	}
}
