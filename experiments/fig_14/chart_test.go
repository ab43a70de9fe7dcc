package fig14

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/plot"
)

// The paper's chart shows the five allocators in the original order, the nine components in
// the legend, the totals the original printed above the bars, and the provenance.
// FIG14_PLOT_DIR keeps the SVG and HTML for looking at them (rsvg-convert -o x.png x.svg).
func TestPaperChart(t *testing.T) {
	if _, err := plot.EnsureECharts(context.Background()); err != nil {
		t.Fatal(err)
	}
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	f := d.Chart(figure.Paper)
	f.Name = Figure.Plot
	dir := os.Getenv("FIG14_PLOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := plot.Write(dir, f); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, Figure.Plot+".svg"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Total Boot Time (ms)", html.EscapeString(figure.Paper.String()),
		"3.07", "0.94", "0.49", "0.87", "0.51", // the original's labels
		"Binary buddy", "Mimalloc", "Bootalloc", "tinyalloc", "TLSF"}
	for _, c := range Components {
		want = append(want, ">"+c.String()+"<", c.Color())
	}
	for _, w := range want {
		if !bytes.Contains(svg, []byte(w)) {
			t.Errorf("SVG lacks %q", w)
		}
	}
}

func TestYScale(t *testing.T) {
	for _, c := range []struct{ top, max, step float64 }{
		{3.16, 4, 0.5}, // the paper: 0–4 ms in 0.5 ms steps like the original
		{0.6, 0.8, 0.1},
		{45, 60, 10},
	} {
		if m, s := yScale(c.top); m != c.max || s != c.step {
			t.Errorf("yScale(%g) = %g, %g; want %g, %g", c.top, m, s, c.max, c.step)
		}
	}
}

// A run's y axis leaves room above its tallest bar for the bar's vertical label and the
// legend (3 rows in the top right corner), whatever the bars' height; the paper's axis is
// the original's.
func TestRunAxisLeavesRoomForTheLegend(t *testing.T) {
	const plotPx = chartHeight - gridTop - 14 - gridBottom // a run's plot area
	for _, highest := range []float64{0.3, 0.95, 3.16, 7.9, 9.6, 45, 316.7, 360, 999} {
		label := len(fmt.Sprintf("%.2f", highest))
		ymax, step := yAxis(highest, label, true, plotPx)
		barTopPx := (ymax - highest) / ymax * plotPx // from the plot area's top
		labelTopPx := barTopPx - 8 - float64(label)*charWidth
		if legendBottom := float64(legendOffset + legendHeight); labelTopPx < legendBottom+8 {
			t.Errorf("highest %g: y max %g; its label's top is %.0f px below the plot's top, the legend ends at %.0f px",
				highest, ymax, labelTopPx, legendBottom)
		}
		if r := math.Round(ymax / step); math.Abs(ymax/step-r) > 1e-6 || r > 10 {
			t.Errorf("highest %g: y max %g is not a whole number ≤ 10 of steps %g", highest, ymax, step)
		}
		if pm, ps := yAxis(highest, label, false, plotPx); [2]float64{pm, ps} != func() [2]float64 { m, s := yScale(highest); return [2]float64{m, s} }() {
			t.Errorf("highest %g: the paper's axis %g, %g is not yScale's", highest, pm, ps)
		}
	}
}

// A run's chart says FIXTURE in its title when it comes from a stand-in, and puts the long
// provenance and the whiskers' note on two lines, so neither runs off the picture.
func TestRunChartSaysFixtureAndWraps(t *testing.T) {
	if _, err := plot.EnsureECharts(context.Background()); err != nil {
		t.Fatal(err)
	}
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	p := figure.Provenance{Source: "run", RunID: "r1", Accel: "tcg", Fixture: "fig14-standin-1"}
	f := d.Chart(p)
	f.Name = Figure.Plot
	svg, err := plot.SVG(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"FIXTURE — " + html.EscapeString(Figure.Title), ">" + html.EscapeString(p.String()) + "<", ">whiskers: min–max of the per-boot totals"} {
		if !bytes.Contains(svg, []byte(w)) {
			t.Errorf("SVG lacks %q", w)
		}
	}
}
