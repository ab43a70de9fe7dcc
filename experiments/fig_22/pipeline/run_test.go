package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	fig22 "github.com/unikraft-eurosys21/artifact/experiments/fig_22"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/progress"
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/tsc"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

const testFixture = "fig22-runtest"

// prepareFiles writes a prepared index with placeholder files where prepare's images would
// be: the run step only passes them to QEMU, which the tests replace by fakeBoot.
func prepareFiles(t *testing.T) string {
	t.Helper()
	images := t.TempDir()
	dir := Dir(images)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := func(name string) File {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("FIXTURE placeholder "+name), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := FileOf(p)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	uk := file("fsbench-tlsf_kvm-x86_64")
	pr := Prepared{Fixture: testFixture, Time: time.Now(),
		Unikraft: &unikraft.Image{Kernel: uk.Path, KernelSHA256: uk.SHA256},
		UKInitrd: file("fsbench.cpio"), SHFS: Volume{File: file("fsbench.shfs")},
		Linux: Linux{Kernel: file("vmlinuz"), KernelFrom: "Debian linux-image-6.1.0-50-amd64 (test placeholder)", Init: file("init"), Initrd: file("fsbench.initrd.gz")},
	}
	if err := results.WriteJSONAtomic(figure.PreparedPath(dir, testFixture), pr); err != nil {
		t.Fatal(err)
	}
	return images
}

// consoleOf is which VM a QEMU configuration is: the SHFS disk makes it Unikraft.
func consoleOf(q vmm.QEMU) string {
	switch {
	case len(q.Devices) > 0:
		return "unikraft"
	case strings.Contains(q.Append, NoMitigations):
		return "linux-nomitig"
	}
	return "linux"
}

// benchConsole is a console in the benchmark's format with every line the VM prints;
// cycles are FIXTURE values (base + boot number), not measurements.
func benchConsole(console string, boot int) []byte {
	var b bytes.Buffer
	b.WriteString("FIXTURE console of a fake " + console + " boot\r\n")
	for i, p := range fig22.Probes(console) {
		fmt.Fprintf(&b, "%s%d.%d\r\n\r\n", p.Line(), 1000*(i+1)+boot, boot)
	}
	if console != "unikraft" {
		b.WriteString("[    5.1] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000\r\n")
	}
	return b.Bytes()
}

// fakeBoot is a FIXTURE for bootQEMU: it records the configurations it was given and
// answers each boot with what behave returns for (VM, boot number).
type fakeBoot struct {
	mu     sync.Mutex
	booted []vmm.QEMU
	n      map[string]int
	behave func(console string, n int) ([]byte, error)
}

func (f *fakeBoot) boot(ctx context.Context, q vmm.QEMU, timeout time.Duration) ([]byte, vmm.Exit, int, error) {
	f.mu.Lock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	c := consoleOf(q)
	f.n[c]++
	n := f.n[c]
	f.booted = append(f.booted, q)
	f.mu.Unlock()
	out, err := benchConsole(c, n), error(nil)
	if f.behave != nil {
		out, err = f.behave(c, n)
	}
	return out, vmm.Exit{Started: time.Second, Ended: 2 * time.Second}, 4242, err
}

// fakeTSC is a FIXTURE for the TSC measurement: the paper's 3600 MHz, said to be made up.
func fakeTSC(context.Context) (tsc.Measurement, error) {
	return tsc.Choose(tsc.CPUID{Vendor: "FIXTURE"}, []float64{3600})
}

func testOptions(t *testing.T, f *fakeBoot, reps int) RunOptions {
	return RunOptions{Accel: "tcg", Plan: rep.Plan{Reps: reps, Timeout: time.Minute}, ResultsDir: t.TempDir(),
		Images: prepareFiles(t), Fixture: testFixture, Out: &bytes.Buffer{}, Progress: progress.Discard(),
		boot: f.boot, measureTSC: fakeTSC}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// A run boots the three VMs in run.sh's order with the paper's command lines and writes a
// run directory that package fig22 loads: consoles, the CSVs, tsc_mhz.txt, series.json,
// summary.json with the harness overhead, the manifest with what was booted.
func TestRunWritesTheRunDirectory(t *testing.T) {
	f := &fakeBoot{}
	o := testOptions(t, f, 2)
	dir, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, q := range f.booted {
		order = append(order, consoleOf(q))
	}
	if want := []string{"linux", "linux", "linux-nomitig", "linux-nomitig", "unikraft", "unikraft"}; !slices.Equal(order, want) {
		t.Errorf("boot order %v, want %v", order, want)
	}
	for _, q := range f.booted {
		args, err := q.Args()
		if err != nil {
			t.Fatal(err)
		}
		cmd := strings.Join(args, " ")
		for _, want := range []string{"-machine pc", "-accel tcg", "-cpu max", "-m 1024M -smp 2 ", "-no-reboot", "-append isolcpus=1 console=ttyS0 panic=-1"} {
			if !strings.Contains(cmd, want) {
				t.Errorf("%s: %q lacks %q", consoleOf(q), cmd, want)
			}
		}
		if len(q.CPUs) != VCPUs {
			t.Errorf("%s: pinned to %v", consoleOf(q), q.CPUs)
		}
		switch consoleOf(q) {
		case "linux-nomitig":
			if !strings.HasSuffix(q.Append, " mitigations=off") {
				t.Errorf("nomitig append %q", q.Append)
			}
		case "unikraft":
			if !strings.Contains(cmd, "-device virtio-blk-pci,drive=hvirtio0") || !strings.Contains(cmd, "fsbench.shfs,if=none,id=hvirtio0,format=raw,") {
				t.Errorf("unikraft: %q", cmd)
			}
		}
	}
	for _, name := range []string{"raw/linux.1", "raw/linux.2", "raw/linux-nomitig.2", "raw/unikraft.1", "raw/unikraft/qemu-cmdline.txt",
		"raw/linux/repetitions.json", "linux_vfs.csv", "unikraft_shfs.csv", "series.json", "summary.json", "manifest.json", "tsc.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	// The recorded command lines are the booted ones: the paper's 2 vCPUs (isolcpus=1
	// names the second).
	for _, vm := range []string{"linux", "linux-nomitig", "unikraft"} {
		if b, err := os.ReadFile(filepath.Join(dir, "raw", vm, "qemu-cmdline.txt")); err != nil || !strings.Contains(string(b), " -smp 2 ") {
			t.Errorf("%s: recorded command line %q lacks -smp 2 (%v)", vm, b, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, fig22.TSCFile)); string(b) != "3600\n" {
		t.Errorf("tsc_mhz.txt %q", b)
	}
	var sum RunSummary
	readJSON(t, filepath.Join(dir, "summary.json"), &sum)
	if sum.Accel != "tcg" || sum.Fixture != testFixture || sum.TSC.MHz != 3600 || sum.Harness.LifetimesNS != 6*int64(time.Second) ||
		sum.Harness.Overhead <= 0 || len(sum.Series) != 3 || sum.Frequency.Fixed == "" {
		t.Errorf("summary %+v", sum)
	}
	var m results.Manifest
	readJSON(t, filepath.Join(dir, "manifest.json"), &m)
	notes := strings.Join(m.Notes, "\n")
	for _, want := range []string{"-append 'isolcpus=1 console=ttyS0 panic=-1 mitigations=off' -no-reboot", "Linux kernel: Debian", "LINUX_KERNEL reproduces that", "qemu command line (unikraft):", "SHFS volume drive: aio=", "TSC frequency: TSC 3600 MHz"} {
		if !strings.Contains(notes, want) {
			t.Errorf("manifest notes lack %q:\n%s", want, notes)
		}
	}
	if m.Accel != "tcg" || m.Fixture != testFixture || m.Images["linux kernel"] == "" || m.Isolation == nil || m.Machines["unikraft"] != "pc" {
		t.Errorf("manifest %+v", m)
	}
	d, err := fig22.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Boot 1 of linux printed 1001 and 2002 for its two probes, boot 2 1002 and 2003.
	if v := d.Value(fig22.AllSeries[3], fig22.Cases[0]); v.Cycles != 1001.5 || len(v.Runs) != 2 {
		t.Errorf("Linux VFS, file exists: %+v", v)
	}
	r := verify.New(fig22.Figure.Dir, "test")
	d.Verify(r)
	if r.Count(verify.OK)+r.Count(verify.Warn)+r.Count(verify.Fail) != 0 {
		t.Errorf("a FIXTURE/TCG run was judged: %+v", r.Rows)
	}
	out := o.Out.(*bytes.Buffer).String()
	for _, want := range []string{"FIXTURE " + testFixture, "ACCEL=tcg", "TSC 3600 MHz", "Linux VFS (No mitig.)", "2/2", "harness overhead: boot loops"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// A boot that hangs is killed and counted; its console is kept where ParseRaw does not read
// it, the figure is made from the good boots, and the run says it failed.
func TestFailedBootIsKeptAndCounted(t *testing.T) {
	f := &fakeBoot{behave: func(c string, n int) ([]byte, error) {
		if c == "linux-nomitig" && n == 2 {
			return []byte("[    0.0] Linux version 6.1\r\nhalfway"), fmt.Errorf("qemu (pid 4242) killed: %w after 1m0s", vmm.ErrTimeout)
		}
		return benchConsole(c, n), nil
	}}
	dir, err := Run(context.Background(), testOptions(t, f, 3))
	if !errors.Is(err, ErrBootsFailed) || dir == "" {
		t.Fatalf("dir %q, err %v", dir, err)
	}
	if !strings.Contains(err.Error(), "linux-nomitig: 1 of 3 boots failed (boot 2: the VM did not end within 1m0s (killed)") {
		t.Errorf("error %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "raw/linux-nomitig.2")); err == nil {
		t.Error("the failed boot's console is where ParseRaw reads it")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "raw/linux-nomitig/rep-02.console.log")); err != nil || !strings.Contains(string(b), "halfway") {
		t.Errorf("the failed boot's console is not kept: %q, %v", b, err)
	}
	d, err := fig22.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.Value(fig22.AllSeries[2], fig22.NoFile).Runs); n != 2 {
		t.Errorf("%d no-mitig boots in the figure, want the 2 good ones", n)
	}
	r := verify.New(fig22.Figure.Dir, "test")
	d.Verify(r)
	if r.Count(verify.Fail) != 1 {
		t.Errorf("rows %+v", r.Rows)
	}
}

// A VM whose every boot lacks a result line stops after AbortAfter boots; with no good boot
// of that VM there is no figure, and the run is kept in failed/ with the consoles.
func TestRepeatedFailureStopsTheSeries(t *testing.T) {
	f := &fakeBoot{behave: func(c string, n int) ([]byte, error) {
		if c == "unikraft" {
			return []byte("SHFS,<n/a>,iterations:1000,avg:300.1\nfsbench: no SHFS volume mounted\n"), nil
		}
		return benchConsole(c, n), nil
	}}
	o := testOptions(t, f, 5)
	dir, err := Run(context.Background(), o)
	if dir != "" || !errors.Is(err, ErrBootsFailed) {
		t.Fatalf("dir %q, err %v", dir, err)
	}
	if f.n["unikraft"] != AbortAfter {
		t.Errorf("%d unikraft boots, want %d", f.n["unikraft"], AbortAfter)
	}
	for _, want := range []string{"series stopped after 3 of 5 boots", "missing the benchmark line SHFS,/rnd4k", "kept in " + filepath.Join(o.ResultsDir, "fig_22", "failed")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	failed, _ := filepath.Glob(filepath.Join(o.ResultsDir, "fig_22", "failed", "*", "raw", "unikraft", "rep-03.console.log"))
	if len(failed) != 1 {
		t.Fatalf("consoles of the failed boots not kept: %v", failed)
	}
	// The message names files where they are now, not where the run was written.
	if strings.Contains(err.Error(), ".incomplete") {
		t.Errorf("the error names the unfinished run's directory: %v", err)
	}
	// A failed boot's parse error names the file its console was kept in.
	var res rep.Result[Boot]
	readJSON(t, filepath.Join(filepath.Dir(failed[0]), "repetitions.json"), &res)
	if e := res.Runs[0].Err; !strings.Contains(e, "raw/unikraft/rep-01.console.log") || strings.Contains(e, "raw/unikraft.1") {
		t.Errorf("boot 1's error names another file than its kept console: %s", e)
	}
	t.Logf("message: %v", err)
}

// A console that cannot be written (the disk is full) is no failed boot: the run stops at
// once, keeps what it has in failed/ and says why, once.
func TestUnwritableResultsStopTheRun(t *testing.T) {
	for _, failing := range []bool{false, true} {
		var o RunOptions
		f := &fakeBoot{}
		f.behave = func(c string, n int) ([]byte, error) {
			if c == "linux" && n == 2 {
				// FIXTURE for a full disk: a directory where the console is to be
				// written makes the write fail, as ENOSPC would.
				name := "linux.2"
				if failing {
					name = filepath.Join("linux", "rep-02.console.log")
				}
				runs, _ := filepath.Glob(filepath.Join(o.ResultsDir, "fig_22", ".incomplete", "*", "raw"))
				if len(runs) != 1 {
					t.Fatalf("run directory: %v", runs)
				}
				os.MkdirAll(filepath.Join(runs[0], name, "in-the-way"), 0o755)
				if failing {
					return []byte("halfway"), fmt.Errorf("qemu (pid 4242) killed: %w after 1m0s", vmm.ErrTimeout)
				}
			}
			return benchConsole(c, n), nil
		}
		o = testOptions(t, f, 5)
		dir, err := Run(context.Background(), o)
		if dir != "" || err == nil {
			t.Fatalf("failing boot %v: dir %q, err %v", failing, dir, err)
		}
		if f.n["linux"] != 2 || f.n["linux-nomitig"] != 0 {
			t.Errorf("failing boot %v: the run went on after the write failed: %v", failing, f.n)
		}
		for _, want := range []string{"run stopped", "keeping the console of", "boot 2", "kept in " + filepath.Join(o.ResultsDir, "fig_22", "failed")} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("failing boot %v: error lacks %q: %v", failing, want, err)
			}
		}
		if strings.Contains(err.Error(), ".incomplete") {
			t.Errorf("failing boot %v: the error names the unfinished run's directory: %v", failing, err)
		}
		kept, _ := filepath.Glob(filepath.Join(o.ResultsDir, "fig_22", "failed", "*", "raw", "linux.1"))
		if len(kept) != 1 {
			t.Errorf("failing boot %v: the good boot is not kept: %v", failing, kept)
		}
	}
}

// Ctrl-C during a boot stops the run at once and keeps what was measured in failed/.
func TestInterruptKeepsWhatWasMeasured(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fakeBoot{behave: func(c string, n int) ([]byte, error) {
		if c == "linux-nomitig" {
			cancel()
			return []byte("interrupted boot"), context.Canceled
		}
		return benchConsole(c, n), nil
	}}
	o := testOptions(t, f, 2)
	dir, err := Run(ctx, o)
	if dir != "" || err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("dir %q, err %v", dir, err)
	}
	kept, _ := filepath.Glob(filepath.Join(o.ResultsDir, "fig_22", "failed", "*", "raw", "linux.2"))
	if len(kept) != 1 {
		t.Errorf("the good Linux boots are not kept: %v", err)
	}
	if f.n["unikraft"] != 0 {
		t.Error("the run went on after the interrupt")
	}
}

// The benchmark's timer needs RDTSCP: models without it are refused before any boot.
func TestCPUModelNeedsRDTSCP(t *testing.T) {
	for model, ok := range map[string]bool{
		"max": true, "host,migratable=no,+invtsc": true, "Skylake-Client": true, "qemu64,+rdtscp": true,
		"qemu64": false, "kvm64,+invtsc": false, "max,-rdtscp": false, "Penryn": false,
		// Versioned names are the same models; QEMU's Nehalem and Westmere lack RDTSCP.
		"qemu64-v1": false, "Westmere-v2": false, "Nehalem-IBRS": false, "Opteron_G2-v1": false, "athlon": false,
		"Westmere-v2,+rdtscp": true, "Opteron_G3-v1": true, "phenom": true, "SandyBridge-v2": true,
	} {
		err := checkCPUModel(model)
		if (err == nil) != ok {
			t.Errorf("%s: %v", model, err)
		}
		if err != nil && !strings.Contains(err.Error(), "QEMU_CPU="+model) {
			t.Errorf("%s: %v does not name the setting", model, err)
		}
	}
	f := &fakeBoot{}
	o := testOptions(t, f, 1)
	o.QEMUCPU = "qemu64"
	if _, err := Run(context.Background(), o); err == nil || len(f.booted) != 0 {
		t.Errorf("qemu64 ran: %v", err)
	}
}

// The paper's drive options need O_DIRECT (tmpfs refused it before Linux 6.6); where the
// volume's file system refuses it the fallback is used, recorded and said.
func TestDriveOptionsFollowTheFileSystem(t *testing.T) {
	p := filepath.Join(t.TempDir(), "vol")
	os.WriteFile(p, make([]byte, 4096), 0o644)
	ok, err := directIO(p)
	if err != nil {
		t.Fatal(err)
	}
	opts, note, err := driveOptions(p)
	if err != nil || (opts == DriveOptions) != ok || (note == "") != ok {
		t.Errorf("O_DIRECT %v: %q %q %v", ok, opts, note, err)
	}
	if _, _, err := driveOptions(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "fig22:prepare") {
		t.Errorf("missing volume: %v", err)
	}

	defer func(p func(string) (bool, error)) { probeDirectIO = p }(probeDirectIO)
	probeDirectIO = func(string) (bool, error) { return false, nil } // a file system without O_DIRECT
	f := &fakeBoot{}
	o := testOptions(t, f, 1)
	dir, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	uk := f.booted[len(f.booted)-1]
	if !strings.Contains(strings.Join(uk.Devices, " "), "format=raw,"+DriveFallback) {
		t.Errorf("unikraft devices %q", uk.Devices)
	}
	var m results.Manifest
	readJSON(t, filepath.Join(dir, "manifest.json"), &m)
	if !slices.ContainsFunc(m.Notes, func(n string) bool {
		return strings.Contains(n, DriveFallback+" (instead of the paper's "+DriveOptions)
	}) {
		t.Errorf("the fallback is not in the manifest: %q", m.Notes)
	}
	if out := o.Out.(*bytes.Buffer).String(); !strings.Contains(out, "does not allow O_DIRECT") {
		t.Errorf("the fallback is not said:\n%s", out)
	}
}

// The run boots the kernel prepare placed: a LINUX_KERNEL other than prepare's (set, unset
// or another path) is refused before any boot, with what to do.
func TestRunNeedsTheLinuxKernelPrepared(t *testing.T) {
	f := &fakeBoot{}
	o := testOptions(t, f, 1)
	again := "run `go tool mage fig22:prepare` again with the same LINUX_KERNEL"
	o.LinuxKernel = "/x/vmlinuz"
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "LINUX_KERNEL=/x/vmlinuz is set, but prepare placed Debian") || !strings.Contains(err.Error(), again) {
		t.Errorf("LINUX_KERNEL set, Debian's prepared: %v", err)
	}

	// Prepared with LINUX_KERNEL=/boot/vmlinuz-6.1.
	index := figure.PreparedPath(Dir(o.Images), testFixture)
	var pr Prepared
	readJSON(t, index, &pr)
	pr.Linux.UserKernel, pr.Linux.UserKernelPath = true, "/boot/vmlinuz-6.1"
	if err := results.WriteJSONAtomic(index, pr); err != nil {
		t.Fatal(err)
	}
	for kernel, want := range map[string]string{
		"":                  "LINUX_KERNEL is not set, but prepare placed the kernel of LINUX_KERNEL=/boot/vmlinuz-6.1",
		"/boot/vmlinuz-6.2": "LINUX_KERNEL=/boot/vmlinuz-6.2, but prepare placed the kernel of LINUX_KERNEL=/boot/vmlinuz-6.1",
	} {
		o.LinuxKernel = kernel
		if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), again) {
			t.Errorf("LINUX_KERNEL=%q: %v", kernel, err)
		}
	}
	if len(f.booted) != 0 {
		t.Fatalf("%d boots with another kernel than prepared", len(f.booted))
	}
	o.LinuxKernel = "/boot/vmlinuz-6.1"
	if _, err := Run(context.Background(), o); err != nil {
		t.Errorf("the prepared LINUX_KERNEL: %v", err)
	}
}

// What prepare did not leave is named, with what to do.
func TestRunNeedsPrepare(t *testing.T) {
	o := testOptions(t, &fakeBoot{}, 1)
	var pr Prepared
	readJSON(t, figure.PreparedPath(Dir(o.Images), testFixture), &pr)
	os.Remove(pr.SHFS.Path)
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "the SHFS volume") || !strings.Contains(err.Error(), "fig22:prepare") {
		t.Errorf("got %v", err)
	}
}

// The list of models without RDTSCP is QEMU's: every model the installed QEMU knows is
// expanded (QMP query-cpu-model-expansion, under TCG) and its rdtscp property compared with
// checkCPUModel.
func TestCPUModelListMatchesQEMU(t *testing.T) {
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("no qemu-system-x86_64:", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	help, err := exec.CommandContext(ctx, bin, "-cpu", "help").Output()
	if err != nil {
		t.Fatal(err)
	}
	var models []string
	for line := range strings.SplitSeq(string(help), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "x86" {
			models = append(models, f[1])
		}
	}
	var in strings.Builder
	in.WriteString(`{"execute":"qmp_capabilities"}` + "\n")
	for _, m := range models {
		fmt.Fprintf(&in, `{"execute":"query-cpu-model-expansion","arguments":{"type":"static","model":{"name":%q}}}`+"\n", m)
	}
	in.WriteString(`{"execute":"quit"}` + "\n")
	cmd := exec.CommandContext(ctx, bin, "-machine", "none", "-accel", "tcg", "-nodefaults", "-nographic", "-qmp", "stdio")
	cmd.Stdin = strings.NewReader(in.String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("qmp: %v\n%s", err, out)
	}
	i := 0
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var msg struct {
			Return *struct {
				Model struct {
					Props map[string]any `json:"props"`
				} `json:"model"`
			} `json:"return"`
		}
		if err := dec.Decode(&msg); err != nil {
			t.Fatal(err)
		}
		if msg.Return == nil || msg.Return.Model.Props == nil {
			continue // greeting, qmp_capabilities, events
		}
		if i >= len(models) {
			t.Fatalf("more expansions than models")
		}
		m := models[i]
		i++
		has, _ := msg.Return.Model.Props["rdtscp"].(bool)
		if ok := checkCPUModel(m) == nil; ok != has {
			t.Errorf("QEMU's %s has rdtscp=%v, checkCPUModel accepts it: %v", m, has, ok)
		}
	}
	if i != len(models) || i == 0 {
		t.Errorf("%d expansions for %d models", i, len(models))
	}
}

// QEMU opens the SHFS volume read-write: a volume it cannot write is refused before any
// boot, with what to do, rather than passing a read-only probe and failing every boot.
func TestReadOnlyVolumeIsRefused(t *testing.T) {
	o := testOptions(t, &fakeBoot{}, 1)
	var pr Prepared
	readJSON(t, figure.PreparedPath(Dir(o.Images), testFixture), &pr)
	readOnly(t, pr.SHFS.Path)
	_, _, err := driveOptions(pr.SHFS.Path)
	if !errors.Is(err, errNotWritable) || !strings.Contains(err.Error(), "the SHFS volume is not writable") || !strings.Contains(err.Error(), "QEMU opens the volume read-write") {
		t.Errorf("a read-only volume: %v", err)
	}
	f := &fakeBoot{}
	o.boot = f.boot
	if _, err := Run(context.Background(), o); err == nil || len(f.booted) != 0 {
		t.Errorf("a run with a read-only volume: %d boots, %v", len(f.booted), err)
	}
}

// readOnly makes path unwritable for this process until the test ends: mode 0444, and for
// root (whom modes do not stop) the immutable attribute, where the file system has it.
func readOnly(t *testing.T, path string) {
	t.Helper()
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err == nil {
		err = unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags|fsImmutableFL))
	}
	if err != nil {
		t.Skipf("running as root and %s has no immutable attribute here: %v", path, err)
	}
	t.Cleanup(func() {
		g, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer g.Close()
		if err := unix.IoctlSetPointerInt(int(g.Fd()), unix.FS_IOC_SETFLAGS, int(flags)); err != nil {
			t.Errorf("clear the immutable attribute of %s: %v", path, err)
		}
	})
}

// fsImmutableFL is FS_IMMUTABLE_FL of <linux/fs.h> (chattr +i), which x/sys/unix lacks.
const fsImmutableFL = 0x00000010
