package vmm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/boottime/testguest"
	"github.com/unikraft-eurosys21/artifact/internal/host"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
	"golang.org/x/sys/unix"
)

// TestMain checks, after every test, that nothing this test process created is left: no
// child process (every VMM is our child) and no tap device that was not there before.
func TestMain(m *testing.M) {
	before, _ := filepath.Glob("/sys/class/net/" + vmm.OwnTapPrefix() + "*")
	code := m.Run()
	if kids := children(); len(kids) > 0 {
		fmt.Fprintf(os.Stderr, "LEFT BEHIND: child processes %v\n", kids)
		code = 1
	}
	after, _ := filepath.Glob("/sys/class/net/" + vmm.OwnTapPrefix() + "*")
	for _, tap := range after {
		if !slices.Contains(before, tap) {
			fmt.Fprintf(os.Stderr, "LEFT BEHIND: tap device %s\n", filepath.Base(tap))
			code = 1
		}
	}
	os.Exit(code)
}

// children lists the live processes whose parent is this test process.
func children() []string {
	ents, _ := os.ReadDir("/proc")
	var kids []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])) // comm may hold spaces
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			kids = append(kids, fmt.Sprintf("%d %s", pid, f[0]))
		}
	}
	return kids
}

// kvmCPU is the CPU model for tests under KVM: QEMU_CPU when set, else the paper's model
// minus arch-capabilities, which nested KVMs (like the development machines) cannot set.
// Hiding that MSR does not change what the tests check.
func kvmCPU() string {
	if c := os.Getenv("QEMU_CPU"); c != "" {
		return c
	}
	return vmm.DefaultCPU + ",-arch-capabilities"
}

func needQEMU(t *testing.T) {
	t.Helper()
	if _, err := vmm.QEMUBinary(""); err != nil {
		t.Skipf("no QEMU: %v", err)
	}
}

func needKVM(t *testing.T) {
	t.Helper()
	if err := host.CheckKVM(); err != nil {
		t.Skipf("no KVM: %v", err)
	}
}

func guest(t *testing.T, v testguest.Variant) string {
	t.Helper()
	k, err := testguest.Build(context.Background(), t.TempDir(), v)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// assertGone checks that nothing of the process group we started is left: no process with
// that pid runs our kernel, and the process group is empty.
func assertGone(t *testing.T, pid int, kernel string) {
	t.Helper()
	if pid == 0 {
		t.Fatal("no pid")
	}
	if cmd, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err == nil && bytes.Contains(cmd, []byte(kernel)) {
		t.Errorf("pid %d (our VMM) still exists", pid)
	}
	if err := unix.Kill(-pid, 0); !errors.Is(err, unix.ESRCH) {
		t.Errorf("process group %d still has members (kill -0: %v)", pid, err)
	}
}

func TestQEMUArgsArePapers(t *testing.T) {
	micro := vmm.QEMU{Machine: "microvm", Accel: "kvm", MemoryMiB: 2, Kernel: "k", DebugExit: true}
	args, err := micro.Args()
	if err != nil {
		t.Fatal(err)
	}
	want := "-nodefaults -no-user-config -nographic -serial stdio -machine microvm,x-option-roms=off,pit=off,pic=off,rtc=on " +
		"-accel kvm -cpu host,migratable=no,+invtsc -m 2M -kernel k -device isa-debug-exit -overcommit mem-lock=on"
	if got := strings.Join(args, " "); got != want {
		t.Errorf("microvm:\n got %s\nwant %s", got, want)
	}

	pc := vmm.QEMU{MemoryMiB: 2, Kernel: "k", DebugExit: true, NIC: &vmm.NIC{}}
	args, _ = pc.Args()
	want = "-nodefaults -no-user-config -nographic -serial stdio -machine pc -accel kvm -cpu host,migratable=no,+invtsc " +
		"-m 2M -kernel k -device isa-debug-exit -no-reboot -netdev tap,id=uknetdev,fd=3 -device virtio-net-pci,netdev=uknetdev,mac=aa:bb:cc:00:01:01"
	if got := strings.Join(args, " "); got != want {
		t.Errorf("pc with NIC:\n got %s\nwant %s", got, want)
	}
}

// microvm's paper options (pit=off) hold only where the guest reads its TSC frequency from
// CPUID 0x40000010; elsewhere Unikraft 7fd6797 polls the PIT for 100 ms and would hang.
func TestMicroVMKeepsThePITWithoutTheTSCFrequencyLeaf(t *testing.T) {
	for _, c := range []struct {
		q    vmm.QEMU
		leaf bool
		pit  string
	}{
		{vmm.QEMU{Machine: "microvm", Accel: "kvm"}, true, "pit=off"},                                       // DefaultCPU has +invtsc
		{vmm.QEMU{Machine: "microvm", Accel: "kvm", CPU: "host,tsc-frequency=2000000000"}, true, "pit=off"}, // a known TSC
		{vmm.QEMU{Machine: "microvm", Accel: "kvm", CPU: "host"}, false, "pit=on"},
		{vmm.QEMU{Machine: "microvm", Accel: "kvm", CPU: "host,migratable=no,+invtsc,-invtsc"}, false, "pit=on"},
		{vmm.QEMU{Machine: "microvm", Accel: "tcg"}, false, "pit=on"},
		{vmm.QEMU{Machine: "microvm", Accel: "tcg", CPU: "max,+invtsc"}, false, "pit=on"}, // TCG never has the leaf
		{vmm.QEMU{Machine: "microvm", Accel: "tcg", PIT: "off"}, false, "pit=off"},
		{vmm.QEMU{Machine: "microvm", Accel: "kvm", PIT: "on"}, true, "pit=on"},
	} {
		m, err := c.q.MachineOptions()
		if err != nil {
			t.Fatal(err)
		}
		if c.q.TSCFrequencyLeaf() != c.leaf || !strings.Contains(m, ","+c.pit+",") || !strings.HasSuffix(m, "pic=off,rtc=on") {
			t.Errorf("%+v: leaf %v, -machine %s; want leaf %v and %s", c.q, c.q.TSCFrequencyLeaf(), m, c.leaf, c.pit)
		}
	}
	if m, _ := (&vmm.QEMU{Accel: "tcg"}).MachineOptions(); m != "pc" {
		t.Errorf("pc under TCG: %s", m)
	}
	if _, err := (&vmm.QEMU{Machine: "microvm", PIT: "maybe"}).MachineOptions(); err == nil {
		t.Error("PIT=maybe accepted")
	}
}

// SMP renders -smp after -m; left at 0 (every figure but 22) it renders nothing, as the
// exact command lines above show.
func TestQEMUSMP(t *testing.T) {
	args, err := (&vmm.QEMU{MemoryMiB: 1024, SMP: 2, Kernel: "k"}).Args()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(args, " "); !strings.Contains(got, "-m 1024M -smp 2 -kernel k") {
		t.Errorf("SMP 2: %s", got)
	}
	if _, err := (&vmm.QEMU{SMP: -1, Kernel: "k"}).Args(); err == nil {
		t.Error("SMP -1 accepted")
	}
}

func TestQEMUNoMemLock(t *testing.T) {
	args, _ := (&vmm.QEMU{Machine: "microvm", Kernel: "k", NoMemLock: true}).Args()
	if slices.Contains(args, "-overcommit") {
		t.Errorf("mem-lock still there: %v", args)
	}
}

func TestQEMUCPUModel(t *testing.T) {
	if got := (&vmm.QEMU{}).CPUModel(); got != vmm.DefaultCPU {
		t.Errorf("kvm default = %q", got)
	}
	if got := (&vmm.QEMU{Accel: "tcg"}).CPUModel(); got != vmm.DefaultTCGCPU {
		t.Errorf("tcg default = %q", got)
	}
	if got := (&vmm.QEMU{CPU: "max"}).CPUModel(); got != "max" {
		t.Errorf("explicit CPU overridden: %q", got)
	}
}

func TestQEMURejectsBadConfig(t *testing.T) {
	for _, q := range []vmm.QEMU{{Kernel: "k", Machine: "q35"}, {Kernel: "k", Accel: "hvf"}, {}} {
		if _, err := q.Args(); err == nil {
			t.Errorf("%+v: no error", q)
		}
	}
}

func TestPassFileNumbersDescriptors(t *testing.T) {
	var q vmm.QEMU
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	if n := q.PassFile(r); n != 3 {
		t.Errorf("first file is fd %d", n)
	}
	if n := q.PassFile(w); n != 4 {
		t.Errorf("second file is fd %d", n)
	}
}

func TestMissingQEMUBinary(t *testing.T) {
	q := vmm.QEMU{Binary: "/nonexistent/qemu-system-x86_64", Kernel: "k"}
	_, err := q.New()
	if err == nil || !strings.Contains(err.Error(), "not found") || !strings.Contains(err.Error(), "QEMU=") {
		t.Fatalf("error does not say what to do: %v", err)
	}
}

func TestQEMUBootsTestGuest(t *testing.T) {
	needQEMU(t)
	kernel := guest(t, testguest.Normal)
	cases := []vmm.QEMU{
		{Machine: "microvm", Accel: "tcg"},
		{Machine: "pc", Accel: "tcg"},
		{Machine: "microvm", Accel: "kvm", CPU: kvmCPU()},
	}
	for _, q := range cases {
		t.Run(q.Machine+"/"+q.Accel, func(t *testing.T) {
			if q.Accel == "kvm" {
				needKVM(t)
			}
			q.Kernel, q.MemoryMiB, q.DebugExit = kernel, 2, true
			p, err := q.New()
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			e, err := p.Wait(time.Minute)
			if err != nil {
				t.Fatalf("%v\n%s", err, p.Console())
			}
			if e.Code != testguest.ExitNormal || e.Stopped {
				t.Errorf("exit = %v, want code %d\n%s", e, testguest.ExitNormal, p.Console())
			}
			if e.CPU() <= 0 || e.Lifetime() <= 0 || e.Execed < e.Started || e.Ended < e.Execed {
				t.Errorf("implausible times: %+v", e)
			}
			assertGone(t, p.Pid(), kernel)
		})
	}
}

func TestQEMUPinnedToCPU(t *testing.T) {
	needQEMU(t)
	kernel := guest(t, testguest.Hang)
	q := vmm.QEMU{Machine: "microvm", Accel: "tcg", Kernel: kernel, MemoryMiB: 2, CPUs: []int{0}}
	p, err := q.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(p.Pid(), &set); err != nil {
		t.Fatal(err)
	}
	if set.Count() != 1 || !set.IsSet(0) {
		t.Errorf("QEMU affinity has %d CPUs, want only CPU 0", set.Count())
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, p.Pid(), kernel)
}

func TestTimeoutKillsOnlyOurVM(t *testing.T) {
	needQEMU(t)
	kernel := guest(t, testguest.Hang)
	p, err := vmm.QEMU{Machine: "microvm", Accel: "tcg", Kernel: kernel, MemoryMiB: 2, DebugExit: true}.New()
	if err != nil {
		t.Fatal(err)
	}
	// A bystander QEMU the harness did not start must survive our timeout.
	other, err := vmm.QEMU{Machine: "microvm", Accel: "tcg", Kernel: kernel, MemoryMiB: 2}.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer other.Stop()

	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e, err := p.Wait(time.Second)
	if !errors.Is(err, vmm.ErrTimeout) {
		t.Fatalf("Wait error = %v, want ErrTimeout", err)
	}
	if !e.Stopped || e.Signal != syscall.SIGKILL {
		t.Errorf("exit = %v, want killed by the harness", e)
	}
	assertGone(t, p.Pid(), kernel)
	if err := unix.Kill(other.Pid(), 0); err != nil {
		t.Errorf("the other QEMU (pid %d) was hit: %v", other.Pid(), err)
	}
	if err := other.Stop(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, other.Pid(), kernel)
}

// Ctrl-C reaches the harness (the VMM is in its own process group, so the terminal's
// SIGINT does not reach it); the harness cancels its context and the VMM is killed.
func TestCtrlCStopsVM(t *testing.T) {
	needQEMU(t)
	kernel := guest(t, testguest.Hang)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	p, err := vmm.QEMU{Machine: "microvm", Accel: "tcg", Kernel: kernel, MemoryMiB: 2}.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := unix.Kill(os.Getpid(), unix.SIGINT); err != nil {
		t.Fatal(err)
	}
	e, err := p.Wait(time.Minute)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait error = %v, want context.Canceled", err)
	}
	if !e.Stopped {
		t.Errorf("exit = %v, want stopped by the harness", e)
	}
	assertGone(t, p.Pid(), kernel)
}

func TestStartWithCancelledContext(t *testing.T) {
	needQEMU(t)
	kernel := guest(t, testguest.Normal)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, err := vmm.QEMU{Machine: "microvm", Accel: "tcg", Kernel: kernel}.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start = %v, want context.Canceled", err)
	}
	if p.Pid() != 0 {
		t.Errorf("a process was started: pid %d", p.Pid())
	}
}

func TestQEMUErrorIsExplained(t *testing.T) {
	needQEMU(t)
	kernel := guest(t, testguest.Normal)
	p, err := vmm.QEMU{Machine: "microvm", Accel: "tcg", Kernel: kernel, Devices: []string{"-device", "no-such-device"}}.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err = p.Wait(time.Minute)
	if err == nil || !strings.Contains(err.Error(), "no-such-device") {
		t.Fatalf("QEMU's own error not reported: %v", err)
	}
}

func TestTapNIC(t *testing.T) {
	needQEMU(t)
	if os.Geteuid() != 0 {
		t.Skip("tap devices need root")
	}
	t.Run("present during the run, gone after", func(t *testing.T) {
		kernel := guest(t, testguest.Hang)
		p, err := vmm.QEMU{Machine: "microvm", Accel: "tcg", Kernel: kernel, MemoryMiB: 2, NIC: &vmm.NIC{}}.New()
		if err != nil {
			t.Fatal(err)
		}
		tap := p.Tap()
		if !strings.HasPrefix(tap, vmm.OwnTapPrefix()) || len(tap) >= unix.IFNAMSIZ {
			t.Fatalf("tap name %q", tap)
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		flags, err := os.ReadFile("/sys/class/net/" + tap + "/flags")
		if err != nil {
			p.Stop()
			t.Fatalf("tap %s missing while QEMU runs: %v", tap, err)
		}
		if f, _ := strconv.ParseUint(strings.TrimSpace(string(flags)), 0, 32); f&unix.IFF_UP == 0 {
			t.Errorf("tap %s is not up (flags %s)", tap, flags)
		}
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Wait(time.Second); err != nil {
			t.Fatal(err) // cleanup errors (tap still present) surface here
		}
		if _, err := os.Stat("/sys/class/net/" + tap); err == nil {
			t.Errorf("tap %s left behind", tap)
		}
		assertGone(t, p.Pid(), kernel)
	})
	t.Run("paper's QEMU (1NIC) boots", func(t *testing.T) {
		kernel := guest(t, testguest.Normal)
		p, err := vmm.QEMU{Machine: "pc", Accel: "tcg", Kernel: kernel, MemoryMiB: 2, DebugExit: true, NIC: &vmm.NIC{}}.New()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		e, err := p.Wait(time.Minute)
		if err != nil || e.Code != testguest.ExitNormal {
			t.Fatalf("exit %v, %v\n%s", e, err, p.Console())
		}
		if _, err := os.Stat("/sys/class/net/" + p.Tap()); err == nil {
			t.Errorf("tap %s left behind", p.Tap())
		}
	})
	t.Run("gone when QEMU fails", func(t *testing.T) {
		kernel := guest(t, testguest.Normal)
		p, err := vmm.QEMU{Machine: "pc", Accel: "tcg", Kernel: kernel, NIC: &vmm.NIC{}, Devices: []string{"-device", "no-such-device"}}.New()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Wait(time.Minute); err == nil {
			t.Fatal("QEMU with a bad device did not fail")
		}
		if _, err := os.Stat("/sys/class/net/" + p.Tap()); err == nil {
			t.Errorf("tap %s left behind", p.Tap())
		}
	})
	t.Run("existing name refused", func(t *testing.T) {
		if _, err := vmm.CreateTap("lo"); err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("CreateTap(lo) = %v", err)
		}
	})
}

func TestFirecrackerConfigIsCurrentSchema(t *testing.T) {
	f := vmm.Firecracker{Kernel: "/k"}
	b, err := f.Config("/d/log.fifo", "/d/metrics.json")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]map[string]any
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	delete(raw, "drives")
	rest, _ := json.Marshal(raw)
	if err := json.Unmarshal(rest, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["logger"]["log_path"] != "/d/log.fifo" || cfg["metrics"]["metrics_path"] != "/d/metrics.json" {
		t.Errorf("log/metrics paths: %s", b)
	}
	if cfg["machine-config"]["smt"] != false || cfg["machine-config"]["vcpu_count"] != 1.0 || cfg["machine-config"]["mem_size_mib"] != 2.0 {
		t.Errorf("machine-config: %v", cfg["machine-config"])
	}
	for _, old := range []string{"log_fifo", "metrics_fifo", "ht_enabled"} {
		if bytes.Contains(b, []byte(old)) {
			t.Errorf("pre-1.0 key %s in config", old)
		}
	}
	if args := f.Args("/d"); !slices.Contains(args, "--boot-timer") || !slices.Contains(args, filepath.Join("/d", "api.sock")) {
		t.Errorf("args %v", args)
	}
}

func TestParseBootTimer(t *testing.T) {
	// The line as Firecracker's boot-timer device logs it (its integration tests match it).
	log := []byte("2024-01-01T00:00:00.000000000 [anonymous-instance:main:INFO:src/vmm/src/devices/pseudo/boot_timer.rs:41] Guest-boot-time =   3081 us 3 ms,   2770 CPU us 2 CPU ms\n")
	bt, ok := vmm.ParseBootTimer(log)
	if !ok || bt.Wall != 3081*time.Microsecond || bt.CPU != 2770*time.Microsecond {
		t.Fatalf("ParseBootTimer = %+v, %v", bt, ok)
	}
	if _, ok := vmm.ParseBootTimer([]byte("no timer here")); ok {
		t.Error("found a timer in a log without one")
	}
}

func TestMissingFirecrackerAndSolo5(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := vmm.Firecracker{Kernel: "k"}.New()
	if err == nil || !strings.Contains(err.Error(), "FIRECRACKER=") {
		t.Errorf("firecracker: %v", err)
	}
	_, err = vmm.Solo5{Kernel: "k"}.New()
	if err == nil || !strings.Contains(err.Error(), "SOLO5_HVT=") {
		t.Errorf("solo5: %v", err)
	}
}

func TestSolo5Args(t *testing.T) {
	s := vmm.Solo5{Kernel: "/k", Tender: []string{"--net:service=tap0"}, Args: []string{"a"}}
	args, err := s.CommandArgs()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(args, " "); got != "--mem=2 --net:service=tap0 /k a" {
		t.Errorf("args = %s", got)
	}
}

func TestOutputTimesOut(t *testing.T) {
	// Output returns only once the command is gone, so returning at all is the check.
	_, err := vmm.Output(context.Background(), 200*time.Millisecond, "sleep", "600")
	if !errors.Is(err, vmm.ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
}

// fakeFirecracker is a TEST DOUBLE for the firecracker binary, which is not available on
// the development machines: it checks the command line and configuration file it is given,
// writes one boot-timer line to the configured log (as Firecracker's --boot-timer does)
// and then waits forever, like Firecracker with a halted guest. It measures nothing; it
// tests the driver's plumbing (private directory, log FIFO, stop on the boot timer).
const fakeFirecracker = `#!/bin/sh
[ "$1" = --api-sock ] && [ "$3" = --config-file ] && [ "$5" = --boot-timer ] || { echo "bad args: $*" >&2; exit 2; }
log=$(sed -n 's/.*"log_path": *"\([^"]*\)".*/\1/p' "$4")
[ -p "$log" ] || { echo "log $log is not a FIFO" >&2; exit 3; }
grep -q '"smt": false' "$4" || { echo "no smt in config" >&2; exit 4; }
echo "test double: started" 
echo "[test-double:main:INFO] Guest-boot-time =   1 us 0 ms,   1 CPU us 0 CPU ms" > "$log"
exec sleep 600
`

func TestFirecrackerDriverWithTestDouble(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "firecracker-test-double")
	if err := os.WriteFile(bin, []byte(fakeFirecracker), 0o755); err != nil {
		t.Fatal(err)
	}
	kernel := filepath.Join(t.TempDir(), "kernel")
	os.WriteFile(kernel, nil, 0o644)
	p, err := vmm.Firecracker{Binary: bin, Kernel: kernel, StopOnBootTimer: true}.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e, err := p.Wait(time.Minute)
	if err != nil {
		t.Fatalf("%v\n%s", err, p.Console())
	}
	if !e.Stopped {
		t.Errorf("exit %v: want stopped by the harness after the boot timer", e)
	}
	if _, ok := vmm.ParseBootTimer(p.Console()); !ok {
		t.Errorf("the log did not reach the console:\n%s", p.Console())
	}
	dir := strings.TrimSuffix(p.Args[1], "/api.sock")
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("private directory %s left behind", dir)
	}
	if err := unix.Kill(-p.Pid(), 0); !errors.Is(err, unix.ESRCH) {
		t.Errorf("process group %d still exists", p.Pid())
	}
}

// Tap names say which process made them (so a check for leftovers counts its own only) and
// fit the kernel's interface name limit even for the largest pid.
func TestTapNamesCarryTheirProcess(t *testing.T) {
	a := vmm.NewTapName()
	if !strings.HasPrefix(a, fmt.Sprintf("uk%d-", os.Getpid())) {
		t.Errorf("tap name %q", a)
	}
	if longest := len("uk4194304-") + len(a) - len(vmm.OwnTapPrefix()); longest >= unix.IFNAMSIZ {
		t.Errorf("a tap name of pid 4194304 would have %d characters, the kernel allows %d", longest, unix.IFNAMSIZ-1)
	}
}
