package vmm

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
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

// kvmDevice is the KVM device node (a variable so tests can point it elsewhere).
var kvmDevice = "/dev/kvm"

// kvmGetAPIVersion is KVM_GET_API_VERSION (_IO(0xAE, 0x00)); the stable API answers 12.
const kvmGetAPIVersion = 0xAE00

// CheckKVM opens /dev/kvm and asks its API version, which is what a VMM does first.
func CheckKVM() error {
	fd, err := unix.Open(kvmDevice, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		hint := "load the kvm_intel or kvm_amd module and enable virtualisation in the firmware"
		if os.IsPermission(err) {
			hint = "add your user to the kvm group (then log in again) or run as root"
		}
		return fmt.Errorf("KVM is not usable: open %s: %w; %s, or run with ACCEL=tcg (software emulation, not comparable with the paper)", kvmDevice, err, hint)
	}
	defer unix.Close(fd)
	v, err := unix.IoctlRetInt(fd, kvmGetAPIVersion)
	if err != nil {
		return fmt.Errorf("KVM is not usable: KVM_GET_API_VERSION on %s: %w; run with ACCEL=tcg (software emulation, not comparable with the paper)", kvmDevice, err)
	}
	if v != 12 {
		return fmt.Errorf("KVM is not usable: %s reports API version %d, expected 12; run with ACCEL=tcg (software emulation, not comparable with the paper)", kvmDevice, v)
	}
	return nil
}

// CheckAccel stops a run before its first VM when the accelerator cannot work: KVM is
// checked; TCG needs nothing.
func CheckAccel(accel string) error {
	switch accel {
	case KVM:
		return CheckKVM()
	case TCG:
		return nil
	}
	return fmt.Errorf("accelerator %q: expected kvm or tcg", accel)
}
