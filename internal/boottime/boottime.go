// Package boottime measures how long a virtual machine takes to boot, split into the time
// the VMM spends before the guest runs and the guest's own time to main(), with stock VMMs.
//
// The paper read these numbers from patched VMMs that were never published. Here the guest
// writes one byte to port 1112 at platform entry and to port 1500 at main() (0x3f0 for
// Firecracker's boot timer), and the host observes those writes, either way:
//
//   - Ftrace (root, tracefs, any VMM under KVM): a private tracing instance records the
//     VMM's exec, its first KVM_RUN ioctl and the kvm_pio events on the marker ports, all
//     on the kernel's CLOCK_MONOTONIC ("mono" trace clock).
//   - Debugcon (QEMU, any accelerator, no root): isa-debugcon devices on the marker ports
//     send each marker byte over a socket; the kernel timestamps its arrival, converted to
//     CLOCK_MONOTONIC, relative to the harness's launch of the VMM (just before the fork).
//
// Both observers can watch the same run; see Boot.
package boottime

import (
	"fmt"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// Marker ports written by the guest (one byte each, outb).
const (
	PortEntry       = 1112  // first statement of the platform entry (_libkvmplat_entry)
	PortMain        = 1500  // first statement of the application's main()
	PortFirecracker = 0x3f0 // Firecracker's boot-timer device, magic value 123, at main()
)

// Markers says which ports mark platform entry and main(). Entry 0 means the guest has no
// entry marker. That is the case for the VMMs without firmware, which start the guest at
// its entry point on the first KVM_RUN: Solo5 hvt (an unknown port write ends the tender,
// so the marker at main is the only one) and Firecracker (the paper's guest wrote only the
// boot-timer port). There the first KVM_RUN stands for platform entry when the observer
// sees it, as in the paper's Solo5 numbers ("guest startup" = first KVM_RUN → port 1500).
type Markers struct {
	Entry int `json:"entry,omitempty"`
	Main  int `json:"main"`
}

// The paper's markers per VMM.
var (
	QEMUMarkers        = Markers{Entry: PortEntry, Main: PortMain}
	Solo5Markers       = Markers{Main: PortMain}
	FirecrackerMarkers = Markers{Main: PortFirecracker}
)

func (m Markers) ports() []int {
	if m.Entry == 0 {
		return []int{m.Main}
	}
	return []int{m.Entry, m.Main}
}

// Clock of every timeline and sample: the kernel's CLOCK_MONOTONIC (wall time, not CPU time).
const Clock = "CLOCK_MONOTONIC"

// Timeline is what one observer saw of one VM run. Times are CLOCK_MONOTONIC readings.
type Timeline struct {
	Observer string `json:"observer"`
	// Exec is the VMM's start: its exec (ftrace), or the harness's launch just before the
	// fork (debugcon).
	Exec   time.Duration         `json:"exec_ns"`
	KVMRun time.Duration         `json:"kvm_run_ns,omitempty"` // first KVM_RUN; 0 when not observable
	Ports  map[int]time.Duration `json:"ports_ns"`             // first write to each marker port
}

// Sample is one repetition's boot time as one observer measured it, in microseconds.
// Phases the observer cannot see are absent (nil).
type Sample struct {
	Observer string `json:"observer"` // "ftrace" or "debugcon"
	Clock    string `json:"clock"`    // CLOCK_MONOTONIC for every phase; vmm_cpu_us is rusage
	Accel    string `json:"accel"`    // "kvm" or "tcg"
	// VMMSetupUS is exec → first KVM_RUN: the VMM's own setup (ftrace only).
	VMMSetupUS *float64 `json:"vmm_setup_us,omitempty"`
	// FirmwareUS is first KVM_RUN → port 1112: SeaBIOS/qboot and the boot loader (ftrace only).
	FirmwareUS *float64 `json:"firmware_us,omitempty"`
	// VMMUS is exec → port 1112, everything before the guest's platform entry: the paper's
	// vmm_us (QEMU: its "QEMU startup" plus "Pre-platentry").
	VMMUS *float64 `json:"vmm_us,omitempty"`
	// GuestUS is port 1112 → port 1500: the guest's boot to main(), the paper's guest_us.
	GuestUS *float64 `json:"guest_us,omitempty"`
	// TotalUS is exec → main() marker.
	TotalUS float64 `json:"total_us"`
	// VMMCPUUS is the VMM process's CPU time (rusage user+system) over its whole life: the
	// clock the paper's Solo5 and Firecracker numbers used.
	VMMCPUUS float64 `json:"vmm_cpu_us"`
	// LifetimeUS is fork → exit of the VMM process, as the harness saw it.
	LifetimeUS float64 `json:"lifetime_us"`
	ExitCode   int     `json:"exit_code"`
}

// Phases are the sample's phase names, in boot order, as used in summaries.
var Phases = []string{"vmm_setup_us", "firmware_us", "vmm_us", "guest_us", "total_us", "vmm_cpu_us", "lifetime_us"}

// Phase returns the named phase (see Phases) and whether the observer measured it.
func (s Sample) Phase(name string) (float64, bool) {
	opt := func(p *float64) (float64, bool) {
		if p == nil {
			return 0, false
		}
		return *p, true
	}
	switch name {
	case "vmm_setup_us":
		return opt(s.VMMSetupUS)
	case "firmware_us":
		return opt(s.FirmwareUS)
	case "vmm_us":
		return opt(s.VMMUS)
	case "guest_us":
		return opt(s.GuestUS)
	case "total_us":
		return s.TotalUS, true
	case "vmm_cpu_us":
		return s.VMMCPUUS, true
	case "lifetime_us":
		return s.LifetimeUS, true
	}
	return 0, false
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func usp(d time.Duration) *float64 { v := us(d); return &v }

// Sample computes the phases of a timeline. It fails when a marker is missing or the
// events are out of order, saying which.
func (tl Timeline) Sample(m Markers, accel string, e vmm.Exit) (Sample, error) {
	s := Sample{Observer: tl.Observer, Clock: Clock, Accel: accel, VMMCPUUS: us(e.CPU()), LifetimeUS: us(e.Lifetime()), ExitCode: e.Code}
	main, ok := tl.Ports[m.Main]
	if !ok {
		return s, fmt.Errorf("%s: the guest never wrote port %d (main) before the VMM ended (%s)", tl.Observer, m.Main, e)
	}
	if tl.Exec == 0 {
		return s, fmt.Errorf("%s: the VMM's exec was not observed", tl.Observer)
	}
	if main < tl.Exec {
		return s, fmt.Errorf("%s: port %d written %v before the VMM's exec", tl.Observer, m.Main, tl.Exec-main)
	}
	s.TotalUS = us(main - tl.Exec)
	if m.Entry != 0 {
		entry, ok := tl.Ports[m.Entry]
		if !ok {
			return s, fmt.Errorf("%s: the guest wrote port %d (main) but never port %d (platform entry)", tl.Observer, m.Main, m.Entry)
		}
		if entry < tl.Exec || entry > main {
			return s, fmt.Errorf("%s: port %d (entry) at %v is not between exec and port %d", tl.Observer, m.Entry, entry-tl.Exec, m.Main)
		}
		s.VMMUS, s.GuestUS = usp(entry-tl.Exec), usp(main-entry)
		if tl.KVMRun != 0 {
			if tl.KVMRun < tl.Exec || tl.KVMRun > entry {
				return s, fmt.Errorf("%s: first KVM_RUN at %v is not between exec and port %d", tl.Observer, tl.KVMRun-tl.Exec, m.Entry)
			}
			s.VMMSetupUS, s.FirmwareUS = usp(tl.KVMRun-tl.Exec), usp(entry-tl.KVMRun)
		}
	} else if tl.KVMRun != 0 {
		// No firmware: the first KVM_RUN enters the guest.
		if tl.KVMRun < tl.Exec || tl.KVMRun > main {
			return s, fmt.Errorf("%s: first KVM_RUN at %v is not between exec and port %d", tl.Observer, tl.KVMRun-tl.Exec, m.Main)
		}
		s.VMMSetupUS, s.VMMUS, s.GuestUS = usp(tl.KVMRun-tl.Exec), usp(tl.KVMRun-tl.Exec), usp(main-tl.KVMRun)
	}
	return s, nil
}
