package fig22

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/stats"
)

// Run-directory layout written by the run step and read by Load:
//
//	<run>/unikraft_shfs.csv, unikraft_vfs.csv,   the original's results CSVs (FormatResults),
//	      linux_nomitig-vfs.csv, linux_vfs.csv   computed from raw/ with the original's rules
//	<run>/tsc_mhz.txt                            the host's TSC frequency in MHz (FormatTSC)
//	<run>/raw/<console>.<N>                      console log of boot N of the VM <console>
//	                                             ("unikraft", "linux-nomitig", "linux"; see Consoles)
const RawDir = "raw"

// Dataset is the figure's data: one Result per series, and the TSC frequency its ns
// values were computed with.
type Dataset struct {
	TSCMHz  int
	Results map[string]Result // by Series.ID()
	// Fixture and Accel are the run's (manifest.json): a FIXTURE run or one under software
	// emulation is shown but not judged against the paper. Empty for the paper's data.
	Fixture, Accel string
	// Status is the run step's account of each VM's boots (series.json); nil when unknown.
	Status []SeriesStatus
}

// Value returns the bar of series s in case c.
func (d *Dataset) Value(s Series, c Case) Value { return d.Results[s.ID()][c] }

// HasRuns reports whether per-boot values are present (measured runs with raw logs).
func (d *Dataset) HasRuns() bool {
	for _, r := range d.Results {
		for _, v := range r {
			if len(v.Runs) > 0 {
				return true
			}
		}
	}
	return false
}

// Paper loads the paper's data. Its TSC frequency is the testbed's 3600 MHz, which the
// CSVs imply (every ns value is cycles/3.6) and Load-style checks confirm.
func Paper() (*Dataset, error) {
	d := &Dataset{TSCMHz: PaperTSCMHz, Results: map[string]Result{}}
	for _, s := range AllSeries {
		name := path.Join("paper", "results", s.File())
		b, err := fs.ReadFile(paperFS, name)
		if err != nil {
			return nil, err
		}
		res, err := ParseResults(filepath.Join("experiments", "fig_22", name), bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		d.Results[s.ID()] = res
	}
	return d, nil
}

// Process computes the dataset from per-boot values as the original did
// (do_process_dataset.py): per case, the numpy mean of the integer averages, and the numpy
// mean of each converted to ns at mhz; both rounded to two decimals.
func Process(boots Boots, mhz int) (*Dataset, error) {
	if mhz <= 0 {
		return nil, fmt.Errorf("TSC frequency %d MHz: expected a positive number", mhz)
	}
	d := &Dataset{TSCMHz: mhz, Results: map[string]Result{}}
	for _, s := range AllSeries {
		res := Result{}
		for _, c := range Cases {
			runs := boots[s.ID()][c]
			if len(runs) == 0 {
				return nil, fmt.Errorf("%s, %s: no boot measured this series", s.Name(), c.Text())
			}
			ns := make([]float64, len(runs))
			for i, x := range runs {
				ns[i] = tscNS(x, mhz)
			}
			res[c] = Value{
				Cycles: npRound2(numpyMean(runs)),
				NS:     npRound2(numpyMean(ns)),
				Runs:   append([]float64(nil), runs...),
			}
		}
		d.Results[s.ID()] = res
	}
	return d, nil
}

// FromRaw parses the console logs in rawDir and processes them with the TSC frequency mhz.
// This is what the run step does after the boots, before Write.
func FromRaw(rawDir string, mhz int) (*Dataset, error) {
	boots, err := ParseRaw(rawDir)
	if err != nil {
		return nil, err
	}
	if boots == nil {
		return nil, fmt.Errorf("%s: no console logs (expected %s.<N> files for each VM)", rawDir, Consoles()[0])
	}
	return Process(boots, mhz)
}

// Write writes the results CSVs and tsc_mhz.txt into dir (a run directory), each
// atomically, in the original's formats.
func (d *Dataset) Write(dir string) error {
	for _, s := range AllSeries {
		if err := results.WriteFileAtomic(filepath.Join(dir, s.File()), FormatResults(d.Results[s.ID()]), 0o644); err != nil {
			return err
		}
	}
	return results.WriteFileAtomic(filepath.Join(dir, TSCFile), FormatTSC(d.TSCMHz), 0o644)
}

// Load reads a run directory: the results CSVs and tsc_mhz.txt, which must agree with each
// other (ns = cycles at that frequency), and, when raw/ holds console logs, the per-boot
// values, which must give exactly the CSVs' means. A run directory whose parts disagree
// was edited or mixed up, and plotting it would misrepresent the run.
func Load(dir string) (*Dataset, error) {
	tscPath := filepath.Join(dir, TSCFile)
	f, err := os.Open(tscPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (a complete run directory records the TSC frequency; rerun the run step)", dir, err)
	}
	mhz, err := ParseTSC(tscPath, f)
	f.Close()
	if err != nil {
		return nil, err
	}
	d := &Dataset{TSCMHz: mhz, Results: map[string]Result{}}
	for _, s := range AllSeries {
		p := filepath.Join(dir, s.File())
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%w (every run directory holds the four results CSVs %s, …)", err, AllSeries[0].File())
		}
		res, err := ParseResults(p, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		if err := checkNS(p, res, mhz); err != nil {
			return nil, err
		}
		d.Results[s.ID()] = res
	}
	if err := d.readRunRecords(dir); err != nil {
		return nil, err
	}
	boots, err := ParseRaw(filepath.Join(dir, RawDir))
	if err != nil || boots == nil {
		return d, err
	}
	fromRaw, err := Process(boots, mhz)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, RawDir), err)
	}
	for _, s := range AllSeries {
		for _, c := range Cases {
			csv, raw := d.Results[s.ID()][c], fromRaw.Results[s.ID()][c]
			if csv.Cycles != raw.Cycles || csv.NS != raw.NS {
				return nil, figure.Errorf(filepath.Join(dir, s.File()), 0,
					"%s: the CSV says %s cycles / %s ns, the console logs in %s give %s / %s: the CSVs do not come from these logs (rerun the run step)",
					c, pyStr(csv.Cycles), pyStr(csv.NS), RawDir, pyStr(raw.Cycles), pyStr(raw.NS))
			}
		}
	}
	fromRaw.Fixture, fromRaw.Accel, fromRaw.Status = d.Fixture, d.Accel, d.Status
	return fromRaw, nil
}

// readRunRecords reads what the run step recorded besides the data: the fixture and the
// accelerator (manifest.json) and the boots' account (series.json). A directory without
// them (the paper's files, a run copied by hand) has none.
func (d *Dataset) readRunRecords(dir string) error {
	st, err := readStatus(dir)
	if err != nil {
		return err
	}
	d.Status = st
	m, err := results.ReadManifest(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	d.Fixture, d.Accel = m.Fixture, m.Accel
	return nil
}

// checkNS checks that each row's ns is its cycles at mhz. The ns column is the mean of the
// per-boot conversions, equal to mean cycles / GHz before rounding; both columns are then
// rounded to 0.01, so ns may differ from cycles/GHz by 0.005 (its own rounding) plus
// 0.005/GHz (the cycles' rounding), plus float noise.
func checkNS(file string, res Result, mhz int) error {
	ghz := float64(mhz) / 1000
	for _, c := range Cases {
		v := res[c]
		want := v.Cycles / ghz
		if math.Abs(v.NS-want) > 0.005+0.005/ghz+1e-9*want {
			return figure.Errorf(file, 0, "%s: %s ns is not %s cycles at the TSC frequency %d MHz from %s (expected %.2f ns): the CSV and %s are from different runs",
				c, pyStr(v.NS), pyStr(v.Cycles), mhz, TSCFile, want, TSCFile)
		}
	}
	return nil
}

// SeriesSummary is one bar in summary.json.
type SeriesSummary struct {
	Series string  `json:"series"` // Series.ID(), e.g. "unikraft_shfs"
	Name   string  `json:"name"`   // e.g. "Unikraft SHFS"
	Case   Case    `json:"case"`
	Cycles float64 `json:"cycles"` // mean TSC cycles per open(), as in the CSV
	NS     float64 `json:"ns"`     // mean ns per open() at tsc_mhz, as in the CSV
	// Boots summarises the per-boot integer averages (cycles); absent for the paper's data.
	Boots *stats.Summary `json:"boots_cycles,omitempty"`
	// Values are the per-boot integer averages themselves (cycles), in boot order: what the
	// mean and the plot's whiskers come from, kept so that a run's spread can be read (and
	// recomputed) without parsing raw/. Absent for the paper's data, which kept means only.
	Values []int64 `json:"boots,omitempty"`
}

// Summary is the figure's summary.json.
type Summary struct {
	TSCMHz int             `json:"tsc_mhz"`
	Series []SeriesSummary `json:"series"`
}

// Summary returns the statistics per series and case, in plot order.
func (d *Dataset) Summary() any {
	out := Summary{TSCMHz: d.TSCMHz}
	for _, s := range AllSeries {
		for _, c := range Cases {
			v := d.Value(s, c)
			ss := SeriesSummary{Series: s.ID(), Name: s.Name(), Case: c, Cycles: v.Cycles, NS: v.NS}
			if len(v.Runs) > 0 {
				st := stats.Summarize(v.Runs)
				ss.Boots = &st
				for _, x := range v.Runs {
					ss.Values = append(ss.Values, int64(x)) // integers already: parse.sh's integer part
				}
			}
			out.Series = append(out.Series, ss)
		}
	}
	return out
}
