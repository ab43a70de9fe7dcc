package tsc

import (
	"context"
	"time"
)

// Defaults of Options.
const (
	DefaultWindows = 5
	DefaultWindow  = 100 * time.Millisecond
)

// Options configure Measure.
type Options struct {
	Windows int           // calibration windows (DefaultWindows when 0)
	Window  time.Duration // length of each (DefaultWindow when 0)
}

// Measure reads the CPUID leaves, calibrates the TSC against CLOCK_MONOTONIC_RAW (pinned
// to one CPU when the affinity can be set) and chooses the frequency (Choose). It takes
// about Windows × Window. On a host where the bundle cannot read the TSC (not Linux on
// x86-64) it returns an error saying so.
func Measure(ctx context.Context, o Options) (Measurement, error) {
	if o.Windows <= 0 {
		o.Windows = DefaultWindows
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	c, err := readCPUID()
	if err != nil {
		return Measurement{}, err
	}
	windows, pinned, err := calibrate(ctx, o.Windows, o.Window)
	if err != nil {
		return Measurement{}, err
	}
	m, err := Choose(c, windows)
	m.Window, m.Pinned = o.Window, pinned
	return m, err
}
