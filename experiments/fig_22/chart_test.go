package fig22

import (
	"context"
	"encoding/json"
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

// With per-boot values the chart gets whiskers for their spread (min–max), the axis makes
// room for them, and the subtitle says what the bars and whiskers are and where the data
// came from.
func TestChartOfARunHasWhiskers(t *testing.T) {
	dir := t.TempDir()
	writeBoots(t, dir, 25, paperBase)
	d, err := FromRaw(filepath.Join(dir, RawDir), 2995)
	if err != nil {
		t.Fatal(err)
	}
	f := d.Chart(figure.Provenance{Source: "run", RunID: "20260101T000000Z", Accel: "kvm"})
	// Boot i printed 300+i for SHFS with the file: the whisker spans 301–325.
	if !strings.Contains(f.Extra, `"whiskers":[[0,301,325,0],`) {
		t.Errorf("no min–max whiskers in %s", f.Extra)
	}
	sub := f.Chart.Title.Subtitle
	for _, want := range []string{"run 20260101T000000Z, accel kvm", "TSC 2995 MHz", "means of 25 boots per VM", "whiskers: min–max of the per-boot values"} {
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

// Two boots 900 cycles apart: the 95% CI of their mean would be ±5718 (t = 12.7) and push
// the axis to 10000; the min–max whisker is the 900 cycles measured, and the axis stays the
// paper's. One boot has no spread and no whisker.
func TestWhiskersShowTheBootsNotTheCI(t *testing.T) {
	boots := Boots{}
	for _, s := range AllSeries {
		boots[s.ID()] = map[Case][]float64{FileExists: {1000, 1300}, NoFile: {2000, 2900}}
	}
	boots["linux_vfs"][NoFile] = []float64{4054} // one boot
	d, err := Process(boots, 3600)
	if err != nil {
		t.Fatal(err)
	}
	if top, step := yAxis(d); top != 6000 || step != 1000 {
		t.Errorf("y axis to %d every %d, want the paper's 6000 every 1000", top, step)
	}
	var cfg extraConfig
	js := strings.TrimSpace(strings.SplitN(strings.SplitN(d.Chart(figure.Provenance{Source: "run", RunID: "x", Accel: "kvm"}).Extra, "var cfg = ", 2)[1], ";\n", 2)[0])
	if err := json.Unmarshal([]byte(js), &cfg); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	if len(cfg.Whiskers) != 7 || cfg.Whiskers[0] != [4]float64{0, 1000, 1300, 0} || cfg.Whiskers[4] != [4]float64{0, 2000, 2900, 1} {
		t.Errorf("whiskers %v", cfg.Whiskers)
	}
	// Labels sit above the whisker: 150 cycles above the 1150 mean, 450 above 2450, of 6000
	// cycles over 330 px.
	if cfg.Lift[0][0] != 8 || cfg.Lift[1][0] != 25 || cfg.Lift[1][3] != 0 {
		t.Errorf("label lifts %v", cfg.Lift)
	}
}

// A TCG run's spread (its per-boot min and max, as a two-boot run measured them): the highest
// whisker reaches 97086 and its label "(39421ns)" needs about 80 px. The original's rule
// (a step of room, 120000 every 20000) leaves 63 px and the label would cross the frame; the
// axis grows by a step until every label fits.
func TestLabelsFitAboveTheWhiskers(t *testing.T) {
	boots := Boots{
		"unikraft_shfs":     {FileExists: {2019, 2192}, NoFile: {1436, 1816}},
		"unikraft_vfs":      {FileExists: {6886, 8310}, NoFile: {649, 751}},
		"linux_nomitig-vfs": {FileExists: {50313, 71405}, NoFile: {60599, 97086}},
		"linux_vfs":         {FileExists: {62386, 67757}, NoFile: {87361, 93990}},
	}
	d, err := Process(boots, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if labelsFit(d, 120000) {
		t.Error("the label of the 97086 whisker fits under 120000?")
	}
	if top, step := yAxis(d); top != 140000 || step != 20000 || !labelsFit(d, top) {
		t.Errorf("y axis to %d every %d", top, step)
	}
	p, _ := Paper()
	if !labelsFit(p, 6000) {
		t.Error("the paper's labels fit under its 6000")
	}
}
