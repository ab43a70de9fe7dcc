// Package testguest builds the boot-time test guest: a kernel of a few instructions that
// QEMU boots on pc (multiboot) and microvm (PVH) and that writes the boot markers the way a
// Unikraft guest instrumented as in the paper does (see guest.S). It lets the measuring
// instrument be tested on any host with KVM or TCG, without building Unikraft.
//
// The guest is assembled from source with the host's binutils (as, ld) on demand; no
// binary is committed.
package testguest

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

//go:embed guest.S
var source []byte

//go:embed guest.ld
var linkerScript []byte

// Variant selects the guest's behaviour.
type Variant string

const (
	// Normal writes port 1112, then 1500, then exits QEMU with ExitNormal.
	Normal Variant = "normal"
	// Hang writes port 1112 and halts forever: it never reaches main (timeout tests).
	Hang Variant = "hang"
	// ExitEarly writes port 1112 and exits QEMU with ExitEarlyCode, without port 1500.
	ExitEarly Variant = "exit-early"
	// HaltAfterMain writes port 1112, then 1500, and halts forever (cli; hlt) without
	// ending the VM. It stands in for the ending of the paper's Firecracker guest (Unikraft
	// a4cf6565 + firecrackersupport.patch), whose main() writes the boot-timer marker and
	// returns into a halted vCPU: neither writes an exit device or an i8042 reset, so the
	// VMM runs until the harness stops it (boottime.Options.StopAfterMain).
	HaltAfterMain Variant = "halt-after-main"
)

// QEMU exit codes through isa-debug-exit ((value << 1) | 1).
const (
	ExitNormal    = 83 // value 41, as a clean Unikraft halt
	ExitEarlyCode = 3  // value 1
)

var defsyms = map[Variant][]string{
	Normal:        nil,
	Hang:          {"--defsym", "HANG=1"},
	ExitEarly:     {"--defsym", "EXIT_EARLY=1"},
	HaltAfterMain: {"--defsym", "HALT_AFTER_MAIN=1"},
}

// Build assembles and links variant v into dir (created if needed) and returns the kernel's
// path. A kernel already built from the same sources is reused.
func Build(ctx context.Context, dir string, v Variant) (string, error) {
	syms, ok := defsyms[v]
	if !ok {
		return "", fmt.Errorf("test guest: unknown variant %q (expected normal, hang, exit-early or halt-after-main)", v)
	}
	for _, tool := range []string{"as", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("test guest: %s not found: install binutils (Debian package binutils)", tool)
		}
	}
	h := sha256.New()
	h.Write(source)
	h.Write(linkerScript)
	h.Write([]byte(v))
	id := hex.EncodeToString(h.Sum(nil))[:12]
	kernel := filepath.Join(dir, fmt.Sprintf("testguest-%s-%s.elf", v, id))
	if _, err := os.Stat(kernel); err == nil {
		return kernel, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("test guest: %w", err)
	}
	work, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("test guest: %w", err)
	}
	defer os.RemoveAll(work)
	src, ld, obj, elf := filepath.Join(work, "guest.S"), filepath.Join(work, "guest.ld"), filepath.Join(work, "guest.o"), filepath.Join(work, "guest.elf")
	if err := errors.Join(os.WriteFile(src, source, 0o644), os.WriteFile(ld, linkerScript, 0o644)); err != nil {
		return "", fmt.Errorf("test guest: %w", err)
	}
	const limit = time.Minute
	if _, err := vmm.Output(ctx, limit, "as", append(append([]string{"--32"}, syms...), "-o", obj, src)...); err != nil {
		return "", fmt.Errorf("test guest: assemble: %w", err)
	}
	if _, err := vmm.Output(ctx, limit, "ld", "-m", "elf_i386", "-T", ld, "-o", elf, obj); err != nil {
		return "", fmt.Errorf("test guest: link: %w", err)
	}
	// Rename into place: a concurrent Build never sees a half-written kernel.
	if err := os.Rename(elf, kernel); err != nil {
		return "", fmt.Errorf("test guest: %w", err)
	}
	return kernel, nil
}
