package host

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// paperIsolated is how many CPUs the paper's hosts isolated (isolcpus= in the original artifact's README).
const paperIsolated = 4

// Check reads every isolation setting the paper prescribes, plus the ones that matter for
// micro-benchmarks of this kind, and reports each with its expected value. It never fails to
// run: what cannot be read is reported as unknown. Per-CPU settings are read on the CPUs the
// measurements use (the isolated ones, or those that isolcpus= would isolate).
func (s Sys) Check() Report {
	c := &checker{s: s}
	c.load()
	r := Report{CPUs: c.cpus}
	for _, check := range []func() Setting{
		c.kvmDevice, c.kvmAPI, c.virtFlag, c.bareMetal,
		c.isolatedCPUs, c.nohzFull, c.smt,
		c.freqDriver, c.governor, c.freqLimits, c.turbo, c.cstates,
		c.iommu, c.ipv6, c.irqbalance, c.irqAffinity, c.thp,
		c.nmiWatchdog, c.softWatchdog, c.clocksource, c.invariantTSC, c.numaBalancing,
	} {
		r.Settings = append(r.Settings, check())
	}
	r.suggest(c.cmdline)
	r.Frequency = r.frequency()
	if st, _ := r.Setting("SMT"); st.Status == Warn {
		r.Notes = append(r.Notes, "the original README's `noht` is not a Linux parameter; `nosmt` is")
	}
	if c.kvmErr == nil && !c.info.flags["vmx"] && !c.info.flags["svm"] {
		r.Notes = append(r.Notes, "KVM works here without VT-x/AMD-V in /proc/cpuinfo (nested or paravirtual KVM): tiny guests run under KVM, full guests may need ACCEL=tcg")
	}
	return r
}

// checker holds what several checks need.
type checker struct {
	s        Sys
	info     cpuInfo
	infoErr  error
	cmdline  string
	online   []int
	isolated []int
	isoErr   error
	cpus     CPUChoice // measurement CPUs for per-CPU settings
	kvmErr   error     // nil when /dev/kvm opened read-write
	kvmFile  *os.File
}

func (c *checker) load() {
	c.info, c.infoErr = c.s.cpuInfo()
	c.cmdline, _ = c.s.read("proc/cmdline")
	var err error
	if c.online, err = c.s.cpuList("sys/devices/system/cpu/online"); err != nil {
		c.online = c.s.cpuDirs()
	}
	c.isolated, c.isoErr = c.s.cpuList("sys/devices/system/cpu/isolated")
	c.isolated = intersect(c.isolated, c.online)
	switch {
	case len(c.isolated) > 0:
		c.cpus = CPUChoice{CPUs: c.isolated, Isolated: true, Reason: "the isolated CPUs"}
	case len(c.online) == 0:
		c.cpus = CPUChoice{Reason: "online CPUs unknown"}
	default:
		c.cpus = CPUChoice{CPUs: proposeIsolated(c.online),
			Reason: fmt.Sprintf("no isolated CPUs; read on the ones isolcpus= should isolate: the highest-numbered, up to the paper's %d, not CPU 0", paperIsolated)}
	}
}

// proposeIsolated picks the CPUs to isolate: the highest-numbered ones, as many as the
// paper isolated, always leaving CPU 0 (and at least one CPU) to the kernel.
func proposeIsolated(online []int) []int {
	cand := without(online, []int{0})
	if len(cand) == 0 {
		return slices.Clone(online)
	}
	if len(cand) >= len(online) { // CPU 0 offline: still leave one CPU
		cand = cand[1:]
	}
	return slices.Clone(cand[max(0, len(cand)-paperIsolated):])
}

// --- KVM ---------------------------------------------------------------------------------

func (c *checker) kvmDevice() Setting {
	st := Setting{Name: "KVM device", Expected: "/dev/kvm read-write", Source: "/dev/kvm"}
	fi, err := os.Stat(c.s.path("dev/kvm"))
	if err != nil {
		c.kvmErr = err
		st.Status, st.Found = Fail, describeErr(err)
		st.Hint = "load KVM (modprobe " + c.kvmModule() + ") and enable " + c.virtName() + " in the firmware; ACCEL=tcg runs without KVM, not comparable with the paper"
		st.Commands = []string{"modprobe " + c.kvmModule()}
		return st
	}
	f, err := os.OpenFile(c.s.path("dev/kvm"), os.O_RDWR, 0)
	if err != nil {
		c.kvmErr = err
		st.Status, st.Found = Fail, fmt.Sprintf("%s, not read-write for uid %d: %s", fileKind(fi), os.Getuid(), describeErr(err))
		st.Hint = "run as root or add the user to the group owning /dev/kvm (usermod -aG kvm USER; log in again)"
		return st
	}
	c.kvmFile = f
	st.Status, st.Found = OK, fmt.Sprintf("read-write (%s)", fileKind(fi))
	return st
}

// fileKind describes a device node the way ls would, e.g. "char device, mode 0660".
func fileKind(fi os.FileInfo) string {
	kind := "file"
	switch {
	case fi.Mode()&os.ModeCharDevice != 0:
		kind = "char device"
	case fi.IsDir():
		kind = "directory"
	}
	return fmt.Sprintf("%s, mode %04o", kind, fi.Mode().Perm())
}

func (c *checker) kvmAPI() Setting {
	st := Setting{Name: "KVM API version", Expected: "12 (KVM_GET_API_VERSION)", Source: "ioctl(/dev/kvm, KVM_GET_API_VERSION)"}
	if c.kvmFile == nil {
		st.Status, st.Found = Unknown, "/dev/kvm not opened"
		return st
	}
	defer c.kvmFile.Close()
	v, err := c.s.kvmIoctl(c.kvmFile.Fd(), kvmGetAPIVersion, 0)
	switch {
	case err != nil:
		c.kvmErr = err
		st.Status, st.Found = Fail, "ioctl failed: "+err.Error()
		st.Hint = "/dev/kvm is not a KVM device"
	case v != 12:
		c.kvmErr = fmt.Errorf("KVM API version %d", v)
		st.Status, st.Found = Fail, strconv.Itoa(int(v))
		st.Hint = "this kernel's KVM API is not the one QEMU and Firecracker use"
	default:
		st.Status, st.Found = OK, "12"
	}
	return st
}

func (c *checker) virtFlag() Setting {
	st := Setting{Name: "VT-x/AMD-V", Expected: "vmx or svm flag", Source: "/proc/cpuinfo flags"}
	switch {
	case c.infoErr != nil:
		st.Status, st.Found = Unknown, "/proc/cpuinfo "+describeErr(c.infoErr)
	case c.info.flags["vmx"]:
		st.Status, st.Found = OK, "vmx"
	case c.info.flags["svm"]:
		st.Status, st.Found = OK, "svm"
	case c.kvmErr == nil:
		st.Status, st.Found = Warn, "neither (KVM works anyway)"
		st.Hint = "nested or paravirtual KVM: guests may be limited, timings differ from bare metal"
	default:
		st.Status, st.Found = Fail, "neither"
		st.Hint = "enable " + c.virtName() + " in the firmware (or nested virtualisation in the hypervisor)"
	}
	return st
}

func (c *checker) bareMetal() Setting {
	st := Setting{Name: "bare metal", Expected: "no hypervisor flag", Source: "/proc/cpuinfo flags"}
	switch {
	case c.infoErr != nil:
		st.Status, st.Found = Unknown, "/proc/cpuinfo "+describeErr(c.infoErr)
	case c.info.flags["hypervisor"]:
		st.Status, st.Found = Warn, "virtual machine (hypervisor flag)"
		st.Hint = "the host is itself a VM: the hypervisor below adds noise; numbers are not comparable with the paper's"
	default:
		st.Status, st.Found = OK, "bare metal"
	}
	return st
}

func (c *checker) kvmModule() string {
	if c.info.vendor == "AuthenticAMD" {
		return "kvm_amd"
	}
	return "kvm_intel"
}

func (c *checker) virtName() string {
	if c.info.vendor == "AuthenticAMD" {
		return "AMD-V"
	}
	return "VT-x"
}

// --- CPUs ----------------------------------------------------------------------------------

func (c *checker) isolatedCPUs() Setting {
	st := Setting{Name: "isolated CPUs", Expected: fmt.Sprintf("≥1, not CPU 0 (paper: %d)", paperIsolated), Source: "/sys/devices/system/cpu/isolated"}
	switch {
	case c.isoErr != nil:
		st.Status, st.Found = Unknown, describeErr(c.isoErr)
	case len(c.isolated) == 0:
		st.Status, st.Found = Warn, "none"
		if len(c.online) > 1 {
			st.Param = "isolcpus=" + c.cpus.String()
			st.Hint = "measurements share CPUs with every other task"
		} else {
			st.Hint = "a single CPU cannot be isolated"
		}
	case slices.Contains(c.isolated, 0):
		st.Status, st.Found = Warn, FormatCPUList(c.isolated)
		st.Hint = "CPU 0 is isolated: the kernel's housekeeping moves to the others"
	default:
		st.Status, st.Found = OK, FormatCPUList(c.isolated)
	}
	return st
}

func (c *checker) nohzFull() Setting {
	st := Setting{Name: "nohz_full", Expected: "includes CPUs " + dash(c.cpus.String()), Source: "/sys/devices/system/cpu/nohz_full"}
	l, err := c.s.cpuList("sys/devices/system/cpu/nohz_full")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		st.Status, st.Found = Unknown, "absent (kernel without CONFIG_NO_HZ_FULL)"
	case err != nil:
		st.Status, st.Found = Unknown, describeErr(err)
	case len(c.cpus.CPUs) > 0 && len(without(c.cpus.CPUs, l)) == 0:
		st.Status, st.Found = OK, FormatCPUList(l)
	default:
		st.Status, st.Found = Warn, dash(FormatCPUList(l))
		if len(l) == 0 {
			st.Found = "none"
		}
		st.Hint = "the scheduler tick interrupts the measurement CPUs"
		if len(c.cpus.CPUs) > 0 && !slices.Contains(c.cpus.CPUs, 0) {
			st.Param = "nohz_full=" + c.cpus.String()
		}
	}
	return st
}

func (c *checker) smt() Setting {
	st := Setting{Name: "SMT", Expected: "off (nosmt)", Source: "/sys/devices/system/cpu/smt/{control,active}"}
	fix := func() {
		st.Param = "nosmt"
		st.Commands = []string{"echo off > /sys/devices/system/cpu/smt/control"}
		st.Hint = "a sibling hyper-thread shares the core with the measurement"
	}
	active, err := c.s.read("sys/devices/system/cpu/smt/active")
	if err == nil {
		control, _ := c.s.read("sys/devices/system/cpu/smt/control")
		st.Found = fmt.Sprintf("active=%s control=%s", active, dash(control))
		switch {
		case active == "0" && control == "notsupported":
			st.Status, st.Found = OK, "off (CPU has no SMT)"
		case active == "0":
			st.Status = OK
		default:
			st.Status = Warn
			fix()
		}
		return st
	}
	// Older kernels: look for sibling threads of the measurement CPUs.
	st.Source = "/sys/devices/system/cpu/cpuN/topology/thread_siblings_list"
	var shared []string
	read := 0
	for _, cpu := range c.cpus.CPUs {
		sib, err := c.s.cpuList(fmt.Sprintf("sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", cpu))
		if err != nil {
			continue
		}
		read++
		if len(sib) > 1 {
			shared = append(shared, fmt.Sprintf("cpu%d: %s", cpu, FormatCPUList(sib)))
		}
	}
	switch {
	case read == 0:
		st.Status, st.Found = Unknown, "absent"
	case len(shared) > 0:
		st.Status, st.Found = Warn, "siblings "+strings.Join(shared, "; ")
		fix()
	default:
		st.Status, st.Found = OK, "no sibling threads"
	}
	return st
}

// --- frequency and idle ----------------------------------------------------------------------

const cpuDir = "/sys/devices/system/cpu"

// perCPU reads file (relative to cpuN/) on every measurement CPU that has it.
func (c *checker) perCPU(file string) (map[int]string, error) {
	vals := map[int]string{}
	var firstErr error
	for _, cpu := range c.cpus.CPUs {
		v, err := c.s.read(fmt.Sprintf("sys/devices/system/cpu/cpu%d/%s", cpu, file))
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		vals[cpu] = v
	}
	if len(vals) == 0 && firstErr == nil {
		firstErr = fs.ErrNotExist
	}
	return vals, firstErr
}

// summarize prints one value when all CPUs agree, else every CPU's.
func summarize(vals map[int]string) string {
	var cpus []int
	distinct := map[string]bool{}
	for cpu, v := range vals {
		cpus = append(cpus, cpu)
		distinct[v] = true
	}
	slices.Sort(cpus)
	if len(distinct) == 1 {
		return vals[cpus[0]]
	}
	var parts []string
	for _, cpu := range cpus {
		parts = append(parts, fmt.Sprintf("cpu%d %s", cpu, vals[cpu]))
	}
	return strings.Join(parts, ", ")
}

// forCPUs writes a shell command that runs cmd (with $c as the CPU number) on each CPU.
func forCPUs(cpus []int, cmd string) string {
	if len(cpus) == 1 {
		return strings.ReplaceAll(cmd, "$c", strconv.Itoa(cpus[0]))
	}
	var n []string
	for _, c := range cpus {
		n = append(n, strconv.Itoa(c))
	}
	return fmt.Sprintf("for c in %s; do %s; done", strings.Join(n, " "), cmd)
}

const noCpufreq = "absent (no cpufreq driver)"
const noCpufreqHint = "the frequency is not under this kernel's control (VM or firmware-managed)"

func (c *checker) freqDriver() Setting {
	st := Setting{Name: "frequency driver", Expected: "not intel_pstate (fig_22)", Source: cpuDir + "/cpuN/cpufreq/scaling_driver"}
	vals, err := c.perCPU("cpufreq/scaling_driver")
	if len(vals) == 0 {
		st.Status, st.Found = Unknown, noCpufreq
		if !errors.Is(err, fs.ErrNotExist) {
			st.Found = describeErr(err)
		}
		st.Hint = noCpufreqHint
		return st
	}
	st.Found = summarize(vals)
	st.Status = OK
	for _, v := range vals {
		switch v {
		case "intel_pstate":
			st.Status, st.Param = Warn, "intel_pstate=disable"
			st.Hint = "intel_pstate has no userspace governor: the frequency cannot be fixed as fig_22 needs"
		case "amd-pstate-epp":
			st.Status, st.Param = Warn, "amd_pstate=passive"
			st.Hint = "amd-pstate active mode has no userspace governor: the frequency cannot be fixed"
		}
	}
	return st
}

func (c *checker) governor() Setting {
	st := Setting{Name: "frequency governor", Expected: "performance or userspace", Source: cpuDir + "/cpuN/cpufreq/scaling_governor"}
	vals, err := c.perCPU("cpufreq/scaling_governor")
	if len(vals) == 0 {
		st.Status, st.Found, st.Hint = Unknown, noCpufreq, noCpufreqHint
		if !errors.Is(err, fs.ErrNotExist) {
			st.Found = describeErr(err)
		}
		return st
	}
	st.Found, st.Status = summarize(vals), OK
	var bad []int
	for cpu, v := range vals {
		if v != "performance" && v != "userspace" {
			bad = append(bad, cpu)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		st.Status = Warn
		st.Hint = "the frequency follows the load: the first repetitions run slower"
		st.Param = "cpufreq.default_governor=performance"
		st.Commands = []string{forCPUs(bad, "echo performance > "+cpuDir+"/cpu$c/cpufreq/scaling_governor")}
	}
	return st
}

func (c *checker) freqLimits() Setting {
	st := Setting{Name: "frequency limits", Expected: "min = max (fixed frequency)", Source: cpuDir + "/cpuN/cpufreq/scaling_{min,max}_freq"}
	mins, _ := c.perCPU("cpufreq/scaling_min_freq")
	maxs, err := c.perCPU("cpufreq/scaling_max_freq")
	if len(mins) == 0 || len(maxs) == 0 {
		st.Status, st.Found, st.Hint = Unknown, noCpufreq, noCpufreqHint
		if !errors.Is(err, fs.ErrNotExist) && err != nil {
			st.Found = describeErr(err)
		}
		return st
	}
	vals := map[int]string{}
	var bad []int
	for cpu, mx := range maxs {
		mn := mins[cpu]
		vals[cpu] = fmt.Sprintf("%s–%s", mhz(mn), mhz(mx))
		if mn != mx {
			bad = append(bad, cpu)
		}
	}
	slices.Sort(bad)
	st.Found, st.Status = summarize(vals), OK
	if len(bad) > 0 {
		st.Status = Warn
		st.Hint = "the frequency may change during a run (fig_22 counts TSC cycles at a fixed frequency)"
		if f := c.nonTurboMax(bad[0]); f != "" {
			st.Hint += "; " + mhz(f) + " is the highest non-turbo frequency"
			st.Commands = []string{forCPUs(bad, fmt.Sprintf("echo %s > %s/cpu$c/cpufreq/scaling_max_freq; echo %s > %s/cpu$c/cpufreq/scaling_min_freq", f, cpuDir, f, cpuDir))}
		}
	}
	return st
}

// nonTurboMax is the frequency (kHz) the original's tools/tunecpumax would fix: the
// intel_pstate base frequency, or the highest available frequency unless the top two are
// within 1 MHz (the top one is then the turbo entry), or the hardware maximum.
func (c *checker) nonTurboMax(cpu int) string {
	dir := fmt.Sprintf("sys/devices/system/cpu/cpu%d/cpufreq/", cpu)
	if v, err := c.s.read(dir + "base_frequency"); err == nil {
		return v
	}
	if v, err := c.s.read(dir + "scaling_available_frequencies"); err == nil {
		var fs []int
		for f := range strings.FieldsSeq(v) {
			if n, err := strconv.Atoi(f); err == nil {
				fs = append(fs, n)
			}
		}
		slices.Sort(fs)
		slices.Reverse(fs)
		switch {
		case len(fs) >= 2 && fs[0]-fs[1] <= 1000:
			return strconv.Itoa(fs[1])
		case len(fs) >= 1:
			return strconv.Itoa(fs[0])
		}
	}
	v, _ := c.s.read(dir + "cpuinfo_max_freq")
	return v
}

// mhz prints a kHz value from sysfs in MHz.
func mhz(khz string) string {
	n, err := strconv.ParseInt(khz, 10, 64)
	if err != nil {
		return khz
	}
	return fmt.Sprintf("%g MHz", float64(n)/1000)
}

func (c *checker) turbo() Setting {
	st := Setting{Name: "turbo", Expected: "off"}
	if v, err := c.s.read("sys/devices/system/cpu/intel_pstate/no_turbo"); err == nil {
		st.Source = cpuDir + "/intel_pstate/no_turbo"
		st.Found = "no_turbo=" + v
		if v == "1" {
			st.Status = OK
		} else {
			st.Status, st.Commands = Warn, []string{"echo 1 > " + st.Source}
			st.Hint = "the frequency depends on temperature and on the other cores' load"
		}
		return st
	}
	if v, err := c.s.read("sys/devices/system/cpu/cpufreq/boost"); err == nil {
		st.Source = cpuDir + "/cpufreq/boost"
		st.Found = "boost=" + v
		if v == "0" {
			st.Status = OK
		} else {
			st.Status, st.Commands = Warn, []string{"echo 0 > " + st.Source}
			st.Hint = "the frequency depends on temperature and on the other cores' load"
		}
		return st
	}
	st.Source = cpuDir + "/{intel_pstate/no_turbo,cpufreq/boost}"
	st.Status, st.Found, st.Hint = Unknown, "absent (no turbo control)", noCpufreqHint
	return st
}

// shallowIdle are the idle states that wake up within about a microsecond.
var shallowIdle = []string{"POLL", "C1", "C1_ACPI", "haltpoll"}

func (c *checker) cstates() Setting {
	st := Setting{Name: "C-states", Expected: "C1 at most", Source: cpuDir + "/cpuidle/current_driver, cpuN/cpuidle/stateK"}
	driver, err := c.s.read("sys/devices/system/cpu/cpuidle/current_driver")
	switch {
	case err != nil:
		st.Status, st.Found = Unknown, describeErr(err)
		return st
	case driver == "none":
		st.Status, st.Found = OK, "no cpuidle driver (idle = hlt)"
		return st
	case driver == "haltpoll":
		st.Status, st.Found = OK, "haltpoll (guest: poll, then hlt)"
		return st
	}
	var deep []string
	var bad []int
	idx := map[int]bool{}
	states := 0
	for _, cpu := range c.cpus.CPUs {
		for k := 0; ; k++ {
			dir := fmt.Sprintf("sys/devices/system/cpu/cpu%d/cpuidle/state%d/", cpu, k)
			name, err := c.s.read(dir + "name")
			if err != nil {
				break
			}
			states++
			if slices.Contains(shallowIdle, name) {
				continue
			}
			if dis, _ := c.s.read(dir + "disable"); dis == "1" {
				continue
			}
			if !slices.Contains(deep, name) {
				deep = append(deep, name)
			}
			if !slices.Contains(bad, cpu) {
				bad = append(bad, cpu)
			}
			idx[k] = true
		}
	}
	if states == 0 {
		st.Status, st.Found = Unknown, driver+", no cpuN/cpuidle/stateK on CPUs "+dash(c.cpus.String())
		return st
	}
	if len(deep) == 0 {
		st.Status, st.Found = OK, driver+", only C1 enabled"
		return st
	}
	st.Status, st.Found = Warn, fmt.Sprintf("%s: %s enabled", driver, strings.Join(deep, " "))
	st.Hint = "waking from a deep C-state adds tens of microseconds"
	switch driver {
	case "intel_idle":
		st.Param = "intel_idle.max_cstate=1"
	case "acpi_idle":
		st.Param = "processor.max_cstate=1"
	}
	var ks []string
	for k := range idx {
		ks = append(ks, strconv.Itoa(k))
	}
	slices.Sort(ks)
	st.Commands = []string{forCPUs(bad, fmt.Sprintf("for s in %s; do echo 1 > %s/cpu$c/cpuidle/state$s/disable; done", strings.Join(ks, " "), cpuDir))}
	return st
}

// --- devices, network, interrupts ------------------------------------------------------------

// listDir names the entries of a sysfs directory. Names starting with a dot never occur in
// sysfs; they are skipped so that a test tree can keep an empty directory in git.
func (s Sys) listDir(rel string) ([]string, error) {
	ents, err := os.ReadDir(s.path(rel))
	var names []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names, err
}

func (c *checker) iommu() Setting {
	param := "intel_iommu=off"
	if c.info.vendor == "AuthenticAMD" {
		param = "amd_iommu=off"
	}
	st := Setting{Name: "IOMMU", Expected: "off (" + param + ")", Source: "/sys/class/iommu, /sys/kernel/iommu_groups"}
	units, err1 := c.s.listDir("sys/class/iommu")
	groups, err2 := c.s.listDir("sys/kernel/iommu_groups")
	switch {
	case err1 != nil && err2 != nil:
		st.Status, st.Found = Unknown, describeErr(err1)
	case len(units) == 0 && len(groups) == 0:
		st.Status, st.Found = OK, "no IOMMU"
	default:
		st.Status, st.Found = Warn, fmt.Sprintf("on (%s; %d groups)", dash(strings.Join(units, " ")), len(groups))
		st.Param = param
		st.Hint = "DMA remapping adds work to every device access"
	}
	return st
}

func (c *checker) ipv6() Setting {
	st := Setting{Name: "IPv6", Expected: "off (ipv6.disable=1)", Source: "/proc/sys/net/ipv6/conf/all/disable_ipv6"}
	v, err := c.s.read("proc/sys/net/ipv6/conf/all/disable_ipv6")
	switch {
	case err == nil && v == "1":
		st.Status, st.Found = OK, "disabled at runtime (disable_ipv6=1)"
	case err == nil:
		st.Status, st.Found = Warn, "on (disable_ipv6="+v+")"
		st.Param = "ipv6.disable=1"
		st.Commands = []string{"echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6"}
		st.Hint = "router advertisements and neighbour discovery wake the host"
	case errors.Is(err, fs.ErrNotExist):
		if _, err := os.Stat(c.s.path("proc/sys/net")); err == nil {
			// ipv6.disable=1 removes the whole /proc/sys/net/ipv6 tree.
			st.Status, st.Found = OK, "not loaded (ipv6.disable=1 or no IPv6 in the kernel)"
		} else {
			st.Status, st.Found = Unknown, describeErr(err)
		}
	default:
		st.Status, st.Found = Unknown, describeErr(err)
	}
	return st
}

func (c *checker) irqbalance() Setting {
	st := Setting{Name: "irqbalance", Expected: "not running", Source: "/proc/*/comm"}
	pids, err := c.s.processesNamed("irqbalance")
	switch {
	case err != nil:
		st.Status, st.Found = Unknown, "/proc "+describeErr(err)
	case len(pids) == 0:
		st.Status, st.Found = OK, "not running"
	default:
		st.Status, st.Found = Warn, fmt.Sprintf("running (pid %s)", strings.Join(pids, ", "))
		st.Hint = "it moves interrupts onto the measurement CPUs; stop it, or set IRQBALANCE_BANNED_CPULIST=" + dash(c.cpus.String()) + " in /etc/default/irqbalance"
		st.Commands = []string{"systemctl stop irqbalance"}
	}
	return st
}

// processesNamed lists the pids whose comm is name. It only reads /proc.
func (s Sys) processesNamed(name string) ([]string, error) {
	ents, err := os.ReadDir(s.path("proc"))
	if err != nil {
		return nil, err
	}
	var pids []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if comm, err := s.read("proc/" + e.Name() + "/comm"); err == nil && comm == name {
			pids = append(pids, e.Name())
		}
	}
	return pids, nil
}

func (c *checker) irqAffinity() Setting {
	st := Setting{Name: "IRQ default affinity", Expected: "excludes CPUs " + dash(c.cpus.String()), Source: "/proc/irq/default_smp_affinity"}
	v, err := c.s.read("proc/irq/default_smp_affinity")
	if err != nil {
		st.Status, st.Found = Unknown, describeErr(err)
		return st
	}
	cpus, err := parseCPUMask(v)
	if err != nil {
		st.Status, st.Found = Unknown, err.Error()
		return st
	}
	st.Found = fmt.Sprintf("CPUs %s (mask %s)", FormatCPUList(cpus), v)
	overlap := intersect(cpus, c.cpus.CPUs)
	if len(overlap) == 0 {
		st.Status = OK
		return st
	}
	st.Status = Warn
	st.Hint = "new interrupts may be delivered on the measurement CPUs"
	if hk := without(c.online, c.cpus.CPUs); len(hk) > 0 {
		st.Param = "irqaffinity=" + FormatCPUList(hk)
		st.Commands = []string{
			"echo " + formatCPUMask(hk) + " > /proc/irq/default_smp_affinity",
			"for f in /proc/irq/[0-9]*/smp_affinity_list; do echo " + FormatCPUList(hk) + " > $f; done 2>/dev/null",
		}
	}
	return st
}

// --- memory, timers, clocks ------------------------------------------------------------------

var bracketed = regexp.MustCompile(`\[([^\]]+)\]`)

func (c *checker) thp() Setting {
	st := Setting{Name: "transparent hugepages", Expected: "never", Source: "/sys/kernel/mm/transparent_hugepage/enabled"}
	v, err := c.s.read("sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		st.Status, st.Found = Unknown, describeErr(err)
		return st
	}
	m := bracketed.FindStringSubmatch(v)
	if m == nil {
		st.Status, st.Found = Unknown, fmt.Sprintf("unparsable %q", v)
		return st
	}
	st.Found = m[1]
	if m[1] == "never" {
		st.Status = OK
		return st
	}
	st.Status = Warn
	st.Hint = "QEMU asks for huge pages (madvise): guest memory setup time then depends on khugepaged and fragmentation"
	st.Param = "transparent_hugepage=never"
	st.Commands = []string{"echo never > /sys/kernel/mm/transparent_hugepage/enabled"}
	return st
}

// watchdog reports a lockup detector: off when its own switch or the master switch
// kernel.watchdog is 0.
func (c *checker) watchdog(name, file, param, hint string) Setting {
	st := Setting{Name: name, Expected: "off", Source: "/proc/sys/kernel/" + file}
	v, err := c.s.read("proc/sys/kernel/" + file)
	master, merr := c.s.read("proc/sys/kernel/watchdog")
	switch {
	case merr == nil && master == "0":
		st.Status, st.Found = OK, "off (kernel.watchdog=0)"
	case err != nil:
		st.Status, st.Found = Unknown, describeErr(err)
	case v == "0":
		st.Status, st.Found = OK, "off"
	default:
		st.Status, st.Found = Warn, "on ("+file+"="+v+")"
		st.Param = param
		st.Commands = []string{"echo 0 > /proc/sys/kernel/" + file}
		st.Hint = hint
	}
	return st
}

func (c *checker) nmiWatchdog() Setting {
	return c.watchdog("NMI watchdog", "nmi_watchdog", "nmi_watchdog=0", "a periodic NMI on every CPU; it also takes a performance counter")
}

func (c *checker) softWatchdog() Setting {
	return c.watchdog("soft-lockup watchdog", "soft_watchdog", "nosoftlockup", "a periodic timer and kernel thread on every CPU")
}

func (c *checker) clocksource() Setting {
	const dir = "sys/devices/system/clocksource/clocksource0/"
	st := Setting{Name: "clock source", Expected: "tsc", Source: "/" + dir + "current_clocksource"}
	v, err := c.s.read(dir + "current_clocksource")
	if err != nil {
		st.Status, st.Found = Unknown, describeErr(err)
		return st
	}
	st.Found = v
	if v == "tsc" {
		st.Status = OK
		return st
	}
	st.Status = Warn
	avail, _ := c.s.read(dir + "available_clocksource")
	if slices.Contains(strings.Fields(avail), "tsc") {
		st.Hint = "reading the clock costs more than rdtsc"
		st.Param = "clocksource=tsc"
		st.Commands = []string{"echo tsc > /" + dir + "current_clocksource"}
	} else {
		st.Hint = "the kernel does not trust the TSC here (available: " + avail + ")"
	}
	return st
}

func (c *checker) invariantTSC() Setting {
	st := Setting{Name: "invariant TSC", Expected: "constant_tsc nonstop_tsc", Source: "/proc/cpuinfo flags"}
	if c.infoErr != nil {
		st.Status, st.Found = Unknown, "/proc/cpuinfo "+describeErr(c.infoErr)
		return st
	}
	var have, miss []string
	for _, f := range []string{"constant_tsc", "nonstop_tsc"} {
		if c.info.flags[f] {
			have = append(have, f)
		} else {
			miss = append(miss, f)
		}
	}
	st.Found = dash(strings.Join(have, " "))
	if len(miss) == 0 {
		st.Status = OK
		return st
	}
	st.Status = Warn
	st.Hint = "no " + strings.Join(miss, ", ") + ": TSC cycles are not a time base; QEMU cannot give the guest +invtsc"
	return st
}

func (c *checker) numaBalancing() Setting {
	st := Setting{Name: "NUMA balancing", Expected: "off", Source: "/proc/sys/kernel/numa_balancing"}
	v, err := c.s.read("proc/sys/kernel/numa_balancing")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		st.Status, st.Found = Unknown, "absent (kernel without CONFIG_NUMA_BALANCING)"
	case err != nil:
		st.Status, st.Found = Unknown, describeErr(err)
	case v == "0":
		st.Status, st.Found = OK, "off"
	default:
		st.Status, st.Found = Warn, "on (numa_balancing="+v+")"
		st.Param = "numa_balancing=disable"
		st.Commands = []string{"echo 0 > /proc/sys/kernel/numa_balancing"}
		st.Hint = "page faults injected to migrate memory between nodes"
	}
	return st
}

// --- /proc/cpuinfo ---------------------------------------------------------------------------

type cpuInfo struct {
	model, vendor string
	mhz           string
	flags         map[string]bool
	logical       int // processor entries
	cores         int // distinct (physical id, core id)
}

func (s Sys) cpuInfo() (cpuInfo, error) {
	b, err := os.ReadFile(s.path("proc/cpuinfo"))
	if err != nil {
		return cpuInfo{flags: map[string]bool{}}, err
	}
	ci := cpuInfo{flags: map[string]bool{}}
	cores := map[string]bool{}
	var phys string
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "processor":
			ci.logical++
		case "model name":
			if ci.model == "" {
				ci.model = v
			}
		case "vendor_id":
			ci.vendor = v
		case "cpu MHz":
			if ci.mhz == "" {
				ci.mhz = v
			}
		case "flags":
			if len(ci.flags) == 0 {
				for f := range strings.FieldsSeq(v) {
					ci.flags[f] = true
				}
			}
		case "physical id":
			phys = v
		case "core id":
			cores[phys+"/"+v] = true
		}
	}
	if ci.logical == 0 {
		return ci, fmt.Errorf("%s: no \"processor\" entry", s.path("proc/cpuinfo"))
	}
	ci.cores = len(cores)
	return ci, nil
}

// cpuDirs lists the CPUs that have a cpuN directory (when the online file is missing).
func (s Sys) cpuDirs() []int {
	names, _ := s.listDir("sys/devices/system/cpu")
	var cpus []int
	for _, n := range names {
		if rest, ok := strings.CutPrefix(n, "cpu"); ok {
			if c, err := strconv.Atoi(rest); err == nil {
				cpus = append(cpus, c)
			}
		}
	}
	slices.Sort(cpus)
	return cpus
}
