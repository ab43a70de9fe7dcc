package pipeline

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	fig22 "github.com/unikraft-eurosys21/artifact/experiments/fig_22"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/files"
	"github.com/unikraft-eurosys21/artifact/internal/results"
)

// InitFlags are the paper's gcc flags for the Linux /init (the original artifact's
// fig_22 build of fsbench): a static PIE, so that the initrd needs no loader or library.
var InitFlags = []string{"-Wall", "-Wextra", "-O2", "-g3", "-fpie", "-fdata-sections", "-ffunction-sections",
	"-flto", "-static-pie", "-Wl,--gc-sections"}

// initVersion changes when the way /init is built changes.
const initVersion = "fig22-linux-init-1"

// PrepareLinux prepares the Linux side of Figure 22 under o.Dir/linux: the benchmark built
// as a static-PIE executable in the toolchain container, the kernel (Debian's package at the
// pinned version, or a copy of the user's LINUX_KERNEL) and the gzip'd initrd holding /init and
// /<sha256 of rnd4k>. Everything is cached by content: a second call with the same inputs
// builds and downloads nothing (Linux.Built and Linux.Downloaded say what this call did).
func PrepareLinux(ctx context.Context, o LinuxOptions) (Linux, error) {
	log := o.Log
	if log == nil {
		log = logrus.StandardLogger()
	}
	log = log.WithFields(logrus.Fields{"figure": "fig_22", "step": "prepare", "side": "linux"})
	var l Linux
	if o.Dir == "" {
		return l, errors.New("fig22: PrepareLinux needs the image cache directory")
	}
	// The user's kernel is checked before anything is built: a wrong path fails at once.
	var user BzImage
	if o.Kernel != "" {
		k, hdr, err := userKernel(o.Kernel)
		if err != nil {
			return l, err
		}
		o.Kernel, user = k.Path, hdr
		l.Kernel, l.UserKernel, l.KernelRelease, l.KernelVersion = k, true, hdr.Release(), hdr.Version
		l.UserKernelPath = k.Path
		l.KernelFrom = fmt.Sprintf("LINUX_KERNEL=%s (the user's kernel, as the paper booted the host's)", k.Path)
	}
	if o.Docker == nil || o.Toolchain.Ref == "" {
		return l, errors.New("fig22: PrepareLinux needs a Docker client and the toolchain image")
	}
	rnd4k, err := fs.ReadFile(fig22.PaperFiles(), "src/rnd4k")
	if err != nil {
		return l, fmt.Errorf("fig22: the paper's rnd4k: %w", err)
	}
	if sum := sha256.Sum256(rnd4k); hex.EncodeToString(sum[:]) != fig22.RND4KHash {
		return l, fmt.Errorf("fig22: the bundle's paper/src/rnd4k has sha256 %x, expected %s (a damaged checkout?)", sum, fig22.RND4KHash)
	}

	bin, err := buildInit(ctx, o, log)
	if err != nil {
		return l, err
	}
	l.Init, l.Compiler, l.InitFlags, l.InitLog, l.Built = bin.Init, bin.Compiler, bin.Flags, bin.Log, bin.built
	state := "up to date"
	if l.Built {
		state = "built"
	}
	fmt.Fprintf(progressOut(o), "fig22: Linux /init %s  %s (sha256 %s, %s)\n", state, l.Init.Path, sum12(l.Init.SHA256), l.Compiler)

	if o.Kernel == "" {
		pin := o.pin
		if pin.Name == "" {
			pin = DebianKernel
		}
		rec, downloaded, err := debianKernel(ctx, o, pin, log)
		if err != nil {
			return l, err
		}
		l.Kernel, l.KernelRelease, l.KernelVersion, l.Downloaded = rec.Kernel, pin.Release, rec.Version, downloaded
		l.KernelPackage = pin.Name + " " + pin.Version
		l.KernelDebSHA256 = pin.SHA256
		l.KernelFrom = fmt.Sprintf("Debian's %s %s (the image package of linux-image-amd64; .deb sha256 %s)", pin.Name, pin.Version, pin.SHA256)
		state = "cached"
		if downloaded {
			state = "downloaded"
		}
		fmt.Fprintf(progressOut(o), "fig22: Linux kernel %s %s  %s (sha256 %s)\n", l.KernelRelease, state, l.Kernel.Path, sum12(l.Kernel.SHA256))
	} else {
		// The run boots a copy in the cache, so that the kernel booted is the one recorded
		// here even when the user's file changes later (a kernel update of the host).
		dst := filepath.Join(o.Dir, "linux", "user-kernel-"+sum12(l.Kernel.SHA256), filepath.Base(o.Kernel))
		if err := files.Copy(o.Kernel, dst, 0o644); err != nil {
			return l, fmt.Errorf("fig22: copy LINUX_KERNEL=%s into the cache: %w", o.Kernel, err)
		}
		want := l.Kernel.SHA256
		if l.Kernel, err = FileOf(dst); err != nil {
			return l, err
		}
		if l.Kernel.SHA256 != want {
			return l, fmt.Errorf("fig22: LINUX_KERNEL=%s changed while it was copied into the cache; prepare again", o.Kernel)
		}
		log.WithFields(logrus.Fields{"kernel": o.Kernel, "copy": dst, "release": user.Release()}).Info("LINUX_KERNEL: booting the user's kernel")
		fmt.Fprintf(progressOut(o), "fig22: Linux kernel %s  %s (LINUX_KERNEL=%s, sha256 %s)\n", releaseOrUnknown(l.KernelRelease), l.Kernel.Path, o.Kernel, sum12(l.Kernel.SHA256))
	}

	l.Initrd, err = linuxInitrd(o.Dir, bin.Init, rnd4k)
	if err != nil {
		return l, err
	}
	fmt.Fprintf(progressOut(o), "fig22: Linux initrd %s (sha256 %s)\n", l.Initrd.Path, sum12(l.Initrd.SHA256))
	log.WithFields(logrus.Fields{"kernel": l.Kernel.Path, "release": l.KernelRelease, "init": l.Init.SHA256, "initrd": l.Initrd.Path}).Info("Linux side prepared")
	return l, nil
}

// userKernel checks LINUX_KERNEL: an existing, readable bzImage.
func userKernel(path string) (File, BzImage, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return File{}, BzImage{}, err
	}
	what := func(msg string, args ...any) error {
		return fmt.Errorf("LINUX_KERNEL=%s: %s; set it to the kernel image QEMU should boot (a bzImage such as /boot/vmlinuz-<release>), or unset it to boot Debian's pinned kernel",
			path, fmt.Sprintf(msg, args...))
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return File{}, BzImage{}, what("no such file")
	case err != nil:
		return File{}, BzImage{}, what("%v", err)
	case !st.Mode().IsRegular():
		return File{}, BzImage{}, what("not a regular file")
	}
	hdr, err := ReadBzImage(abs)
	switch {
	case errors.Is(err, fs.ErrPermission):
		return File{}, BzImage{}, what("not readable (distributions often make /boot/vmlinuz-* readable by root only: copy it, e.g. `sudo install -m 644 /boot/vmlinuz-$(uname -r) ~/vmlinuz`, and point LINUX_KERNEL at the copy)")
	case err != nil:
		return File{}, BzImage{}, what("%s", strings.TrimPrefix(strings.TrimPrefix(err.Error(), abs+" is "), abs+": "))
	}
	f, err := FileOf(abs)
	if err != nil {
		return File{}, BzImage{}, what("%v", err)
	}
	return f, hdr, nil
}

// initRecord is what the /init cache keeps beside the binary (init.json).
type initRecord struct {
	Init     File     `json:"init"`
	Compiler string   `json:"compiler"`
	Flags    []string `json:"flags"`
	Log      string   `json:"log"`
	Source   string   `json:"source_sha256"`
	Image    string   `json:"toolchain"`
	built    bool
}

// buildInit builds the benchmark as a static-PIE Linux executable with the paper's flags in
// the toolchain container, cached under a hash of the source, the toolchain image, the
// compiler selection and the flags.
func buildInit(ctx context.Context, o LinuxOptions, log logrus.FieldLogger) (initRecord, error) {
	src := fig22.BenchApp()[fig22.BenchSource]
	srcSum := sha256.Sum256(src)
	h := sha256.New()
	fmt.Fprintf(h, "%s\ntoolchain %s\nenv %q\nflags %q\nsource %x\n", initVersion, o.Toolchain.ID, o.Env, InitFlags, srcSum)
	hash := hex.EncodeToString(h.Sum(nil))[:12]
	dir := filepath.Join(o.Dir, "linux", "init-"+hash)
	var rec initRecord
	if err := readRecord(filepath.Join(dir, "init.json"), &rec); err == nil {
		if sum, err := files.SHA256(rec.Init.Path); err == nil && sum == rec.Init.SHA256 {
			return rec, nil
		}
	}
	work := filepath.Join(o.Dir, "linux", ".work", "init-"+hash)
	if err := os.RemoveAll(work); err != nil {
		return rec, err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return rec, err
	}
	if err := os.WriteFile(filepath.Join(work, fig22.BenchSource), src, 0o644); err != nil {
		return rec, err
	}
	log.WithField("work", work).Info("building the Linux /init")
	logPath := filepath.Join(work, "build.log")
	cmd := "gcc " + strings.Join(InitFlags, " ") + " " + fig22.BenchSource + " -o fsbench"
	err := o.Docker.Run(ctx, docker.RunSpec{
		Image:   o.Toolchain.Ref,
		Cmd:     []string{"bash", "-c", "set -euo pipefail\ngcc --version | head -n 1 > compiler.txt\necho \"+ $(cat compiler.txt)\"\necho '+ " + cmd + "'\n" + cmd},
		Env:     o.Env,
		WorkDir: "/work",
		Mounts:  []docker.Mount{{Source: work, Target: "/work"}},
		LogPath: logPath,
		Timeout: 10 * time.Minute,
		Name:    "fig22 build /init",
	})
	if err != nil {
		return rec, fmt.Errorf("fig22: build of the Linux /init failed (work directory kept: %s, log %s): %w", work, logPath, err)
	}
	bin := filepath.Join(work, "fsbench")
	if err := CheckStaticPIE(bin); err != nil {
		return rec, fmt.Errorf("fig22: the Linux /init (work directory kept: %s): %w", work, err)
	}
	compiler, err := os.ReadFile(filepath.Join(work, "compiler.txt"))
	if err != nil {
		return rec, err
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	for name, perm := range map[string]fs.FileMode{"fsbench": 0o755, "build.log": 0o644} {
		if err := files.Copy(filepath.Join(work, name), filepath.Join(tmp, name), perm); err != nil {
			return rec, err
		}
	}
	f, err := FileOf(filepath.Join(tmp, "fsbench"))
	if err != nil {
		return rec, err
	}
	f.Path = filepath.Join(dir, "fsbench")
	rec = initRecord{Init: f, Compiler: strings.TrimSpace(string(compiler)), Flags: InitFlags,
		Log: filepath.Join(dir, "build.log"), Source: hex.EncodeToString(srcSum[:]), Image: o.Toolchain.ID}
	if err := results.WriteJSONAtomic(filepath.Join(tmp, "init.json"), rec); err != nil {
		return rec, err
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return rec, err
	}
	os.RemoveAll(work)
	rec.built = true
	log.WithFields(logrus.Fields{"init": rec.Init.Path, "compiler": rec.Compiler}).Info("built the Linux /init")
	return rec, nil
}

// CheckStaticPIE checks that path is what the kernel can run as /init on its own: an x86-64
// position-independent executable (ET_DYN) with a dynamic section but no program
// interpreter, i.e. one that relocates itself.
func CheckStaticPIE(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: not an ELF executable: %w", path, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.Type != elf.ET_DYN {
		return fmt.Errorf("%s: %s %s, expected an x86-64 position-independent executable (ET_DYN)", path, f.Machine, f.Type)
	}
	dynamic := false
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			return fmt.Errorf("%s: has a program interpreter (dynamically linked), expected a static PIE", path)
		case elf.PT_DYNAMIC:
			dynamic = true
		}
	}
	if !dynamic {
		return fmt.Errorf("%s: no PT_DYNAMIC segment: not a static PIE", path)
	}
	return nil
}

// linuxInitrd writes the paper's fsbench.initrd.gz: gzip'd newc holding /init (mode 0755) and
// /<sha256 of rnd4k>. Its name carries a hash of both, so an existing file is the right one
// (WriteInitrd writes atomically and reproducibly).
func linuxInitrd(dir string, init File, rnd4k []byte) (File, error) {
	rsum := sha256.Sum256(rnd4k)
	h := sha256.Sum256([]byte("init " + init.SHA256 + "\n" + fig22.RND4KHash + " " + hex.EncodeToString(rsum[:]) + "\n"))
	if err := os.MkdirAll(filepath.Join(dir, "linux"), 0o755); err != nil {
		return File{}, err
	}
	path := filepath.Join(dir, "linux", "fsbench-"+hex.EncodeToString(h[:])[:12]+".initrd.gz")
	if _, err := os.Stat(path); err != nil {
		bin, err := os.ReadFile(init.Path)
		if err != nil {
			return File{}, fmt.Errorf("fig22: the Linux /init: %w", err)
		}
		if err := WriteInitrd(path, []Entry{{Name: "init", Data: bin, Mode: 0o755}, {Name: fig22.RND4KHash, Data: rnd4k, Mode: 0o644}}, true); err != nil {
			return File{}, fmt.Errorf("fig22: %w", err)
		}
	}
	return FileOf(path)
}

func readRecord(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func progressOut(o LinuxOptions) io.Writer {
	if o.Out != nil {
		return o.Out
	}
	return io.Discard
}

func sum12(sum string) string { return sum[:min(12, len(sum))] }

func releaseOrUnknown(r string) string {
	if r == "" {
		return "(release unknown)"
	}
	return r
}
