package host

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// CPUChoice is the set of CPUs measurements run on and why those.
type CPUChoice struct {
	CPUs     []int  `json:"cpus"`
	Isolated bool   `json:"isolated"` // every chosen CPU is isolated from the scheduler
	Reason   string `json:"reason"`
}

// String gives the CPUs as a kernel CPU list ("4-7").
func (c CPUChoice) String() string { return FormatCPUList(c.CPUs) }

// ChooseCPUs picks n CPUs of this machine for a measurement; see Sys.ChooseCPUs.
func ChooseCPUs(n int) (CPUChoice, error) { return Real().ChooseCPUs(n) }

// ChooseCPUs picks n CPUs for a measurement. Isolated CPUs (isolcpus=) come first, because
// nothing else is scheduled there. Without enough of them it takes the highest-numbered
// online CPUs other than CPU 0, which carries most of the kernel's housekeeping (timers,
// unbound work, the IRQs the firmware routes there); CPU 0 is used only when nothing else
// is left. The reason says which case applied, for the run's manifest.
func (s Sys) ChooseCPUs(n int) (CPUChoice, error) {
	if n < 1 {
		return CPUChoice{}, fmt.Errorf("choose CPUs: need at least 1 CPU, asked for %d", n)
	}
	online, err := s.cpuList("sys/devices/system/cpu/online")
	if err != nil {
		return CPUChoice{}, fmt.Errorf("choose CPUs: %w", err)
	}
	if len(online) < n {
		return CPUChoice{}, fmt.Errorf("choose CPUs: %d CPUs needed but only %d online (%s); lower the CPU count or use a larger host",
			n, len(online), FormatCPUList(online))
	}
	isolated, err := s.cpuList("sys/devices/system/cpu/isolated")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return CPUChoice{}, fmt.Errorf("choose CPUs: %w", err)
	}
	isolated = intersect(isolated, online)
	if len(isolated) >= n {
		c := isolated[:n]
		return CPUChoice{CPUs: c, Isolated: true,
			Reason: fmt.Sprintf("isolated CPUs %s (isolated: %s)", FormatCPUList(c), FormatCPUList(isolated))}, nil
	}
	// Isolated CPUs first, then the others from the highest number down, CPU 0 last.
	rest := slices.Clone(online)
	slices.Reverse(rest)
	rest = slices.DeleteFunc(rest, func(c int) bool { return slices.Contains(isolated, c) })
	if i := slices.Index(rest, 0); i >= 0 {
		rest = append(slices.Delete(rest, i, i+1), 0)
	}
	c := append(slices.Clone(isolated), rest[:n-len(isolated)]...)
	slices.Sort(c)
	var reason string
	switch {
	case len(isolated) > 0:
		reason = fmt.Sprintf("only %d isolated CPU(s) (%s) for %d needed: added non-isolated CPUs; isolate more with isolcpus=",
			len(isolated), FormatCPUList(isolated), n)
	default:
		reason = "no isolated CPUs: highest-numbered online CPUs other than CPU 0"
	}
	if slices.Contains(c, 0) {
		reason += "; CPU 0 included because the host has too few CPUs"
	}
	return CPUChoice{CPUs: c, Reason: reason}, nil
}

// cpuList reads a file in the kernel's CPU list format.
func (s Sys) cpuList(rel string) ([]int, error) {
	b, err := os.ReadFile(s.path(rel))
	if err != nil {
		return nil, err
	}
	l, err := ParseCPUList(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join("/", rel), err)
	}
	return l, nil
}

// ParseCPUList parses the kernel's CPU list format ("0-3,5,8-9"). An empty list, or the
// "(null)" the kernel prints for an unset nohz_full, is no CPU.
func ParseCPUList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "(null)" {
		return nil, nil
	}
	var cpus []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("CPU list %q: %q is not a CPU number", s, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("CPU list %q: bad range %q", s, part)
			}
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	slices.Sort(cpus)
	return slices.Compact(cpus), nil
}

// FormatCPUList writes cpus in the kernel's CPU list format, ranges collapsed ("4-7,9").
func FormatCPUList(cpus []int) string {
	c := slices.Compact(slices.Sorted(slices.Values(cpus)))
	var parts []string
	for i := 0; i < len(c); {
		j := i
		for j+1 < len(c) && c[j+1] == c[j]+1 {
			j++
		}
		switch {
		case j == i:
			parts = append(parts, strconv.Itoa(c[i]))
		default:
			parts = append(parts, fmt.Sprintf("%d-%d", c[i], c[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// parseCPUMask parses a hexadecimal CPU mask as in /proc/irq/default_smp_affinity
// ("ff,ffffffff": 32-bit groups, most significant first).
func parseCPUMask(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	groups := strings.Split(s, ",")
	var cpus []int
	for i := range groups {
		g := groups[len(groups)-1-i]
		v, err := strconv.ParseUint(g, 16, 32)
		if err != nil {
			return nil, fmt.Errorf("CPU mask %q: %q is not a 32-bit hex group", s, g)
		}
		for bit := range 32 {
			if v&(1<<bit) != 0 {
				cpus = append(cpus, i*32+bit)
			}
		}
	}
	return cpus, nil
}

// formatCPUMask is the inverse of parseCPUMask.
func formatCPUMask(cpus []int) string {
	if len(cpus) == 0 {
		return "0"
	}
	groups := make([]uint32, slices.Max(cpus)/32+1)
	for _, c := range cpus {
		groups[c/32] |= 1 << (c % 32)
	}
	parts := make([]string, len(groups))
	for i, g := range groups {
		f := "%08x"
		if i == len(groups)-1 {
			f = "%x"
		}
		parts[len(groups)-1-i] = fmt.Sprintf(f, g)
	}
	return strings.Join(parts, ",")
}

func intersect(a, b []int) []int {
	var out []int
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func without(a, b []int) []int {
	return slices.DeleteFunc(slices.Clone(a), func(x int) bool { return slices.Contains(b, x) })
}
