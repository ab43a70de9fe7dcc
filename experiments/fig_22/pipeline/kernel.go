package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/files"
	"github.com/unikraft-eurosys21/artifact/internal/results"
)

// DebianPackage is a Debian binary package pinned by version and checksum.
type DebianPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"` // of the .deb
	// Release is the kernel release it installs (/boot/vmlinuz-<Release>).
	Release string `json:"release"`
}

// DebianKernel is the kernel the Linux series boot: the image package that Debian 12's
// linux-image-amd64 6.1.176-1 depends on (bookworm main: the kernel of Debian 12.x's latest
// point release on that day).
// The checksum is the SHA256 field of that package in bookworm/main/binary-amd64/Packages
// (read through `apt-cache show linux-image-6.1.0-50-amd64=6.1.176-1` on 2026-12-01);
// apt-get checks the download against the signed index as well. The main suite, rather than
// bookworm-security's newer build, because a version stays there until the next point
// release and in Debian's snapshot archive for good.
var DebianKernel = DebianPackage{
	Name:    "linux-image-6.1.0-50-amd64",
	Version: "6.1.176-1",
	SHA256:  "7b5597492a0a65aee61985a492e6bcc3f2cde830072a0e3b3d8c7e1b90279bd3",
	Release: "6.1.0-50-amd64",
}

// Deb is the package's file name as apt-get download names it (amd64, no epoch).
func (p DebianPackage) Deb() string { return p.Name + "_" + p.Version + "_amd64.deb" }

// kernelRecord is what the kernel cache keeps beside the vmlinuz (kernel.json).
type kernelRecord struct {
	Package DebianPackage `json:"package"`
	Kernel  File          `json:"kernel"`
	Version string        `json:"version"` // the bzImage's version string
	Time    time.Time     `json:"time"`
}

// debianKernel returns Debian's kernel at the pinned version from the cache under dir,
// downloading the package from the Debian archive (the toolchain container's apt sources)
// when it is not there yet. downloaded says whether this call fetched it.
func debianKernel(ctx context.Context, o LinuxOptions, pin DebianPackage, log logrus.FieldLogger) (rec kernelRecord, downloaded bool, err error) {
	dir := filepath.Join(o.Dir, "linux", "kernel-"+pin.Name+"_"+pin.Version)
	if rec, err := readKernelRecord(dir, pin); err == nil {
		return rec, false, nil
	}
	work := filepath.Join(o.Dir, "linux", ".work", "kernel-"+pin.Name+"_"+pin.Version)
	if err := os.RemoveAll(work); err != nil {
		return rec, false, err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return rec, false, err
	}
	// A .deb placed by hand (from Debian's snapshot archive, when the pinned version has left
	// the archive) is used as it is: nothing is downloaded.
	placed := filepath.Join(o.Dir, "linux", pin.Deb())
	deb := filepath.Join(work, pin.Deb())
	if _, err := os.Stat(placed); err == nil {
		log.WithField("deb", placed).Info("using the kernel package placed in the cache")
		if err := files.Copy(placed, deb, 0o644); err != nil {
			return rec, false, err
		}
	} else {
		fmt.Fprintf(progressOut(o), "fig22: downloading %s %s from the Debian archive\n", pin.Name, pin.Version)
		log.WithFields(logrus.Fields{"package": pin.Name, "version": pin.Version}).Info("downloading the kernel package")
		if err := downloadDeb(ctx, o, pin, work, placed); err != nil {
			return rec, false, err
		}
		downloaded = true
	}
	sum, err := files.SHA256(deb)
	if err != nil {
		return rec, downloaded, fmt.Errorf("fig22: %s: %w", pin.Deb(), err)
	}
	switch {
	case sum != pin.SHA256 && !downloaded:
		return rec, false, fmt.Errorf("fig22: %s (placed by hand) has sha256 %s, but the pinned kernel package %s %s has %s: not the package the bundle pins; remove it (to download the package again) or replace it with %s, or set LINUX_KERNEL=<path> to boot a kernel of your choice",
			placed, sum, pin.Name, pin.Version, pin.SHA256, pin.Deb())
	case sum != pin.SHA256:
		return rec, true, fmt.Errorf("fig22: the downloaded %s has sha256 %s, but the pinned kernel package has %s: the archive serves another build under the pinned version (kept for a look: %s); set LINUX_KERNEL=<path> to boot a kernel of your choice, or place the pinned .deb at %s",
			pin.Deb(), sum, pin.SHA256, deb, placed)
	}
	// Only /boot of the package: its modules are not needed (the initrd has no modules and
	// the guest's devices are built in: serial console, initramfs).
	err = o.Docker.Run(ctx, docker.RunSpec{
		Image: o.Toolchain.Ref,
		Cmd: []string{"bash", "-c", "set -euo pipefail\nmkdir -p root\n" +
			"dpkg-deb --fsys-tarfile " + pin.Deb() + " | tar -x -C root --wildcards './boot/vmlinuz-*'\nls -l root/boot"},
		WorkDir: "/work",
		Mounts:  []docker.Mount{{Source: work, Target: "/work"}},
		LogPath: filepath.Join(work, "extract.log"),
		Timeout: 10 * time.Minute,
		Name:    "fig22 extract " + pin.Name,
	})
	if err != nil {
		return rec, downloaded, fmt.Errorf("fig22: extract the kernel from %s: %w", pin.Deb(), err)
	}
	src := filepath.Join(work, "root", "boot", "vmlinuz-"+pin.Release)
	hdr, err := ReadBzImage(src)
	if err != nil {
		return rec, downloaded, fmt.Errorf("fig22: the kernel package %s: %w", pin.Deb(), err)
	}
	if hdr.Release() != pin.Release {
		return rec, downloaded, fmt.Errorf("fig22: %s's vmlinuz says release %q (%q), expected %q", pin.Deb(), hdr.Release(), hdr.Version, pin.Release)
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := files.Copy(src, filepath.Join(tmp, "vmlinuz-"+pin.Release), 0o644); err != nil {
		return rec, downloaded, err
	}
	// Described from the copy, named where it will be once the directory is in place.
	k, err := FileOf(filepath.Join(tmp, "vmlinuz-"+pin.Release))
	if err != nil {
		return rec, downloaded, err
	}
	k.Path = filepath.Join(dir, "vmlinuz-"+pin.Release)
	rec = kernelRecord{Package: pin, Kernel: k, Version: hdr.Version, Time: time.Now().UTC()}
	if err := results.WriteJSONAtomic(filepath.Join(tmp, "kernel.json"), rec); err != nil {
		return rec, downloaded, err
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return rec, downloaded, err
	}
	os.RemoveAll(work)
	return rec, downloaded, nil
}

// exitMissing is the download script's exit status when the archive lacks the pinned version.
const exitMissing = 3

// downloadDeb fetches the pinned package with apt-get in the toolchain container, from the
// apt sources of its image, into work. apt keeps its lists and cache in the container's /tmp
// so that it runs as the invoking user.
func downloadDeb(ctx context.Context, o LinuxOptions, pin DebianPackage, work, placed string) error {
	apt := "-o Dir::State::Lists=/tmp/apt/lists -o Dir::Cache=/tmp/apt/cache -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
	script := fmt.Sprintf(`set -euo pipefail
mkdir -p /tmp/apt/lists/partial /tmp/apt/cache/archives/partial
echo "+ apt-get update"
apt-get %[1]s update
echo "+ apt-cache policy %[2]s"
apt-cache %[1]s policy %[2]s
# apt-cache show exits 0 also for a version it does not know; madison lists the known ones.
if ! apt-cache %[1]s madison %[2]s | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -qxF '%[3]s'; then
  echo "the archive has no %[2]s %[3]s"
  exit %[4]d
fi
echo "+ apt-get download %[2]s=%[3]s"
apt-get %[1]s download %[2]s=%[3]s
`, apt, pin.Name, pin.Version, exitMissing)
	logPath := filepath.Join(work, "download.log")
	err := o.Docker.Run(ctx, docker.RunSpec{
		Image:   o.Toolchain.Ref,
		Cmd:     []string{"bash", "-c", script},
		WorkDir: "/work",
		Mounts:  []docker.Mount{{Source: work, Target: "/work"}},
		Network: true,
		LogPath: logPath,
		Timeout: 30 * time.Minute,
		Name:    "fig22 download " + pin.Name,
	})
	var ee *docker.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.Status == exitMissing:
		return fmt.Errorf("fig22: the Debian archive no longer has the pinned kernel package %s %s (Debian removes superseded versions at point releases; log: %s). "+
			"Either set LINUX_KERNEL=<path to a bzImage> to boot a kernel of your choice (recorded as such), "+
			"or fetch %s (sha256 %s) from Debian's snapshot archive and place it at %s, then prepare again",
			pin.Name, pin.Version, logPath, pin.Deb(), pin.SHA256, placed)
	case errors.As(err, &ee):
		return fmt.Errorf("fig22: download of the kernel package %s %s from the Debian archive failed (is the archive reachable from a container? log: %s): %w. "+
			"Without access to the archive, place %s (sha256 %s) at %s, or set LINUX_KERNEL=<path to a bzImage>",
			pin.Name, pin.Version, logPath, err, pin.Deb(), pin.SHA256, placed)
	default:
		return fmt.Errorf("fig22: download of the kernel package %s %s: %w", pin.Name, pin.Version, err)
	}
}

// readKernelRecord reads the cache's record in dir and checks it against the pin and the
// vmlinuz against its recorded checksum.
func readKernelRecord(dir string, pin DebianPackage) (kernelRecord, error) {
	var rec kernelRecord
	if err := readRecord(filepath.Join(dir, "kernel.json"), &rec); err != nil {
		return rec, err
	}
	if rec.Package != pin {
		return rec, fmt.Errorf("%s: recorded for %+v", dir, rec.Package)
	}
	sum, err := files.SHA256(rec.Kernel.Path)
	if err != nil {
		return rec, err
	}
	if sum != rec.Kernel.SHA256 {
		return rec, fmt.Errorf("%s: sha256 %s, recorded %s", rec.Kernel.Path, sum, rec.Kernel.SHA256)
	}
	return rec, nil
}

// BzImage is what the x86 boot protocol's setup header says about a kernel image.
type BzImage struct {
	Protocol uint16 // boot protocol version, e.g. 0x020f
	// Version is the kernel's version string ("6.1.0-50-amd64 (debian-kernel@…) #1 SMP …"),
	// "" when the header has none.
	Version string
}

// Release is the first word of Version: the kernel release (`uname -r`).
func (b BzImage) Release() string {
	f := strings.Fields(b.Version)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// ReadBzImage reads the setup header of the kernel image at path (Documentation/arch/x86/
// boot.rst): the "HdrS" magic at 0x202, the protocol version at 0x206 and, from protocol
// 2.00 on, the offset of the version string (minus 0x200) at 0x20e. A file without the
// magic is not something QEMU's -kernel boots as Linux (a vmlinux ELF, an initrd, …).
func ReadBzImage(path string) (BzImage, error) {
	f, err := os.Open(path)
	if err != nil {
		return BzImage{}, err
	}
	defer f.Close()
	hdr := make([]byte, 0x400)
	n, err := io.ReadFull(f, hdr)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return BzImage{}, fmt.Errorf("%s: %w", path, err)
	}
	hdr = hdr[:n]
	if len(hdr) < 0x210 || string(hdr[0x202:0x206]) != "HdrS" {
		return BzImage{}, fmt.Errorf("%s is not a Linux kernel image (bzImage): no \"HdrS\" setup header at offset 0x202", path)
	}
	b := BzImage{Protocol: binary.LittleEndian.Uint16(hdr[0x206:])}
	if ptr := binary.LittleEndian.Uint16(hdr[0x20e:]); b.Protocol >= 0x200 && ptr != 0 {
		s := make([]byte, 256)
		if n, _ := f.ReadAt(s, int64(ptr)+0x200); n > 0 {
			s = s[:n]
			if i := bytes.IndexByte(s, 0); i >= 0 {
				s = s[:i]
			}
			b.Version = strings.TrimSpace(string(s))
		}
	}
	return b, nil
}
