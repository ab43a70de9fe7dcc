//go:build !(linux && amd64)

package tsc

import (
	"context"
	"errors"
	"time"
)

// errUnsupported: the bundle reads the TSC with x86-64 instructions and calibrates it
// against Linux's CLOCK_MONOTONIC_RAW.
var errUnsupported = errors.New("tsc: cannot measure the TSC frequency here: the bundle reads it only on Linux on x86-64 (Figure 22 measures x86 TSC cycles)")

func readCPUID() (CPUID, error) { return CPUID{}, errUnsupported }

func calibrate(context.Context, int, time.Duration) ([]float64, string, error) {
	return nil, "", errUnsupported
}
