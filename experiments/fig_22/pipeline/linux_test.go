package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"
	"github.com/sirupsen/logrus"

	fig22 "github.com/unikraft-eurosys21/artifact/experiments/fig_22"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/files"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// linuxTestLog discards log output.
func linuxTestLog() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// A bad LINUX_KERNEL is refused before anything is built, with what was wrong and what to set.
func TestLinuxKernelIsCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "initrd.img")
	os.WriteFile(text, bytes.Repeat([]byte("not a kernel\n"), 100), 0o644)
	for path, want := range map[string]string{
		filepath.Join(dir, "vmlinuz-missing"): "no such file",
		dir:                                   "not a regular file",
		text:                                  `not a Linux kernel image (bzImage): no "HdrS" setup header`,
	} {
		_, err := PrepareLinux(context.Background(), LinuxOptions{Dir: t.TempDir(), Kernel: path, Log: linuxTestLog()})
		if err == nil || !strings.Contains(err.Error(), "LINUX_KERNEL="+path+": "+want) || !strings.Contains(err.Error(), "unset it") {
			t.Errorf("LINUX_KERNEL=%s: err = %v, want %q and what to do", path, err, want)
		}
	}
}

// The setup header gives the boot protocol and the version string, whose first word is the
// release.
func TestReadBzImage(t *testing.T) {
	img := make([]byte, 0x600)
	copy(img[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(img[0x206:], 0x020f)
	binary.LittleEndian.PutUint16(img[0x20e:], 0x300) // the string at 0x500
	copy(img[0x500:], "6.1.0-50-amd64 (debian-kernel@lists.debian.org) #1 SMP\x00garbage")
	path := filepath.Join(t.TempDir(), "bzImage")
	os.WriteFile(path, img, 0o644)
	b, err := ReadBzImage(path)
	if err != nil || b.Protocol != 0x020f || b.Release() != "6.1.0-50-amd64" || !strings.HasSuffix(b.Version, "#1 SMP") {
		t.Errorf("ReadBzImage = %+v, %v", b, err)
	}
}

// linuxOptions connects to Docker and builds (or finds) the toolchain image; the test is
// skipped without a Docker daemon outside CI.
func linuxOptions(t *testing.T, dir string) LinuxOptions {
	t.Helper()
	ctx := context.Background()
	log := linuxTestLog()
	dc, err := docker.Connect(ctx, docker.Options{Log: log, Out: io.Discard, LogDir: filepath.Join(dir, "logs")})
	if err != nil {
		if strings.Contains(err.Error(), "cannot reach the Docker daemon") && os.Getenv("CI") == "" {
			t.Skipf("no Docker daemon: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	tc, err := dc.BuildRecipe(ctx, filepath.Join("..", "..", "..", "containers"), ToolchainRecipe)
	if err != nil {
		t.Fatal(err)
	}
	env, err := docker.GCCEnv("")
	if err != nil {
		t.Fatal(err)
	}
	return LinuxOptions{Docker: dc, Toolchain: tc, Env: env, Dir: filepath.Join(dir, "images", "fig_22"), Log: log, Out: io.Discard}
}

// PrepareLinux builds the benchmark as a static PIE in the toolchain container, takes
// Debian's kernel at the pinned version from the archive, and packs the initrd; a second
// call builds and downloads nothing; LINUX_KERNEL boots the user's kernel instead, recorded
// as such; a pin the archive does not have fails saying what to do; and the prepared Linux
// boots (once, under TCG) and prints both VFS lines.
func TestPrepareLinux(t *testing.T) {
	ctx := context.Background()
	o := linuxOptions(t, t.TempDir())
	l, err := PrepareLinux(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Built || !l.Downloaded {
		t.Errorf("first prepare: built %v, downloaded %v; want both", l.Built, l.Downloaded)
	}

	t.Run("init is a static PIE built with the paper's flags", func(t *testing.T) {
		if err := CheckStaticPIE(l.Init.Path); err != nil {
			t.Fatal(err)
		}
		f, err := elf.Open(l.Init.Path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Type != elf.ET_DYN || f.Section(".interp") != nil || f.Section(".dynamic") == nil {
			t.Errorf("init: type %s, .interp %v, .dynamic %v", f.Type, f.Section(".interp") != nil, f.Section(".dynamic") != nil)
		}
		if !strings.HasPrefix(l.Compiler, "gcc ") || strings.Join(l.InitFlags, " ") != strings.Join(InitFlags, " ") {
			t.Errorf("compiler %q, flags %q", l.Compiler, l.InitFlags)
		}
		if log, err := os.ReadFile(l.InitLog); err != nil || !strings.Contains(string(log), "-static-pie") {
			t.Errorf("build log %s: %v\n%s", l.InitLog, err, log)
		}
	})

	t.Run("initrd holds init and rnd4k under its hash", func(t *testing.T) {
		got := listInitrd(t, l.Initrd.Path)
		bin, _ := os.ReadFile(l.Init.Path)
		rnd4k, _ := fs.ReadFile(fig22.PaperFiles(), "src/rnd4k")
		want := map[string]entry{"init": {0o755, bin}, fig22.RND4KHash: {0o644, rnd4k}}
		if len(got) != len(want) {
			t.Errorf("initrd holds %d files, want %d", len(got), len(want))
		}
		for name, w := range want {
			g, ok := got[name]
			if !ok || g.mode != w.mode || !bytes.Equal(g.data, w.data) {
				t.Errorf("initrd %s: present %v, mode %o (want %o), same content %v", name, ok, g.mode, w.mode, bytes.Equal(g.data, w.data))
			}
		}
		if sum, _ := files.SHA256(l.Initrd.Path); sum != l.Initrd.SHA256 {
			t.Errorf("initrd sha256 %s, recorded %s", sum, l.Initrd.SHA256)
		}
	})

	t.Run("kernel is Debian's at the pinned version", func(t *testing.T) {
		b, err := ReadBzImage(l.Kernel.Path)
		if err != nil {
			t.Fatal(err)
		}
		if b.Release() != DebianKernel.Release || l.KernelRelease != DebianKernel.Release || !strings.Contains(b.Version, DebianKernel.Version) {
			t.Errorf("kernel header %+v, recorded release %q; want %s %s", b, l.KernelRelease, DebianKernel.Release, DebianKernel.Version)
		}
		if sum, _ := files.SHA256(l.Kernel.Path); sum != l.Kernel.SHA256 {
			t.Errorf("kernel sha256 %s, recorded %s", sum, l.Kernel.SHA256)
		}
		if l.UserKernel || l.KernelDebSHA256 != DebianKernel.SHA256 || !strings.Contains(l.KernelFrom, DebianKernel.Name+" "+DebianKernel.Version) || !strings.Contains(l.KernelFrom, DebianKernel.SHA256) {
			t.Errorf("kernel from %q, user %v, deb %s", l.KernelFrom, l.UserKernel, l.KernelDebSHA256)
		}
	})

	t.Run("a second prepare builds and downloads nothing", func(t *testing.T) {
		again, err := PrepareLinux(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if again.Built || again.Downloaded {
			t.Errorf("second prepare: built %v, downloaded %v", again.Built, again.Downloaded)
		}
		if again.Init != l.Init || again.Kernel != l.Kernel || again.Initrd != l.Initrd {
			t.Errorf("second prepare gave other files:\n%+v\n%+v", again, l)
		}
	})

	t.Run("LINUX_KERNEL is the user's kernel, recorded as such", func(t *testing.T) {
		mine := filepath.Join(t.TempDir(), "vmlinuz")
		if err := files.Copy(l.Kernel.Path, mine, 0o644); err != nil {
			t.Fatal(err)
		}
		uo := o
		uo.Kernel = mine
		u, err := PrepareLinux(ctx, uo)
		if err != nil {
			t.Fatal(err)
		}
		if !u.UserKernel || u.Kernel.SHA256 != l.Kernel.SHA256 || !strings.HasPrefix(u.Kernel.Path, o.Dir) || u.KernelRelease != DebianKernel.Release || u.Downloaded || u.Built || u.KernelPackage != "" {
			t.Errorf("user kernel: %+v", u)
		}
		if u.UserKernelPath != mine {
			t.Errorf("user kernel path %q, want %q", u.UserKernelPath, mine)
		}
		if want := "LINUX_KERNEL=" + mine + " (the user's kernel, as the paper booted the host's)"; u.KernelFrom != want {
			t.Errorf("kernel from %q, want %q", u.KernelFrom, want)
		}
	})

	t.Run("a pin the archive lacks says what to do", func(t *testing.T) {
		po := o
		po.pin = DebianKernel
		po.pin.Version = "0.0.1-0"
		_, err := PrepareLinux(ctx, po)
		if err == nil {
			t.Fatal("prepared a kernel package version that does not exist")
		}
		for _, want := range []string{"no longer has the pinned kernel package " + DebianKernel.Name + " 0.0.1-0", "LINUX_KERNEL=", "snapshot archive", filepath.Join(o.Dir, "linux", po.pin.Deb())} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
	})

	t.Run("a package placed by hand is checked against the pin", func(t *testing.T) {
		po := o
		po.pin = DebianKernel
		po.pin.Version = "0.0.2-0" // not in the cache: the placed file is used, nothing downloaded
		placed := filepath.Join(o.Dir, "linux", po.pin.Deb())
		if err := os.WriteFile(placed, []byte("!<arch>\nnot the pinned package\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := PrepareLinux(ctx, po)
		if err == nil || l.Downloaded || !strings.Contains(err.Error(), placed+" (placed by hand) has sha256") || !strings.Contains(err.Error(), DebianKernel.SHA256) {
			t.Errorf("downloaded %v, err = %v", l.Downloaded, err)
		}
	})

	t.Run("the prepared Linux boots under TCG and prints both VFS lines", func(t *testing.T) {
		if _, err := exec.LookPath("qemu-system-x86_64"); err != nil && os.Getenv("CI") == "" {
			t.Skip("no qemu-system-x86_64")
		}
		console := bootLinux(t, l)
		want := []fig22.Probe{{Bench: "VFS", Case: fig22.NoFile}, {Bench: "VFS", Case: fig22.FileExists}}
		if _, err := fig22.ParseConsole("console", bytes.NewReader(console), want); err != nil {
			t.Errorf("%v\n%s", err, console)
		}
		if !bytes.Contains(console, []byte("Attempted to kill init")) {
			t.Errorf("the guest did not end with init's exit (panic=-1):\n%s", console)
		}
	})
}

// bootLinux boots the prepared kernel and initrd as the run step does (2 vCPUs, 1 GiB, serial
// console, panic=-1 and -no-reboot), under TCG, and returns the console.
func bootLinux(t *testing.T, l Linux) []byte {
	t.Helper()
	q := vmm.QEMU{Accel: "tcg", MemoryMiB: MemoryMiB, SMP: VCPUs, Kernel: l.Kernel.Path, Initrd: l.Initrd.Path,
		Append: "console=ttyS0 panic=-1"}
	p, err := q.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ex, err := p.Wait(5 * time.Minute)
	if errors.Is(err, vmm.ErrTimeout) {
		t.Fatalf("the guest did not end within 5 minutes:\n%s", p.Console())
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, p.Console())
	}
	t.Logf("booted under TCG: QEMU exited with %d after %v", ex.Code, ex.Lifetime())
	return p.Console()
}

type entry struct {
	mode fs.FileMode
	data []byte
}

// listInitrd reads a gzip'd newc archive: name → mode and content.
func listInitrd(t *testing.T, path string) map[string]entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: not gzip'd: %v", path, err)
	}
	r := cpio.NewReader(z)
	out := map[string]entry{}
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.Mode.IsRegular() {
			t.Errorf("%s: not a regular file (mode %v)", h.Name, h.Mode)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = entry{fs.FileMode(h.Mode.Perm()), data}
	}
	return out
}
