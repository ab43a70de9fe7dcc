package fig08

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/types"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/plot"
)

const (
	mib = 1 << 20
	// chartTitle is short: the original figure had none, the caption was in the paper.
	chartTitle = "Figure 8: Unikraft image size with DCE and LTO"
)

// Chart draws the figure like the original: grouped bars per app (default, LTO, DCE,
// DCE+LTO) in the original colours, each labelled vertically with its sizeof_fmt size, on a
// linear axis of 0–3.1 MiB with dotted grid lines every MiB, a two-column legend at the
// upper left and separators between the groups. Beyond the original it draws the paper's
// 2 MB claim as a line, names the data's provenance in the subtitle, and gives each bar a
// tooltip (HTML) with the exact bytes and the 64 KiB layout step.
func (d *Dataset) Chart(p figure.Provenance) plot.Figure {
	title := chartTitle
	if p.Fixture != "" {
		// A fixture's bars must never pass for Unikraft's: say so where the eye lands first.
		title = "FIXTURE — " + title
	}
	bar := plot.NewBar(title, p.String())
	imgs := d.images()

	var apps []string
	for _, a := range Apps {
		for _, img := range imgs {
			if img.App == a {
				apps = append(apps, a)
				break
			}
		}
	}

	top := yMax(d)
	bar.SetGlobalOptions(
		charts.WithGridOpts(opts.Grid{Left: "90", Right: "20", Top: "62", Bottom: "78"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithXAxisOpts(opts.XAxis{
			Type: "category",
			// Group separators: a category axis draws its split lines between categories.
			SplitLine: &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Color: "#000", Width: 1}},
			AxisTick:  &opts.AxisTick{Show: opts.Bool(false)},
			AxisLine:  &opts.AxisLine{LineStyle: &opts.LineStyle{Color: "#000"}},
			AxisLabel: &opts.AxisLabel{Rotate: 40, FontSize: 18, Color: "#000", FontFamily: plot.FontFamily, Interval: "0", Margin: 10,
				ShowMinLabel: opts.Bool(true), ShowMaxLabel: opts.Bool(true)},
		}),
		charts.WithYAxisOpts(opts.YAxis{
			Type: "value", Name: "Image size", NameLocation: "middle", NameGap: 68,
			Min: 0, Max: top, MinInterval: mib, MaxInterval: mib,
			SplitLine: &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Color: "#888", Type: "dotted"}},
			AxisLine:  &opts.AxisLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Color: "#000"}},
			AxisLabel: &opts.AxisLabel{Formatter: tickFormatter(top), FontSize: 16, Color: "#000", FontFamily: plot.FontFamily,
				ShowMinLabel: opts.Bool(true), ShowMaxLabel: opts.Bool(false)},
		}),
	)
	bar.SetXAxis(apps)

	var present []Variant
	for _, v := range Variants {
		var data []opts.BarData
		n := 0
		for _, a := range apps {
			img := Image{a, v.Key}
			b, ok := d.Sizes[img]
			if !ok {
				// An absent image is a gap, not a zero-sized bar.
				data = append(data, opts.BarData{Value: "-"})
				continue
			}
			n++
			data = append(data, opts.BarData{
				Name:  img.Key(),
				Value: b,
				Label: &opts.Label{Show: opts.Bool(true), Formatter: SizeofFmt(float64(b))},
				// A literal string: ECharts substitutes only {a}, {b}, {c}…, which the text lacks.
				Tooltip: &opts.Tooltip{Formatter: types.FuncStr(d.tooltip(img, v))},
			})
		}
		if n == 0 {
			continue
		}
		present = append(present, v)
		sopts := []charts.SeriesOpts{
			charts.WithItemStyleOpts(opts.ItemStyle{Color: v.Color, BorderColor: "#000", BorderWidth: 0.8}),
			charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "top", Align: "left", VerticalAlign: "middle",
				FontSize: 17, Color: "#000", FontFamily: plot.FontFamily, BackgroundColor: "#fff"}),
			// Bars of a group touch and fill 80% of the group, as with matplotlib's width 0.2 × 4.
			charts.WithBarChartOpts(opts.BarChart{BarGap: "0%", BarCategoryGap: "20%"}),
		}
		if len(present) == 1 {
			sopts = append(sopts,
				charts.WithMarkLineNameYAxisItemOpts(opts.MarkLineNameYAxisItem{Name: "2 MB claim", YAxis: ClaimLimit}),
				charts.WithMarkLineStyleOpts(opts.MarkLineStyle{
					Symbol:    []string{"none", "none"},
					LineStyle: &opts.LineStyle{Color: "#c00", Width: 1.5, Type: "dashed"},
					Label: &opts.Label{Show: opts.Bool(true), Position: d.claimLabelPosition(apps), Formatter: "paper: every image < 2 MB",
						Color: "#c00", FontSize: 12, FontFamily: plot.FontFamily},
				}))
		}
		bar.AddSeries(v.Label, data, sopts...)
	}

	return plot.Figure{Chart: bar, Width: 800, Height: 500, Extra: extraJS(present)}
}

// claimLabelPosition puts the 2 MB line's label at the end of the plot whose outermost bar is
// shorter, so it never sits on a bar's value: at the start (above helloworld's small default
// image) as in the paper's figure, at the end when a run starts with a large image (e.g.
// APPS=redis, whose default image is 1.8 MB).
func (d *Dataset) claimLabelPosition(apps []string) string {
	var bars []int64 // in drawing order
	for _, a := range apps {
		for _, v := range Variants {
			if b, ok := d.Sizes[Image{a, v.Key}]; ok {
				bars = append(bars, b)
			}
		}
	}
	if len(bars) > 1 && bars[0] > ClaimLimit*3/4 && bars[len(bars)-1] < bars[0] {
		return "insideEndTop"
	}
	return "insideStartTop"
}

// yMax is the top of the y axis: 3.1 MiB as in the original, or 0.1 MiB above the next
// whole MiB when a run has a larger image, so no bar is cut off.
func yMax(d *Dataset) float64 {
	_, max := d.largest()
	top := 3.1 * mib
	if float64(max) > 3*mib {
		top = (math.Ceil(float64(max)/mib) + 0.1) * mib
	}
	return top
}

// tickFormatter labels the whole-MiB ticks with sizeof_fmt ("0.0B", "1.0MB", …) and leaves
// the axis end (3.1 MiB) unlabelled, as the original did. The labels are computed here so
// that one implementation of sizeof_fmt serves bars and axis.
func tickFormatter(top float64) types.FuncStr {
	var kv []string
	for t := 0.0; t <= top; t += mib {
		// Single quotes: the function travels inside a JSON string. Labels are digits and units.
		kv = append(kv, fmt.Sprintf("%d: '%s'", int64(t), SizeofFmt(t)))
	}
	return opts.FuncOpts(fmt.Sprintf("function (v) { return ({%s})[v] || ''; }", strings.Join(kv, ", ")))
}

// tooltip is the HTML tooltip of one bar: exact bytes, layout step, reduction, and why two
// apps can share a size.
func (d *Dataset) tooltip(img Image, v Variant) string {
	b := d.Sizes[img]
	lines := []string{
		fmt.Sprintf("<b>%s</b> — %s", img.App, v.Label),
		fmt.Sprintf("%d bytes (%s)", b, SizeofFmt(float64(b))),
		fmt.Sprintf("layout step %d × 64 KiB + %d B", Steps(b), b%LayoutStep),
	}
	if pct, ok := d.reduction(img); ok && img.Variant != "default" {
		lines = append(lines, fmt.Sprintf("%.1f%% smaller than default", pct))
	}
	if l, ok := d.Layout[img]; ok {
		lines = append(lines, fmt.Sprintf("loadable content %d B, %d sections", l.LoadBytes, l.Sections))
	}
	if same := d.sameSize(img); len(same) > 0 {
		lines = append(lines, fmt.Sprintf("same file size as %s: sizes move in 64 KiB steps,<br/>so different contents can round to one size", joinAnd(same)))
	}
	return strings.Join(lines, "<br/>")
}

// extraJS sets what go-echarts cannot express: the two-column legend (two vertical legend
// components: default and LTO left, DCE and DCE+LTO right, like matplotlib's ncol=2),
// vertical bar labels, the 2 MB line under the labels (its default z is above them), the
// axis name's font and the box around the plot area.
func extraJS(present []Variant) string {
	var cols [][]string
	for i, v := range present {
		if i%2 == 0 {
			cols = append(cols, nil)
		}
		cols[len(cols)-1] = append(cols[len(cols)-1], v.Label)
	}
	var legends []map[string]any
	for i, c := range cols {
		legends = append(legends, map[string]any{
			"data": c, "orient": "vertical", "left": 104 + 300*i, "top": 70,
			"itemWidth": 36, "itemHeight": 14, "itemGap": 8, "icon": "rect", "backgroundColor": "#fff",
			"textStyle": map[string]any{"fontSize": 15, "fontFamily": plot.FontFamily, "color": "#000"},
		})
	}
	lj, err := json.Marshal(legends)
	if err != nil {
		panic(err) // maps of strings and numbers always encode
	}
	return fmt.Sprintf(`option.legend = %s;
option.series.forEach(function (s) {
  s.label.rotate = 90; s.label.distance = 6; s.label.padding = [0, 2];
  if (s.markLine) { s.markLine.z = 1; }
});
option.yAxis[0].nameTextStyle = {fontSize: 18, fontFamily: %s, color: '#000'};
option.grid[0].show = true; option.grid[0].borderColor = '#000'; option.grid[0].borderWidth = 1;
`, lj, jsString(plot.FontFamily))
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a string always encodes
	}
	return string(b)
}
