package gdbtrace_test

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	fig14 "github.com/unikraft-eurosys21/artifact/experiments/fig_14"
	"github.com/unikraft-eurosys21/artifact/internal/gdbtrace"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
	"golang.org/x/sys/unix"
)

// guestDir holds the FIXTURE guests built for this test binary; TestMain removes it.
var guestDir string

// TestMain checks, after all tests, that no child process (QEMU, gdb) of this test process
// is left.
func TestMain(m *testing.M) {
	var err error
	if guestDir, err = os.MkdirTemp("", "gdbtrace-guest-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(guestDir)
	if kids := children(); len(kids) > 0 {
		fmt.Fprintf(os.Stderr, "LEFT BEHIND: child processes %v\n", kids)
		code = 1
	}
	os.Exit(code)
}

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
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			kids = append(kids, fmt.Sprintf("%d %s", pid, f[0]))
		}
	}
	return kids
}

// The FIXTURE guest (testdata/fixture-*) and the stand-in Unikraft tree's uk-gdb.py (the FIXTURE of
// experiments/fig_10/fixture, whose trace layout the guest shares): ours, not
// Unikraft's; see the files' comments.
var (
	guestOnce sync.Map // variant → *guestBuild
	script, _ = filepath.Abs("../../experiments/fig_10/fixture/standin/unikraft/support/scripts/uk-gdb.py")
)

type guestBuild struct {
	once sync.Once
	path string
	err  error
}

// fixtureGuest builds the FIXTURE guest variant ("" normal, "HANG", "NO_BOOT_END") with the
// host's gcc and ld, once per test binary.
func fixtureGuest(t *testing.T, variant string) string {
	t.Helper()
	for _, tool := range []string{"gcc", "ld", "objcopy", "readelf", "gdb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: install gcc, binutils and gdb", tool)
		}
	}
	if _, err := vmm.QEMUBinary(""); err != nil {
		t.Skipf("no QEMU: %v", err)
	}
	v, _ := guestOnce.LoadOrStore(variant, &guestBuild{})
	g := v.(*guestBuild)
	g.once.Do(func() {
		dir, err := os.MkdirTemp(guestDir, "build-")
		if err != nil {
			g.err = err
			return
		}
		src, _ := filepath.Abs("testdata")
		cflags := []string{"-m64", "-ffreestanding", "-fno-pic", "-fno-pie", "-mno-red-zone", "-mgeneral-regs-only",
			"-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-nostdlib", "-g", "-O1"}
		if variant != "" {
			cflags = append(cflags, "-D"+variant)
		}
		ctx := context.Background()
		steps := [][]string{
			append(append([]string{"gcc"}, cflags...), "-c", filepath.Join(src, "fixture-guest.c"), "-o", filepath.Join(dir, "guest.o")),
			append(append([]string{"gcc"}, cflags...), "-c", filepath.Join(src, "fixture-main.c"), "-o", filepath.Join(dir, "main.o")),
			{"gcc", "-m64", "-c", filepath.Join(src, "fixture-entry.S"), "-o", filepath.Join(dir, "entry.o")},
			{"ld", "-m", "elf_x86_64", "-z", "max-page-size=0x1000", "--no-warn-rwx-segments", "-T", filepath.Join(src, "fixture-guest.ld"),
				"-o", filepath.Join(dir, "fixture.dbg"), filepath.Join(dir, "entry.o"), filepath.Join(dir, "guest.o"), filepath.Join(dir, "main.o")},
		}
		for _, s := range steps {
			if _, err := vmm.Output(ctx, time.Minute, s[0], s[1:]...); err != nil {
				g.err = err
				return
			}
		}
		g.path = filepath.Join(dir, "fixture.dbg")
	})
	if g.err != nil {
		t.Fatalf("build the FIXTURE guest: %v", g.err)
	}
	return g.path
}

func options(t *testing.T, dbg string, timeout time.Duration) gdbtrace.Options {
	return gdbtrace.Options{
		QEMU:    vmm.QEMU{Accel: vmm.TCG, MemoryMiB: 64, Kernel: dbg},
		Debug:   dbg,
		Script:  script,
		Timeout: timeout,
		TempDir: t.TempDir(),
	}
}

// assertNothingLeft checks that the capture's QEMU and gdb process groups are gone and that
// its private socket directory was removed.
func assertNothingLeft(t *testing.T, o gdbtrace.Options, res *gdbtrace.Result) {
	t.Helper()
	if res == nil {
		t.Fatal("no result")
	}
	for name, pid := range map[string]int{"qemu": res.QEMUPid, "gdb": res.GDBPid} {
		if pid == 0 {
			continue
		}
		if err := unix.Kill(-pid, 0); !errors.Is(err, unix.ESRCH) {
			t.Errorf("%s's process group %d is still there (kill -0: %v)", name, pid, err)
		}
	}
	ents, _ := os.ReadDir(o.TempDir)
	for _, e := range ents {
		t.Errorf("left in the temporary directory: %s", e.Name())
	}
}

// Two boots captured through QEMU's gdb stub, resolved and written as the paper's raw log
// are read by fig14's parser unchanged, with the FIXTURE's functions in fig14's buckets.
func TestCapturedBootsParseAsPaperTrace(t *testing.T) {
	dbg := fixtureGuest(t, "")
	var raw []byte
	for rep := 1; rep <= 2; rep++ {
		o := options(t, dbg, 2*time.Minute)
		res, err := gdbtrace.Capture(context.Background(), o)
		if err != nil {
			t.Fatalf("boot %d: %v\n%s", rep, err, res.GDBOutput)
		}
		assertNothingLeft(t, o, res)
		if !strings.HasPrefix(res.GDBVersion, "GNU gdb") {
			t.Errorf("gdb version %q", res.GDBVersion)
		}
		if !res.QEMU.Stopped {
			t.Errorf("QEMU ended by itself (%s); -no-shutdown should keep it until we stop it", res.QEMU)
		}
		for _, want := range []string{" trace_boot_ctor_beg: 0x", " trace_boot_end: "} {
			if !bytes.Contains(res.GDBOutput, []byte(want)) {
				t.Errorf("gdb's raw output lacks %q:\n%s", want, res.GDBOutput)
			}
		}
		// main has two locations (the guest's weak one and the application's), as in a
		// Unikraft image: gdb stops with "Breakpoint 1.N, main (…)".
		if !stopAtLocationRE.Match(res.GDBOutput) || !bytes.Contains(res.GDBOutput, []byte("(2 locations)")) {
			t.Errorf("gdb did not stop at one of main's two locations:\n%s", res.GDBOutput)
		}
		if n, want := gdbtrace.TraceLines(res.Trace), 17; n != want {
			t.Errorf("TraceLines = %d, want the guest's %d tracepoints\n%s", n, want, res.Trace)
		}
		// A static function resolves like a global one.
		for _, want := range []string{" trace_boot_ctor_end: fixture_local_ctor()", " trace_boot_inittab_end: uk_bus_lib_init()"} {
			if !bytes.Contains(res.Trace, []byte(want)) {
				t.Errorf("resolved trace lacks %q:\n%s", want, res.Trace)
			}
		}
		raw = append(raw, gdbtrace.Batch("buddy", rep, 2, res.Trace)...)
	}
	name := fig14.TraceFileName("buddy", "20250101000000")
	tr, err := fig14.ParseTrace(name, bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	if len(tr.Boots) != 2 {
		t.Fatalf("%d boots, want 2", len(tr.Boots))
	}
	for i, b := range tr.Boots {
		if b.Batch != fmt.Sprintf("buddy, %d/2", i+1) {
			t.Errorf("boot %d: batch %q", i, b.Batch)
		}
		for _, c := range []fig14.Component{fig14.Plat, fig14.Virtio, fig14.Vfscore, fig14.Alloc, fig14.Ukbus, fig14.Lwip} {
			if b.Components[c] <= 0 {
				t.Errorf("boot %d: component %v is %v, want > 0 (FIXTURE function not resolved into its bucket?)", i, c, b.Components[c])
			}
		}
	}
}

// Under KVM (the paper's accelerator) the hardware breakpoint and the stub work the same.
func TestCaptureUnderKVM(t *testing.T) {
	dbg := fixtureGuest(t, "")
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err != nil {
		t.Skipf("no usable /dev/kvm: %v", err)
	} else {
		f.Close()
	}
	o := options(t, dbg, 2*time.Minute)
	o.QEMU.Accel = vmm.KVM
	// Nested KVMs (the development machines) cannot expose IA32_ARCH_CAPABILITIES.
	o.QEMU.CPU = vmm.DefaultCPU + ",-arch-capabilities"
	if c := os.Getenv("QEMU_CPU"); c != "" {
		o.QEMU.CPU = c
	}
	res, err := gdbtrace.Capture(context.Background(), o)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, res.GDBOutput, res.Console)
	}
	assertNothingLeft(t, o, res)
	if _, err := fig14.ParseTrace("kvm", bytes.NewReader(gdbtrace.Batch("buddy", 1, 1, res.Trace))); err != nil {
		t.Fatalf("%v\n%s", err, res.Trace)
	}
}

// A guest that never reaches main is a failed capture after the timeout, with a reason that
// names the breakpoint, and leaves nothing behind.
func TestGuestNeverReachesMain(t *testing.T) {
	dbg := fixtureGuest(t, "HANG")
	o := options(t, dbg, 5*time.Second)
	res, err := gdbtrace.Capture(context.Background(), o)
	if !errors.Is(err, gdbtrace.ErrNoBreak) {
		t.Fatalf("err = %v, want ErrNoBreak", err)
	}
	t.Log(err)
	for _, want := range []string{"within 5s", "breakpoint main", "hangs before main"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	assertNothingLeft(t, o, res)
	// (gdb's stdout is a pipe and buffered: what it printed last before being killed,
	// "Continuing.", may be lost; the breakpoint line comes through.)
	if !bytes.Contains(res.GDBOutput, []byte("breakpoint 1 at")) {
		t.Errorf("gdb's output was not kept:\n%s", res.GDBOutput)
	}
}

// A trace without trace_boot_end is a failed capture that says so; gdb's output is kept.
func TestTraceWithoutBootEnd(t *testing.T) {
	dbg := fixtureGuest(t, "NO_BOOT_END")
	o := options(t, dbg, 2*time.Minute)
	res, err := gdbtrace.Capture(context.Background(), o)
	if !errors.Is(err, gdbtrace.ErrNoBootEnd) {
		t.Fatalf("err = %v, want ErrNoBootEnd\n%s", err, res.GDBOutput)
	}
	t.Log(err)
	if !strings.Contains(err.Error(), "trace_boot_inittab_end") {
		t.Errorf("error does not show the last trace line: %v", err)
	}
	assertNothingLeft(t, o, res)
	if !bytes.Contains(res.GDBOutput, []byte("trace_boot_time_init")) {
		t.Errorf("gdb's output was not kept:\n%s", res.GDBOutput)
	}
}

// Cancelling the context once gdb has set its breakpoint (and is continuing or about to)
// stops gdb and QEMU at once.
func TestCancelStopsEverything(t *testing.T) {
	dbg := fixtureGuest(t, "HANG")
	o := options(t, dbg, 2*time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o.Log = &cancelOn{text: "breakpoint 1 at", cancel: cancel}
	res, err := gdbtrace.Capture(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	t.Log(err)
	assertNothingLeft(t, o, res)
	if res.QEMUPid == 0 || res.GDBPid == 0 {
		t.Errorf("QEMU pid %d, gdb pid %d: both should have run", res.QEMUPid, res.GDBPid)
	}
}

var stopAtLocationRE = regexp.MustCompile(`(?m)^Breakpoint 1\.[12], main \(`)

// cancelOn cancels once text has been written (gdb's output as it comes).
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	text   string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.text) {
		c.cancel()
	}
	return len(p), nil
}

// Resolve names an address inside a function (not only at its start) and refuses one inside
// no function; gdb's own lines are left alone.
func TestResolve(t *testing.T) {
	dbg := fixtureGuest(t, "")
	out, err := exec.Command("nm", dbg).Output()
	if err != nil {
		t.Skipf("nm: %v", err)
	}
	var addr uint64
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[2] == "vfscore_init" {
			addr, _ = strconv.ParseUint(f[0], 16, 64)
		}
	}
	if addr == 0 {
		t.Fatal("no vfscore_init in the FIXTURE guest")
	}
	in := fmt.Sprintf("0x000000000000fff0 in ?? ()\n0000000000000010 trace_boot_ctor_beg: 0x%016x()\n0000000000000020 trace_boot_ctor_end: 0x%016x()\n0000000000000030 trace_vfs_open: 0x0000000000000001\n", addr, addr+1)
	got, err := gdbtrace.Resolve(dbg, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := "0x000000000000fff0 in ?? ()\n0000000000000010 trace_boot_ctor_beg: vfscore_init()\n0000000000000020 trace_boot_ctor_end: vfscore_init()\n0000000000000030 trace_vfs_open: 0x0000000000000001\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := gdbtrace.Resolve(dbg, []byte("0000000000000010 trace_boot_ctor_beg: 0x0000000000000042()\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("an address inside no function: err = %v", err)
	}
}
