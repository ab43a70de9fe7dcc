package plot

import (
	"bytes"
	"fmt"
	"html/template"
	"regexp"
	"strings"

	"github.com/go-echarts/go-echarts/v2/render"
	"github.com/go-echarts/go-echarts/v2/templates"
	"github.com/go-echarts/go-echarts/v2/types"
)

// AssetsDir is the folder, next to the HTML pages, that holds the ECharts build they load
// and its licence texts.
const AssetsDir = "assets"

// baseScript replaces go-echarts' "base_script" template: the same page, but the option is
// the marker-free JavaScript the SVG was rendered from, and the house defaults and the
// figure's Extra run on it before setOption, so the page shows what the SVG shows.
const baseScript = `{{- define "base_script" -}}
<script type="text/javascript">
    "use strict";
    let goecharts_{{ .ChartID | safeJS }} = echarts.init(document.getElementById('{{ .ChartID | safeJS }}'), "{{ .Theme }}", { renderer: "{{  .Initialization.Renderer }}" });
    let option_{{ .ChartID | safeJS }} = {{ optionJS }};
  {{- range prepareJS }}
    {{ . }}(option_{{ $.ChartID | safeJS }});
  {{- end }}
    goecharts_{{ .ChartID | safeJS }}.setOption(option_{{ .ChartID | safeJS }});

  {{- range  $listener := .EventListeners }}
    {{if .Query  }}
    goecharts_{{ $.ChartID | safeJS }}.on({{ $listener.EventName }}, {{ $listener.Query | safeJS }}, {{ injectInstance $listener.Handler "%MY_ECHARTS%"  $.ChartID | safeJS }});
    {{ else }}
    goecharts_{{ $.ChartID | safeJS }}.on({{ $listener.EventName }}, {{ injectInstance $listener.Handler "%MY_ECHARTS%"  $.ChartID | safeJS }})
    {{ end }}
  {{- end }}

    {{- range .JSFunctions.Fns }}
    {{ injectInstance . "%MY_ECHARTS%"  $.ChartID  | safeJS }}
    {{- end }}
</script>
{{- end -}}
`

// scriptBreak matches what would end or confuse an inline <script> element.
var scriptBreak = regexp.MustCompile(`(?i)</script|<!--`)

// HTML renders f as an interactive page (tooltips, legend toggles) that loads
// assets/echarts.min.js; Write puts that file next to it. The same figure always gives the
// same bytes: the ChartID is derived from the Name.
func HTML(f Figure) ([]byte, error) {
	p, err := prepare(f)
	if err != nil {
		return nil, err
	}
	return renderHTML(p, f)
}

func renderHTML(p *prepared, f Figure) ([]byte, error) {
	for _, js := range append([]string{p.option}, p.fns...) {
		if loc := scriptBreak.FindStringIndex(js); loc != nil {
			return nil, fmt.Errorf("plot %s: the chart's option or Extra contains %q, which cannot be embedded in an HTML <script>; write it differently (e.g. '<' + '/script')",
				p.name, js[loc[0]:loc[1]])
		}
	}
	fns := make([]template.JS, len(p.fns))
	for i, s := range p.fns {
		fns[i] = template.JS(s)
	}
	tpl := template.New(render.ModChart).Funcs(template.FuncMap{
		"safeHTML": func(s any) template.HTML { return template.HTML(fmt.Sprint(s)) },
		"safeJS":   func(s any) template.JS { return template.JS(fmt.Sprint(s)) },
		"injectInstance": func(fn types.FuncStr, placeholder, chartID string) string {
			return strings.ReplaceAll(string(fn), placeholder, render.EchartsInstancePrefix+chartID)
		},
		"optionJS":  func() template.JS { return template.JS(p.option) },
		"prepareJS": func() []template.JS { return fns },
	})
	for _, src := range []string{templates.HeaderTpl, templates.BaseTpl, templates.ChartTpl, baseScript} {
		var err error
		if tpl, err = tpl.Parse(src); err != nil {
			return nil, fmt.Errorf("plot %s: HTML template: %w", p.name, err)
		}
	}
	var buf bytes.Buffer
	if err := tpl.ExecuteTemplate(&buf, render.ModChart, f.Chart); err != nil {
		return nil, fmt.Errorf("plot %s: HTML template: %w", p.name, err)
	}
	// Event handlers and JSFunctions carry go-echarts' function markers too.
	return funcMarker.ReplaceAll(buf.Bytes(), nil), nil
}
