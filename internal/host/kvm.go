package host

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// KVM ioctl numbers (linux/kvm.h; _IO(KVMIO=0xAE, n) has no size or direction bits).
const (
	kvmGetAPIVersion = 0xAE00
	kvmCreateVM      = 0xAE01
	kvmCreateVCPU    = 0xAE41
	kvmGetTSCKHz     = 0xAEA3
)

func (s Sys) kvmIoctl(fd, req, arg uintptr) (uintptr, error) {
	if s.ioctl != nil {
		return s.ioctl(fd, req, arg)
	}
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, req, arg)
	if errno != 0 {
		return 0, errno
	}
	return r, nil
}

// kvmTSCKHz asks KVM for the TSC frequency it gives a new vCPU, which with a constant TSC is
// the host's own TSC frequency as the kernel calibrated it (tsc_khz). It creates a VM and one
// vCPU and closes both; nothing runs.
func (s Sys) kvmTSCKHz() (int64, error) {
	f, err := os.OpenFile(s.path("dev/kvm"), os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	vm, err := s.kvmIoctl(f.Fd(), kvmCreateVM, 0)
	if err != nil {
		return 0, fmt.Errorf("KVM_CREATE_VM: %w", err)
	}
	defer unix.Close(int(vm))
	vcpu, err := s.kvmIoctl(vm, kvmCreateVCPU, 0)
	if err != nil {
		return 0, fmt.Errorf("KVM_CREATE_VCPU: %w", err)
	}
	defer unix.Close(int(vcpu))
	khz, err := s.kvmIoctl(vcpu, kvmGetTSCKHz, 0)
	if err != nil {
		return 0, fmt.Errorf("KVM_GET_TSC_KHZ: %w", err)
	}
	return int64(khz), nil
}

// CheckKVM checks this machine's KVM; see Sys.CheckKVM.
func CheckKVM() error { return Real().CheckKVM() }

// CheckKVM opens the KVM device read-write and asks its API version, which is what a VMM
// does first. It is the "KVM device" and "KVM API version" rows of Check, turned into an
// error that says what is wrong and what to do.
func (s Sys) CheckKVM() error {
	c := &checker{s: s}
	c.info, c.infoErr = s.cpuInfo() // the hints name the vendor's module
	for _, row := range []func() Setting{c.kvmDevice, c.kvmAPI} {
		if st := row(); st.Status != OK {
			msg := fmt.Sprintf("KVM is not usable: %s: %s; %s", st.Name, st.Found, st.Hint)
			if !strings.Contains(st.Hint, "ACCEL=tcg") {
				msg += "; or run with ACCEL=tcg (software emulation, not comparable with the paper)"
			}
			return errors.New(msg)
		}
	}
	return nil
}

// CheckAccel stops a run before its first VM when the accelerator cannot work: KVM is
// checked; TCG needs nothing.
func CheckAccel(accel string) error {
	switch accel {
	case vmm.KVM:
		return CheckKVM()
	case vmm.TCG:
		return nil
	}
	return fmt.Errorf("accelerator %q: expected kvm or tcg", accel)
}
