package fig08

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/plot"
)

func TestChartHasTheOriginalBarsInOrder(t *testing.T) {
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	f := d.Chart(figure.Paper)
	if f.Width != 800 || f.Height != 500 {
		t.Errorf("size %dx%d, want 800x500", f.Width, f.Height)
	}
	f.Chart.Validate() // sets the x axis data, as the renderer does
	if got := f.Chart.XAxisList[0].Data; strings.Join(got.([]string), ",") != "helloworld,nginx,redis,sqlite" {
		t.Errorf("x axis %v", got)
	}
	series := f.Chart.MultiSeries
	if len(series) != 4 {
		t.Fatalf("%d series, want 4", len(series))
	}
	for i, v := range Variants {
		s := series[i]
		if s.Name != v.Label || s.ItemStyle.Color != v.Color {
			t.Errorf("series %d: %q %s, want %q %s", i, s.Name, s.ItemStyle.Color, v.Label, v.Color)
		}
		for j, app := range Apps {
			bd := s.Data.([]opts.BarData)[j]
			if want := d.Sizes[Image{app, v.Key}]; bd.Value != want || bd.Label.Formatter != SizeofFmt(float64(want)) {
				t.Errorf("%s_%s: bar %v labelled %q, want %d", app, v.Key, bd.Value, bd.Label.Formatter, want)
			}
		}
	}
	// The tooltip explains why sqlite's bar equals nginx's.
	tip := string(series[0].Data.([]opts.BarData)[3].Tooltip.Formatter)
	for _, want := range []string{"1639224 bytes (1.6MB)", "layout step 25 × 64 KiB + 824 B", "loadable content 1451648 B", "same file size as nginx"} {
		if !strings.Contains(tip, want) {
			t.Errorf("sqlite default tooltip %q lacks %q", tip, want)
		}
	}
}

// A run with only some images plots those: absent bars are gaps, absent apps and
// variants are left out.
func TestChartOfASubset(t *testing.T) {
	d := &Dataset{Sizes: Sizes{{"nginx", "dce"}: 852792, {"redis", "default"}: 1835832}}
	f := d.Chart(figure.Provenance{Source: "run", RunID: "r1", Accel: "kvm"})
	f.Chart.Validate()
	if got := f.Chart.XAxisList[0].Data.([]string); strings.Join(got, ",") != "nginx,redis" {
		t.Errorf("x axis %v", got)
	}
	s := f.Chart.MultiSeries
	if len(s) != 2 || s[0].Name != "Default configuration" || s[1].Name != "+ Dead Code Elim. (DCE)" {
		t.Fatalf("series %+v", s)
	}
	if v := s[0].Data.([]opts.BarData)[0].Value; v != "-" {
		t.Errorf("nginx default (not measured) is %v, want a gap", v)
	}
	if !strings.Contains(f.Extra, `"data":["Default configuration","+ Dead Code Elim. (DCE)"]`) {
		t.Errorf("legend of a subset: %s", f.Extra)
	}
}

func TestChartAxisGrowsForLargeImages(t *testing.T) {
	d := &Dataset{Sizes: Sizes{{"redis", "default"}: 3<<20 + 1}}
	if got := yMax(d); got != 4.1*mib {
		t.Errorf("y max %v, want 4.1 MiB", got)
	}
	p, _ := Paper()
	if got := yMax(p); got != 3.1*mib {
		t.Errorf("y max %v, want 3.1 MiB", got)
	}
}

// The rendered figure carries every label of the original.
func TestRenderedFigureShowsTheOriginalLabels(t *testing.T) {
	if _, err := plot.EnsureECharts(context.Background()); err != nil {
		t.Fatal(err)
	}
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	f := d.Chart(figure.Paper)
	f.Name = Figure.Plot
	svg, err := plot.SVG(f)
	if err != nil {
		t.Fatal(err)
	}
	count := func(s string) int { return bytes.Count(svg, []byte(">"+s+"<")) }
	for label, n := range map[string]int{
		"256.7KB": 2, "192.7KB": 2, "1.6MB": 2, "1.2MB": 2, "832.8KB": 2, "832.9KB": 2, "1.8MB": 1, "1.4MB": 1, "1.1MB": 2,
		"0.0B": 1, "1.0MB": 1, "2.0MB": 1, "3.0MB": 1, "Image size": 1,
		"Default configuration": 1, "+ Link-Time Optim. (LTO)": 1, "+ Dead Code Elim. (DCE)": 1, "+ DCE + LTO": 1,
		"helloworld": 1, "nginx": 1, "redis": 1, "sqlite": 1,
		"paper data (EuroSys&#39;21 artifact)": 1, "paper: every image &lt; 2 MB": 1,
	} {
		if got := count(label); got != n {
			t.Errorf("%q appears %d times, want %d", label, got, n)
		}
	}
	if bytes.Contains(svg, []byte(">3.1MB<")) || bytes.Contains(svg, []byte("undefined")) {
		t.Error("the axis end is labelled")
	}
}

// The 2 MB line's label goes where the outermost bar is short: above helloworld's default
// image in the paper's figure, at the right end when a run starts with redis's 1.8 MB image.
func TestClaimLabelAvoidsTallBars(t *testing.T) {
	p, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	if got := p.claimLabelPosition(Apps); got != "insideStartTop" {
		t.Errorf("paper: %s", got)
	}
	redis := &Dataset{Sizes: map[Image]int64{}}
	for _, v := range Variants {
		redis.Sizes[Image{"redis", v.Key}] = p.Sizes[Image{"redis", v.Key}]
	}
	if got := redis.claimLabelPosition([]string{"redis"}); got != "insideEndTop" {
		t.Errorf("redis alone: %s", got)
	}
}
