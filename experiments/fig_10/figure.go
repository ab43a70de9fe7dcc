// Package fig10 is Figure 10 of the Unikraft paper: how long a hello-world Unikraft guest
// takes to boot on five VMMs, split into the time the VMM spends before the guest's
// platform entry and the time the guest spends from there to main().
//
// This file names the VMMs (the figure's series), the figure and the paper's embedded data;
// dataset.go loads the paper's data or a run directory and writes the result files; tsv.go
// reads and writes the original artifact's per-VMM result files, status.go series.json (what
// ran and why not) and extended.go extended.csv (every phase of every observer); chart.go
// and verify.go draw and judge a dataset. The pipeline/ package builds the guests and boots
// them.
package fig10

import (
	"embed"
	"io/fs"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// paperFS holds the paper's recorded data (copied unmodified from the original artifact's
// paperresults/ and support-configs/), built into the binary so the figure can be drawn, a
// run judged and the guests configured without the source tree.
//
//go:embed paper
var paperFS embed.FS

// PaperFiles are the paper's recorded files: results/<vmm>.csv and support-configs/ (the
// guests' configurations, used by the pipeline).
func PaperFiles() fs.FS {
	sub, err := fs.Sub(paperFS, "paper")
	if err != nil {
		panic(err) // "paper" is a valid path, embedded at build time
	}
	return sub
}

// VMM is one series of the figure: a VMM (or VMM configuration) the guest boots on.
type VMM struct {
	Key   string // file stem in the original artifact: results/<Key>.csv
	Label string // x-axis label of the original figure
}

// File is the name of the VMM's result file in a run directory and in paper/results.
func (v VMM) File() string { return v.Key + ".csv" }

// VMMs are the figure's series in plot order (the original plot.py's fixed x order).
var VMMs = []VMM{
	{Key: "qemu", Label: "QEMU"},
	{Key: "qemu1nic", Label: "QEMU (1NIC)"},
	{Key: "qemumicrovm", Label: "QEMU (MicroVM)"},
	{Key: "solo5", Label: "Solo5"},
	{Key: "firecracker", Label: "Firecracker"},
}

// Keys of the VMMs, for code that names a series.
const (
	QEMU        = "qemu"
	QEMU1NIC    = "qemu1nic"
	QEMUMicroVM = "qemumicrovm"
	Solo5       = "solo5"
	Firecracker = "firecracker"
)

// LookupVMM returns the VMM with the given key.
func LookupVMM(key string) (VMM, bool) {
	for _, v := range VMMs {
		if v.Key == key {
			return v, true
		}
	}
	return VMM{}, false
}

// Figure is Figure 10 for the bundle's steps (plot, verify, summary).
var Figure = figure.Figure{
	ID:    "fig10",
	Dir:   "fig_10",
	Plot:  "fig_10_unikraft-boot",
	Title: "Boot time of a hello-world Unikraft guest on QEMU, QEMU (1NIC), QEMU (MicroVM), Solo5 and Firecracker (VMM part + guest part)",
	Paper: func() (figure.Dataset, error) { return figure.Loaded(Paper()) },
	Load:  func(runDir string) (figure.Dataset, error) { return figure.Loaded(Load(runDir)) },
}
