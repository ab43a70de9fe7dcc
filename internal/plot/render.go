package plot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
)

// Default canvas size, used when a Figure leaves Width or Height at zero.
const (
	DefaultWidth  = 900
	DefaultHeight = 500
)

// renderTimeout bounds one chart's JavaScript (ECharts and Extra), so a loop in Extra
// fails instead of hanging the step. A variable so that a test can shorten it.
var renderTimeout = time.Minute

// funcMarker is how go-echarts marks opts.FuncOpts functions inside JSON strings; stripping
// it turns the strings back into JavaScript functions (the option is then evaluated as JS).
var funcMarker = regexp.MustCompile(`(__f__")|("__f__)|(__f__)`)

// compiled caches the compiled ECharts build: compiling takes 0.2–0.5 s, running the
// compiled program in a fresh runtime per chart is cheap.
var compiled struct {
	sync.Mutex
	path string
	prog *goja.Program
}

func echartsProgram() (*goja.Program, error) {
	js, err := echartsJS()
	if err != nil {
		return nil, err
	}
	compiled.Lock()
	defer compiled.Unlock()
	if compiled.prog != nil && compiled.path == js {
		return compiled.prog, nil
	}
	src, err := os.ReadFile(js)
	if err != nil {
		return nil, err
	}
	prog, err := goja.Compile("echarts.min.js", string(src), false)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", js, err)
	}
	compiled.path, compiled.prog = js, prog
	return prog, nil
}

// echartsJS is the path EnsureECharts found, installing ECharts if no caller did yet
// (bounded by the install timeout).
func echartsJS() (string, error) {
	return EnsureECharts(context.Background())
}

// prepared is one figure turned into JavaScript, shared by the SVG and the HTML so that
// both show the same chart.
type prepared struct {
	name          string
	option        string // a JS object expression
	fns           []string
	width, height int
}

// houseDefaults fills in what go-echarts cannot set: the global font, so axis labels and
// legends use FontFamily like the titles (ECharts lays text out with its own width table;
// matching fonts make viewers draw it where the layout expects), and an explicit line height
// for multi-line titles and subtitles (without one, browsers drew the lines of a two-line
// subtitle on top of each other while the SVG renderer spaced them). Extra runs after it.
var houseDefaults = fmt.Sprintf(`(function (option) {"use strict";
if (option.textStyle === undefined) { option.textStyle = {fontFamily: %q}; }
var titles = option.title === undefined ? [] : (Array.isArray(option.title) ? option.title : [option.title]);
titles.forEach(function (t) {
  [["text", "textStyle"], ["subtext", "subtextStyle"]].forEach(function (k) {
    if (String(t[k[0]] || "").indexOf("\n") < 0) { return; }
    var st = t[k[1]] = t[k[1]] || {};
    if (st.lineHeight === undefined) { st.lineHeight = Math.round((st.fontSize || 12) * 1.3); }
  });
});
})`, FontFamily)

// prepare validates f and builds its option JavaScript. It sets the chart's page options
// (ChartID, assets, size) as a side effect, which the HTML template reads.
func prepare(f Figure) (*prepared, error) {
	if err := checkName(f.Name); err != nil {
		return nil, err
	}
	if f.Chart == nil {
		return nil, fmt.Errorf("plot %s: Chart is nil", f.Name)
	}
	if f.Width < 0 || f.Height < 0 {
		return nil, fmt.Errorf("plot %s: negative size %dx%d", f.Name, f.Width, f.Height)
	}
	p := &prepared{name: f.Name, width: f.Width, height: f.Height}
	if p.width == 0 {
		p.width = DefaultWidth
	}
	if p.height == 0 {
		p.height = DefaultHeight
	}

	c := f.Chart
	c.ChartID = chartID(f.Name)
	c.AssetsHost = AssetsDir + "/"
	c.JSAssets.Clear()
	c.JSAssets.Add("echarts.min.js") // Validate prefixes AssetsHost
	c.Initialization.Width = fmt.Sprintf("%dpx", p.width)
	c.Initialization.Height = fmt.Sprintf("%dpx", p.height)
	c.Initialization.Renderer = "svg"
	if c.PageTitle == "" || c.PageTitle == "Awesome go-echarts" {
		c.PageTitle = f.Name
	}
	c.Validate()
	p.option = strings.TrimSpace(funcMarker.ReplaceAllString(string(c.JSONNotEscaped()), ""))
	p.fns = []string{houseDefaults}
	if strings.TrimSpace(f.Extra) != "" {
		// Same line as the wrapper's start, so error positions match the Extra's own lines.
		p.fns = append(p.fns, `(function (option) {"use strict";`+f.Extra+"\n})")
	}
	return p, nil
}

// checkName rejects names that would not be a plain file in the output folder.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("plot: figure has no Name")
	case strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, "."):
		return fmt.Errorf("plot %q: Name must be a plain file name (no slashes, no leading dot)", name)
	case name == AssetsDir:
		return fmt.Errorf("plot %q: Name collides with the assets folder", name)
	}
	return nil
}

// chartID derives a stable ChartID (part of JS identifiers in the HTML) from the name, so
// the HTML is byte-identical across runs.
func chartID(name string) string {
	var b strings.Builder
	b.WriteString("chart_")
	for _, r := range name {
		if r < 128 && (r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// SVG renders f as a static SVG with ECharts' server-side SVG renderer. Each call uses a
// fresh JavaScript runtime, so the same figure always gives the same bytes.
func SVG(f Figure) ([]byte, error) {
	p, err := prepare(f)
	if err != nil {
		return nil, err
	}
	return renderSVG(p)
}

func renderSVG(p *prepared) ([]byte, error) {
	prog, err := echartsProgram()
	if err != nil {
		return nil, err
	}
	vm := goja.New()
	timer := time.AfterFunc(renderTimeout, func() { vm.Interrupt("timeout") })
	defer timer.Stop()
	fail := func(what string, err error) ([]byte, error) {
		var ie *goja.InterruptedError
		if errors.As(err, &ie) {
			return nil, fmt.Errorf("plot %s: %s did not finish within %v", p.name, what, renderTimeout)
		}
		return nil, fmt.Errorf("plot %s: %s: %v", p.name, what, err)
	}

	// ECharts schedules animation frames with timers; with animation off and a single
	// synchronous render they never need to fire.
	noop := func(goja.FunctionCall) goja.Value { return goja.Undefined() }
	vm.Set("setTimeout", noop)
	vm.Set("clearTimeout", noop)
	if _, err := vm.RunProgram(prog); err != nil {
		return fail("loading ECharts", err)
	}
	option, err := vm.RunString("(" + p.option + "\n)")
	if err != nil {
		return fail("option JavaScript (opts.FuncOpts bodies must be valid JS; use single quotes inside them)", err)
	}
	for i, src := range p.fns {
		what, script := "house defaults", p.name+" defaults"
		if i > 0 {
			what, script = "Extra JavaScript", p.name+" Extra"
		}
		v, err := vm.RunScript(script, src)
		if err != nil {
			return fail(what, err)
		}
		fn, ok := goja.AssertFunction(v)
		if !ok {
			return fail(what, errors.New("not a function"))
		}
		if _, err := fn(goja.Undefined(), option); err != nil {
			return fail(what, err)
		}
	}
	vm.Set("option", option)
	out, err := vm.RunString(fmt.Sprintf(`(function () {
  var chart = echarts.init(null, null, {renderer: 'svg', ssr: true, width: %d, height: %d});
  try {
    chart.setOption(option);
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
})()`, p.width, p.height))
	if err != nil {
		return fail("ECharts", err)
	}
	svg, ok := out.Export().(string)
	if !ok || !strings.Contains(svg, "<svg") {
		return nil, fmt.Errorf("plot %s: ECharts returned no SVG", p.name)
	}
	return []byte(svg + "\n"), nil
}
