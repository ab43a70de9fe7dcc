package report

import (
	"bytes"
	"html/template"
	"regexp"
	"strings"
)

// page is one self-contained HTML document: the CSS is inline, the plots are inline SVG, and
// there is no script, font, image or stylesheet to fetch (the fonts are the viewer's own).
const page = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Unikraft EuroSys'21 artifact — reproduction report</title>
<style>
body { font-family: Arial, "Liberation Sans", Helvetica, sans-serif; margin: 1.5em auto; max-width: 1800px; padding: 0 1.5em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.4em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td { max-width: 40em; overflow-wrap: anywhere; }
td.ok { background: #e3f4e1; font-weight: bold; }
td.warn { background: #fff3cd; font-weight: bold; }
td.fail { background: #f8d7da; font-weight: bold; }
td.skip { background: #eceff3; }
p.alert { background: #fff3cd; border-left: 4px solid #e0a800; padding: 0.4em 0.8em; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
.plots figure { margin: 0; flex: 1 1 600px; max-width: 900px; border: 1px solid #ddd; padding: 0.3em; }
.plots figcaption { font-size: 0.85em; color: #444; margin-bottom: 0.3em; }
.plots svg { width: 100%; height: auto; }
details summary { cursor: pointer; font-size: 0.9em; }
</style>
</head>
<body>
<h1>Unikraft EuroSys'21 artifact — reproduction report</h1>
<nav>{{range .}}<a href="#{{.ID}}">{{.ID}}</a>{{end}}</nav>
{{range .}}
<section id="{{.ID}}">
<h2>{{.Title}}</h2>
{{range .Blocks}}
{{if .Heading}}<h3>{{.Heading}}</h3>{{end}}
{{range .Text}}<p>{{.}}</p>{{end}}
{{if .Alert}}<p class="alert">{{.Alert}}</p>{{end}}
{{if .Plots}}<div class="plots">{{range .Plots}}<figure><figcaption>{{.Caption}}</figcaption>{{svg .}}</figure>{{end}}</div>{{end}}
{{if .Table}}{{if .Details}}<details><summary>{{.Summary}}</summary>{{template "table" .Table}}</details>{{else}}{{template "table" .Table}}{{end}}{{end}}
{{if .List}}<ul>{{range .List}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{end}}
</section>
{{end}}
</body>
</html>
{{define "table"}}<table><thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr>{{range .}}<td{{with cellClass .}} class="{{.}}"{{end}}>{{.}}</td>{{end}}</tr>
{{end}}</tbody></table>{{end}}`

var tpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"svg":       func(p plotView) template.HTML { return template.HTML(scoped(p.SVG, p.Prefix)) },
	"cellClass": cellClass,
}).Parse(page))

// HTML renders the report as one self-contained page.
func (r *Report) HTML() ([]byte, error) {
	var b bytes.Buffer
	if err := tpl.Execute(&b, r.sections()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// zrName matches the names ECharts' SVG renderer gives ids and CSS classes ("zr0-c1",
// "zr0-cls-2"): every chart starts at zr0, so two charts inlined in one page would share
// clip paths, patterns and hover styles. They are prefixed per chart.
var zrName = regexp.MustCompile(`\bzr(\d+)-`)

// scoped makes an SVG's ids and classes unique in the page, and drops an XML declaration
// (not allowed inside HTML).
func scoped(svg []byte, prefix string) string {
	s := strings.TrimSpace(string(svg))
	if strings.HasPrefix(s, "<?xml") {
		if i := strings.Index(s, "?>"); i >= 0 {
			s = strings.TrimSpace(s[i+2:])
		}
	}
	return zrName.ReplaceAllString(s, prefix+"-zr${1}-")
}

// cellClass colours a verdict cell.
func cellClass(s string) string {
	switch s {
	case "OK", Holds, "earned", "pass", "ok":
		return "ok"
	case "WARN", "warn":
		return "warn"
	case "FAIL", DoesNot, "not earned", "fail":
		return "fail"
	case "SKIP", NotJudged, NotChecked, "unknown":
		return "skip"
	}
	if strings.HasPrefix(s, "FAIL") {
		return "fail"
	}
	if strings.HasPrefix(s, "pass — not judged") {
		return "skip"
	}
	return ""
}
