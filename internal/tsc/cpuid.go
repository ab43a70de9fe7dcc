package tsc

import "strings"

// cpuidFunc executes CPUID for a leaf and sub-leaf and returns EAX, EBX, ECX, EDX.
type cpuidFunc func(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

// decodeCPUID reads, through cpuid, the leaves that may give the TSC frequency or say how
// the TSC can be read. It is apart from the instruction so that tests can feed it the
// leaves of CPUs other than the one they run on. Each leaf is read only when the CPU
// enumerates it (highest basic leaf from leaf 0, highest extended leaf from 0x80000000):
// an unsupported leaf returns another leaf's data, not zeros.
func decodeCPUID(cpuid cpuidFunc) CPUID {
	var c CPUID
	maxBasic, b, cx, d := cpuid(0, 0)
	c.Vendor = string(le32(b)) + string(le32(d)) + string(le32(cx))
	c.MaxLeaf = maxBasic
	if maxBasic >= 1 {
		_, _, ecx, edx := cpuid(1, 0)
		c.Hypervisor = ecx&(1<<31) != 0
		c.TSC = edx&(1<<4) != 0
	}
	maxExt, _, _, _ := cpuid(0x80000000, 0)
	if maxExt >= 0x80000001 {
		_, _, _, edx := cpuid(0x80000001, 0)
		c.RDTSCP = edx&(1<<27) != 0
	}
	if maxExt >= 0x80000007 {
		_, _, _, edx := cpuid(0x80000007, 0)
		c.InvariantTSC = edx&(1<<8) != 0
	}
	if maxBasic >= 0x15 {
		den, num, crystal, _ := cpuid(0x15, 0)
		c.Leaf15 = &Leaf15{Denominator: den, Numerator: num, CrystalHz: crystal}
	}
	if maxBasic >= 0x16 {
		base, maxMHz, bus, _ := cpuid(0x16, 0)
		c.Leaf16 = &Leaf16{BaseMHz: base & 0xffff, MaxMHz: maxMHz & 0xffff, BusMHz: bus & 0xffff}
	}
	if c.Hypervisor {
		maxHV, b, cx, d := cpuid(0x40000000, 0)
		c.HypervisorID = strings.TrimRight(string(le32(b))+string(le32(cx))+string(le32(d)), "\x00")
		if maxHV >= 0x40000010 && maxHV < 0x40010000 {
			khz, _, _, _ := cpuid(0x40000010, 0)
			c.HypervisorTSCkHz = khz
		}
	}
	return c
}

func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
