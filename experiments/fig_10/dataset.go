package fig10

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/stats"
)

// NotRun is the reason given for a VMM without a result file in a run directory.
const NotRun = "not run"

// Series is one VMM's boots.
type Series struct {
	VMM
	Boots []BootTime // in the order of the file; nil when the VMM was not run
	// Missing says why the VMM has no data ("" when it ran): NotRun, or Failed (every boot
	// failed). Reason gives the details the run step recorded (series.json), e.g. "solo5-hvt:
	// binary not found …"; empty when the run directory does not say.
	Missing string
	Reason  string
	// Planned and FailedBoots count the run step's boots (series.json; 0 when unknown):
	// a series with failed boots has fewer Boots than planned.
	Planned     int
	FailedBoots int
	// NoTSCLeaf is set when series.json says the guest had no CPUID leaf 0x40000010 (always
	// under TCG): Unikraft then calibrates its TSC against the PIT for 100 ms, inside the
	// guest part.
	NoTSCLeaf bool
	Guest     string // the guest's key (series.json), e.g. "firecracker-0.13"
}

// Why is the reason a series has no data, with the details when known ("not run: …").
func (s Series) Why() string {
	if s.Reason == "" {
		return s.Missing
	}
	return s.Missing + ": " + s.Reason
}

// Ran reports whether the series has data.
func (s Series) Ran() bool { return s.Missing == "" && len(s.Boots) > 0 }

// Stats summarises the series' VMM part, guest part and per-boot total, in µs.
func (s Series) Stats() (vmm, guest, total stats.Summary) {
	var v, g, t []float64
	for _, x := range s.Boots {
		v, g, t = append(v, x.VMMus), append(g, x.GuestUs), append(t, x.TotalUs())
	}
	return stats.Summarize(v), stats.Summarize(g), stats.Summarize(t)
}

// Dataset is Figure 10's data: one series per VMM, in plot order, with or without data.
type Dataset struct {
	Provenance figure.Provenance
	Series     []Series // one per VMMs entry, same order
}

// Paper loads the paper's data embedded in the binary. All five VMMs must be present.
func Paper() (*Dataset, error) {
	d := &Dataset{Provenance: figure.Paper}
	for _, v := range VMMs {
		name := path.Join("paper", "results", v.File())
		f, err := PaperFiles().Open(path.Join("results", v.File()))
		if err != nil {
			return nil, fmt.Errorf("fig10: the paper's data for %s is missing from the build (%s): %w", v.Label, name, err)
		}
		samples, err := ReadTSV(filepath.Join("experiments", "fig_10", name), f)
		f.Close()
		if err != nil {
			return nil, err
		}
		d.Series = append(d.Series, Series{VMM: v, Boots: samples})
	}
	return d, nil
}

// Load reads a run directory written by the run step: <vmm>.csv per VMM in the result-file
// format, manifest.json when present (run id, accelerator, fixture) and series.json when
// present (why a VMM did not run, how many boots failed). A VMM without a file was not run,
// which is allowed (a user may run a subset, a host may lack a VMM); a directory with none of
// the files is not a Figure 10 run.
func Load(runDir string) (*Dataset, error) {
	fi, err := os.Stat(runDir)
	if err != nil {
		return nil, fmt.Errorf("fig10: run directory %s: %w (measure one with `go tool mage fig10:run`)", runDir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("fig10: %s is not a directory: expected a run directory results/fig_10/<run-id>", runDir)
	}
	d := &Dataset{Provenance: figure.Provenance{Source: "run", RunID: filepath.Base(runDir)}}
	switch m, err := results.ReadManifest(runDir); {
	case err == nil:
		if m.RunID != "" {
			d.Provenance.RunID = m.RunID
		}
		d.Provenance.Accel, d.Provenance.Fixture = m.Accel, m.Fixture
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("fig10: %w", err)
	}
	status, err := ReadStatus(runDir)
	if err != nil {
		return nil, fmt.Errorf("fig10: %w", err)
	}
	ran := 0
	for _, v := range VMMs {
		s := Series{VMM: v}
		var st SeriesStatus
		if status != nil {
			st, _ = status.Get(v.Key)
			s.Planned, s.FailedBoots, s.Guest = st.Planned, st.Failed, st.Guest
			s.NoTSCLeaf = st.TSCLeaf != nil && !*st.TSCLeaf
		}
		p := filepath.Join(runDir, v.File())
		samples, err := ReadFile(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			s.Missing, s.Reason = NotRun, st.Reason
			if st.Status == Failed {
				s.Missing = Failed
			}
			d.Series = append(d.Series, s)
			continue
		case err != nil:
			return nil, err
		}
		if st.Status != "" && st.Status != Ran {
			return nil, fmt.Errorf("fig10: %s exists but %s says %s was %s", p, filepath.Join(runDir, SeriesFile), v.Key, st.Status)
		}
		s.Boots = samples
		d.Series = append(d.Series, s)
		ran++
	}
	if ran == 0 {
		var files []string
		for _, v := range VMMs {
			files = append(files, v.File())
		}
		return nil, fmt.Errorf("fig10: %s holds none of %s: not a Figure 10 run directory (measure one with `go tool mage fig10:run`)",
			runDir, strings.Join(files, ", "))
	}
	return d, nil
}

// Write writes the result file <vmm>.csv of every series with boots into dir (a run
// directory), each atomically, in the paper's format; it tries every file and returns the
// errors of all that failed.
func (d *Dataset) Write(dir string) error {
	var errs []error
	for _, s := range d.Series {
		if len(s.Boots) == 0 {
			continue
		}
		b, err := FormatTSV(s.Boots)
		if err == nil {
			err = results.WriteFileAtomic(filepath.Join(dir, s.File()), b, 0o644)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Calibrating lists the labels of the series that ran and whose guest part includes the
// PIT calibration of a guest without the TSC-frequency leaf (see Series.NoTSCLeaf).
func (d *Dataset) Calibrating() []string {
	var out []string
	for _, s := range d.Series {
		if s.Ran() && s.NoTSCLeaf {
			out = append(out, s.Label)
		}
	}
	return out
}

// calibrationNote says what the guest part of those series holds.
func calibrationNote(labels []string) string {
	return "guest part (" + strings.Join(labels, ", ") + ") includes a 100 ms TSC calibration on the PIT " +
		"(no CPUID 0x40000010, as always under TCG)"
}

// Get returns the series of the VMM with the given key (the zero Series if there is none).
func (d *Dataset) Get(key string) Series {
	for _, s := range d.Series {
		if s.Key == key {
			return s
		}
	}
	return Series{}
}

// Summary is what summary.json holds for Figure 10. Every duration is in microseconds,
// as the field names say.
type Summary struct {
	Figure     string            `json:"figure"`
	Provenance figure.Provenance `json:"provenance"`
	Series     []SeriesSummary   `json:"series"`
}

// SeriesSummary is one VMM's statistics over its boots.
type SeriesSummary struct {
	VMM     string         `json:"vmm"`
	Label   string         `json:"label"`
	Missing string         `json:"missing,omitempty"` // why there is no data, e.g. "not run"
	Reason  string         `json:"reason,omitempty"`  // the details, e.g. "needs KVM (ACCEL=tcg)"
	Planned int            `json:"planned,omitempty"` // boots the run step planned (0: unknown)
	Failed  int            `json:"failed,omitempty"`  // of which failed
	VMMus   *stats.Summary `json:"vmm_us,omitempty"`
	GuestUs *stats.Summary `json:"guest_us,omitempty"`
	// TotalUs summarises the per-boot sums vmm_us+guest_us (its mean is the bar height).
	TotalUs *stats.Summary `json:"total_us,omitempty"`
}

// Summary returns the statistics per VMM (a Summary).
func (d *Dataset) Summary() any {
	out := Summary{Figure: Figure.ID, Provenance: d.Provenance}
	for _, s := range d.Series {
		ss := SeriesSummary{VMM: s.Key, Label: s.Label, Missing: s.Missing, Reason: s.Reason, Planned: s.Planned, Failed: s.FailedBoots}
		if s.Ran() {
			v, g, t := s.Stats()
			ss.VMMus, ss.GuestUs, ss.TotalUs = &v, &g, &t
		}
		out.Series = append(out.Series, ss)
	}
	return out
}
