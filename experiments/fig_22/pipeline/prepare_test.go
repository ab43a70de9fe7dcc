package pipeline

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	fig22 "github.com/unikraft-eurosys21/artifact/experiments/fig_22"
	"github.com/unikraft-eurosys21/artifact/experiments/fig_22/fixture"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/files"
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

func ukQuiet() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// ukOptions are prepare's options for a fixture mirror written into root.
func ukOptions(t *testing.T, root string, fo fixture.Options) PrepareOptions {
	t.Helper()
	m, err := fixture.WriteMirrorWith(context.Background(), filepath.Join(root, "mirror"), fo)
	if err != nil {
		t.Fatal(err)
	}
	return PrepareOptions{Manifest: filepath.Join("..", "..", "..", sources.ManifestPath),
		Sources:    sources.Options{Cache: filepath.Join(root, "sources"), Mirror: m.Dir, Log: ukQuiet()},
		Containers: filepath.Join("..", "..", "..", "containers"), Images: filepath.Join(root, "images"),
		Docker: docker.Options{Log: ukQuiet(), Out: io.Discard, LogDir: filepath.Join(root, "logs")}, Log: ukQuiet(), Out: io.Discard}
}

// ukSkipWithoutDocker skips a test that needs the Docker daemon, outside CI.
func ukSkipWithoutDocker(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), "cannot reach the Docker daemon") && os.Getenv("CI") == "" {
		t.Skipf("no Docker daemon: %v", err)
	}
}

// TestFixtureUnikraftSide prepares the Unikraft side of the FIXTURE mirror once (with the
// real Docker daemon) for its subtests.
func TestFixtureUnikraftSide(t *testing.T) {
	opt := ukOptions(t, t.TempDir(), fixture.Options{})
	var out bytes.Buffer
	opt.Out = &out
	st, err := prepareUnikraft(context.Background(), opt)
	ukSkipWithoutDocker(t, err)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	st.dc.Close()
	opt.Out = io.Discard
	t.Run("BuiltOnceAndCached", func(t *testing.T) { ukTestBuiltOnceAndCached(t, opt, st.pr) })
	t.Run("BootsAndOpensThroughInitrdAndDisk", func(t *testing.T) { ukTestBoots(t, st.pr) })
	t.Run("PrepareRecordsBothSides", func(t *testing.T) { ukTestPrepareRecordsBothSides(t, opt) })
}

// The stand-in Unikraft builds the bundle's benchmark through the real build interface
// (the TLSF archive placed, lib-shfs:lib-tlsf in L=, the paper's configuration): the
// kernel and its unstripped .dbg are kept, the SHFS tools and volume are made in the
// toolchain container with rnd4k listed under its hash, the initrd holds /<hash>, and a
// second prepare builds nothing.
func ukTestBuiltOnceAndCached(t *testing.T, opt PrepareOptions, pr *Prepared) {
	if pr.Fixture != fixture.Name || pr.Unikraft == nil || !pr.Unikraft.Built {
		t.Fatalf("prepared: fixture %q, image %+v", pr.Fixture, pr.Unikraft)
	}
	if filepath.Base(pr.Unikraft.Kernel) != UKKernel {
		t.Errorf("kernel %s; want %s (CONFIG_UK_NAME of the paper's configuration)", pr.Unikraft.Kernel, UKKernel)
	}
	dbg := pr.Unikraft.Extras[UKDebug]
	if syms := ukSymbols(t, dbg); !syms["main"] || !syms["shfs_fio_open"] || !syms["_libkvmplat_entry"] {
		t.Errorf("the .dbg lacks the benchmark's or the stand-in's symbols")
	}
	if b, _ := os.ReadFile(pr.Unikraft.Log); !strings.Contains(string(b), "UNPACK  libtlsf: TLSF-2.4.6.tbz2") {
		t.Errorf("lib-tlsf did not use the placed archive:\n%s", b)
	}
	if len(pr.SHFS.Tools) != 2 || pr.SHFS.Tools["shfs_mkfs"] == "" || !pr.SHFS.Built {
		t.Errorf("SHFS tools %v (built %v)", pr.SHFS.Tools, pr.SHFS.Built)
	}
	if b, _ := os.ReadFile(pr.SHFS.ToolsLog); !strings.Contains(string(b), "-luuid -lmhash") {
		t.Errorf("the tools' build log does not show the link with -luuid -lmhash:\n%s", b)
	}
	if pr.SHFS.Bytes != VolumeBytes || CheckListing(pr.SHFS.Listing) != nil {
		t.Errorf("volume %+v", pr.SHFS)
	}
	if sum, _ := files.SHA256(pr.SHFS.Path); sum != pr.SHFS.SHA256 {
		t.Errorf("volume sha256 %s, recorded %s", sum, pr.SHFS.SHA256)
	}
	if cpio, err := os.ReadFile(pr.UKInitrd.Path); err != nil || !bytes.Contains(cpio, []byte(fig22.RND4KHash+"\x00")) {
		t.Errorf("the Unikraft initrd lacks /%s (%v)", fig22.RND4KHash, err)
	}

	var again bytes.Buffer
	opt.Out = &again
	st, err := prepareUnikraft(context.Background(), opt)
	if err != nil {
		t.Fatalf("second prepare: %v\n%s", err, again.String())
	}
	st.dc.Close()
	if st.pr.Unikraft.Built || st.pr.SHFS.Built || st.pr.SHFS.SHA256 != pr.SHFS.SHA256 || st.pr.UKInitrd != pr.UKInitrd {
		t.Errorf("the second prepare built again (image %v, SHFS %v):\n%s", st.pr.Unikraft.Built, st.pr.SHFS.Built, again.String())
	}
}

// One boot of the prepared stand-in image, as the run step boots the real one (TCG with
// -cpu max for rdtscp, 2 vCPUs, 1024 MiB, the initrd, the volume on virtio-blk): the four
// lines, and no case that failed to open its descriptors before a file-exists line. The
// same boot without the disk fails the SHFS file-exists case: the stand-in reads its volume.
func ukTestBoots(t *testing.T, pr *Prepared) {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("qemu-system-x86_64 is not installed")
		}
		t.Skip("qemu-system-x86_64 is not installed")
	}
	console := ukBoot(t, pr, true)
	lines := strings.Split(console, "\n")
	want := []string{"SHFS,<n/a>,iterations:1000,avg:", "SHFS,/rnd4k,iterations:1000,avg:", "VFS,<n/a>,iterations:1000,avg:", "VFS,/rnd4k,iterations:1000,avg:"}
	next, failed := 0, false
	for _, l := range lines {
		if strings.Contains(l, "descriptors were not opened") {
			failed = true
		}
		if next < len(want) && strings.HasPrefix(l, want[next]) {
			if strings.Contains(want[next], "/rnd4k") && failed {
				t.Errorf("%s came after a failed open:\n%s", strings.TrimSpace(l), console)
			}
			next, failed = next+1, false
		}
	}
	if next != len(want) || !strings.Contains(console, "fsbench: SHFS volume mounted") || !strings.Contains(console, "FIXTURE") {
		t.Fatalf("the console lacks the benchmark's lines (found %d of 4) or the FIXTURE mark:\n%s", next, console)
	}

	console = ukBoot(t, pr, false)
	before, _, ok := strings.Cut(console, "SHFS,/rnd4k,")
	if !ok || !strings.Contains(console, "fsbench: no SHFS volume mounted") ||
		strings.Count(before, "1000 of 1000 descriptors were not opened") != 2 {
		t.Errorf("without the disk the SHFS file-exists case should fail:\n%s", console)
	}
}

// ukBoot boots the prepared image once under TCG and returns its console.
func ukBoot(t *testing.T, pr *Prepared, disk bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"-accel", "tcg", "-cpu", "max", "-smp", "2", "-m", "1024", "-kernel", pr.Unikraft.Kernel, "-initrd", pr.UKInitrd.Path,
		"-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot"}
	if disk {
		// A copy: the boot must not change the prepared volume.
		vol := filepath.Join(t.TempDir(), VolumeFile)
		if err := files.Copy(pr.SHFS.Path, vol, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-drive", "file="+vol+",if=virtio,format=raw")
	}
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("qemu: %v\n%s", err, out.String())
	}
	return strings.ReplaceAll(out.String(), "\r", "")
}

func ukSymbols(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, _ := f.Symbols()
	out := map[string]bool{}
	for _, s := range syms {
		out[s.Name] = true
	}
	return out
}

// A mirror without some of the sources fails before building anything, naming them all.
func TestMissingSourcesAreNamedAtOnce(t *testing.T) {
	opt := ukOptions(t, t.TempDir(), fixture.Options{Omit: []string{LibSHFS, TLSFArchive}})
	_, err := Prepare(context.Background(), opt)
	if err == nil || !strings.Contains(err.Error(), "has no source lib-shfs, tlsf") || !strings.Contains(err.Error(), fixture.Name) {
		t.Errorf("err = %v; want both missing sources named", err)
	}
}

// The whole prepare, with the Linux side, writes prepared-<fixture>.json for the run step.
func ukTestPrepareRecordsBothSides(t *testing.T, opt PrepareOptions) {
	pr, err := Prepare(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	read, err := ReadPrepared(opt.Images, fixture.Name)
	if err != nil || read.Unikraft.KernelSHA256 != pr.Unikraft.KernelSHA256 || read.SHFS.Listing != pr.SHFS.Listing || read.Linux.Kernel.SHA256 == "" {
		t.Errorf("prepared.json: %v %+v", err, read)
	}
	t.Run("RunsUnderTCG", func(t *testing.T) { testRunUnderTCG(t, opt) })
	var out bytes.Buffer
	if err := Clean(opt.Images, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(Dir(opt.Images)); !os.IsNotExist(err) {
		t.Errorf("clean left %s", Dir(opt.Images))
	}
}

// The listing check wants rnd4k under its SHA-256.
func TestCheckListing(t *testing.T) {
	head := "Hash" + strings.Repeat(" ", 61) + "Loc (chk)   Size (chk) Flags LType MIME                     Added            Name\n"
	good := head + fig22.RND4KHash + "            2            1   ---       application/octet-stream Dec  1, 26 04:49 rnd4k\n"
	if err := CheckListing(good); err != nil {
		t.Error(err)
	}
	bad := strings.Replace(good, fig22.RND4KHash, strings.Repeat("0", 64), 1)
	if err := CheckListing(bad); err == nil || !strings.Contains(err.Error(), "does not list rnd4k") {
		t.Errorf("a listing without the hash: %v", err)
	}
}

// Clean removes Figure 22's folder of the image cache and says when there is nothing to do.
func TestCleanRemovesFigure22sFolder(t *testing.T) {
	images := t.TempDir()
	if err := os.MkdirAll(filepath.Join(Dir(images), "shfs-volume-x"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(Dir(images), "shfs-volume-x", VolumeFile), []byte("v"), 0o444)
	other := filepath.Join(images, "fig_14")
	os.MkdirAll(other, 0o755)
	var out bytes.Buffer
	if err := Clean(images, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(Dir(images)); !os.IsNotExist(err) {
		t.Errorf("%s is still there", Dir(images))
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("clean removed another figure's folder: %v", err)
	}
	out.Reset()
	if err := Clean(images, &out); err != nil || !strings.Contains(out.String(), "nothing to clean") {
		t.Errorf("second clean: %v %q", err, out.String())
	}
}

// The run step on what prepare made: Debian's kernel and the benchmark's /init boot for real
// (under TCG here), the stand-in Unikraft image with its initrd and SHFS volume; the run
// directory is what the figure reads, every boot's console kept, and nothing is judged.
func testRunUnderTCG(t *testing.T, opt PrepareOptions) {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 is not installed")
	}
	var out bytes.Buffer
	root := t.TempDir()
	dir, err := Run(context.Background(), RunOptions{Accel: "tcg", Plan: rep.Plan{Reps: 2}, ResultsDir: root,
		Images: opt.Images, Fixture: fixture.Name, Log: ukQuiet(), Out: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	d, err := fig22.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Accel != "tcg" || d.Fixture != fixture.Name || !d.HasRuns() || d.TSCMHz <= 0 {
		t.Errorf("run: accel %q fixture %q runs %v tsc %d", d.Accel, d.Fixture, d.HasRuns(), d.TSCMHz)
	}
	for _, console := range fig22.Consoles() {
		for n := 1; n <= 2; n++ {
			log, err := os.ReadFile(filepath.Join(dir, "raw", fmt.Sprintf("%s.%d", console, n)))
			if err != nil {
				t.Fatal(err)
			}
			end := "Attempted to kill init"
			if console == "unikraft" {
				end = "fsbench: SHFS volume mounted"
			}
			if !strings.Contains(string(log), end) {
				t.Errorf("%s.%d lacks %q:\n%s", console, n, end, log)
			}
		}
	}
	m, err := results.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if notes := strings.Join(m.Notes, "\n"); !strings.Contains(notes, "linux-image-6.1.0") || !strings.Contains(notes, "mitigations=off") {
		t.Errorf("the manifest does not say which kernel booted how:\n%s", notes)
	}
	var r verify.Report
	d.Verify(&r)
	if r.Count(verify.OK)+r.Count(verify.Warn)+r.Count(verify.Fail) != 0 {
		t.Errorf("a TCG run was judged: %d OK, %d WARN, %d FAIL", r.Count(verify.OK), r.Count(verify.Warn), r.Count(verify.Fail))
	}
	if !strings.Contains(out.String(), "harness overhead") || !strings.Contains(out.String(), "FIXTURE "+fixture.Name) {
		t.Errorf("the results table:\n%s", out.String())
	}
}
