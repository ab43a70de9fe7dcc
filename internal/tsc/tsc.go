// Package tsc measures the host's time-stamp-counter frequency, which converts Figure 22's
// cycle counts to nanoseconds.
//
// The original artifact read it with turbostat (tools/tsc_mhz), which needs the msr module
// and root. Here the frequency comes from the CPU itself where it says it — CPUID leaf 0x15
// (TSC/crystal ratio × crystal frequency), else leaf 0x16 (base frequency, which Intel's
// TSC runs at), else the hypervisor's leaf 0x40000010 in a VM — and is always also
// calibrated against CLOCK_MONOTONIC_RAW. A CPUID value is used only when the calibration
// agrees with it within Agreement; otherwise the calibration is, with a warning. Every
// reading is kept in the Measurement for the run's records.
package tsc

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/stats"
)

// Agreement is how far (relative) a CPUID value may be from the calibration and still be
// trusted. A calibration over 100 ms windows is good to well under 0.1%; a leaf 0x16 base
// frequency that is not the TSC's is off by far more than 1%.
const Agreement = 0.01

// Methods, as recorded in Measurement.Method.
const (
	MethodLeaf15      = "cpuid-0x15"       // TSC/crystal ratio × crystal Hz
	MethodLeaf16      = "cpuid-0x16"       // processor base frequency
	MethodHypervisor  = "cpuid-0x40000010" // the hypervisor's TSC frequency (in a VM)
	MethodCalibration = "calibration"      // TSC ticks over CLOCK_MONOTONIC_RAW
)

// CPUID holds the CPUID leaves that say something about the TSC.
type CPUID struct {
	Vendor       string `json:"vendor"`
	MaxLeaf      uint32 `json:"max_leaf"`
	TSC          bool   `json:"tsc"`
	RDTSCP       bool   `json:"rdtscp"`
	InvariantTSC bool   `json:"invariant_tsc"`
	Hypervisor   bool   `json:"hypervisor"`
	HypervisorID string `json:"hypervisor_id,omitempty"`
	// HypervisorTSCkHz is leaf 0x40000010 EAX (0 when the hypervisor has no such leaf).
	HypervisorTSCkHz uint32  `json:"hypervisor_tsc_khz,omitempty"`
	Leaf15           *Leaf15 `json:"leaf_0x15,omitempty"`
	Leaf16           *Leaf16 `json:"leaf_0x16,omitempty"`
}

// Leaf15 is CPUID leaf 0x15: TSC frequency = CrystalHz × Numerator / Denominator.
type Leaf15 struct {
	Denominator uint32 `json:"eax_denominator"`
	Numerator   uint32 `json:"ebx_numerator"`
	CrystalHz   uint32 `json:"ecx_crystal_hz"` // 0 when the CPU does not enumerate it
}

// MHz is the TSC frequency the leaf gives, and whether it gives one (all three fields set).
func (l *Leaf15) MHz() (float64, bool) {
	if l == nil || l.Denominator == 0 || l.Numerator == 0 || l.CrystalHz == 0 {
		return 0, false
	}
	return float64(l.CrystalHz) * float64(l.Numerator) / float64(l.Denominator) / 1e6, true
}

// Leaf16 is CPUID leaf 0x16: processor base, maximum and bus frequencies in MHz.
type Leaf16 struct {
	BaseMHz uint32 `json:"eax_base_mhz"`
	MaxMHz  uint32 `json:"ebx_max_mhz"`
	BusMHz  uint32 `json:"ecx_bus_mhz"`
}

// Candidate is one CPUID-derived frequency and how it compared with the calibration.
type Candidate struct {
	Method string  `json:"method"`
	MHz    float64 `json:"mhz"`
	// Deviation is (MHz − calibrated) / calibrated.
	Deviation float64 `json:"deviation"`
	Agrees    bool    `json:"agrees"`
}

// Measurement is the TSC frequency and everything it was derived from.
type Measurement struct {
	// MHz is the frequency used, rounded to an integer as tsc_mhz.txt holds it.
	MHz int `json:"mhz"`
	// Exact is the unrounded frequency of Method.
	Exact  float64 `json:"mhz_exact"`
	Method string  `json:"method"`
	// Calibrated is the median of the calibration windows; Windows their values (MHz).
	Calibrated float64       `json:"calibrated_mhz"`
	Windows    []float64     `json:"calibration_windows_mhz"`
	Window     time.Duration `json:"calibration_window_ns"`
	// Pinned says whether the calibration ran pinned to one CPU (and which).
	Pinned     string      `json:"pinned,omitempty"`
	Candidates []Candidate `json:"cpuid_candidates,omitempty"`
	CPUID      CPUID       `json:"cpuid"`
	// Warning is set when the calibration was used because no CPUID value agreed with it
	// or none exists; it is printed on the terminal.
	Warning string `json:"warning,omitempty"`
}

// Choose picks the frequency from the CPUID leaves in c and the calibration windows
// (MHz): the first CPUID value (0x15, 0x16, 0x40000010) within Agreement of the windows'
// median, else the median with a warning.
func Choose(c CPUID, windows []float64) (Measurement, error) {
	if len(windows) == 0 {
		return Measurement{}, errors.New("tsc: no calibration window")
	}
	for _, w := range windows {
		if !(w > 0) || math.IsInf(w, 0) {
			return Measurement{}, fmt.Errorf("tsc: calibration window of %g MHz: the TSC or the clock did not advance", w)
		}
	}
	med := stats.Median(windows)
	m := Measurement{Calibrated: med, Windows: windows, CPUID: c}
	var cands []Candidate
	if mhz, ok := c.Leaf15.MHz(); ok {
		cands = append(cands, Candidate{Method: MethodLeaf15, MHz: mhz})
	}
	if c.Leaf16 != nil && c.Leaf16.BaseMHz != 0 {
		cands = append(cands, Candidate{Method: MethodLeaf16, MHz: float64(c.Leaf16.BaseMHz)})
	}
	if c.HypervisorTSCkHz != 0 {
		cands = append(cands, Candidate{Method: MethodHypervisor, MHz: float64(c.HypervisorTSCkHz) / 1000})
	}
	for i := range cands {
		cands[i].Deviation = (cands[i].MHz - med) / med
		cands[i].Agrees = math.Abs(cands[i].Deviation) <= Agreement
		if cands[i].Agrees && m.Method == "" {
			m.Method, m.Exact = cands[i].Method, cands[i].MHz
		}
	}
	m.Candidates = cands
	if m.Method == "" {
		m.Method, m.Exact = MethodCalibration, med
		if len(cands) == 0 {
			m.Warning = fmt.Sprintf("no CPUID leaf gives the TSC frequency here; using the calibration against CLOCK_MONOTONIC_RAW (%.1f MHz)", med)
		} else {
			var s []string
			for _, x := range cands {
				s = append(s, fmt.Sprintf("%s %.1f MHz (%+.2f%%)", x.Method, x.MHz, x.Deviation*100))
			}
			m.Warning = fmt.Sprintf("no CPUID value agrees with the calibration (%.1f MHz) within %g%%: %v; using the calibration",
				med, Agreement*100, s)
		}
	}
	m.MHz = int(math.Round(m.Exact))
	return m, nil
}

// String is the measurement in one line, for the terminal.
func (m Measurement) String() string {
	s := fmt.Sprintf("TSC %d MHz (%s", m.MHz, m.Method)
	if m.Method != MethodCalibration {
		s += fmt.Sprintf("; calibration %.1f MHz", m.Calibrated)
	} else {
		s += fmt.Sprintf(": median of %d windows of %v against CLOCK_MONOTONIC_RAW", len(m.Windows), m.Window)
	}
	return s + ")"
}

// ticksPerMicro is the frequency in MHz of a window from TSC c0 at t0 ns to c1 at t1 ns;
// 0 when either did not advance (Choose rejects it).
func ticksPerMicro(c0, c1 uint64, t0, t1 int64) float64 {
	if c1 <= c0 || t1 <= t0 {
		return 0
	}
	return float64(c1-c0) / float64(t1-t0) * 1000
}
