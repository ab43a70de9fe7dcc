package plot

import (
	"os"
	"testing"

	"github.com/dop251/goja"
	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// representative returns four charts shaped like the bundle's figures.
func representative() []Figure {
	label := charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "inside",
		Formatter: string(opts.FuncOpts("function (p) { return p.value.toFixed(1); }"))})

	// Five stacked bars with labels (fig 10: boot time split by phase).
	stacked := NewBar("Boot time", "paper data")
	stacked.SetXAxis([]string{"QEMU", "QEMU (1 NIC)", "QEMU (microVM)", "Solo5", "Firecracker"})
	for i, phase := range []string{"VMM", "guest"} {
		data := make([]opts.BarData, 5)
		for j := range data {
			data[j] = opts.BarData{Value: float64(10*(i+1)+j) * 1.7}
		}
		stacked.AddSeries(phase, data, label, charts.WithBarChartOpts(opts.BarChart{Stack: "total"}))
	}

	// Sixteen bars in four groups (fig 22: VFS comparison).
	grouped := NewBar("Read throughput", "paper data")
	grouped.SetXAxis([]string{"4 KiB", "16 KiB", "64 KiB", "256 KiB"})
	for s, name := range []string{"Linux", "Unikraft", "Unikraft (no VFS)", "Docker"} {
		data := make([]opts.BarData, 4)
		for j := range data {
			data[j] = opts.BarData{Value: float64(100*(s+1) + 37*j)}
		}
		grouped.AddSeries(name, data, charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "top"}))
	}

	// Horizontal bars, log axis (fig 8: image sizes).
	horizontal := NewBar("Image size", "paper data")
	apps := []string{"helloworld", "nginx", "redis", "sqlite", "httpreply", "python", "ruby", "lua"}
	horizontal.SetXAxis(apps)
	data := make([]opts.BarData, len(apps))
	for i := range data {
		data[i] = opts.BarData{Value: float64(int(200) << i)}
	}
	horizontal.SetGlobalOptions(charts.WithXAxisOpts(opts.XAxis{Type: "log", Name: "KiB"}))
	horizontal.AddSeries("size", data, label)
	horizontal.XYReversal()

	// Grouped bars with decal patterns from Extra (fig 14: allocators).
	decal := NewBar("Boot time by allocator", "paper data")
	decal.SetXAxis([]string{"binary buddy", "TLSF", "mimalloc", "tinyalloc"})
	for s, name := range []string{"NGINX", "SQLite", "Redis"} {
		data := make([]opts.BarData, 4)
		for j := range data {
			data[j] = opts.BarData{Value: float64(3 + s + j)}
		}
		decal.AddSeries(name, data)
	}
	return []Figure{
		{Name: "stacked", Chart: stacked, Width: 800, Height: 450},
		{Name: "grouped", Chart: grouped, Width: 900, Height: 450},
		{Name: "horizontal", Chart: horizontal, Width: 700, Height: 500},
		{Name: "decal", Chart: decal, Width: 800, Height: 450,
			Extra: "option.aria = {enabled: true, decal: {show: true}};"},
	}
}

// BenchmarkRender4 renders four representative figures (SVG and HTML), ECharts compiled
// once per process (the first iteration pays for it).
func BenchmarkRender4(b *testing.B) {
	ensure(b)
	if _, err := echartsProgram(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		for _, f := range representative() {
			p, err := prepare(f)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := renderSVG(p); err != nil {
				b.Fatal(err)
			}
			if _, err := renderHTML(p, f); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkCompileECharts is the once-per-process cost of compiling echarts.min.js.
func BenchmarkCompileECharts(b *testing.B) {
	js, err := EnsureECharts(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	src, err := os.ReadFile(js)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := goja.Compile("echarts.min.js", string(src), false); err != nil {
			b.Fatal(err)
		}
	}
}
