package tsc

// Implemented in cpuid_linux_amd64.s.
func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)
func rdtsc() uint64

// readCPUID reads this CPU's leaves that say something about the TSC (decodeCPUID).
func readCPUID() (CPUID, error) { return decodeCPUID(cpuid), nil }
