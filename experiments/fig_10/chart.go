package fig10

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/plot"
	"github.com/unikraft-eurosys21/artifact/internal/stats"
)

// The original figure's colours and legend texts.
const (
	guestColor = "#fff3cd"
	vmmColor   = "#9774a7"
	guestName  = "Unikraft Guest"
	vmmName    = "VMM"
)

// chartTitle heads the figure (the original had none; a standalone SVG needs one).
const chartTitle = "Boot time of a hello-world Unikraft guest per VMM"

// Chart draws the figure: one stacked bar per VMM (guest part at the bottom, VMM part on
// top, heights = means in ms) on a logarithmic axis, the mean total above each bar as in the
// original ("38.4ms"), and, beyond the original, a whisker from the fastest to the slowest
// boot's total, so outliers the means hide (Firecracker's first boot) are visible. VMMs not run
// keep their place on the x axis with "(not run)" under the name.
func (d *Dataset) Chart(p figure.Provenance) plot.Figure {
	title, legendGuest := chartTitle, guestName
	if p.Fixture != "" {
		// A stand-in guest must not look like Unikraft's boot time, even out of context.
		title, legendGuest = "FIXTURE "+p.Fixture+" — stand-in guest, not Unikraft: boot time per VMM", "Stand-in guest (FIXTURE)"
	}
	notes := d.footnotes(p)
	var (
		cats          []string
		guest, vmm    []opts.BarData
		marks         []mark
		minGuest, top = math.Inf(1), 0.0
		ns            []int
	)
	for i, s := range d.Series {
		if !s.Ran() {
			cats = append(cats, s.Label+"\n("+s.Missing+")")
			guest, vmm = append(guest, opts.BarData{Value: "-"}), append(vmm, opts.BarData{Value: "-"})
			continue
		}
		cats = append(cats, s.Label)
		v, g, t := s.Stats()
		// The guest part is labelled with its value: on a log axis its segment looks far
		// larger than its share of the boot (55 µs of 38 ms on QEMU fills a third of the bar).
		guest = append(guest, opts.BarData{Value: g.Mean / 1000, Label: &opts.Label{
			Show: opts.Bool(true), Position: "inside", Formatter: guestLabel(g.Mean), FontSize: 11, Color: "#000",
		}})
		vmm = append(vmm, opts.BarData{Value: v.Mean / 1000})
		marks = append(marks, mark{
			X: i, Lo: t.Min / 1000, Hi: t.Max / 1000,
			Label: fmt.Sprintf("%.1fms", t.Mean/1000),
			Tip:   tooltip(s.Label, v, g, t),
		})
		if g.Mean > 0 {
			minGuest = math.Min(minGuest, g.Mean/1000)
		}
		top = math.Max(top, t.Max/1000)
		ns = append(ns, t.N)
	}
	lo, hi := logRange(minGuest, top)

	subtitle := p.String() + "\nbars: mean of " + boots(ns) + "; whiskers: fastest to slowest boot (total)"
	if cal := d.Calibrating(); len(cal) > 0 {
		subtitle += "\n" + calibrationNote(cal)
	}
	bar := plot.NewBar(title, subtitle)
	extraLines := strings.Count(subtitle, "\n") - 1 // the grid's top fits two subtitle lines
	bar.SetGlobalOptions(
		charts.WithGridOpts(opts.Grid{Left: "80", Right: "30", Top: strconv.Itoa(90 + subtitleLine*extraLines), Bottom: strconv.Itoa(60 + footnoteLine*len(notes))}),
		charts.WithLegendOpts(opts.Legend{
			Data: []string{vmmName, legendGuest}, Orient: "vertical", Right: "45", Top: strconv.Itoa(100 + subtitleLine*extraLines),
			Icon: "rect", TextStyle: &opts.TextStyle{FontFamily: plot.FontFamily, FontSize: 14, Color: "#000"},
		}),
		charts.WithXAxisOpts(opts.XAxis{
			AxisLabel: &opts.AxisLabel{Interval: "0", FontSize: 14, Color: "#000"},
		}),
		charts.WithYAxisOpts(opts.YAxis{
			Name: "Total Boot Time (ms)", NameLocation: "middle", NameGap: 50,
			Type: "log", Min: lo, Max: hi,
			AxisLabel: &opts.AxisLabel{FontSize: 12, Color: "#000"},
			SplitLine: &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Type: "dotted", Color: "#888"}},
		}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
	)
	bar.SetXAxis(cats)
	stack := charts.WithBarChartOpts(opts.BarChart{Stack: "boot", BarCategoryGap: "40%"})
	edge := func(color string) charts.SeriesOpts {
		return charts.WithItemStyleOpts(opts.ItemStyle{Color: color, BorderColor: "#000", BorderWidth: 0.5})
	}
	// Guest first: ECharts stacks in series order, so it is the bottom segment.
	bar.AddSeries(legendGuest, guest, stack, edge(guestColor))
	bar.AddSeries(vmmName, vmm, stack, edge(vmmColor))
	return plot.Figure{Chart: bar, Width: 800, Height: 500 + footnoteLine*len(notes) + subtitleLine*extraLines, Extra: extraJS(lo, marks, notes)}
}

// footnoteLine is the height of one footnote line, px; subtitleLine of one subtitle line.
const (
	footnoteLine = 15
	subtitleLine = 15
)

// footnoteWidth is how many characters a footnote line may have before it is wrapped.
const footnoteWidth = 125

// footnotes say, under a measured run's chart, what was measured, how the Firecracker guest
// differs from the paper's, and why a VMM has no bar. The paper's data gets none: its chart
// is the original figure's.
func (d *Dataset) footnotes(p figure.Provenance) []string {
	if p.Source != "run" {
		return nil
	}
	notes := []string{"Timed on the host: VMM part = VMM exec → guest's platform entry (port 1112; Solo5: first KVM_RUN); guest part = → main() (port 1500)."}
	if fc := d.Get(Firecracker); fc.Ran() && fc.Guest == "firecracker-0.13" {
		notes = append(notes, "Firecracker: guest built from Unikraft RELEASE-0.13.0 (FC_GUEST=0.13), not the paper's a4cf6565 + firecrackersupport.patch.")
	} else if fc.Ran() {
		notes = append(notes, "Firecracker: the paper's guest (a4cf6565 + firecrackersupport.patch), no port-1112 marker, on the pinned Firecracker.")
	}
	// One line per reason, naming every VMM it applies to ("QEMU, Solo5 — not run: …").
	var whys []string
	who := map[string][]string{}
	for _, s := range d.Series {
		if !s.Ran() && s.Reason != "" {
			if who[s.Why()] == nil {
				whys = append(whys, s.Why())
			}
			who[s.Why()] = append(who[s.Why()], s.Label)
		}
	}
	for _, why := range whys {
		// Wrapped, not cut: the reason is what a reader of a failed run needs ("…never;
		// timed out after 1m0s" was cut to "ti…").
		notes = append(notes, wrap(strings.Join(who[why], ", ")+" — "+why, footnoteWidth)...)
	}
	return notes
}

// wrap breaks s into lines of at most n characters at spaces (a longer word is broken),
// continuation lines indented.
func wrap(s string, n int) []string {
	var words []string
	for _, w := range strings.Fields(s) {
		for r := []rune(w); len(r) > 0; {
			k := min(len(r), n-4)
			words, r = append(words, string(r[:k])), r[k:]
		}
	}
	var lines []string
	line := ""
	for _, w := range words {
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= n:
			line += " " + w
		default:
			lines = append(lines, line)
			line = "    " + w
		}
	}
	return append(lines, line)
}

// mark is what the Extra JavaScript draws for one bar: the whisker, the total label and
// the tooltip text of the HTML twin.
type mark struct {
	X      int     `json:"x"` // category index
	Lo, Hi float64 // fastest and slowest boot's total, ms
	Label  string  `json:"label"`
	Tip    string  `json:"tip"`
}

// guestLabel writes a guest mean (µs) the way a reader compares it with the ms axis.
func guestLabel(us float64) string {
	if us < 1000 {
		return fmt.Sprintf("%.0f µs", us)
	}
	return fmt.Sprintf("%.2f ms", us/1000)
}

// logRange picks the log axis' decades: the floor at least a factor 2 below the smallest
// guest mean, so the guest segment (tens of µs on QEMU) stands visibly on the axis, and the
// ceiling a decade above the slowest boot, leaving room for the labels and the legend.
func logRange(minGuest, top float64) (lo, hi float64) {
	lo, hi = 0.01, 1000
	for !math.IsInf(minGuest, 1) && minGuest < 2*lo && lo > 1e-6 {
		lo /= 10
	}
	for 10*top > hi {
		hi *= 10
	}
	return lo, hi
}

// boots describes how many boots each bar averages.
func boots(ns []int) string {
	if len(ns) == 0 {
		return "no boots"
	}
	lo, hi := ns[0], ns[0]
	for _, n := range ns {
		lo, hi = min(lo, n), max(hi, n)
	}
	if lo == hi {
		return fmt.Sprintf("%d boots", lo)
	}
	return fmt.Sprintf("%d–%d boots", lo, hi)
}

// tooltip is the HTML twin's text for one bar: the statistics the bar and whisker stand for.
func tooltip(label string, v, g, t stats.Summary) string {
	line := func(what string, s stats.Summary) string {
		return fmt.Sprintf("%s: mean %s ms (95%% CI ±%s), median %s, min–max %s–%s",
			what, Millis(s.Mean), Millis(s.CI95), Millis(s.Median), Millis(s.Min), Millis(s.Max))
	}
	return strings.Join([]string{
		fmt.Sprintf("<b>%s</b> (%d boots)", label, t.N),
		line("total", t), line(vmmName, v), line("guest", g),
	}, "<br/>")
}

// Millis formats a duration given in µs as ms with four significant digits.
func Millis(us float64) string { return strconv.FormatFloat(us/1000, 'g', 4, 64) }

// extraJS completes the option where go-echarts has no field: bars start at the axis floor
// (ECharts starts bars on a log axis at 1, which would draw the guest part downwards from
// 1 ms), and a custom series draws the whiskers and total labels.
func extraJS(lo float64, marks []mark, notes []string) string {
	data, err := json.Marshal(marks)
	if err != nil {
		panic(err) // marks holds only numbers and strings
	}
	footnotes, err := json.Marshal(notes)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`
var marks = %s;
var footnotes = %s;
if (footnotes) {
  option.graphic = footnotes.map(function (text, i) {
    return {type: 'text', left: 12, bottom: 8 + %d * (footnotes.length - 1 - i), silent: true,
      style: {text: text, fontSize: 11, fontFamily: %q, fill: '#333'}};
  });
}
var axes = Array.isArray(option.yAxis) ? option.yAxis : [option.yAxis];
axes[0].startValue = %g;
axes[0].nameTextStyle = {fontSize: 14, color: '#000'};
option.tooltip.formatter = function (params) {
  var idx = params[0].dataIndex;
  for (var i = 0; i < marks.length; i++) {
    if (marks[i].x === idx) { return marks[i].tip; }
  }
  return params[0].name;
};
option.series.push({
  type: 'custom', name: 'fastest to slowest boot', z: 3, silent: true,
  data: marks.map(function (m) { return [m.x, m.Lo, m.Hi]; }),
  encode: {x: 0, y: [1, 2]},
  renderItem: function (params, api) {
    var lo = api.coord([api.value(0), api.value(1)]);
    var hi = api.coord([api.value(0), api.value(2)]);
    var cap = api.size([1, 0])[0] * 0.12;
    var line = {stroke: '#000', lineWidth: 1.2};
    return {type: 'group', children: [
      {type: 'line', shape: {x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1]}, style: line},
      {type: 'line', shape: {x1: lo[0] - cap, y1: lo[1], x2: lo[0] + cap, y2: lo[1]}, style: line},
      {type: 'line', shape: {x1: hi[0] - cap, y1: hi[1], x2: hi[0] + cap, y2: hi[1]}, style: line},
      {type: 'text', x: hi[0], y: hi[1] - 6, style: {
        text: marks[params.dataIndex].label, align: 'center', verticalAlign: 'bottom',
        fontSize: 16, fontFamily: %q, fill: '#000'}}
    ]};
  }
});
`, data, footnotes, footnoteLine, plot.FontFamily, lo, plot.FontFamily)
}
