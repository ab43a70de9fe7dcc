// Package fig22 is Figure 22 of the Unikraft paper: the average cost, in TSC cycles, of one
// open() call on Unikraft's specialised hash file system (SHFS), on Unikraft's VFS, and on
// Linux's VFS with and without speculative-execution mitigations, each for a file that
// exists and for one that does not.
//
// figure.go holds the figure's definition as data (series, cases, colours) and the paper's
// embedded data; dataset.go the Dataset (Load, Paper, Write) and the original's processing
// (integer truncation, TSC conversion, numpy mean); one file per format the original
// artifact wrote reads and writes it (console.go: console lines, tsc.go: tsc_mhz.txt,
// results.go: the results CSVs; numbers.go: Python's number formatting); chart.go draws the
// figure and verify.go judges it against the paper.
package fig22

import (
	"embed"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// paperFS holds the paper's data: paper/results/<series>.csv, copied byte for byte from the
// original artifact (commit d88853d5, experiments/fig_22_compare-vfs/results/).
//
//go:embed paper
var paperFS embed.FS

// Figure is Figure 22 of the paper.
var Figure = figure.Figure{
	ID:    "fig22",
	Dir:   "fig_22",
	Plot:  "fig_22_compare-vfs",
	Title: "open() cost on Unikraft SHFS and VFS vs Linux VFS (average TSC cycles per call)",
	Paper: func() (figure.Dataset, error) { return figure.Loaded(Paper()) },
	Load:  func(dir string) (figure.Dataset, error) { return figure.Loaded(Load(dir)) },
}

// Case is one of the benchmark's two cases, named as in the results CSVs.
type Case string

const (
	// FileExists opens /<sha256 of rnd4k>, a file present in the initrd (SHFS: its hash).
	FileExists Case = "file-exists"
	// NoFile opens /000…0 (64 zeros), a name that does not exist.
	NoFile Case = "no-file"
)

// Cases in the order of the CSV rows and of the bars in each pair.
var Cases = []Case{FileExists, NoFile}

// Legend is the case's legend text in the figure.
func (c Case) Legend() string {
	if c == NoFile {
		return "NO FILE"
	}
	return "FILE EXISTS"
}

// Text is the case in words, for tables and messages.
func (c Case) Text() string {
	if c == NoFile {
		return "no file"
	}
	return "file exists"
}

// consolePath is the second field of the benchmark's console line for the case:
// the benchmark prints "<n/a>" for the missing name and "/rnd4k" for the existing file.
func (c Case) consolePath() string {
	if c == NoFile {
		return "<n/a>"
	}
	return "/rnd4k"
}

// Project is one half of the figure: the operating system the benchmark ran on.
type Project struct {
	ID   string // first part of the CSV names: "unikraft", "linux"
	Name string // header above the half: "Unikraft", "Linux"
}

// Projects in plot order (left half, right half).
var Projects = []Project{{"unikraft", "Unikraft"}, {"linux", "Linux"}}

// Series is one pair of bars: one file system of one project, measured in one kind of VM.
type Series struct {
	Project string // Project.ID
	FS      string // second part of the CSV name: "shfs", "vfs", "nomitig-vfs"
	Label   string // x-axis label
	Color   string // bar colour (the original's)
	// Console is the label of the VM whose console logs hold this series:
	// raw/<Console>.<N> is the log of boot N (the original's eval/<label>.<N>).
	Console string
	// Bench is the first field of the benchmark's console line: "SHFS" or "VFS".
	Bench string
}

// AllSeries lists the series in plot order: Unikraft → SHFS, VFS; Linux → VFS (No mitig.), VFS. This is
// the original's order (sorted file-system names within each project).
var AllSeries = []Series{
	{Project: "unikraft", FS: "shfs", Label: "SHFS", Color: "#D5316A", Console: "unikraft", Bench: "SHFS"},
	{Project: "unikraft", FS: "vfs", Label: "VFS", Color: "#3DB2D7", Console: "unikraft", Bench: "VFS"},
	{Project: "linux", FS: "nomitig-vfs", Label: "VFS (No mitig.)", Color: "#E06E36", Console: "linux-nomitig", Bench: "VFS"},
	{Project: "linux", FS: "vfs", Label: "VFS", Color: "#3DB2D7", Console: "linux", Bench: "VFS"},
}

// ID names the series as its CSV does, without the extension: "linux_nomitig-vfs".
func (s Series) ID() string { return s.Project + "_" + s.FS }

// File is the series' results CSV: "unikraft_shfs.csv", "linux_nomitig-vfs.csv", …
func (s Series) File() string { return s.ID() + ".csv" }

// Name is the series in words: "Unikraft SHFS", "Linux VFS (No mitig.)".
func (s Series) Name() string { return s.ProjectName() + " " + s.Label }

// ProjectName is the display name of the series' project.
func (s Series) ProjectName() string {
	for _, p := range Projects {
		if p.ID == s.Project {
			return p.Name
		}
	}
	return s.Project
}

// seriesByID returns the series with the given ID.
func seriesByID(id string) Series {
	for _, s := range AllSeries {
		if s.ID() == id {
			return s
		}
	}
	panic("fig22: unknown series " + id)
}

// Consoles are the labels of the VM configurations the run step boots, each REPS times:
// "unikraft" (SHFS and VFS lines), "linux-nomitig" and "linux" (VFS lines).
func Consoles() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range AllSeries {
		if !seen[s.Console] {
			seen[s.Console] = true
			out = append(out, s.Console)
		}
	}
	return out
}
