package fig14

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/stats"
)

// Layout of a run directory (results/fig_14/<run-id>/), mirroring the original's
// rawdata/1024M and results/1024M:
//
//	raw/<alloc>-<timestamp>.txt   the gdb + uk trace log of the allocator's boots (one file per
//	                              allocator; <timestamp> is any run of digits)
//	1024M/<alloc>.csv             the mean per component, in the paper's CSV format
//
// raw/ may hold other logs too; only files named <alloc>-<digits>.txt with <alloc> one of
// the five allocators are traces.
const (
	RawDir     = "raw"
	ResultsDir = SizeDir
)

// paperRawDir and paperResultsDir are the paper's data inside paperFS.
const (
	paperRawDir     = "paper/rawdata/" + SizeDir
	paperResultsDir = "paper/results/" + SizeDir
)

// Series is one allocator's boots.
type Series struct {
	Allocator
	Trace *Trace    // the boots, one Breakdown each
	Mean  Breakdown // mean per component over the boots, µs (parse.py's value, unrounded)
	// Status is the run step's account of the series (series.json); nil when unknown.
	Status *SeriesStatus
}

// Dataset is Figure 14's data: one Series per allocator, in the figure's x order.
type Dataset struct {
	Series []Series
	// Fixture and Accel are the run's (manifest.json): a FIXTURE run or one under software
	// emulation is shown but not judged against the paper. Empty for the paper's data.
	Fixture, Accel string
}

// Paper parses the paper's raw traces (embedded in the binary).
func Paper() (*Dataset, error) {
	traces, err := readTraces(paperFS, paperRawDir, paperRawDir)
	if err != nil {
		return nil, err
	}
	return newDataset(traces), nil
}

// PaperCSV reads the paper's results CSV of allocator alloc: the values plotted in the paper.
func PaperCSV(alloc string) (Breakdown, error) {
	name := path.Join(paperResultsDir, alloc+".csv")
	f, err := paperFS.Open(name)
	if err != nil {
		return Breakdown{}, fmt.Errorf("paper data: %w", err)
	}
	defer f.Close()
	return ReadCSV(name, f)
}

// Load reads a run directory: the raw traces under raw/ and the CSVs under 1024M/. The CSVs
// must be the ones the traces give (FromRaw and Write make them); a CSV that disagrees was
// edited or is stale, and is an error rather than a silent choice between the two.
func Load(runDir string) (*Dataset, error) {
	d, err := FromRaw(filepath.Join(runDir, RawDir))
	if err != nil {
		return nil, err
	}
	for _, s := range d.Series {
		name := filepath.Join(runDir, ResultsDir, s.Name+".csv")
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: missing: the CSV of allocator %s is written from %s by the parse step (fig14.FromRaw, then Write)", name, s.Name, s.Trace.File)
		}
		if err != nil {
			return nil, err
		}
		csv, err := ReadCSV(name, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		for _, c := range Components {
			want := strconv.FormatFloat(s.Mean[c], 'f', 2, 64)
			if got := strconv.FormatFloat(csv[c], 'f', 2, 64); got != want {
				return nil, fmt.Errorf("%s: %s is %s µs but %s gives %s µs: the CSV was not written from this trace; rerun the parse step", name, c, got, s.Trace.File, want)
			}
		}
	}
	st, err := readStatus(runDir)
	if err != nil {
		return nil, err
	}
	if m, err := results.ReadManifest(runDir); err == nil {
		d.Fixture, d.Accel = m.Fixture, m.Accel
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for i := range st {
		if s := d.series(st[i].Alloc); s != nil {
			s.Status = &st[i]
		}
	}
	return d, nil
}

// FromRaw parses every allocator's trace in rawDir (a run's raw/). With Write it is the
// parse step of a run; it fails unless all five traces parse, so nothing is written then.
func FromRaw(rawDir string) (*Dataset, error) {
	traces, err := readTraces(os.DirFS(rawDir), ".", rawDir)
	if err != nil {
		return nil, err
	}
	return newDataset(traces), nil
}

// Write writes the dataset's CSVs into dir (a run directory): 1024M/<alloc>.csv, the mean
// per component in the paper's format, each atomically.
func (d *Dataset) Write(dir string) error {
	out := filepath.Join(dir, ResultsDir)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, s := range d.Series {
		if err := results.WriteFileAtomic(filepath.Join(out, s.Name+".csv"), FormatCSV(s.Mean), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// readTraces parses the trace of every allocator in dir of fsys; display is dir as shown in
// error messages. Every allocator must have exactly one trace.
func readTraces(fsys fs.FS, dir, display string) (map[string]*Trace, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (expected one <alloc>-<timestamp>.txt trace per allocator)", display, err)
	}
	files := map[string]string{}
	for _, e := range entries {
		alloc, _, ok := splitTraceName(e.Name())
		if !ok {
			continue
		}
		if !e.Type().IsRegular() {
			// A symbolic link to a trace (e.g. to a kept copy of an earlier run's) is a
			// trace; a directory with a trace's name is not.
			fi, err := fs.Stat(fsys, path.Join(dir, e.Name()))
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
		}
		if _, known := AllocatorByName(alloc); !known {
			continue
		}
		if prev, dup := files[alloc]; dup {
			return nil, fmt.Errorf("%s: two traces of allocator %s, %s and %s; a run holds one per allocator", display, alloc, prev, e.Name())
		}
		files[alloc] = e.Name()
	}
	var missing []string
	for _, a := range Allocators {
		if _, ok := files[a.Name]; !ok {
			missing = append(missing, a.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: no trace of allocator(s) %s; expected %s", display, strings.Join(missing, ", "), TraceFileName("<alloc>", "<timestamp>"))
	}
	traces := map[string]*Trace{}
	for _, a := range Allocators {
		alloc, base := a.Name, files[a.Name]
		name := filepath.Join(display, base)
		f, err := fsys.Open(path.Join(dir, base))
		if err != nil {
			return nil, err
		}
		t, err := ParseTrace(name, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		traces[alloc] = t
	}
	return traces, nil
}

func newDataset(traces map[string]*Trace) *Dataset {
	d := &Dataset{}
	for _, a := range Allocators {
		t := traces[a.Name]
		d.Series = append(d.Series, Series{Allocator: a, Trace: t, Mean: t.Mean()})
	}
	return d
}

// series returns the series of allocator name (nil when absent).
func (d *Dataset) series(name string) *Series {
	for i := range d.Series {
		if d.Series[i].Name == name {
			return &d.Series[i]
		}
	}
	return nil
}

// Summary is what summary.json holds for Figure 14.
type Summary struct {
	Unit       string             `json:"unit"` // "us"
	MemoryMB   int                `json:"memory_mb"`
	Allocators []AllocatorSummary `json:"allocators"`
}

// AllocatorSummary is one allocator's statistics over its boots.
type AllocatorSummary struct {
	Allocator  string             `json:"allocator"`
	Label      string             `json:"label"`
	Source     string             `json:"source"` // the trace file
	Components []ComponentSummary `json:"components"`
	// Total is the per-boot total (the guest boot time up to main()).
	Total stats.Summary `json:"total"`
}

// ComponentSummary is one component's statistics over the boots.
type ComponentSummary struct {
	Component string `json:"component"`
	stats.Summary
}

// Summary implements figure.Dataset.
func (d *Dataset) Summary() any {
	s := Summary{Unit: "us", MemoryMB: MemoryMB}
	for _, se := range d.Series {
		a := AllocatorSummary{Allocator: se.Name, Label: se.Label, Source: se.Trace.File, Total: stats.Summarize(se.Trace.Totals())}
		for _, c := range Components {
			a.Components = append(a.Components, ComponentSummary{Component: c.String(), Summary: stats.Summarize(se.Trace.Values(c))})
		}
		s.Allocators = append(s.Allocators, a)
	}
	return s
}

// byTotal returns the allocators' names sorted by mean total boot time, fastest first.
func (d *Dataset) byTotal() []string {
	names := make([]string, len(d.Series))
	for i, s := range d.Series {
		names[i] = s.Name
	}
	sort.SliceStable(names, func(i, j int) bool { return d.series(names[i]).Mean.Total() < d.series(names[j]).Mean.Total() })
	return names
}
