// Package host checks that this machine can measure what the paper measured, and describes
// it for the run's manifest.
//
// Micro-benchmarks of a few milliseconds (boot times, file-open latencies) are as much a
// measurement of the host as of the guest: a frequency change, a timer tick, an interrupt or
// a sibling hyper-thread shows up in the numbers. The paper's authors isolated CPUs, switched
// SMT, the IOMMU and IPv6 off and (for fig_22) fixed the CPU frequency. Check reads every such
// setting from /proc and /sys and says, per setting, what was expected, what was found and
// whether that is ok; nothing is changed. The fixes are suggested (kernel command line,
// runtime commands), never applied: they need root and a reboot, and they are the owner's
// decision.
//
// Everything is read below a root directory (Sys.Root) so that tests can run on fake trees.
package host

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
)

// Sys is a view of a Linux host: its /proc, /sys and /dev under Root.
type Sys struct {
	// Root is where /proc, /sys and /dev are found; "" or "/" is this machine.
	Root string
	// QEMU is the QEMU binary whose version the fingerprint records (the QEMU setting);
	// "" is qemu-system-x86_64 on PATH.
	QEMU string

	// ioctl issues an ioctl on the KVM device; nil is the real system call. Tests replace
	// it, because a fake tree's dev/kvm is a regular file that answers no ioctl.
	ioctl func(fd, req, arg uintptr) (uintptr, error)
}

// Real is this machine.
func Real() Sys { return Sys{Root: "/"} }

func (s Sys) path(rel string) string {
	root := s.Root
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, rel)
}

// read returns a file's content with surrounding white space removed.
func (s Sys) read(rel string) (string, error) {
	b, err := os.ReadFile(s.path(rel))
	return strings.TrimSpace(string(b)), err
}

// Status of one setting.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn" // measurements run, but with more noise than the paper's
	Fail Status = "fail" // measurements cannot run as prescribed (no usable KVM)
	// Unknown: the setting cannot be read here (file absent or unreadable), e.g. no cpufreq
	// driver in a virtual machine.
	Unknown Status = "unknown"
)

// Setting is one row of the report.
type Setting struct {
	Name     string `json:"setting"`
	Expected string `json:"expected"`
	Found    string `json:"found"`
	Status   Status `json:"status"`
	// Hint says what the finding means or how to fix it.
	Hint string `json:"hint,omitempty"`
	// Param is the kernel command-line parameter(s) that would fix the setting.
	Param string `json:"kernel_param,omitempty"`
	// Commands fix the setting until the next reboot (as root). They are printed, never run.
	Commands []string `json:"runtime_commands,omitempty"`
	// Source is where the value was read.
	Source string `json:"source"`
}

// Report is the host isolation check, written as "isolation" into manifest.json.
type Report struct {
	// CPUs are the CPUs the per-CPU settings were read on: the isolated CPUs, or when there
	// are none the ones the suggested isolcpus= would isolate.
	CPUs     CPUChoice `json:"cpus"`
	Settings []Setting `json:"settings"`
	// Cmdline is what to add to the kernel command line to fix the warnings and failures.
	Cmdline string `json:"suggested_cmdline,omitempty"`
	// Commands fix what a runtime write can fix, until the next reboot.
	Commands []string `json:"runtime_commands,omitempty"`
	Notes    []string `json:"notes,omitempty"`
	// Frequency says in one word whether CPU frequency scaling and turbo were fixed (the
	// paper's fig_22 prescription), from the rows FrequencyRows.
	Frequency Frequency `json:"frequency"`
}

// Check checks this machine; see Sys.Check.
func Check() Report { return Real().Check() }

// Count returns how many settings have status st.
func (r Report) Count(st Status) int {
	n := 0
	for _, s := range r.Settings {
		if s.Status == st {
			n++
		}
	}
	return n
}

// Setting returns the row named name.
func (r Report) Setting(name string) (Setting, bool) {
	for _, s := range r.Settings {
		if s.Name == name {
			return s, true
		}
	}
	return Setting{}, false
}

// Err is nil when the host can run the measurements: no setting failed and, with strict
// (STRICT=1), none warns either. Unknown settings never fail the check, strict or not: they
// are knobs this kernel does not expose (no cpufreq driver because the firmware or a
// hypervisor owns the frequency, no nohz_full in the kernel build), which no setting the
// user could change would turn into ok; the table shows them.
func (r Report) Err(strict bool) error {
	fails, warns := r.names(Fail), r.names(Warn)
	switch {
	case len(fails) > 0:
		return fmt.Errorf("host check: %s failed; see the table for what to do", strings.Join(fails, ", "))
	case strict && len(warns) > 0:
		return fmt.Errorf("host check: STRICT=1 and %d setting(s) not isolated as the paper prescribes (%s); fix them or run without STRICT",
			len(warns), strings.Join(warns, ", "))
	}
	return nil
}

func (r Report) names(st Status) []string {
	var n []string
	for _, s := range r.Settings {
		if s.Status == st {
			n = append(n, s.Name)
		}
	}
	return n
}

// WriteTable prints the report for a terminal: one aligned row per setting, then the
// suggested kernel command line and runtime commands.
func (r Report) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "host isolation check — measurement CPUs %s (%s)\n", dash(r.CPUs.String()), r.CPUs.Reason)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tEXPECTED\tFOUND\tSTATUS\tHINT")
	for _, s := range r.Settings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Expected, dash(s.Found), strings.ToUpper(string(s.Status)), s.Hint)
	}
	tw.Flush()
	fmt.Fprintf(bw, "%d ok, %d warn, %d fail, %d unknown\n", r.Count(OK), r.Count(Warn), r.Count(Fail), r.Count(Unknown))
	if r.Cmdline != "" {
		fmt.Fprintf(bw, "\nsuggested kernel command line additions (Debian: append to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, run update-grub, reboot):\n  %s\n", r.Cmdline)
	}
	if len(r.Commands) > 0 {
		fmt.Fprintln(bw, "\nruntime fixes until the next reboot (as root; printed, not run):")
		for _, c := range r.Commands {
			fmt.Fprintf(bw, "  %s\n", c)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(bw, "note: %s\n", n)
	}
	return bw.Flush()
}

// suggest collects the fixes of the rows that are not ok. A parameter already on the
// running kernel's command line is not suggested again.
func (r *Report) suggest(cmdline string) {
	have := strings.Fields(cmdline)
	var params []string
	for _, s := range r.Settings {
		if s.Status != Warn && s.Status != Fail {
			continue
		}
		for _, p := range strings.Fields(s.Param) {
			if !slices.Contains(have, p) && !slices.Contains(params, p) {
				params = append(params, p)
			}
		}
		for _, c := range s.Commands {
			if !slices.Contains(r.Commands, c) {
				r.Commands = append(r.Commands, c)
			}
		}
	}
	r.Cmdline = strings.Join(params, " ")
}

// describeErr says in a few words why a file could not be read.
func describeErr(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "absent"
	case errors.Is(err, fs.ErrPermission):
		return "unreadable (permission denied)"
	default:
		return "unreadable: " + err.Error()
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
