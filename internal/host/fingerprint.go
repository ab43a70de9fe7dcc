package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// Fingerprint describes the machine a run was made on, for manifest.json. A field that
// could not be found is empty and Unknown says why.
type Fingerprint struct {
	CPUModel  string `json:"cpu_model"`
	CPUVendor string `json:"cpu_vendor"`
	CPUs      int    `json:"cpus"`  // online logical CPUs
	Cores     int    `json:"cores"` // physical cores
	// Virtual is set when the CPU reports a hypervisor: the host is itself a VM.
	Virtual       bool   `json:"virtual_machine"`
	Kernel        string `json:"kernel"` // release, as uname -r
	KernelVersion string `json:"kernel_version"`
	Cmdline       string `json:"cmdline"`
	MemoryBytes   int64  `json:"memory_bytes"`
	QEMU          string `json:"qemu,omitempty"` // first line of `qemu-system-x86_64 -version`
	QEMUPath      string `json:"qemu_path,omitempty"`
	Docker        string `json:"docker_server,omitempty"` // Docker server (daemon) version
	Clocksource   string `json:"clocksource,omitempty"`
	InvariantTSC  bool   `json:"invariant_tsc"`
	TSCKHz        int64  `json:"tsc_khz,omitempty"`
	TSCSource     string `json:"tsc_source,omitempty"`
	// Unknown maps a field's JSON name to why it is empty.
	Unknown map[string]string `json:"unknown,omitempty"`
}

// String is a one-line summary for a terminal.
func (f Fingerprint) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %d CPUs (%d cores), %.1f GiB, Linux %s", dash(f.CPUModel), f.CPUs, f.Cores, float64(f.MemoryBytes)/(1<<30), dash(f.Kernel))
	if f.Virtual {
		b.WriteString(", virtual machine")
	}
	if f.TSCKHz > 0 {
		fmt.Fprintf(&b, ", TSC %.3f MHz", float64(f.TSCKHz)/1000)
	}
	fmt.Fprintf(&b, "; QEMU: %s; Docker server: %s", orWhy(f.QEMU, f.Unknown["qemu"]), orWhy(f.Docker, f.Unknown["docker_server"]))
	return b.String()
}

func orWhy(v, why string) string {
	switch {
	case v != "":
		return v
	case why != "":
		return "unknown (" + why + ")"
	}
	return "unknown"
}

// ToolTimeout bounds each version query (qemu -version, docker version). A Docker daemon
// that does not answer within it is reported as unreachable.
var ToolTimeout = 10 * time.Second

// Describe fingerprints this machine; see Sys.Fingerprint.
func Describe(ctx context.Context, qemu string) Fingerprint {
	s := Real()
	s.QEMU = qemu
	return s.Fingerprint(ctx)
}

// Fingerprint describes the host. It reads /proc and /sys under Root, asks KVM for the TSC
// frequency, and runs `QEMU -version` and `docker version`, each bounded by ToolTimeout.
func (s Sys) Fingerprint(ctx context.Context) Fingerprint {
	fp := Fingerprint{Unknown: map[string]string{}}
	unknown := func(field string, err error) { fp.Unknown[field] = err.Error() }

	info, err := s.cpuInfo()
	if err != nil {
		unknown("cpu_model", err)
	}
	fp.CPUModel, fp.CPUVendor, fp.Cores = info.model, info.vendor, info.cores
	fp.Virtual = info.flags["hypervisor"]
	fp.InvariantTSC = info.flags["constant_tsc"] && info.flags["nonstop_tsc"]
	if online, err := s.cpuList("sys/devices/system/cpu/online"); err == nil {
		fp.CPUs = len(online)
	} else {
		fp.CPUs = info.logical
	}
	if fp.Kernel, err = s.read("proc/sys/kernel/osrelease"); err != nil {
		unknown("kernel", err)
	}
	fp.KernelVersion, _ = s.read("proc/sys/kernel/version")
	if fp.Cmdline, err = s.read("proc/cmdline"); err != nil {
		unknown("cmdline", err)
	}
	if fp.MemoryBytes, err = s.memTotal(); err != nil {
		unknown("memory_bytes", err)
	}
	fp.Clocksource, _ = s.read("sys/devices/system/clocksource/clocksource0/current_clocksource")

	switch khz, err := s.kvmTSCKHz(); {
	case err == nil && khz > 0:
		fp.TSCKHz, fp.TSCSource = khz, "KVM_GET_TSC_KHZ"
	case fp.InvariantTSC && !info.flags["aperfmperf"] && !s.exists("sys/devices/system/cpu/cpu0/cpufreq/scaling_driver") && info.mhz != "":
		// Without cpufreq and APERF/MPERF, "cpu MHz" is the frequency the kernel calibrated
		// at boot, which on an invariant-TSC CPU is the TSC's (within the rounding shown).
		if f, perr := strconv.ParseFloat(info.mhz, 64); perr == nil {
			fp.TSCKHz = int64(f*1000 + 0.5)
			fp.TSCSource = "/proc/cpuinfo cpu MHz (calibrated; no cpufreq driver)"
		}
	default:
		if err == nil {
			err = errors.New("no invariant TSC")
		}
		unknown("tsc_khz", fmt.Errorf("KVM: %v; /proc/cpuinfo cpu MHz follows the current frequency here", err))
	}

	if q, err := vmm.QEMUBinary(s.QEMU); err != nil {
		unknown("qemu", err)
	} else {
		fp.QEMUPath = q
		if fp.QEMU, err = vmm.OutputLine(ctx, ToolTimeout, q, "-version"); err != nil {
			unknown("qemu", err)
		}
	}
	if fp.Docker, err = vmm.OutputLine(ctx, ToolTimeout, "docker", "version", "--format", "{{.Server.Version}}"); err != nil {
		unknown("docker_server", err)
	}
	if len(fp.Unknown) == 0 {
		fp.Unknown = nil
	}
	return fp
}

func (s Sys) exists(rel string) bool {
	_, err := os.Stat(s.path(rel))
	return err == nil
}

func (s Sys) memTotal() (int64, error) {
	b, err := os.ReadFile(s.path("proc/meminfo"))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return n * 1024, nil
				}
			}
			return 0, fmt.Errorf("/proc/meminfo: MemTotal line %q, expected \"MemTotal: <n> kB\"", line)
		}
	}
	return 0, errors.New("/proc/meminfo: no MemTotal line")
}
