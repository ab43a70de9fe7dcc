package pipeline

// The whole Figure 10 pipeline on the FIXTURE mirror: sources from the mirror, the guests
// built in the real toolchain container with the marker inserted by the build step, booted
// on QEMU (TCG, and microvm under KVM when it is usable), results, summary, verdict and plot.
// It needs Docker and QEMU; without a Docker daemon it is skipped, except under CI.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	fig10 "github.com/unikraft-eurosys21/artifact/experiments/fig_10"
	"github.com/unikraft-eurosys21/artifact/experiments/fig_10/fixture"
	"github.com/unikraft-eurosys21/artifact/internal/boottime"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/host"
	"github.com/unikraft-eurosys21/artifact/internal/plot"
	"github.com/unikraft-eurosys21/artifact/internal/progress"
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

func quiet() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// prepared writes the fixture mirror and prepares its guests into a fresh cache.
func prepared(t *testing.T, vmms ...string) (images string, pr *Prepared, out *bytes.Buffer) {
	t.Helper()
	return preparedWith(t, fixture.Options{}, vmms...)
}

// preparedWith is prepared for a variant of the fixture.
func preparedWith(t *testing.T, fo fixture.Options, vmms ...string) (images string, pr *Prepared, out *bytes.Buffer) {
	t.Helper()
	if _, err := vmm.QEMUBinary(""); err != nil {
		t.Skipf("no QEMU: %v", err)
	}
	ctx := context.Background()
	root := t.TempDir()
	m, err := fixture.WriteMirrorWith(ctx, filepath.Join(root, "mirror"), fo)
	if err != nil {
		t.Fatal(err)
	}
	images = filepath.Join(root, "images")
	out = &bytes.Buffer{}
	opt := PrepareOptions{VMMs: vmms, Manifest: filepath.Join("..", "..", "..", sources.ManifestPath),
		Sources:    sources.Options{Cache: filepath.Join(root, "sources"), Mirror: m.Dir, Log: quiet()},
		Containers: filepath.Join("..", "..", "..", "containers"), Images: images,
		Docker: docker.Options{Log: quiet(), Out: io.Discard, LogDir: filepath.Join(root, "logs")}, Log: quiet(), Out: out}
	pr, err = Prepare(ctx, opt)
	if err != nil && strings.Contains(err.Error(), "cannot reach the Docker daemon") && os.Getenv("CI") == "" {
		t.Skipf("no Docker daemon: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	// A second prepare finds everything in the caches.
	out2 := &bytes.Buffer{}
	opt.Out = out2
	again, err := Prepare(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out2.String(), "built in") || again.Guests["stat"].KernelSHA256 != pr.Guests["stat"].KernelSHA256 {
		t.Errorf("the second prepare rebuilt a guest:\n%s", out2)
	}
	return images, pr, out
}

func TestFixturePipelineUnderTCG(t *testing.T) {
	images, pr, out := prepared(t, fig10.QEMU, fig10.QEMUMicroVM, fig10.QEMU1NIC, fig10.Solo5)
	if pr.Fixture != fixture.Name || !strings.Contains(out.String(), "FIXTURE") {
		t.Errorf("prepared %+v without saying FIXTURE:\n%s", pr.Fixture, out)
	}
	if !strings.Contains(pr.Missing["solo5"], "provides no plat-solo5") {
		t.Errorf("missing = %v; want the Solo5 guest reported as not provided by the fixture", pr.Missing)
	}
	// The guest is the paper's path: the stand-in artifact's patches, the statically-alloc-irqs
	// recipe on the stand-in history, and no marker inserted by the bundle: port 1112 comes
	// from the stand-in tracepoints.patch (checked by the boots below, which need it).
	img := pr.Guests["stat"]
	var names []string
	for _, st := range img.Spec.Steps {
		names = append(names, st.Kind+" "+st.Name)
	}
	all := strings.Join(names, "\n")
	if len(img.Spec.Edits) != 0 || len(img.Spec.Steps) != 11 || !strings.Contains(all, "git apply eurosys21-artifacts@") ||
		!strings.Contains(all, "tracepoints.patch") || !strings.Contains(all, "git apply --ignore-whitespace eurosys21-artifacts@") ||
		!strings.Contains(all, "unikraft-300c57e5: commit "+pr.sourceCommit("unikraft-300c57e5")[:12]) {
		t.Errorf("the stat guest's build steps:\n%s\nedits %v", all, img.Spec.Edits)
	}
	if log, err := os.ReadFile(img.StepsLog); err != nil || !strings.Contains(string(log), "replaced 1 occurrence(s) in plat/kvm/irq.c") {
		t.Errorf("steps log: %v\n%s", err, log)
	}
	// The recipe declared KVM_MAX_IRQ_HANDLER_ENTRIES, so olddefconfig keeps the paper's value
	// (the stand-in's irq.c sizes its table with it: the build would fail without it).
	if final, _ := os.ReadFile(img.Config); !strings.Contains(string(final), "CONFIG_KVM_MAX_IRQ_HANDLER_ENTRIES=3\n") {
		t.Errorf("final configuration:\n%s", final)
	}

	resultsDir := t.TempDir()
	var table bytes.Buffer
	dir, err := Run(context.Background(), RunOptions{
		VMMs: []string{fig10.QEMU, fig10.QEMUMicroVM, fig10.QEMU1NIC, fig10.Solo5}, Accel: vmm.TCG,
		Plan: rep.Plan{Reps: 2, Warmup: 1, Timeout: time.Minute}, ResultsDir: resultsDir, Images: images, Fixture: fixture.Name,
		Log: quiet(), Out: &table,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, table.String())
	}
	checkNothingLeft(t)
	d, err := fig10.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Provenance.Fixture != fixture.Name || d.Provenance.Accel != "tcg" {
		t.Errorf("provenance %+v", d.Provenance)
	}
	_, tunErr := os.Stat("/dev/net/tun")
	wantRan := map[string]bool{fig10.QEMU: true, fig10.QEMUMicroVM: true, fig10.QEMU1NIC: os.Geteuid() == 0 && tunErr == nil}
	for _, s := range d.Series {
		if s.Ran() != wantRan[s.Key] {
			t.Errorf("%s ran = %v (%s)", s.Key, s.Ran(), s.Why())
		}
		if s.Ran() && (len(s.Boots) != 2 || s.Planned != 2 || s.FailedBoots != 0) {
			t.Errorf("%s: %d samples of %d planned, %d failed", s.Key, len(s.Boots), s.Planned, s.FailedBoots)
		}
		for _, x := range s.Boots {
			if x.VMMus <= 0 || x.GuestUs <= 0 {
				t.Errorf("%s: sample %+v", s.Key, x)
			}
		}
	}
	// Prepared under KVM, the fixture had no Solo5 guest; but under TCG what the host lacks is
	// said first.
	if why := d.Get(fig10.Solo5).Why(); !strings.Contains(why, "needs KVM") {
		t.Errorf("Solo5: %q", why)
	}
	if why := d.Get(fig10.Firecracker).Why(); !strings.Contains(why, "not selected") {
		t.Errorf("Firecracker: %q", why)
	}
	for _, want := range []string{"QEMU (MicroVM)", "debugcon", "harness overhead", "FIXTURE " + fixture.Name, "Solo5", "not run"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("printed results lack %q:\n%s", want, table.String())
		}
	}
	checkExtended(t, dir, d)
	m, err := results.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Fixture != fixture.Name || m.Accel != "tcg" || m.Host == nil || m.Isolation == nil || m.Tools["qemu"] == "" ||
		m.Images["guest stat"] == "" || m.Sources == nil {
		t.Errorf("manifest lacks provenance: %+v", m)
	}
	// Raw logs of every boot, warm-ups included.
	for _, f := range []string{"rep-01.console.log", "rep-02.debugcon.txt", "rep-02.json", "warmup-01.console.log", "repetitions.json"} {
		if _, err := os.Stat(filepath.Join(dir, "raw", fig10.QEMUMicroVM, f)); err != nil {
			t.Errorf("raw log: %v", err)
		}
	}
	console, _ := os.ReadFile(filepath.Join(dir, "raw", fig10.QEMU, "rep-01.console.log"))
	if !strings.Contains(string(console), "Hello world!") {
		t.Errorf("the guest's console: %q", console)
	}
	checkPITCalibration(t, dir, d, m, pr)
	r := verify.New("fig_10", d.Provenance.String())
	d.Verify(r)
	ran := 0
	for _, s := range d.Series {
		if s.Ran() {
			ran++
		}
	}
	if r.Count(verify.Fail)+r.Count(verify.Warn) != 0 || r.Count(verify.OK) != ran {
		var b strings.Builder
		r.WriteTable(&b)
		t.Errorf("verdict of a fixture run: only the boots are judged:\n%s", b.String())
	}
	s := svg(t, d)
	if !strings.Contains(s, "FIXTURE "+fixture.Name) {
		t.Error("the plot does not say FIXTURE")
	}

	// STRICT: a selected VMM that cannot run is a failure (the run is still kept).
	dir2, err := Run(context.Background(), RunOptions{VMMs: []string{fig10.QEMUMicroVM, fig10.Firecracker}, Accel: vmm.TCG,
		Plan: rep.Plan{Reps: 1}, ResultsDir: resultsDir, Images: images, Fixture: fixture.Name, Strict: true, Log: quiet(), Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "STRICT=1") || !strings.Contains(err.Error(), "firecracker") || dir2 == "" {
		t.Errorf("strict run: %q, %v", dir2, err)
	}
	checkNothingLeft(t)
}

// Under TCG the guest has no CPUID 0x40000010 and, like Unikraft 7fd6797, calibrates its
// TSC by polling the PIT for 100 ms: microvm ran with the PIT on, the run says which machine
// options and that the guest part holds the calibration, and with the paper's pit=off the
// same kernel never reaches main().
func checkPITCalibration(t *testing.T, dir string, d *fig10.Dataset, m *results.Manifest, pr *Prepared) {
	t.Helper()
	st, err := fig10.ReadStatus(dir)
	if err != nil {
		t.Fatal(err)
	}
	micro, _ := st.Get(fig10.QEMUMicroVM)
	if !strings.Contains(micro.Machine, ",pit=on,") || micro.TSCLeaf == nil || *micro.TSCLeaf ||
		m.Machines[fig10.QEMUMicroVM] != micro.Machine || !strings.Contains(strings.Join(micro.Notes, "\n"), "deviation: microvm with pit=on") {
		t.Errorf("microvm under TCG: machine %q, leaf %v, manifest %v, notes %q", micro.Machine, micro.TSCLeaf, m.Machines, micro.Notes)
	}
	if pc, _ := st.Get(fig10.QEMU); pc.Machine != "pc" || m.Machines[fig10.QEMU] != "pc" {
		t.Errorf("pc: machine %q, manifest %v", pc.Machine, m.Machines)
	}
	if cal := d.Calibrating(); !slices.Contains(cal, "QEMU (MicroVM)") || !slices.Contains(cal, "QEMU") {
		t.Errorf("series said to calibrate: %v", cal)
	}
	console, _ := os.ReadFile(filepath.Join(dir, "raw", fig10.QEMUMicroVM, "rep-01.console.log"))
	if !strings.Contains(string(console), "TSC calibrated against the PIT") {
		t.Errorf("the microvm guest did not take the PIT path: %q", console)
	}
	// The paper's pit=off under TCG: the calibration polls a PIT that is not there. A
	// bounded boot (5 s, 50 times the calibration) shows where it stops.
	q := vmm.QEMU{Machine: "microvm", Accel: vmm.TCG, PIT: "off", MemoryMiB: 2, Kernel: pr.Guests["stat"].Kernel, DebugExit: true, NoMemLock: true}
	b, err := boottime.Run(context.Background(), q, boottime.Observers{Debugcon: true}, boottime.Options{Accel: vmm.TCG, Timeout: 5 * time.Second})
	if want := "entry marker (port 1112) seen, main marker (port 1500) never; timed out after 5s"; !errors.Is(err, vmm.ErrTimeout) || b.Stop != want {
		t.Errorf("microvm pit=off under TCG: %v, stop %q; want %q", err, b.Stop, want)
	}
	checkNothingLeft(t)
}

// A guest that hangs after its entry marker (the FIXTURE's hang variant) costs each series
// AbortAfter timeouts, not REPS: the series is marked failed with what was observed, and
// the next series still runs.
func TestFixtureHangingGuestStopsItsSeriesEarly(t *testing.T) {
	images, pr, _ := preparedWith(t, fixture.Options{HangAfterEntry: true}, fig10.QEMU, fig10.QEMUMicroVM)
	if pr.Fixture != fixture.HangName {
		t.Fatalf("prepared from %q", pr.Fixture)
	}
	resultsDir := t.TempDir()
	var table bytes.Buffer
	_, err := Run(context.Background(), RunOptions{VMMs: []string{fig10.QEMU, fig10.QEMUMicroVM}, Accel: vmm.TCG,
		Plan: rep.Plan{Reps: 26, Warmup: 1, Timeout: 3 * time.Second}, ResultsDir: resultsDir, Images: images, Fixture: pr.Fixture,
		Log: quiet(), Out: &table})
	if err == nil || !strings.Contains(err.Error(), "no VMM could be booted") {
		t.Fatalf("err = %v\n%s", err, table.String())
	}
	checkNothingLeft(t)
	kept, _ := filepath.Glob(filepath.Join(resultsDir, fig10.Figure.Dir, "failed", "*"))
	if len(kept) != 1 {
		t.Fatalf("failed runs kept: %v", kept)
	}
	st, err := fig10.ReadStatus(kept[0])
	if err != nil {
		t.Fatal(err)
	}
	want := "3 consecutive repetitions stopped the same way: entry marker (port 1112) seen, main marker (port 1500) never; " +
		"timed out after 3s; series stopped after 3 of 27 boots (warm-up included)"
	for _, key := range []string{fig10.QEMUMicroVM, fig10.QEMU} { // run order: microvm first, then pc
		s, _ := st.Get(key)
		if s.Status != fig10.Failed || s.Reason != want || s.OK != 0 || s.Failed != 26 {
			t.Errorf("%s: %s, %q, %d ok, %d failed", key, s.Status, s.Reason, s.OK, s.Failed)
		}
		logs, _ := filepath.Glob(filepath.Join(kept[0], "raw", key, "*.console.log"))
		if len(logs) != AbortAfter {
			t.Errorf("%s: %d boots kept, want %d: %v", key, len(logs), AbortAfter, logs)
		}
	}
	if !strings.Contains(table.String(), "QEMU (MicroVM) FAILED: "+want) {
		t.Errorf("printed:\n%s", table.String())
	}
}

func TestFixtureMicroVMUnderKVM(t *testing.T) {
	if err := host.CheckKVM(); err != nil {
		t.Skipf("no KVM: %v", err)
	}
	// Nested KVMs cannot set IA32_ARCH_CAPABILITIES; dropping it changes nothing here.
	cpu := os.Getenv("QEMU_CPU")
	if cpu == "" {
		cpu = vmm.DefaultCPU + ",-arch-capabilities"
	}
	images, _, _ := prepared(t, fig10.QEMUMicroVM)
	var table bytes.Buffer
	dir, err := Run(context.Background(), RunOptions{VMMs: []string{fig10.QEMUMicroVM}, Accel: vmm.KVM, QEMUCPU: cpu,
		Plan: rep.Plan{Reps: 3, Warmup: 1, Timeout: time.Minute}, ResultsDir: t.TempDir(), Images: images, Fixture: fixture.Name,
		Log: quiet(), Out: &table})
	if err != nil {
		t.Fatalf("%v\n%s", err, table.String())
	}
	checkNothingLeft(t)
	d, err := fig10.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := fig10.ReadStatus(dir)
	s, _ := st.Get(fig10.QEMUMicroVM)
	want := "debugcon"
	if os.Geteuid() == 0 {
		want = "ftrace" // the kernel's own timestamps, when available
	}
	if !d.Get(fig10.QEMUMicroVM).Ran() || s.Observer != want {
		t.Errorf("microvm under KVM: ran %v, observer %q (want %q): %s", d.Get(fig10.QEMUMicroVM).Ran(), s.Observer, want, table.String())
	}
	if s.Overhead < 1 {
		t.Errorf("harness overhead %.3f < 1: the loop cannot be shorter than the VMMs it ran", s.Overhead)
	}
	if os.Geteuid() != 0 {
		return
	}
	// Both observers on the same boots, when asked for: ftrace's numbers in the result file,
	// both in extended.csv.
	dir, err = Run(context.Background(), RunOptions{VMMs: []string{fig10.QEMUMicroVM}, Accel: vmm.KVM, QEMUCPU: cpu, Observers: []string{"ftrace", "debugcon"},
		Plan: rep.Plan{Reps: 2, Timeout: time.Minute}, ResultsDir: t.TempDir(), Images: images, Fixture: fixture.Name, Log: quiet(), Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	checkNothingLeft(t)
	st, _ = fig10.ReadStatus(dir)
	if s, _ := st.Get(fig10.QEMUMicroVM); s.Observer != "ftrace" || strings.Join(s.Observers, ",") != "ftrace,debugcon" {
		t.Errorf("observers %v, primary %s", s.Observers, s.Observer)
	}
	ext, _ := os.ReadFile(filepath.Join(dir, fig10.ExtendedFile))
	if strings.Count(string(ext), "\tftrace\tyes\t") != 2 || strings.Count(string(ext), "\tdebugcon\tno\t") != 2 {
		t.Errorf("extended.csv:\n%s", ext)
	}
	// The debug console alone, when asked for, also under KVM as root.
	dir, err = Run(context.Background(), RunOptions{VMMs: []string{fig10.QEMUMicroVM}, Accel: vmm.KVM, QEMUCPU: cpu, Observers: []string{"debugcon"},
		Plan: rep.Plan{Reps: 1, Timeout: time.Minute}, ResultsDir: t.TempDir(), Images: images, Fixture: fixture.Name, Log: quiet(), Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	st, _ = fig10.ReadStatus(dir)
	if s, _ := st.Get(fig10.QEMUMicroVM); s.Observer != "debugcon" {
		t.Errorf("OBSERVERS=debugcon: observer %s", s.Observer)
	}
}

func TestPrepareSaysWhatAFixtureCannotProvide(t *testing.T) {
	m, err := fixture.WriteMirror(context.Background(), filepath.Join(t.TempDir(), "mirror"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Prepare(context.Background(), PrepareOptions{VMMs: []string{fig10.Solo5, fig10.Firecracker},
		Manifest: filepath.Join("..", "..", "..", sources.ManifestPath), Sources: sources.Options{Mirror: m.Dir, Cache: t.TempDir()},
		Images: t.TempDir(), Log: quiet(), Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "no guest of VMMS=solo5,firecracker can be prepared") ||
		!strings.Contains(err.Error(), "provides no unikraft-firecracker, firecracker") {
		t.Errorf("err = %v", err)
	}
}

func TestRunNeedsPreparedGuests(t *testing.T) {
	_, err := Run(context.Background(), RunOptions{Accel: vmm.TCG, Images: t.TempDir(), ResultsDir: t.TempDir(), Fixture: "x"})
	if err == nil || !strings.Contains(err.Error(), "fig10:prepare") || !strings.Contains(err.Error(), "FIXTURE x") {
		t.Errorf("err = %v", err)
	}
	if _, err := Run(context.Background(), RunOptions{Accel: "hvf"}); err == nil || !strings.Contains(err.Error(), "expected kvm or tcg") {
		t.Errorf("bad accelerator: %v", err)
	}
	if _, err := selectVMMs([]string{"qemu", "bhyve"}); err == nil || !strings.Contains(err.Error(), `unknown VMM "bhyve"`) {
		t.Errorf("bad VMMS: %v", err)
	}
}

// checkExtended: extended.csv has a row per boot and observer, and its primary rows are the
// result files' rows.
func checkExtended(t *testing.T, dir string, d *fig10.Dataset) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, fig10.ExtendedFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	if sc.Text() != strings.Join(fig10.ExtendedColumns, "\t") {
		t.Fatalf("header %q", sc.Text())
	}
	col := map[string]int{}
	for i, c := range fig10.ExtendedColumns {
		col[c] = i
	}
	primary := map[string][]fig10.BootTime{}
	for sc.Scan() {
		fl := strings.Split(sc.Text(), "\t")
		if len(fl) != len(fig10.ExtendedColumns) {
			t.Fatalf("row %q", sc.Text())
		}
		if fl[col["clock"]] != boottime.Clock || fl[col["vmm_cpu_us"]] == "" || fl[col["exit_code"]] != "83" {
			t.Errorf("row %q: clock, CPU time or exit code missing", sc.Text())
		}
		if fl[col["primary"]] == "yes" {
			v, _ := strconv.ParseFloat(fl[col["vmm_us"]], 64)
			g, _ := strconv.ParseFloat(fl[col["guest_us"]], 64)
			primary[fl[col["vmm"]]] = append(primary[fl[col["vmm"]]], fig10.BootTime{VMMus: v, GuestUs: g})
		}
	}
	for _, s := range d.Series {
		if fmt.Sprint(primary[s.Key]) != fmt.Sprint(s.Boots) {
			t.Errorf("%s: extended primary rows %v, result file %v", s.Key, primary[s.Key], s.Boots)
		}
	}
}

// checkNothingLeft: no VMM process, tap device, ftrace instance or container of this test
// process is left behind.
func checkNothingLeft(t *testing.T) {
	t.Helper()
	pid := strconv.Itoa(os.Getpid())
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == pid && strings.Contains(string(b), "qemu") {
			t.Errorf("process left behind: %s", b)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(boottime.DefaultTracefs, "instances", "ukboottime-"+pid+"-*")); len(m) > 0 {
		t.Errorf("ftrace instances left behind: %v", m)
	}
	if m, _ := filepath.Glob("/sys/class/net/" + vmm.OwnTapPrefix() + "*"); len(m) > 0 {
		t.Errorf("tap devices left behind: %v", m)
	}
	dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(dctx, "docker", "ps", "-a", "--filter", "label="+docker.LabelOwner, "--format", `{{.Label "`+docker.LabelOwner+`"}}`).Output(); err == nil {
		for _, owner := range strings.Fields(string(out)) {
			if strings.Contains(owner, "/"+pid+"/") {
				t.Errorf("container of this test left behind (owner %s)", owner)
			}
		}
	}
}

// A run in which no VMM can boot fails, and is kept in failed/ with what describes it: the
// manifest (host, settings) and why every VMM did not run.
func TestARunWithNothingBootedKeepsItsManifest(t *testing.T) {
	images, resultsDir := t.TempDir(), t.TempDir()
	pr := &Prepared{Fixture: "x", Guests: map[string]*unikraft.Image{}, Missing: map[string]string{"firecracker": "not in fixture x"}}
	if err := os.MkdirAll(Dir(images), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := results.WriteJSONAtomic(preparedPath(images, "x"), pr); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), RunOptions{VMMs: []string{fig10.Firecracker}, Accel: vmm.TCG, Images: images,
		ResultsDir: resultsDir, Fixture: "x", Log: quiet(), Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "no VMM could be booted") {
		t.Fatalf("err = %v", err)
	}
	kept, _ := filepath.Glob(filepath.Join(resultsDir, fig10.Figure.Dir, "failed", "*"))
	if len(kept) != 1 {
		t.Fatalf("failed runs kept: %v", kept)
	}
	m, err := results.ReadManifest(kept[0])
	if err != nil {
		t.Fatalf("the failed run has no manifest: %v", err)
	}
	if m.Host == nil || !strings.Contains(strings.Join(m.Notes, "\n"), "firecracker not run: needs KVM") {
		t.Errorf("manifest of the failed run: notes %q, host %v", m.Notes, m.Host)
	}
	if _, err := os.Stat(filepath.Join(kept[0], fig10.SeriesFile)); err != nil {
		t.Errorf("series status not kept: %v", err)
	}
}

// sourceCommit is the commit of a prepared git source ("" when not there).
func (pr *Prepared) sourceCommit(name string) string {
	for _, r := range pr.Sources {
		if r.Name == name {
			return r.Commit
		}
	}
	return ""
}

// A paper patch that does not fit the tree stops the build in the toolchain container,
// naming the step, the patch and the file, before anything is compiled.
func TestAPatchThatDoesNotApplyStopsTheGuestBuild(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	m, err := fixture.WriteMirror(ctx, filepath.Join(root, "mirror"))
	if err != nil {
		t.Fatal(err)
	}
	man, err := sources.ManifestFor(filepath.Join("..", "..", "..", sources.ManifestPath), m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	g := GuestOf(fig10.QEMU, "")
	sub, err := man.Only(g.Sources()...)
	if err != nil {
		t.Fatal(err)
	}
	set, err := sources.Fetch(ctx, sub, sources.Options{Cache: filepath.Join(root, "sources"), Mirror: m.Dir, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	dc, err := docker.Connect(ctx, docker.Options{Log: quiet(), Out: io.Discard, LogDir: filepath.Join(root, "logs")})
	if err != nil && strings.Contains(err.Error(), "cannot reach the Docker daemon") && os.Getenv("CI") == "" {
		t.Skipf("no Docker daemon: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	tc, err := dc.BuildRecipe(ctx, filepath.Join("..", "..", "..", "containers"), ToolchainRecipe)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := g.spec(ctx, set, nil)
	if err != nil {
		t.Fatal(err)
	}
	// tracepoints.patch as if written for a tree whose _libkvmplat_entry() differs.
	i := slices.IndexFunc(spec.Steps, func(s unikraft.Step) bool { return strings.HasSuffix(s.Name, "tracepoints.patch") })
	st := spec.Steps[i]
	bad := strings.Replace(string(st.Patch), "void _libkvmplat_entry(void *arg)", "void _libkvmplat_entry(void *marg)", 1)
	if bad == string(st.Patch) {
		t.Fatalf("the stand-in tracepoints.patch has no context line to spoil:\n%s", st.Patch)
	}
	spec.Steps[i] = unikraft.PatchStep(st.Tree, st.Kind, st.Name, []byte(bad), st.Why)
	b := &unikraft.Builder{Docker: dc, Toolchain: tc, Cache: filepath.Join(root, "images"), Log: quiet()}
	_, err = b.Build(ctx, spec)
	if err == nil {
		t.Fatal("a patch that does not apply was built")
	}
	for _, want := range []string{fmt.Sprintf("step %d of %d", i+1, len(spec.Steps)), "git apply of eurosys21-artifacts@", "tracepoints.patch",
		"does not apply to plat/kvm/x86/setup.c", "work directory kept"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
}

// svg renders the run's chart with the bundle's renderer, as the plot step does.
func svg(t *testing.T, d *fig10.Dataset) string {
	t.Helper()
	if _, err := plot.EnsureECharts(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := d.Chart(d.Provenance)
	f.Name = fig10.Figure.Plot
	b, err := plot.SVG(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A boot that was tried and failed fails the run step, also on a FIXTURE under TCG, where
// the timings are not judged: here fig10.QEMU (1NIC) boots the hang variant's guest, which stops
// after its entry marker, and fig10.QEMU (MicroVM) the normal one. The run is written and kept as
// the latest (so it can be plotted and verified), its verdict has a FAIL row, and Run
// returns ErrBootsFailed.
func TestAFailedSeriesFailsTheRunAfterWritingIt(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("QEMU (1NIC) needs root for its tap device")
	}
	images, pr, _ := prepared(t, fig10.QEMUMicroVM)
	_, hang, _ := preparedWith(t, fixture.Options{HangAfterEntry: true}, fig10.QEMU, fig10.QEMU1NIC)
	// The normal fixture's index with the hanging guest for fig10.QEMU (1NIC): both images were
	// built by prepare from their fixture's sources.
	pr.Guests["qemu1nic"] = hang.Guests["qemu1nic"]
	if err := results.WriteJSONAtomic(preparedPath(images, pr.Fixture), pr); err != nil {
		t.Fatal(err)
	}
	resultsDir := t.TempDir()
	var table, shown bytes.Buffer
	dir, err := Run(context.Background(), RunOptions{VMMs: []string{fig10.QEMUMicroVM, fig10.QEMU1NIC}, Accel: vmm.TCG,
		Plan: rep.Plan{Reps: 4, Timeout: 3 * time.Second}, ResultsDir: resultsDir, Images: images, Fixture: pr.Fixture,
		Log: quiet(), Out: &table, Progress: progress.NewWith(&shown, progress.Options{})})
	if !errors.Is(err, ErrBootsFailed) || !strings.Contains(err.Error(), "qemu1nic failed: 3 consecutive repetitions stopped the same way") {
		t.Fatalf("err = %v\n%s", err, table.String())
	}
	checkNothingLeft(t)
	latest, lerr := results.LatestDir(resultsDir, fig10.Figure.Dir)
	if dir == "" || lerr != nil || latest != dir {
		t.Fatalf("the run is not kept as the latest: dir %q, latest %q (%v)", dir, latest, lerr)
	}
	for _, want := range []string{"QEMU (MicroVM): 4/4 boots, in ", "QEMU (1NIC): 3/4 boots, 3 failed, stopped, in "} {
		if !strings.Contains(shown.String(), want) {
			t.Errorf("progress does not show %q:\n%s", want, shown.String())
		}
	}
	d, err := fig10.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := verify.New("fig10", dir)
	d.Verify(r)
	verdict := map[string]verify.Verdict{}
	for _, row := range r.Rows {
		verdict[row.Series] = row.Verdict
	}
	if verdict["every boot on QEMU (1NIC) succeeded"] != verify.Fail || verdict["every boot on QEMU (MicroVM) succeeded"] != verify.OK {
		t.Errorf("verdict: %v", verdict)
	}
	if verdict["QEMU (MicroVM) total"] != verify.Skip {
		t.Errorf("a FIXTURE timing was judged: %v", verdict["QEMU (MicroVM) total"])
	}
	if r.Err(false) == nil {
		t.Error("the verdict of a run with failed boots passes")
	}
}

// An interrupt (Ctrl-C cancels the context) stops the run at once, mid-series: one error
// says so and where the partial run is kept (failed/), with the boots measured until then.
func TestAnInterruptStopsTheRunAndKeepsItInFailed(t *testing.T) {
	images, pr, _ := prepared(t, fig10.QEMUMicroVM)
	resultsDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The display's milestone at 2 of 10 boots stands for the user pressing Ctrl-C.
	shown := &cancelAt{text: "QEMU (MicroVM): 2/10 boots", cancel: cancel}
	_, err := Run(ctx, RunOptions{VMMs: []string{fig10.QEMUMicroVM, fig10.QEMU}, Accel: vmm.TCG,
		Plan: rep.Plan{Reps: 10, Timeout: time.Minute}, ResultsDir: resultsDir, Images: images, Fixture: pr.Fixture,
		Log: quiet(), Out: io.Discard, Progress: progress.NewWith(shown, progress.Options{})})
	kept, _ := filepath.Glob(filepath.Join(resultsDir, fig10.Figure.Dir, "failed", "*"))
	if len(kept) != 1 {
		t.Fatalf("failed runs kept: %v (err %v)", kept, err)
	}
	if err == nil || !strings.Contains(err.Error(), "interrupted after 2 of 10 repetitions") || !strings.Contains(err.Error(), "kept in "+kept[0]) {
		t.Fatalf("err = %v", err)
	}
	checkNothingLeft(t)
	if _, lerr := results.LatestDir(resultsDir, fig10.Figure.Dir); !errors.Is(lerr, results.ErrNoRun) {
		t.Errorf("an interrupted run became the latest: %v", lerr)
	}
	raw, _ := filepath.Glob(filepath.Join(kept[0], "raw", fig10.QEMUMicroVM, "rep-*.console.log"))
	if len(raw) < 2 {
		t.Errorf("the boots measured before the interrupt were not kept: %v", raw)
	}
	st, err := fig10.ReadStatus(kept[0])
	if err != nil || st == nil {
		t.Fatalf("series.json of the interrupted run: %v", err)
	}
	if _, ok := st.Get(fig10.QEMU); ok {
		t.Error("the series after the interrupt ran")
	}
}

// cancelAt is a display's writer that cancels when it is shown text.
type cancelAt struct {
	bytes.Buffer
	text   string
	cancel context.CancelFunc
}

func (c *cancelAt) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.text) {
		c.cancel()
	}
	return c.Buffer.Write(p)
}
