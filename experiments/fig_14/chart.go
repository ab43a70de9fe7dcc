package fig14

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/plot"
	"github.com/unikraft-eurosys21/artifact/internal/stats"
)

// Chart layout, in pixels (800×500, the original's 8×5 in at 100 dpi).
const (
	chartWidth  = 800
	chartHeight = 500
	gridLeft    = 75
	gridRight   = 25
	gridTop     = 70
	gridBottom  = 40
	fontSize    = 15
)

// legendColumns is the original legend: plot.py's reversed stack order (virtio … alloc)
// laid out column by column in 3 columns.
var legendColumns = [3][3]Component{{Virtio, Vfscore, Ukbus}, {Rootfs, Pthreads, Plat}, {Misc, Lwip, Alloc}}

// Chart draws the stacked bars of the mean component times per allocator in ms, like the
// original figure, plus what it lacked: whiskers for the min–max of the per-boot totals, and
// the data's provenance in the subtitle.
func (d *Dataset) Chart(p figure.Provenance) plot.Figure {
	n := 0
	for _, s := range d.Series {
		n = max(n, len(s.Trace.Boots))
	}
	title, sep := Figure.Title, " · "
	if p.Fixture != "" {
		// A fixture's bars must never pass for Unikraft's: say so where the eye lands first.
		title = "FIXTURE — " + title
	}
	top := gridTop
	if p.Source != figure.Paper.Source {
		sep = "\n" // a run's provenance is long: the whiskers' note gets its own line
		top += 14
	}
	bar := plot.NewBar(title, fmt.Sprintf("%s%swhiskers: min–max of the per-boot totals (%d boots per allocator)", p, sep, n))
	labels := make([]string, len(d.Series))
	for i, s := range d.Series {
		labels[i] = s.Label
	}
	bar.SetXAxis(labels)

	highest := 0.0 // highest whisker, ms
	label := 0     // longest total label, characters
	spreads := make([]whisker, len(d.Series))
	for i, s := range d.Series {
		sum := stats.Summarize(s.Trace.Totals())
		spreads[i] = whisker{
			Total: s.Mean.Total() / 1000, Min: sum.Min / 1000, Max: sum.Max / 1000, CI95: sum.CI95 / 1000, N: sum.N,
			Label: fmt.Sprintf("%.2f", s.Mean.Total()/1000),
		}
		highest = max(highest, spreads[i].Max, spreads[i].Total)
		label = max(label, len(spreads[i].Label))
	}
	ymax, step := yAxis(highest, label, p.Source != figure.Paper.Source, chartHeight-top-gridBottom)

	bar.SetGlobalOptions(
		charts.WithGridOpts(opts.Grid{Left: px(gridLeft), Right: px(gridRight), Top: px(top), Bottom: px(gridBottom)}),
		charts.WithXAxisOpts(opts.XAxis{
			AxisLabel: &opts.AxisLabel{FontSize: fontSize, Color: "#000", Interval: "0"},
			AxisTick:  &opts.AxisTick{Show: opts.Bool(false)},
			AxisLine:  &opts.AxisLine{LineStyle: &opts.LineStyle{Color: "#000"}},
		}),
		charts.WithYAxisOpts(opts.YAxis{
			Name: "Total Boot Time (ms)", NameLocation: "middle", NameGap: 45,
			Type: "value", Min: 0, Max: ymax,
			AxisLabel: &opts.AxisLabel{FontSize: fontSize - 1, Color: "#000"},
			AxisLine:  &opts.AxisLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Color: "#000"}},
			SplitLine: &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Type: "dotted", Color: "#999"}},
		}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
	)
	for _, c := range StackOrder {
		data := make([]opts.BarData, len(d.Series))
		for i, s := range d.Series {
			data[i] = opts.BarData{Value: round6(s.Mean[c] / 1000)}
		}
		bar.AddSeries(c.String(), data,
			charts.WithBarChartOpts(opts.BarChart{Stack: "boot", BarWidth: "60%"}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: c.Color(), BorderColor: "#000", BorderWidth: 0.5}),
		)
	}
	return plot.Figure{Chart: bar, Width: chartWidth, Height: chartHeight, Extra: extraJS(spreads, step, top)}
}

// whisker is one allocator's per-boot spread, as handed to the chart's JavaScript (ms).
type whisker struct {
	Total, Min, Max, CI95 float64
	N                     int
	Label                 string // the total as printed above the bar
}

// yScale picks the y axis: a tick step from 1-2-2.5-5 × 10^k giving at most 10 intervals, and
// a maximum that leaves room above the highest whisker for the vertical total label and for
// the legend (the original left 1.5 ms above its largest component).
func yScale(top float64) (ymax, step float64) {
	if top <= 0 {
		return 1, 0.2
	}
	return yScaleTo(top + math.Max(0.25*top, 0.1))
}

// yScaleTo is the axis whose maximum is the first tick step at or above want.
func yScaleTo(want float64) (ymax, step float64) {
	mag := math.Pow(10, math.Floor(math.Log10(want)))
	for _, m := range []float64{0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10} {
		step = m * mag
		if want/step <= 10 {
			break
		}
	}
	return round6(math.Ceil(want/step-1e-9) * step), step
}

// Legend geometry (extraJSTemplate): its top below the grid's top, its three rows (a row is
// as high as its text's line, a little more than the font size, and 7 px apart), and the
// width of a label character.
const (
	legendOffset = 8
	legendHeight = 3*(fontSize+3) + 2*7
	charWidth    = 0.56 * fontSize
)

// yAxis is the y axis for bars up to highest (ms) whose longest label has label characters,
// in a plot area plotPx high. A run's bars can be of any height (a tall last bar): its axis
// also leaves room for the tallest bar's label below the legend. The paper's keeps yScale's
// axis, the original's, whose data left room.
func yAxis(highest float64, label int, run bool, plotPx int) (ymax, step float64) {
	ymax, step = yScale(highest)
	if run {
		ymax, step = yScaleTo(max(ymax, roomForLegend(highest, label, plotPx)))
	}
	return ymax, step
}

// roomForLegend is the least y maximum that puts a bar of height top (ms), with its vertical
// label of n characters 8 px above it, 8 px below the legend's bottom in a plot area plotPx
// high.
func roomForLegend(top float64, n, plotPx int) float64 {
	need := float64(legendOffset+legendHeight+8+8) + float64(n)*charWidth
	if top <= 0 || need >= float64(plotPx) {
		return top
	}
	return top / (1 - need/float64(plotPx))
}

// extraJS adds what go-echarts cannot express: the legend as three fixed columns, the
// y tick step, and a custom series drawing each bar's whisker and total label.
func extraJS(ws []whisker, step float64, gridTop int) string {
	data, _ := json.Marshal(ws)
	var cols [3][]string
	for i, col := range legendColumns {
		for _, c := range col {
			cols[i] = append(cols[i], c.String())
		}
	}
	colsJSON, _ := json.Marshal(cols)
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
		if step == 0.25 || step == 0.025 {
			decimals++
		}
	}
	return fmt.Sprintf(extraJSTemplate, colsJSON, fontSize, chartWidth-gridRight, gridTop+legendOffset, step, decimals, data, fontSize)
}

// extraJSTemplate: %[1]s legend columns, %[2]d font size, %[3]d right edge of the plot area,
// %[4]d legend top, %[5]g y step, %[6]d y label decimals, %[7]s whiskers, %[8]d label size.
const extraJSTemplate = `
var cols = %[1]s, font = %[2]d, right = %[3]d, charW = 0.56 * font, gap = 14, icon = 28;
var x = right - 8;
option.legend = [];
for (var i = cols.length - 1; i >= 0; i--) {
  var w = 0;
  cols[i].forEach(function (n) { w = Math.max(w, n.length); });
  x -= icon + 5 + w * charW;
  option.legend.unshift({data: cols[i], orient: 'vertical', left: Math.round(x), top: %[4]d,
    icon: 'rect', itemStyle: {borderWidth: 0.5}, itemWidth: icon, itemHeight: font - 2, itemGap: 7, textStyle: {fontSize: font, color: '#000'}});
  x -= gap;
}
var g = [].concat(option.grid)[0];
g.show = true; g.borderColor = '#000'; g.borderWidth = 1; g.backgroundColor = 'transparent';
var y = [].concat(option.yAxis)[0];
y.nameTextStyle = {fontSize: font, color: '#000'};
y.interval = %[5]g;
y.axisLabel.formatter = function (v) { return v.toFixed(%[6]d); };
var ws = %[7]s;
option.series.push({
  type: 'custom', name: 'spread', z: 10, silent: false,
  data: ws.map(function (w, i) { return [i, w.Min, w.Max, w.Total]; }),
  tooltip: {formatter: function (p) {
    var w = ws[p.dataIndex];
    return 'total ' + w.Total.toFixed(3) + ' ms (95%% CI ±' + w.CI95.toFixed(3) + ')<br/>min–max of ' +
      w.N + ' boots: ' + w.Min.toFixed(3) + '–' + w.Max.toFixed(3) + ' ms';
  }},
  renderItem: function (params, api) {
    var lo = api.coord([api.value(0), api.value(1)]), hi = api.coord([api.value(0), api.value(2)]);
    var mean = api.coord([api.value(0), api.value(3)]);
    var cap = 6, st = {stroke: '#000', lineWidth: 1.2};
    var w = ws[params.dataIndex];
    return {type: 'group', children: [
      {type: 'line', shape: {x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1]}, style: st},
      {type: 'line', shape: {x1: lo[0] - cap, y1: lo[1], x2: lo[0] + cap, y2: lo[1]}, style: st},
      {type: 'line', shape: {x1: hi[0] - cap, y1: hi[1], x2: hi[0] + cap, y2: hi[1]}, style: st},
      {type: 'text', x: hi[0], y: Math.min(hi[1], mean[1]) - 8, rotation: Math.PI / 2,
        style: {text: w.Label, fontSize: %[8]d, fill: '#000', align: 'left', verticalAlign: 'middle'}}
    ]};
  }
});
`

func px(n int) string { return fmt.Sprintf("%dpx", n) }

// round6 trims float noise (0.30000000000000004) from values written into the chart.
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }
