package vmm

import (
	"fmt"
	"os"
)

// Accelerators.
const (
	KVM = "kvm"
	TCG = "tcg" // software emulation: timings are not comparable with the paper
)

// AccelFromEnv reads ACCEL: "kvm" (the default) or "tcg". TCG is used only when asked.
func AccelFromEnv() (string, error) {
	switch a := os.Getenv("ACCEL"); a {
	case "", KVM:
		return KVM, nil
	case TCG:
		return TCG, nil
	default:
		return "", fmt.Errorf("ACCEL=%q: expected kvm (the default) or tcg (software emulation, not comparable with the paper)", a)
	}
}
