package tsc

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// monoRaw reads CLOCK_MONOTONIC_RAW: the clock NTP does not slew, so a window's length is
// what the clock source (itself often the TSC, scaled once at boot) counted.
func monoRaw() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC_RAW, &ts); err != nil {
		return 0, err
	}
	return ts.Nano(), nil
}

// stamp reads the TSC between two clock readings and returns it with the clock's
// midpoint, so that the clock read's own cost does not bias the window.
func stamp() (tsc uint64, ns int64, err error) {
	a, err := monoRaw()
	if err != nil {
		return 0, 0, err
	}
	tsc = rdtsc()
	b, err := monoRaw()
	return tsc, a + (b-a)/2, err
}

// calibrate measures n windows of length w and returns their TSC frequencies in MHz. The
// thread is pinned to one CPU of its affinity for the duration (restored after), so that
// both readings of a window come from the same CPU's counter.
func calibrate(ctx context.Context, n int, w time.Duration) ([]float64, string, error) {
	if c, _ := readCPUID(); !c.TSC {
		return nil, "", errors.New("tsc: this CPU reports no time-stamp counter (CPUID 1 EDX bit 4)")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pinned := ""
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err == nil {
		for cpu := 0; cpu < 1024; cpu++ {
			if old.IsSet(cpu) {
				var one unix.CPUSet
				one.Set(cpu)
				if unix.SchedSetaffinity(0, &one) == nil {
					pinned = fmt.Sprintf("CPU %d", cpu)
					defer func() {
						if err := unix.SchedSetaffinity(0, &old); err != nil {
							// A thread left pinned inside the Go runtime would skew everything after.
							panic("tsc: restore CPU affinity: " + err.Error())
						}
					}()
				}
				break
			}
		}
	}
	var out []float64
	for range n {
		if err := ctx.Err(); err != nil {
			return nil, pinned, fmt.Errorf("tsc: calibration interrupted: %w", context.Cause(ctx))
		}
		c0, t0, err := stamp()
		if err != nil {
			return nil, pinned, fmt.Errorf("tsc: clock_gettime(CLOCK_MONOTONIC_RAW): %w", err)
		}
		time.Sleep(w)
		c1, t1, err := stamp()
		if err != nil {
			return nil, pinned, fmt.Errorf("tsc: clock_gettime(CLOCK_MONOTONIC_RAW): %w", err)
		}
		out = append(out, ticksPerMicro(c0, c1, t0, t1))
	}
	return out, pinned, nil
}
