package host

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeTool writes an executable shell script named name into dir: a test double for a tool
// (QEMU, docker) that this test needs to behave in a particular way.
func fakeTool(t *testing.T, dir, name, script string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFingerprintOfFakeVM(t *testing.T) {
	bin := t.TempDir()
	qemu := fakeTool(t, bin, "qemu-testdouble", `echo "QEMU emulator version 0.0.0 (test double)"; echo "Copyright"`)
	t.Setenv("PATH", bin) // no docker CLI
	h := fakeHost(t, "vm")
	h.QEMU = qemu
	fp := h.Fingerprint(context.Background())

	if fp.CPUModel != "Intel(R) Xeon(R) Processor" || fp.CPUs != 2 || fp.Cores != 2 || !fp.Virtual {
		t.Errorf("CPU: %+v", fp)
	}
	if fp.Kernel != "6.18.44-fc" || !strings.Contains(fp.Cmdline, "nested_pvm=1") || fp.MemoryBytes != 24731708*1024 {
		t.Errorf("kernel, cmdline, memory: %+v", fp)
	}
	// No KVM answer (fake device), no cpufreq, invariant TSC: the calibrated cpu MHz.
	if fp.TSCKHz != 2100000 || !strings.HasPrefix(fp.TSCSource, "/proc/cpuinfo") || !fp.InvariantTSC || fp.Clocksource != "tsc" {
		t.Errorf("TSC: %d kHz from %q, invariant %v, clocksource %q", fp.TSCKHz, fp.TSCSource, fp.InvariantTSC, fp.Clocksource)
	}
	if fp.QEMU != "QEMU emulator version 0.0.0 (test double)" {
		t.Errorf("QEMU version %q", fp.QEMU)
	}
	if fp.Docker != "" || !strings.Contains(fp.Unknown["docker_server"], "docker") {
		t.Errorf("docker %q, unknown %q", fp.Docker, fp.Unknown)
	}
	if _, err := json.Marshal(fp); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Intel(R) Xeon(R) Processor, 2 CPUs (2 cores), 23.6 GiB, Linux 6.18.44-fc, virtual machine, TSC 2100.000 MHz",
		"QEMU: QEMU emulator version 0.0.0 (test double)", `Docker server: unknown (docker: exec: "docker": executable file not found`} {
		if !strings.Contains(fp.String(), want) {
			t.Errorf("summary %q lacks %q", fp.String(), want)
		}
	}
}

// The noisy desktop has cpufreq and no nonstop_tsc: cpu MHz is not the TSC there.
func TestFingerprintWithoutInvariantTSC(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	h := fakeHost(t, "noisy")
	h.QEMU = "/nonexistent/qemu"
	fp := h.Fingerprint(context.Background())
	if fp.TSCKHz != 0 || fp.Unknown["tsc_khz"] == "" {
		t.Errorf("TSC %d kHz (%s), unknown %q", fp.TSCKHz, fp.TSCSource, fp.Unknown["tsc_khz"])
	}
	if fp.Cores != 4 || fp.CPUs != 8 {
		t.Errorf("cores %d, cpus %d; want 4 and 8", fp.Cores, fp.CPUs)
	}
	if !strings.Contains(fp.Unknown["qemu"], `"/nonexistent/qemu" (QEMU=) not found`) {
		t.Errorf("missing QEMU: %q", fp.Unknown["qemu"])
	}
}

// A Docker daemon that does not answer: the query gives up after ToolTimeout and the
// process it started is gone.
func TestFingerprintToolTimeout(t *testing.T) {
	bin := t.TempDir()
	pidFile := filepath.Join(bin, "pid")
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	fakeTool(t, bin, "docker", "echo $$ > "+pidFile+"; exec "+sleep+" 60")
	t.Setenv("PATH", bin)
	old := ToolTimeout
	ToolTimeout = 300 * time.Millisecond
	defer func() { ToolTimeout = old }()

	h := fakeHost(t, "vm")
	h.QEMU = "/nonexistent/qemu"
	fp := h.Fingerprint(context.Background())
	if !strings.Contains(fp.Unknown["docker_server"], "timed out after 300ms") {
		t.Errorf("docker: %q", fp.Unknown["docker_server"])
	}
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) || (err == nil && strings.TrimSpace(string(b)) == "") {
		// On a loaded machine the timeout can strike before the shell wrote its pid; the
		// process that would have written it is gone, which is what this test is after.
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file: %q", b)
	}
	if err := unix.Kill(pid, 0); !errors.Is(err, unix.ESRCH) {
		t.Errorf("the timed-out docker (pid %d) still exists: %v", pid, err)
	}
}

func TestFingerprintOfThisMachine(t *testing.T) {
	fp := Describe(context.Background(), "")
	b, err := json.MarshalIndent(fp, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", b)
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	if fp.Kernel != unix.ByteSliceToString(u.Release[:]) || fp.CPUs < 1 || fp.MemoryBytes <= 0 || fp.Cmdline == "" {
		t.Errorf("fingerprint %+v", fp)
	}
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
		f.Close()
		if fp.TSCSource != "KVM_GET_TSC_KHZ" || fp.TSCKHz < 100000 {
			t.Errorf("KVM usable, but TSC %d kHz from %q (%s)", fp.TSCKHz, fp.TSCSource, fp.Unknown["tsc_khz"])
		}
	}
}
