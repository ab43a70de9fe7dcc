package host

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeKVMIoctl is a test double for the KVM device of the fake trees, whose dev/kvm is a
// regular file: it answers KVM_GET_API_VERSION with 12, as every KVM since Linux 2.6.22
// does, and nothing else.
func fakeKVMIoctl(fd, req, arg uintptr) (uintptr, error) {
	if req == kvmGetAPIVersion {
		return 12, nil
	}
	return 0, unix.ENOTTY
}

// fakeHost is a copy of the fake tree testdata/name, owned by whoever runs the test (the
// KVM check opens dev/kvm read-write), with fakeKVMIoctl as its KVM device.
func fakeHost(t *testing.T, name string) Sys {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	return Sys{Root: dir, ioctl: fakeKVMIoctl}
}

// The paper's testbed configured as its README prescribes: every setting is ok.
func TestWellIsolatedHostIsAllOK(t *testing.T) {
	r := fakeHost(t, "isolated").Check()
	for _, s := range r.Settings {
		if s.Status != OK {
			t.Errorf("%s: %s (found %q, expected %q)", s.Name, s.Status, s.Found, s.Expected)
		}
	}
	if !reflect.DeepEqual(r.CPUs.CPUs, []int{4, 5, 6, 7}) || !r.CPUs.Isolated {
		t.Errorf("checked CPUs %+v, want the isolated 4-7", r.CPUs)
	}
	if r.Cmdline != "" || len(r.Commands) != 0 {
		t.Errorf("nothing to fix, yet suggested %q and %q", r.Cmdline, r.Commands)
	}
	if err := r.Err(true); err != nil {
		t.Errorf("STRICT on a clean host: %v", err)
	}
	// Disabled deep C-states do not count, enabled ones would.
	if s, _ := r.Setting("C-states"); s.Found != "intel_idle, only C1 enabled" {
		t.Errorf("C-states found %q", s.Found)
	}
	// ipv6.disable=1 removes /proc/sys/net/ipv6 altogether.
	if s, _ := r.Setting("IPv6"); !strings.HasPrefix(s.Found, "not loaded") {
		t.Errorf("IPv6 found %q", s.Found)
	}
}

// A desktop as installed: everything that can be wrong is, and each row says so.
func TestPoorlyIsolatedHost(t *testing.T) {
	r := fakeHost(t, "noisy").Check()
	want := map[string]Status{
		"KVM device": Fail, "KVM API version": Unknown, "VT-x/AMD-V": Fail, "bare metal": OK,
		"isolated CPUs": Warn, "nohz_full": Warn, "SMT": Warn,
		"frequency driver": Warn, "frequency governor": Warn, "frequency limits": Warn, "turbo": Warn, "C-states": Warn,
		"IOMMU": Warn, "IPv6": Warn, "irqbalance": Warn, "IRQ default affinity": Warn, "transparent hugepages": Warn,
		"NMI watchdog": Warn, "soft-lockup watchdog": Warn, "clock source": Warn, "invariant TSC": Warn, "NUMA balancing": Warn,
	}
	got := map[string]Status{}
	for _, s := range r.Settings {
		got[s.Name] = s.Status
	}
	if !reflect.DeepEqual(got, want) {
		for name, st := range want {
			if got[name] != st {
				t.Errorf("%s: %q, want %q", name, got[name], st)
			}
		}
		t.Fatalf("rows differ: %v", got)
	}
	if !reflect.DeepEqual(r.CPUs.CPUs, []int{4, 5, 6, 7}) || r.CPUs.Isolated {
		t.Errorf("checked CPUs %+v, want 4-7 proposed for isolation", r.CPUs)
	}
	const cmdline = "isolcpus=4-7 nohz_full=4-7 nosmt intel_pstate=disable cpufreq.default_governor=performance " +
		"intel_idle.max_cstate=1 intel_iommu=off ipv6.disable=1 irqaffinity=0-3 transparent_hugepage=never " +
		"nmi_watchdog=0 nosoftlockup numa_balancing=disable"
	if r.Cmdline != cmdline {
		t.Errorf("suggested command line\n got %s\nwant %s", r.Cmdline, cmdline)
	}
	for _, c := range []string{
		"modprobe kvm_intel",
		"echo off > /sys/devices/system/cpu/smt/control",
		"for c in 4 5 6 7; do echo performance > /sys/devices/system/cpu/cpu$c/cpufreq/scaling_governor; done",
		"for c in 4 5 6 7; do echo 3600000 > /sys/devices/system/cpu/cpu$c/cpufreq/scaling_max_freq; echo 3600000 > /sys/devices/system/cpu/cpu$c/cpufreq/scaling_min_freq; done",
		"echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo",
		"for c in 4 5 6 7; do for s in 2 3 4 5 6; do echo 1 > /sys/devices/system/cpu/cpu$c/cpuidle/state$s/disable; done; done",
		"systemctl stop irqbalance",
		"echo f > /proc/irq/default_smp_affinity",
		"echo never > /sys/kernel/mm/transparent_hugepage/enabled",
		"echo 0 > /proc/sys/kernel/nmi_watchdog",
	} {
		if !slices.Contains(r.Commands, c) {
			t.Errorf("runtime commands lack %q:\n%s", c, strings.Join(r.Commands, "\n"))
		}
	}
	// hpet because the kernel found the TSC unstable: switching back is not offered.
	if s, _ := r.Setting("clock source"); s.Param != "" || !strings.Contains(s.Hint, "does not trust the TSC") {
		t.Errorf("clock source: %+v", s)
	}
	if s, _ := r.Setting("irqbalance"); s.Found != "running (pid 812)" {
		t.Errorf("irqbalance found %q", s.Found)
	}
	if s, _ := r.Setting("C-states"); s.Found != "intel_idle: C1E C3 C6 C7s C8 enabled" {
		t.Errorf("C-states found %q", s.Found)
	}
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "`noht` is not a Linux parameter") }) {
		t.Errorf("no note on noht: %q", r.Notes)
	}
	err := r.Err(false)
	if err == nil || !strings.Contains(err.Error(), "KVM device, VT-x/AMD-V failed") {
		t.Errorf("Err(false) = %v, want the two KVM failures named", err)
	}
}

// A cloud VM like the development machines: no cpufreq, nohz_full, SMT or IOMMU, a nested
// paravirtual KVM. The check says so row by row and still passes without STRICT.
func TestVirtualMachineSaysWhatItLacks(t *testing.T) {
	r := fakeHost(t, "vm").Check()
	for name, want := range map[string]struct {
		st    Status
		found string
	}{
		"KVM API version":      {OK, "12"},
		"VT-x/AMD-V":           {Warn, "neither (KVM works anyway)"},
		"bare metal":           {Warn, "virtual machine (hypervisor flag)"},
		"isolated CPUs":        {Warn, "none"},
		"nohz_full":            {Unknown, "absent (kernel without CONFIG_NO_HZ_FULL)"},
		"SMT":                  {OK, "off (CPU has no SMT)"},
		"frequency governor":   {Unknown, "absent (no cpufreq driver)"},
		"frequency limits":     {Unknown, "absent (no cpufreq driver)"},
		"turbo":                {Unknown, "absent (no turbo control)"},
		"C-states":             {OK, "no cpuidle driver (idle = hlt)"},
		"IOMMU":                {OK, "no IOMMU"},
		"IRQ default affinity": {Warn, "CPUs 0-1 (mask 3)"},
		"NMI watchdog":         {OK, "off (kernel.watchdog=0)"},
		"invariant TSC":        {OK, "constant_tsc nonstop_tsc"},
	} {
		s, ok := r.Setting(name)
		if !ok || s.Status != want.st || s.Found != want.found {
			t.Errorf("%s: %s %q, want %s %q", name, s.Status, s.Found, want.st, want.found)
		}
	}
	if !reflect.DeepEqual(r.CPUs.CPUs, []int{1}) {
		t.Errorf("checked CPUs %v, want [1]", r.CPUs.CPUs)
	}
	// Only CPU 1 can be isolated; CPU 0 keeps the interrupts.
	if !strings.HasPrefix(r.Cmdline, "isolcpus=1 ") || !strings.Contains(r.Cmdline, "irqaffinity=0") {
		t.Errorf("cmdline %q", r.Cmdline)
	}
	if err := r.Err(false); err != nil {
		t.Errorf("warnings alone must pass: %v", err)
	}
	if err := r.Err(true); err == nil || !strings.Contains(err.Error(), "STRICT=1") {
		t.Errorf("STRICT with warnings: %v", err)
	}
}

func TestStrictIgnoresUnknown(t *testing.T) {
	r := Report{Settings: []Setting{{Name: "a", Status: OK}, {Name: "frequency governor", Status: Unknown}}}
	if err := r.Err(true); err != nil {
		t.Errorf("unknown must not fail STRICT: %v", err)
	}
	r.Settings = append(r.Settings, Setting{Name: "THP", Status: Warn})
	if err := r.Err(false); err != nil {
		t.Errorf("warn without STRICT: %v", err)
	}
	if err := r.Err(true); err == nil || !strings.Contains(err.Error(), "THP") {
		t.Errorf("warn with STRICT: %v", err)
	}
}

func TestTableIsAligned(t *testing.T) {
	r := fakeHost(t, "noisy").Check()
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	header := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "SETTING") })
	if header < 0 {
		t.Fatalf("no header:\n%s", out)
	}
	// tabwriter aligns on runes ("800 MHz–4200 MHz" has a multi-byte dash).
	col := strings.Index(lines[header], "STATUS")
	for _, l := range lines[header+1 : header+1+len(r.Settings)] {
		rl := []rune(l)
		if st := string(rl[col:min(len(rl), col+7)]); !strings.HasPrefix(st, "OK") && !strings.HasPrefix(st, "WARN") && !strings.HasPrefix(st, "FAIL") && !strings.HasPrefix(st, "UNKNOWN") {
			t.Errorf("status not in the STATUS column: %q", l)
		}
	}
	for _, want := range []string{"1 ok, 18 warn, 2 fail, 1 unknown", "suggested kernel command line", r.Cmdline, "systemctl stop irqbalance", "note: the original README's `noht`"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestReportJSONRoundTrip(t *testing.T) {
	r := fakeHost(t, "noisy").Check()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, back) {
		t.Errorf("round trip changed the report:\n%+v\n%+v", r, back)
	}
	if !bytes.Contains(b, []byte(`"setting":"KVM device","expected":"/dev/kvm read-write","found":"absent","status":"fail"`)) {
		t.Errorf("json: %s", b)
	}
}

// This machine, whatever it has: the check runs, every row has a status, and the KVM row
// agrees with what opening /dev/kvm here says.
func TestThisMachine(t *testing.T) {
	r := Check()
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", b.String())
	if len(r.Settings) != 22 {
		t.Errorf("%d rows", len(r.Settings))
	}
	for _, s := range r.Settings {
		if !slices.Contains([]Status{OK, Warn, Fail, Unknown}, s.Status) || s.Found == "" || s.Expected == "" {
			t.Errorf("incomplete row %+v", s)
		}
	}
	kvm, _ := r.Setting("KVM device")
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err == nil {
		f.Close()
	}
	if (err == nil) != (kvm.Status == OK) {
		t.Errorf("KVM row %s %q, but opening /dev/kvm read-write: %v", kvm.Status, kvm.Found, err)
	}
	if kvm.Status == OK {
		if api, _ := r.Setting("KVM API version"); api.Status != OK {
			t.Errorf("/dev/kvm opens but %+v", api)
		}
	}
}

// Whatever is missing, the check runs and says what it could not read.
func TestMissingFilesAreUnknown(t *testing.T) {
	empty := Sys{Root: t.TempDir(), ioctl: fakeKVMIoctl}.Check()
	for _, s := range empty.Settings {
		want := Unknown
		if s.Name == "KVM device" {
			want = Fail
		}
		if s.Status != want {
			t.Errorf("empty root: %s is %s (%q), want %s", s.Name, s.Status, s.Found, want)
		}
	}

	h := fakeHost(t, "noisy")
	for _, rel := range []string{"proc/cpuinfo", "sys/kernel/mm", "sys/devices/system/clocksource",
		"sys/devices/system/cpu/cpu4/cpuidle", "sys/devices/system/cpu/cpu5/cpuidle", "sys/devices/system/cpu/cpu6/cpuidle", "sys/devices/system/cpu/cpu7/cpuidle"} {
		if err := os.RemoveAll(h.path(rel)); err != nil {
			t.Fatal(err)
		}
	}
	r := h.Check()
	for _, name := range []string{"VT-x/AMD-V", "bare metal", "C-states", "transparent hugepages", "clock source", "invariant TSC"} {
		if s, _ := r.Setting(name); s.Status != Unknown {
			t.Errorf("%s: %s %q, want unknown", name, s.Status, s.Found)
		}
	}
}
