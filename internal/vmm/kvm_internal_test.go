package vmm

import (
	"strings"
	"testing"
)

func TestUnusableKVMIsExplained(t *testing.T) {
	for dev, want := range map[string]string{
		"/nonexistent/kvm": "load the kvm_intel or kvm_amd module",
		"/dev/null":        "KVM_GET_API_VERSION", // opens, but is not KVM
	} {
		kvmDevice = dev
		err := CheckAccel(KVM)
		kvmDevice = "/dev/kvm"
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "ACCEL=tcg") {
			t.Errorf("%s: %v", dev, err)
		}
	}
	if err := CheckAccel(TCG); err != nil {
		t.Errorf("TCG needs nothing: %v", err)
	}
}
