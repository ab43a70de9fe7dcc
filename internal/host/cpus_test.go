package host

import (
	"errors"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCPUListFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		cpus []int
		out  string
	}{
		{"0-3,5,8-9\n", []int{0, 1, 2, 3, 5, 8, 9}, "0-3,5,8-9"},
		{"4-7", []int{4, 5, 6, 7}, "4-7"},
		{"1", []int{1}, "1"},
		{"", nil, ""},
		{"(null)\n", nil, ""}, // unset nohz_full
		{"3,1,2", []int{1, 2, 3}, "1-3"},
	} {
		got, err := ParseCPUList(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.cpus) {
			t.Errorf("ParseCPUList(%q) = %v, %v; want %v", tc.in, got, err, tc.cpus)
		}
		if s := FormatCPUList(got); s != tc.out {
			t.Errorf("FormatCPUList(%v) = %q, want %q", got, s, tc.out)
		}
	}
	for _, bad := range []string{"a", "3-1", "1-", "-2"} {
		if _, err := ParseCPUList(bad); err == nil {
			t.Errorf("ParseCPUList(%q): no error", bad)
		}
	}
}

func TestCPUMask(t *testing.T) {
	got, err := parseCPUMask("ff,00000001\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []int{0, 32, 33, 34, 35, 36, 37, 38, 39}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if s := formatCPUMask(got); s != "ff,00000001" {
		t.Errorf("formatCPUMask = %q", s)
	}
	if _, err := parseCPUMask("zz"); err == nil {
		t.Error("bad mask accepted")
	}
}

func TestChooseCPUs(t *testing.T) {
	for _, tc := range []struct {
		root     string
		n        int
		cpus     []int
		isolated bool
		reason   string
	}{
		{"testdata/isolated", 2, []int{4, 5}, true, "isolated CPUs 4-5"},
		{"testdata/isolated", 4, []int{4, 5, 6, 7}, true, "isolated CPUs 4-7"},
		{"testdata/isolated", 6, []int{2, 3, 4, 5, 6, 7}, false, "only 4 isolated CPU(s) (4-7) for 6 needed"},
		{"testdata/noisy", 2, []int{6, 7}, false, "no isolated CPUs: highest-numbered online CPUs other than CPU 0"},
		{"testdata/vm", 1, []int{1}, false, "no isolated CPUs"},
		{"testdata/vm", 2, []int{0, 1}, false, "CPU 0 included because the host has too few CPUs"},
	} {
		c, err := Sys{Root: tc.root}.ChooseCPUs(tc.n)
		if err != nil {
			t.Errorf("%s n=%d: %v", tc.root, tc.n, err)
			continue
		}
		if !reflect.DeepEqual(c.CPUs, tc.cpus) || c.Isolated != tc.isolated || !strings.Contains(c.Reason, tc.reason) {
			t.Errorf("%s n=%d: %+v, want %v isolated=%v reason ~%q", tc.root, tc.n, c, tc.cpus, tc.isolated, tc.reason)
		}
	}
	if _, err := (Sys{Root: "testdata/vm"}).ChooseCPUs(3); err == nil || !strings.Contains(err.Error(), "only 2 online") {
		t.Errorf("3 CPUs of 2: %v", err)
	}
	if _, err := (Sys{Root: "testdata/vm"}).ChooseCPUs(0); err == nil {
		t.Error("0 CPUs accepted")
	}
	if _, err := (Sys{Root: t.TempDir()}).ChooseCPUs(1); err == nil {
		t.Error("no /sys: no error")
	}
}

func TestQEMUVCPUThreadsFromProc(t *testing.T) {
	m, err := Sys{Root: "testdata/isolated"}.QEMUVCPUThreads(4242)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[int]int{0: 4245, 1: 4246}; !reflect.DeepEqual(m, want) {
		t.Errorf("got %v, want %v", m, want)
	}
	if _, err := (Sys{Root: "testdata/isolated"}).QEMUVCPUThreads(1); err == nil {
		t.Error("a pid without task directory gave no error")
	}
	// QEMU without debug-threads=on names no thread: say so rather than wait forever.
	if _, err := (Sys{Root: "testdata/isolated"}).QEMUVCPUThreads(4300); err == nil || !strings.Contains(err.Error(), "debug-threads=on") {
		t.Errorf("QEMU without thread names: %v", err)
	}
}

// start runs a child in its own process group and registers its end: killed by pid, waited
// for with a timeout.
func start(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s (pid %d) did not exit within 10 s of SIGKILL", name, cmd.Process.Pid)
		}
	})
	return cmd
}

// target is a CPU set different from the process's current one when the machine allows it.
func target(t *testing.T) []int {
	c, err := ChooseCPUs(1)
	if err != nil {
		t.Fatal(err)
	}
	return c.CPUs
}

func TestPinRealProcess(t *testing.T) {
	cmd := start(t, "sleep", "60")
	cpus := target(t)
	if err := Pin(cmd.Process.Pid, cpus); err != nil {
		t.Fatal(err)
	}
	got, err := Affinity(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cpus) {
		t.Errorf("affinity after Pin: %v, want %v", got, cpus)
	}
	if err := Pin(cmd.Process.Pid, nil); err == nil {
		t.Error("empty CPU list accepted")
	}
	if err := PinThread(cmd.Process.Pid, []int{100000}); err == nil {
		t.Error("CPU out of range accepted")
	}
}

func TestPinGoneProcess(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	// The pid is reaped; it could be reused, but not within this test in practice.
	err := Pin(cmd.Process.Pid, []int{0})
	if err == nil || !strings.Contains(err.Error(), "pin process") {
		t.Errorf("pinning an exited process: %v", err)
	}
	if err := PinThread(cmd.Process.Pid, []int{0}); !errors.Is(err, unix.ESRCH) {
		t.Errorf("PinThread of an exited thread: %v, want ESRCH", err)
	}
}

// A real QEMU, paused before the guest runs (-S): its vCPU threads exist, are found by name
// and pinned one by one. TCG runs on any machine with QEMU installed; KVM where /dev/kvm is
// usable (with the CPU model the nested KVM of the development machines accepts).
func TestQEMUVCPUThreadsOfRealQEMU(t *testing.T) {
	qemu, err := QEMUBinary()
	if err != nil {
		t.Skipf("no QEMU here: %v", err)
	}
	common := []string{"-name", "host-test,debug-threads=on", "-smp", "2", "-m", "32", "-S",
		"-display", "none", "-nodefaults", "-no-user-config", "-monitor", "none", "-serial", "none"}
	t.Run("tcg", func(t *testing.T) {
		checkVCPUThreads(t, start(t, qemu, append([]string{"-M", "pc", "-accel", "tcg,thread=multi"}, common...)...))
	})
	t.Run("kvm", func(t *testing.T) {
		f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
		if err != nil {
			t.Skipf("no usable KVM: %v", err)
		}
		f.Close()
		checkVCPUThreads(t, start(t, qemu, append([]string{"-M", "microvm", "-accel", "kvm", "-cpu", "host,-arch-capabilities"}, common...)...))
	})
}

func checkVCPUThreads(t *testing.T, cmd *exec.Cmd) {
	var vcpus map[int]int
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if vcpus, err = QEMUVCPUThreads(cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		if len(vcpus) == 2 {
			break
		}
	}
	if len(vcpus) != 2 || vcpus[0] == 0 || vcpus[1] == 0 {
		t.Fatalf("vCPU threads of QEMU %d: %v, want vCPUs 0 and 1", cmd.Process.Pid, vcpus)
	}
	cpus := target(t)
	if err := Pin(cmd.Process.Pid, cpus); err != nil {
		t.Fatal(err)
	}
	tids, err := threads(Real(), cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, tid := range tids {
		if got, _ := Affinity(tid); !slices.Equal(got, cpus) {
			t.Errorf("thread %d after Pin: affinity %v, want %v", tid, got, cpus)
		}
	}
	online, err := Real().cpuList("sys/devices/system/cpu/online")
	if err != nil {
		t.Fatal(err)
	}
	for vcpu, tid := range vcpus {
		cpu := []int{online[vcpu%len(online)]}
		if err := PinThread(tid, cpu); err != nil {
			t.Fatal(err)
		}
		if got, _ := Affinity(tid); !slices.Equal(got, cpu) {
			t.Errorf("vCPU %d (tid %d): affinity %v, want %v", vcpu, tid, got, cpu)
		}
	}
}
