package host

import (
	"os"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// CheckKVM says what is wrong with KVM and what to do, in the words of Check's KVM rows.
func TestUnusableKVMIsExplained(t *testing.T) {
	h := fakeHost(t, "vm")
	if err := h.CheckKVM(); err != nil {
		t.Errorf("a device that answers API version 12: %v", err)
	}

	notKVM := h
	notKVM.ioctl = nil // the real system call on a regular file: not a KVM device
	noDevice := fakeHost(t, "vm")
	if err := os.Remove(noDevice.path("dev/kvm")); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		s    Sys
		want string
	}{
		"no device": {noDevice, "modprobe kvm_intel"},
		"not KVM":   {notKVM, "KVM API version: ioctl failed"},
	} {
		err := tc.s.CheckKVM()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "ACCEL=tcg") {
			t.Errorf("%s: %v, want %q and ACCEL=tcg", name, err, tc.want)
		}
	}
	if err := CheckAccel(vmm.TCG); err != nil {
		t.Errorf("TCG needs nothing: %v", err)
	}
	if err := CheckAccel("hvf"); err == nil {
		t.Error("an unknown accelerator was accepted")
	}
}
