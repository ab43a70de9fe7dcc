package tsc

import "testing"

// fakeCPU answers CPUID from a table of leaves. A leaf it does not enumerate answers as
// Intel CPUs do, with the data of the highest basic leaf: garbage, never zeros, which is
// why decodeCPUID must check the highest leaves first.
type fakeCPU map[uint32][4]uint32

func (f fakeCPU) cpuid(leaf, _ uint32) (eax, ebx, ecx, edx uint32) {
	r, ok := f[leaf]
	if !ok {
		r = f[f[0][0]]
	}
	return r[0], r[1], r[2], r[3]
}

const (
	rdtscpBit    = 1 << 27 // 0x80000001 EDX
	invariantBit = 1 << 8  // 0x80000007 EDX
)

// "GenuineIntel" in EBX, EDX, ECX of leaf 0.
var genuineIntel = [3]uint32{0x756e6547, 0x49656e69, 0x6c65746e}

// A CPU whose extended leaves stop at 0x80000004 (QEMU's CPU models with a low xlevel, older
// CPUs) still says in 0x80000001 whether it has RDTSCP; there is no invariant-TSC leaf.
func TestRDTSCPWithoutLeaf80000007(t *testing.T) {
	cpu := fakeCPU{
		0:          {0xd, genuineIntel[0], genuineIntel[2], genuineIntel[1]},
		1:          {0, 0, 0, 1 << 4},
		0xd:        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, // what unknown leaves return
		0x80000000: {0x80000004, 0, 0, 0},
		0x80000001: {0, 0, 0, rdtscpBit},
	}
	c := decodeCPUID(cpu.cpuid)
	if !c.RDTSCP || c.InvariantTSC || !c.TSC || c.Vendor != "GenuineIntel" || c.MaxLeaf != 0xd {
		t.Errorf("got %+v", c)
	}
	if c.Leaf15 != nil || c.Leaf16 != nil {
		t.Errorf("leaves above the highest basic leaf are not read: %+v", c)
	}
}

// Without leaf 0x80000001, the garbage an unknown leaf returns does not count as RDTSCP.
func TestNoExtendedLeavesNoRDTSCP(t *testing.T) {
	cpu := fakeCPU{
		0:          {1, genuineIntel[0], genuineIntel[2], genuineIntel[1]},
		1:          {0, 0, 0xffffffff, 0xffffffff},
		0x80000000: {0x80000000, 0, 0, 0},
	}
	c := decodeCPUID(cpu.cpuid)
	if c.RDTSCP || c.InvariantTSC {
		t.Errorf("got %+v", c)
	}
}

// A current CPU in a VM: every leaf read, each flag from its own bit.
func TestAllLeaves(t *testing.T) {
	cpu := fakeCPU{
		0:          {0x16, genuineIntel[0], genuineIntel[2], genuineIntel[1]},
		1:          {0, 0, 1 << 31, 1 << 4},
		0x15:       {2, 300, 24_000_000, 0},
		0x16:       {0x10000 | 3600, 4900, 100, 0},
		0x40000000: {0x40000010, 0x4b4d564b, 0x564b4d56, 0x4d},
		0x40000010: {3_600_000, 0, 0, 0},
		0x80000000: {0x80000008, 0, 0, 0},
		0x80000001: {0, 0, 0, rdtscpBit},
		0x80000007: {0, 0, 0, invariantBit},
	}
	c := decodeCPUID(cpu.cpuid)
	if !c.RDTSCP || !c.InvariantTSC || !c.Hypervisor || c.HypervisorID != "KVMKVMKVM" || c.HypervisorTSCkHz != 3_600_000 {
		t.Errorf("got %+v", c)
	}
	if mhz, ok := c.Leaf15.MHz(); !ok || mhz != 3600 {
		t.Errorf("leaf 0x15: %v %v", mhz, ok)
	}
	if c.Leaf16 == nil || c.Leaf16.BaseMHz != 3600 || c.Leaf16.MaxMHz != 4900 {
		t.Errorf("leaf 0x16: %+v", c.Leaf16)
	}
}
