package plot

import (
	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// FontFamily lists fonts with metrics close to ECharts' built-in width table (used for
// layout in the SVG renderer), so viewers draw text where the layout expects it.
// Names are unquoted: quoted names produced invalid XML in the SVG.
const FontFamily = "Arial, Liberation Sans, Helvetica, sans-serif"

// NewBar starts a bar chart in the bundle's house style: white background, no animation
// (the SVG renderer draws the final frame only), the common font, a title and a subtitle
// that carries the data's provenance.
func NewBar(title, subtitle string) *charts.Bar {
	bar := charts.NewBar()
	bar.SetGlobalOptions(
		charts.WithAnimation(false),
		charts.WithInitializationOpts(opts.Initialization{BackgroundColor: "#ffffff"}),
		charts.WithTitleOpts(opts.Title{
			Title: title, Subtitle: subtitle, Left: "center",
			TitleStyle:    &opts.TextStyle{FontFamily: FontFamily, FontSize: 16, Color: "#000"},
			SubtitleStyle: &opts.TextStyle{FontFamily: FontFamily, FontSize: 11, Color: "#555"},
		}),
	)
	return bar
}
