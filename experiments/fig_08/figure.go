// Package fig08 is Figure 8 of the Unikraft paper: the file size of the stripped KVM image
// of helloworld, nginx, redis and sqlite, each built in four variants (default, LTO, DCE,
// DCE+LTO). It reads and writes the original artifact's results.csv, summarises, charts,
// and verifies a run against the paper's data and its claim that every image is under 2 MB.
//
// figure.go holds the figure and its series (apps, variants) and the paper's embedded data;
// dataset.go the Dataset (Load, Paper, Write); results.go, layout.go, builds.go and config.go
// read and write one file format each; chart.go draws and verify.go judges a dataset. The
// pipeline/ package builds and measures the images.
//
// Image sizes move in 64 KiB steps (see LayoutStep), so the figure cannot resolve
// differences below that; sizes are compared with the paper in steps, not percent.
package fig08

import (
	"embed"
	"io/fs"
	"slices"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// paperFS holds the paper's recorded data, built into the binary.
//
//go:embed paper
var paperFS embed.FS

// PaperFiles are the paper's recorded files: results.csv, elf-layout.tsv and
// configs/<image>/kraft.yaml (the build configurations of the 16 images).
func PaperFiles() fs.FS {
	sub, err := fs.Sub(paperFS, "paper")
	if err != nil {
		panic(err) // "paper" is a valid path, embedded at build time
	}
	return sub
}

// Figure describes Figure 8 for the bundle's steps.
var Figure = figure.Figure{
	ID:    "fig08",
	Dir:   "fig_08",
	Plot:  "fig_08_unikraft-image-size",
	Title: "Unikraft image sizes with dead code elimination (DCE) and link-time optimisation (LTO)",
	Paper: func() (figure.Dataset, error) { return figure.Loaded(Paper()) },
	Load:  func(runDir string) (figure.Dataset, error) { return figure.Loaded(Load(runDir)) },
}

// Apps are the four applications of Figure 8, in the order of the x axis (the original
// plot sorted them alphabetically).
var Apps = []string{"helloworld", "nginx", "redis", "sqlite"}

// Variant is one build configuration: Key as it appears in results.csv and in the
// configuration directory names (configs/<app>_<Key>), the legend label and the bar colour
// of the original plot.
type Variant struct {
	Key, Label, Color string
}

// Variants are the four build configurations in the order of the bars inside a group.
// The colours are what the original plot.py ended up assigning: it popped them
// from a sorted list in CSV order, which happens to give these four.
var Variants = []Variant{
	{Key: "default", Label: "Default configuration", Color: "sandybrown"},
	{Key: "lto", Label: "+ Link-Time Optim. (LTO)", Color: "teal"},
	{Key: "dce", Label: "+ Dead Code Elim. (DCE)", Color: "lightskyblue"},
	{Key: "dce_lto", Label: "+ DCE + LTO", Color: "orchid"},
}

// Image is one bar of the figure: an application built in one variant.
type Image struct {
	App, Variant string
}

// Key is the image's name in results.csv and under configs/, e.g. "nginx_dce_lto".
func (i Image) Key() string { return i.App + "_" + i.Variant }

// Images lists all 16 images in plot order (apps, then variants inside an app).
func Images() []Image {
	var out []Image
	for _, a := range Apps {
		for _, v := range Variants {
			out = append(out, Image{a, v.Key})
		}
	}
	return out
}

func knownApp(a string) bool { return slices.Contains(Apps, a) }

func variant(key string) (Variant, bool) {
	for _, v := range Variants {
		if v.Key == key {
			return v, true
		}
	}
	return Variant{}, false
}

func variantKeys() []string {
	var ks []string
	for _, v := range Variants {
		ks = append(ks, v.Key)
	}
	return ks
}
