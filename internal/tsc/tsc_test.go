package tsc

import (
	"context"
	"math"
	"runtime"
	"strings"
	"testing"
)

// A CPU with a complete leaf 0x15 (Intel Skylake and later): 24 MHz crystal × 300/2 =
// 3600 MHz, which the calibration confirms; it is used, and rounded to an integer.
func TestLeaf15AgreeingWithCalibration(t *testing.T) {
	c := CPUID{TSC: true, Leaf15: &Leaf15{Denominator: 2, Numerator: 300, CrystalHz: 24_000_000}, Leaf16: &Leaf16{BaseMHz: 3600}}
	m, err := Choose(c, []float64{3600.4, 3599.1, 3600.2, 3612, 3600.3})
	if err != nil {
		t.Fatal(err)
	}
	if m.Method != MethodLeaf15 || m.MHz != 3600 || m.Exact != 3600 || m.Warning != "" {
		t.Errorf("got %+v", m)
	}
	if m.Calibrated != 3600.3 {
		t.Errorf("calibration is the median of the windows: %v", m.Calibrated)
	}
	if len(m.Candidates) != 2 || !m.Candidates[1].Agrees {
		t.Errorf("every CPUID value is recorded with its deviation: %+v", m.Candidates)
	}
}

// Leaf 0x15 without the crystal frequency (ECX = 0, e.g. Skylake client parts) is
// incomplete; leaf 0x16's base frequency is the next method.
func TestIncompleteLeaf15FallsToLeaf16(t *testing.T) {
	c := CPUID{Leaf15: &Leaf15{Denominator: 2, Numerator: 300}, Leaf16: &Leaf16{BaseMHz: 2995}}
	m, err := Choose(c, []float64{2995.2})
	if err != nil {
		t.Fatal(err)
	}
	if m.Method != MethodLeaf16 || m.MHz != 2995 || len(m.Candidates) != 1 {
		t.Errorf("got %+v", m)
	}
}

// In a VM the hypervisor's leaf 0x40000010 (kHz) is a CPUID value too.
func TestHypervisorLeaf(t *testing.T) {
	c := CPUID{Hypervisor: true, HypervisorTSCkHz: 1_999_999}
	m, _ := Choose(c, []float64{1999.7, 2000.1, 1999.9})
	if m.Method != MethodHypervisor || m.MHz != 2000 {
		t.Errorf("got %+v", m)
	}
}

// A base frequency that is not the TSC's (more than 1% off) is not trusted: the
// calibration is used, and the warning names what disagreed and by how much.
func TestDisagreementUsesCalibration(t *testing.T) {
	c := CPUID{Leaf16: &Leaf16{BaseMHz: 2100}}
	m, err := Choose(c, []float64{2394.1, 2394.6, 2394.4})
	if err != nil {
		t.Fatal(err)
	}
	if m.Method != MethodCalibration || m.MHz != 2394 || m.Candidates[0].Agrees {
		t.Errorf("got %+v", m)
	}
	for _, want := range []string{"cpuid-0x16 2100.0 MHz", "-12.3", "using the calibration"} {
		if !strings.Contains(m.Warning, want) {
			t.Errorf("warning %q lacks %q", m.Warning, want)
		}
	}
	// Within 1% agrees: 0.9% off.
	m, _ = Choose(CPUID{Leaf16: &Leaf16{BaseMHz: 1009}}, []float64{1000})
	if m.Method != MethodLeaf16 {
		t.Errorf("0.9%% off: %+v", m)
	}
}

// Without any CPUID value (AMD, old CPUs) the calibration is used, with a warning.
func TestNoCPUIDValue(t *testing.T) {
	m, err := Choose(CPUID{Vendor: "AuthenticAMD"}, []float64{3700.2, 3700.8})
	if err != nil {
		t.Fatal(err)
	}
	if m.Method != MethodCalibration || m.Calibrated != 3700.5 || m.MHz != 3701 || !strings.Contains(m.Warning, "no CPUID leaf") {
		t.Errorf("got %+v", m)
	}
}

// A window in which the counter or the clock stood still is an error, never a frequency.
func TestBrokenWindows(t *testing.T) {
	for _, ws := range [][]float64{nil, {3600, 0}, {math.NaN()}, {math.Inf(1)}} {
		if _, err := Choose(CPUID{}, ws); err == nil {
			t.Errorf("%v: no error", ws)
		}
	}
	if f := ticksPerMicro(100, 100, 0, 1000); f != 0 {
		t.Errorf("a TSC that did not advance: %v", f)
	}
	if f := ticksPerMicro(0, 3_600_000, 0, 1_000_000); f != 3600 {
		t.Errorf("3.6 M ticks in 1 ms: %v MHz", f)
	}
}

// The real measurement on this host: plausible, whatever the method. No assertion on
// time or on which method wins (that depends on the CPU and the hypervisor).
func TestMeasureThisHost(t *testing.T) {
	m, err := Measure(context.Background(), Options{Windows: 3})
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		if err == nil {
			t.Fatal("measured on an unsupported platform")
		}
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if m.MHz <= 100 || m.MHz >= 10000 || m.Calibrated <= 100 || m.Calibrated >= 10000 {
		t.Errorf("implausible: %+v", m)
	}
	if len(m.Windows) != 3 || m.CPUID.Vendor == "" {
		t.Errorf("readings not recorded: %+v", m)
	}
	t.Log(m, m.Warning, m.CPUID.Vendor, m.Candidates, m.Pinned)
}
