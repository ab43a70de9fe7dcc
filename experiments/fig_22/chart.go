package fig22

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/plot"
)

// Canvas and plot-area geometry in pixels. The original is 8×5 inches; the grid is fixed in
// pixels so that the project headers and the error-bar label offsets can be placed exactly.
const (
	chartWidth, chartHeight = 800, 500
	gridLeft, gridRight     = 78, 16
	gridTop, gridBottom     = 112, 58
	labelGap                = 5 // px between a bar (or its whisker) and its value label
)

// barLabel is the original's label: "<round(cycles)>\n(<round(ns)>ns)", Python rounding.
func barLabel(v Value) string {
	return fmt.Sprintf("%d\n(%dns)", pyRound(v.Cycles), pyRound(v.NS))
}

// yAxis is the y axis as the original chose it: ticks every 1000 from 0 up to, not
// including, round(highest bar)+2000; the last tick is the top (6000 for the paper's data).
// With per-boot data the highest whisker (the largest per-boot value) counts as the highest
// bar. When that would make more than 8 ticks (a run under software emulation costs tens of
// thousands of cycles per open()), the step grows to 2000, 5000, 10000, … with the same rule,
// so the axis stays readable. When a bar's rotated label would not fit between its whisker
// (or top) and the frame, the top grows by a step, so no label runs out of the plot; the
// paper's data has room to spare (107 px above its highest bar).
func yAxis(d *Dataset) (top, step int64) {
	hi := 0.0
	for _, s := range AllSeries {
		for _, c := range Cases {
			hi = math.Max(hi, barTop(d.Value(s, c)))
		}
	}
	for step = 1000; ; {
		end := pyRound(hi) + 2*step
		for top = (end - 1) / step * step; top/step <= 8 && !labelsFit(d, top); top += step {
		}
		if top/step <= 8 {
			return top, step
		}
		switch m := step / pow10(step); m {
		case 1:
			step *= 2
		case 2:
			step = step / 2 * 5
		default:
			step *= 2
		}
	}
}

// barTop is the highest point drawn for v: its bar, or its whisker's top (the largest
// per-boot value).
func barTop(v Value) float64 {
	if len(v.Runs) > 1 {
		return math.Max(v.Cycles, slices.Max(v.Runs))
	}
	return v.Cycles
}

// labelCharPx is the width of a label character in px: digits of Arial/Liberation Sans at the
// labels' 15 px are 0.556 em; "(", ")" and "s" are narrower, so this errs on the side of room.
const labelCharPx = 8.4

// labelsFit reports whether, on an axis up to top, every bar's label (rotated, so its longest
// line is its height) fits between the bar's top or whisker and the plot's frame.
func labelsFit(d *Dataset, top int64) bool {
	plotHeight := float64(chartHeight - gridTop - gridBottom)
	for _, s := range AllSeries {
		for _, c := range Cases {
			v := d.Value(s, c)
			longest := 0
			for _, line := range strings.Split(barLabel(v), "\n") {
				longest = max(longest, len([]rune(line)))
			}
			room := (float64(top) - barTop(v)) / float64(top) * plotHeight
			if room < labelGap+float64(longest)*labelCharPx {
				return false
			}
		}
	}
	return true
}

// pow10 is the largest power of ten not above n (n ≥ 1).
func pow10(n int64) int64 {
	p := int64(1)
	for p*10 <= n {
		p *= 10
	}
	return p
}

// hatch is the "NO FILE" pattern: dark diagonal stripes like matplotlib's '\\\\' hatch,
// drawn over the bar's colour (an ECharts decal, which the SVG renderer turns into a pattern).
const hatch = `{symbol: 'rect', symbolSize: 1, dashArrayX: [1, 0], dashArrayY: [1.2, 3.8], rotation: Math.PI / 4, color: '#000'}`

// extraJSTemplate is the script of extraJS: %s is the extraConfig as JSON, %s the hatch.
const extraJSTemplate = `
var cfg = %s;
var hatch = %s;
function first(o) { return Array.isArray(o) ? o[0] : o; }
var grid = first(option.grid), legend = first(option.legend);
grid.show = true;
grid.borderColor = '#000';
grid.borderWidth = 1;
first(option.yAxis).nameTextStyle = {fontSize: 17, color: '#000'};
// Plain numbers ("5000", as the original), not ECharts' grouped "5,000".
first(option.yAxis).axisLabel.formatter = function (v) { return String(v); };
option.xAxis[0].axisLabel.lineHeight = 19;
legend.icon = 'rect';
legend.itemGap = 36;
option.series.forEach(function (s, i) {
  s.barGap = '0%%';
  s.barCategoryGap = '20%%';
  s.itemStyle = {borderColor: '#000', borderWidth: 0.5};
  if (i === 1) { s.itemStyle.decal = hatch; }
  s.label = {show: true, position: 'top', rotate: 90, align: 'left', verticalAlign: 'middle',
    distance: cfg.gap, fontSize: 15, lineHeight: 17, color: '#000', backgroundColor: '#fff'};
  s.data.forEach(function (d, j) { d.label.distance = cfg.gap + cfg.lift[i][j]; });
});
legend.data = [
  {name: cfg.legend[0], itemStyle: {color: '#fff', borderColor: '#000', borderWidth: 1}},
  {name: cfg.legend[1], itemStyle: {color: '#fff', borderColor: '#000', borderWidth: 1, decal: hatch}}
];
// The projects' headers are a second category axis on top; its split line at the middle
// boundary is the separator between the halves.
option.xAxis.push({type: 'category', position: 'top', data: cfg.projects, gridIndex: 0,
  axisLine: {show: false}, axisTick: {show: false},
  axisLabel: {fontSize: 16, fontWeight: 'bold', color: '#000', margin: 12},
  splitLine: {show: true, lineStyle: {color: '#000', width: 1, type: 'solid'}}});
if (cfg.whiskers.length > 0) {
  option.series.push({type: 'custom', name: 'whiskers', silent: true, z: 5, data: cfg.whiskers,
    renderItem: function (params, api) {
      var band = api.size([1, 0])[0];
      var x = api.coord([api.value(0), 0])[0] + (api.value(3) - 0.5) * 0.4 * band;
      var lo = api.coord([api.value(0), api.value(1)])[1];
      var hi = api.coord([api.value(0), api.value(2)])[1];
      var w = 0.06 * band, st = {stroke: '#000', lineWidth: 1.2};
      return {type: 'group', children: [
        {type: 'line', shape: {x1: x, y1: lo, x2: x, y2: hi}, style: st},
        {type: 'line', shape: {x1: x - w, y1: lo, x2: x + w, y2: lo}, style: st},
        {type: 'line', shape: {x1: x - w, y1: hi, x2: x + w, y2: hi}, style: st}]};
    }});
}
`

// extraConfig is the data extraJS needs, passed as JSON.
type extraConfig struct {
	Gap      int          `json:"gap"`
	Lift     [][]float64  `json:"lift"`     // per case, per series: px from bar top to whisker top
	Whiskers [][4]float64 `json:"whiskers"` // [x index, low, high, case index]
	Legend   []string     `json:"legend"`
	Projects []string     `json:"projects"`
}

// Chart draws the figure: per series a solid "file exists" bar and a hatched "no file" bar,
// labelled with cycles and ns; the Unikraft half left, the Linux half right. With per-boot
// data each bar gets a whisker from the lowest to the highest per-boot value: the spread the
// paper did not show. Not the 95% CI of the mean: with few boots its t-factor (12.7 for two)
// makes it many times wider than anything measured and crushes the bars; the verdict gives
// the CI. The paper's data has no spread to show.
func (d *Dataset) Chart(p figure.Provenance) plot.Figure {
	sub := fmt.Sprintf("%s\nTSC %d MHz (ns = cycles / %g)", p, d.TSCMHz, float64(d.TSCMHz)/1000)
	if d.HasRuns() {
		sub += " · bars: means of " + bootCounts(d) + " · whiskers: min–max of the per-boot values"
	} else {
		sub += " · means only: the paper recorded no per-boot spread"
	}
	title := "Figure 22: cost of open() — Unikraft SHFS and VFS vs Linux VFS"
	if p.Fixture != "" {
		// The Unikraft bars are a stand-in's: said where nobody can miss it.
		title = "FIXTURE — " + title
	}
	bar := plot.NewBar(title, sub)

	top, step := yAxis(d)
	plotHeight := float64(chartHeight - gridTop - gridBottom)
	cfg := extraConfig{Gap: labelGap, Whiskers: [][4]float64{}, Legend: []string{FileExists.Legend(), NoFile.Legend()}}
	for _, pr := range Projects {
		cfg.Projects = append(cfg.Projects, pr.Name)
	}
	var xs []string
	for _, s := range AllSeries {
		xs = append(xs, strings.Replace(s.Label, " (", "\n(", 1)) // "VFS\n(No mitig.)" as in the original
	}
	for ci, c := range Cases {
		var data []opts.BarData
		var lift []float64
		for si, s := range AllSeries {
			v := d.Value(s, c)
			data = append(data, opts.BarData{
				Value:     v.Cycles,
				ItemStyle: &opts.ItemStyle{Color: s.Color},
				Label:     &opts.Label{Formatter: barLabel(v)},
			})
			up := 0.0
			if len(v.Runs) > 1 { // one boot has no spread
				lo, hi := slices.Min(v.Runs), slices.Max(v.Runs)
				cfg.Whiskers = append(cfg.Whiskers, [4]float64{float64(si), lo, hi, float64(ci)})
				up = math.Round((hi - v.Cycles) / float64(top) * plotHeight)
			}
			lift = append(lift, up)
		}
		cfg.Lift = append(cfg.Lift, lift)
		bar.AddSeries(c.Legend(), data)
	}
	bar.SetXAxis(xs)
	bar.SetGlobalOptions(
		charts.WithGridOpts(opts.Grid{
			Left: fmt.Sprint(gridLeft), Right: fmt.Sprint(gridRight),
			Top: fmt.Sprint(gridTop), Bottom: fmt.Sprint(gridBottom),
		}),
		charts.WithXAxisOpts(opts.XAxis{
			AxisLabel: &opts.AxisLabel{FontSize: 17, FontWeight: "bold", Color: "#000", Interval: "0"},
			AxisTick:  &opts.AxisTick{Show: opts.Bool(false)},
			AxisLine:  &opts.AxisLine{LineStyle: &opts.LineStyle{Color: "#000"}},
		}),
		charts.WithYAxisOpts(opts.YAxis{
			Name: "Average # TSC", NameLocation: "middle", NameGap: 52,
			Min: 0, Max: top, MinInterval: float64(step), MaxInterval: float64(step),
			AxisLabel: &opts.AxisLabel{FontSize: 15, Color: "#000", ShowMinLabel: opts.Bool(true), ShowMaxLabel: opts.Bool(false)},
			AxisLine:  &opts.AxisLine{Show: opts.Bool(false)},
			SplitLine: &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Type: "dotted", Color: "#888"}},
		}),
		charts.WithLegendOpts(opts.Legend{
			Show: opts.Bool(true), Left: fmt.Sprint(gridLeft + 14), Top: fmt.Sprint(gridTop + 10),
			ItemWidth: 40, ItemHeight: 15, TextStyle: &opts.TextStyle{FontSize: 15, Color: "#000"},
		}),
	)
	return plot.Figure{
		Name:   Figure.Plot,
		Chart:  bar,
		Width:  chartWidth,
		Height: chartHeight,
		Extra:  extraJS(cfg),
	}
}

// extraJS styles what go-echarts cannot express: rotated value labels (lifted above the
// whiskers), the hatch, the legend's white swatches, the frame, the project headers above
// each half with a separator between them, and the min–max whiskers.
func extraJS(cfg extraConfig) string {
	js, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // plain numbers and strings always encode
	}
	return fmt.Sprintf(extraJSTemplate, js, hatch)
}
