package vmm

// Accelerators.
const (
	KVM = "kvm"
	TCG = "tcg" // software emulation: timings are not comparable with the paper
)
