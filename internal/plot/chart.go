// Package plot turns go-echarts charts into the bundle's figures: a static SVG rendered by
// ECharts' own server-side SVG renderer running in goja (no browser, no Node.js at run
// time), and an interactive HTML twin that loads the same ECharts build from plots/assets/.
package plot

import "github.com/go-echarts/go-echarts/v2/charts"

// Figure is one chart to be written as <Name>.svg and <Name>.html.
type Figure struct {
	Name          string // file name without extension, e.g. "fig_10_unikraft-boot"
	Chart         *charts.Bar
	Width, Height int // pixels; zero means DefaultWidth / DefaultHeight
	// Extra is optional JavaScript run with the chart's option object bound to `option`
	// before rendering, for ECharts features go-echarts cannot express (decal patterns,
	// rich-text labels). It applies to the SVG and the HTML alike: it is the body of a
	// strict-mode function, so it changes `option` in place (assigning `option` itself has
	// no effect), and it must not contain "</script" or "<!--" (it is inlined in the HTML).
	Extra string
}
