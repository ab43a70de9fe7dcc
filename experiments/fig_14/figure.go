// Package fig14 is Figure 14 of the Unikraft paper: the boot time of an NGINX unikernel
// (1024 MiB guest on QEMU/KVM), split into nine components by tracepoints, for each of five
// memory allocators.
//
// The original artifact dumped the guest's trace buffer with gdb's `uk trace` after each boot
// and turned those logs into one CSV per allocator (parse.py). This package keeps both halves
// of that contract: ParseTrace reads the gdb logs with parse.py's bucketing rules, and
// WriteCSV/ReadCSV (csv.go) speak the paper's CSV format byte for byte, so a run of this bundle can be
// checked by the paper's own scripts and the paper's raw data can be re-derived by this code.
//
// figure.go holds the figure, its series (allocators, components) and the paper's embedded
// data; dataset.go the Dataset (Load, Paper, FromRaw, Write); trace.go and csv.go one file
// format each; chart.go draws and verify.go judges a dataset. Its pipeline (package
// pipeline) builds the five NGINX images so far; the run step is not built yet.
package fig14

import (
	"embed"
	"io/fs"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// paperFS is the paper's recorded data: the raw gdb logs (rawdata/1024M), the CSVs parse.py
// made of them (results/1024M), the kconfigs and the initrd.
//
//go:embed paper
var paperFS embed.FS

// PaperFiles are the paper's recorded files: rawdata/, results/, support-configs/ (the
// images' configurations) and nginx.cpio (the initrd), used by the pipeline.
func PaperFiles() fs.FS {
	sub, err := fs.Sub(paperFS, "paper")
	if err != nil {
		panic(err) // "paper" is a valid path, embedded at build time
	}
	return sub
}

// Figure is Figure 14's entry for the bundle's steps (plot, verify, and later prepare/run).
var Figure = figure.Figure{
	ID:    "fig14",
	Dir:   "fig_14",
	Plot:  "fig_14_unikraft-nginx-alloc-boot",
	Title: "NGINX unikernel boot time per memory allocator (1024 MiB guest)",
	Paper: func() (figure.Dataset, error) { return figure.Loaded(Paper()) },
	Load:  func(runDir string) (figure.Dataset, error) { return figure.Loaded(Load(runDir)) },
}

// MemoryMB is the guest memory of every boot (the original's MEM=1024); the results directory
// is named after it ("1024M") as in the original artifact.
const MemoryMB = 1024

// SizeDir is the per-memory-size directory of the CSVs, "1024M".
const SizeDir = "1024M"

// Allocator is one memory allocator the NGINX image is built with.
type Allocator struct {
	Name  string // file-name key, as in the original: rawdata/<Name>-<ts>.txt, results/<Name>.csv
	Label string // x-axis label of the figure
}

// Allocators are the five allocators in the figure's x order (plot.py's fixed order).
var Allocators = []Allocator{
	{"buddy", "Binary buddy"},
	{"mimalloc", "Mimalloc"},
	{"region", "Bootalloc"},
	{"tinyalloc", "tinyalloc"},
	{"tlsf", "TLSF"},
}

// AllocatorByName returns the allocator with file-name key name.
func AllocatorByName(name string) (Allocator, bool) {
	for _, a := range Allocators {
		if a.Name == name {
			return a, true
		}
	}
	return Allocator{}, false
}

// Component is one bucket of the boot-time breakdown.
type Component int

// The components in the CSV's row order (parse.py's dictionary order).
const (
	Plat Component = iota
	Virtio
	Vfscore
	Alloc
	Ukbus
	Pthreads
	Lwip
	Rootfs
	Misc
	NumComponents int = iota
)

var componentNames = [NumComponents]string{"plat", "virtio", "vfscore", "alloc", "ukbus", "pthreads", "lwip", "rootfs", "misc"}

// componentColors are the original plot's colours. plot.py assigned them by consuming a
// palette in CSV row order; the result is fixed, so it is written down here as data.
var componentColors = [NumComponents]string{"#d18282", "#ddcae3", "#a2d9d1", "#ededed", "#fff3cd", "#91c6e7", "#618c84", "#49687c", "#7c4f4f"}

// Components lists all components in CSV row order.
var Components = [NumComponents]Component{Plat, Virtio, Vfscore, Alloc, Ukbus, Pthreads, Lwip, Rootfs, Misc}

// String is the component's raw name, used in the CSV and in the legend.
func (c Component) String() string { return componentNames[c] }

// Color is the component's fill colour in the figure.
func (c Component) Color() string { return componentColors[c] }

// ComponentByName returns the component called name ("alloc", …).
func ComponentByName(name string) (Component, bool) {
	for i, n := range componentNames {
		if n == name {
			return Component(i), true
		}
	}
	return 0, false
}

// StackOrder is the bottom-to-top order of the stacked bars: alphabetical, as plot.py's
// sorted(components) drew them.
var StackOrder = [NumComponents]Component{Alloc, Lwip, Misc, Plat, Pthreads, Rootfs, Ukbus, Vfscore, Virtio}

// Breakdown is one value per component, in µs, indexed by Component.
type Breakdown [NumComponents]float64

// Total is the sum over the components: the guest boot time up to main().
func (b Breakdown) Total() float64 {
	var t float64
	for _, v := range b {
		t += v
	}
	return t
}
