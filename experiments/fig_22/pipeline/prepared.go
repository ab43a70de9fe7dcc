// Package pipeline measures Figure 22. Prepare builds what the boots need from pinned inputs:
// the Unikraft image of the bundle's benchmark (bench/ of package fig22) with SHFS and the
// VFS on an initramfs, its initrd and SHFS volume (SHFS tools built from lib-shfs in the
// toolchain container), and the Linux side — the benchmark as a static-PIE /init in a
// gzip'd initrd, and Debian's kernel at a pinned version (or the user's, LINUX_KERNEL).
// Run boots each of the three VMs REPS times and writes a run directory that package fig22
// parses, plots and verifies.
package pipeline

import (
	"io"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/files"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

// ToolchainRecipe is the containers/ recipe everything is built in.
const ToolchainRecipe = "unikraft"

// Prepared is what the prepare step leaves for the run step (prepared[-<fixture>].json in
// Figure 22's folder of the image cache).
type Prepared struct {
	Fixture   string             `json:"fixture,omitempty"`
	Mirror    string             `json:"mirror,omitempty"`
	Time      time.Time          `json:"time"`
	Toolchain Toolchain          `json:"toolchain"`
	Sources   []sources.Resolved `json:"sources"`
	// Unikraft is the benchmark's Unikraft image (CONFIG_UK_NAME fsbench-tlsf).
	Unikraft *unikraft.Image `json:"unikraft"`
	// UKInitrd is the Unikraft image's initrd: newc holding /<sha256 of rnd4k>.
	UKInitrd File `json:"uk_initrd"`
	// SHFS is the volume the Unikraft image mounts from its virtio-blk disk.
	SHFS Volume `json:"shfs"`
	// Linux is the Linux side: kernel, /init and initrd.
	Linux Linux `json:"linux"`
}

// Toolchain describes the build container.
type Toolchain = docker.Toolchain

// File is a file prepare made or placed, with its checksum.
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// FileOf describes the file at path.
func FileOf(path string) (File, error) {
	sum, err := files.SHA256(path)
	if err != nil {
		return File{}, err
	}
	st, err := osStat(path)
	if err != nil {
		return File{}, err
	}
	return File{Path: path, SHA256: sum, Bytes: st.Size()}, nil
}

// Volume is the SHFS volume and what made it.
type Volume struct {
	File
	// Tools are the SHFS tools built from lib-shfs (name → sha256 of the binary).
	Tools map[string]string `json:"tools"`
	// ToolsLog is the tools' build output (make -C tools all), Log the output of making
	// the volume (shfs_mkfs, shfs_admin).
	ToolsLog string `json:"tools_log"`
	Log      string `json:"log"`
	// Listing is `shfs_admin -l` of the finished volume: rnd4k under its hash.
	Listing string `json:"listing"`
	// Built is true when this prepare built the tools or made the volume (not from the cache).
	Built bool `json:"-"`
}

// Linux is the Linux side of the figure.
type Linux struct {
	Kernel File `json:"kernel"`
	// KernelFrom says where the kernel comes from, in words for the manifest: Debian's
	// package at the pinned version (with the .deb's sha256), or the user's LINUX_KERNEL.
	KernelFrom string `json:"kernel_from"`
	// KernelRelease is the kernel's release (e.g. 6.1.0-50-amd64), when known.
	KernelRelease string `json:"kernel_release,omitempty"`
	// KernelVersion is the version string of the kernel's setup header ("6.1.0-50-amd64
	// (debian-kernel@…) #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (…)"), when it has one.
	KernelVersion string `json:"kernel_version,omitempty"`
	// KernelPackage and KernelDebSHA256 name Debian's package ("<name> <version>") and the
	// .deb's checksum; empty for the user's kernel.
	KernelPackage   string `json:"kernel_package,omitempty"`
	KernelDebSHA256 string `json:"kernel_deb_sha256,omitempty"`
	// UserKernel is true when LINUX_KERNEL chose the kernel (the paper's host-kernel choice).
	UserKernel bool `json:"user_kernel,omitempty"`
	// UserKernelPath is LINUX_KERNEL's absolute path at prepare (Kernel is the cache's copy):
	// the run refuses to start with another LINUX_KERNEL than the one prepared.
	UserKernelPath string `json:"user_kernel_path,omitempty"`
	// Init is the benchmark built as a static-PIE Linux executable, the initrd's /init.
	Init File `json:"init"`
	// Compiler is the first line of `gcc --version` that built Init.
	Compiler string `json:"compiler,omitempty"`
	// InitFlags are the gcc flags Init was built with; InitLog is the build's output.
	InitFlags []string `json:"init_flags,omitempty"`
	InitLog   string   `json:"init_log,omitempty"`
	// Initrd is the gzip'd newc holding /init and /<sha256 of rnd4k>.
	Initrd File `json:"initrd"`
	// Built and Downloaded say what this PrepareLinux call did (not recorded): built Init,
	// downloaded the kernel package. Both false when everything came from the cache.
	Built      bool `json:"-"`
	Downloaded bool `json:"-"`
}

// Dir is Figure 22's folder in the image cache.
func Dir(images string) string { return filepath.Join(images, "fig_22") }

// ReadPrepared reads what prepare left for the given fixture ("" for real sources).
func ReadPrepared(images, fixture string) (*Prepared, error) {
	var pr Prepared
	if err := figure.ReadPrepared(Dir(images), fixture, "fig22", "images", &pr); err != nil {
		return nil, err
	}
	return &pr, nil
}

// LinuxOptions configure PrepareLinux (linux.go), which Prepare calls once the toolchain
// image is built.
type LinuxOptions struct {
	Docker    *docker.Client // connected
	Toolchain docker.Image   // the built toolchain image (ToolchainRecipe)
	Env       []string       // container environment: the compiler selection (docker.GCCEnv)
	Dir       string         // Figure 22's folder in the image cache (Dir(images))
	// Kernel is LINUX_KERNEL: a kernel image the user chose (the paper booted the host's);
	// "" for Debian's linux-image-amd64 at the pinned version.
	Kernel string
	Log    logrus.FieldLogger
	Out    io.Writer // progress and what was done

	pin DebianPackage // tests: another pinned package than DebianKernel
}
