package vmm

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultCPU is the paper's QEMU CPU model under KVM. Invariant TSC matters: without it
// QEMU hides CPUID leaf 0x40000010 and Unikraft of that era calibrates its clock against
// the PIT for ~100 ms. Override with QEMU_CPU (some nested KVMs need
// "host,migratable=no,+invtsc,-arch-capabilities").
const DefaultCPU = "host,migratable=no,+invtsc"

// DefaultTCGCPU is the CPU model under TCG, where "host" does not exist.
const DefaultTCGCPU = "max"

// DefaultMAC is the NIC's MAC address in the paper's "QEMU (1NIC)" configuration.
const DefaultMAC = "aa:bb:cc:00:01:01"

// machineOptions are the paper's -M options (the original artifact's
// experiments/fig_10_unikraft-boot/benchmark.sh). The paper ran pc
// as QEMU's default machine, with -no-reboot, and microvm with -overcommit mem-lock=on.
// microvm's pit=off holds only where the guest finds its TSC frequency in CPUID leaf
// 0x40000010 (see MachineOptions).
var machineOptions = map[string]string{
	"pc":      "pc",
	"microvm": "microvm,x-option-roms=off,pit=off,pic=off,rtc=on",
}

// microvmWithPIT is microvm with the i8254 PIT, for guests without the TSC-frequency leaf.
const microvmWithPIT = "microvm,x-option-roms=off,pit=on,pic=off,rtc=on"

// QEMU configures one QEMU virtual machine. Every field renders to command-line options
// (see Args), so this struct is the complete list of what the harness can change.
type QEMU struct {
	// Binary is qemu-system-x86_64 (the QEMU setting); empty means qemu-system-x86_64 on PATH.
	Binary string
	// BIOSDir is QEMU's firmware directory (-L), for a QEMU built outside the system.
	BIOSDir string
	// Machine is "pc" (default) or "microvm", each with the paper's options.
	Machine string
	// Accel is "kvm" (default) or "tcg".
	Accel string
	// CPU is the -cpu model (the QEMU_CPU setting); empty means DefaultCPU (kvm) / DefaultTCGCPU (tcg).
	CPU string
	// MemoryMiB is -m in MiB (the paper's hello world used 2); 0 keeps QEMU's default.
	MemoryMiB int
	// SMP is the number of vCPUs (-smp); 0 keeps QEMU's default of one and renders nothing,
	// so that the command lines of figures that never set it stay as they were.
	SMP    int
	Kernel string // -kernel
	Initrd string // -initrd
	Append string // -append
	// DebugExit adds isa-debug-exit (iobase 0x501): a guest writing v there ends QEMU with
	// exit code (v<<1)|1. Without it a halted microvm guest keeps QEMU running.
	DebugExit bool
	// NIC adds a virtio-net NIC on a tap device created for the run and gone after it.
	NIC *NIC
	// Devices are further arguments appended verbatim (observers' -device/-chardev pairs).
	Devices []string
	// Files are passed to QEMU as fds 3, 4, … (see PassFile). The VM built by New owns
	// them and closes them once QEMU has started.
	Files []*os.File
	// CPUs pins QEMU (all its threads) to these host CPUs; nil leaves affinity alone.
	CPUs []int
	// NoMemLock drops microvm's -overcommit mem-lock=on, which needs root or a memlock
	// limit above QEMU's whole address space. A deviation from the paper: say so in results.
	NoMemLock bool
	// Name, when set, renders -name <Name>,debug-threads=on: QEMU then names its vCPU
	// threads "CPU <n>/KVM", which is how they are found to be pinned one by one.
	Name string
	// PIT forces microvm's i8254 PIT "on" or "off"; empty (what the harness uses) follows
	// TSCFrequencyLeaf. Forcing "off" without the leaf reproduces the hang of Unikraft
	// 7fd6797 on microvm under TCG (tests); pc always has its PIT.
	PIT string
}

// NIC is a virtio-net device backed by a tap device that the driver creates.
type NIC struct {
	Tap string // interface name; empty means a fresh NewTapName()
	MAC string // empty means DefaultMAC
}

// PassFile adds f to the files passed to QEMU and returns its descriptor number there, for
// options such as path=/dev/fd/N.
func (q *QEMU) PassFile(f *os.File) int {
	q.Files = append(q.Files, f)
	return 2 + len(q.Files)
}

func (q *QEMU) machine() string { return or(q.Machine, "pc") }
func (q *QEMU) accel() string   { return or(q.Accel, "kvm") }

// CPUModel is the -cpu value the VM will use (CPU, from QEMU_CPU, or the default).
func (q *QEMU) CPUModel() string {
	if q.CPU != "" {
		return q.CPU
	}
	if q.accel() == "tcg" {
		return DefaultTCGCPU
	}
	return DefaultCPU
}

// TSCFrequencyLeaf reports whether the guest finds its TSC frequency in the hypervisor's
// CPUID leaf 0x40000010. QEMU provides that leaf only under KVM, and only when the TSC is
// stable and known: a CPU model with an invariant TSC (+invtsc, as DefaultCPU) or an
// explicit tsc-frequency. Without it, Unikraft of the paper's era (7fd6797,
// plat/kvm/x86/tscclock.c) calibrates its TSC against a 100 ms delay polled on the i8254
// PIT, which then is part of the measured guest boot; TCG never has the leaf.
func (q *QEMU) TSCFrequencyLeaf() bool {
	if q.accel() != "kvm" {
		return false
	}
	leaf := false
	for _, f := range strings.Split(q.CPUModel(), ",") {
		switch {
		case f == "+invtsc" || f == "invtsc=on" || f == "invtsc=true" || strings.HasPrefix(f, "tsc-frequency="):
			leaf = true
		case f == "-invtsc" || f == "invtsc=off" || f == "invtsc=false":
			leaf = false
		}
	}
	return leaf
}

// MachineOptions is the -machine value the VM will use. pc is the paper's. microvm is the
// paper's (pit=off) when the guest has the TSC-frequency leaf (KVM with an invariant TSC);
// without it (TCG, or a CPU model without +invtsc) the PIT stays on: the guest polls the
// PIT to calibrate its clock, and with pit=off the reads never change and it never boots.
func (q *QEMU) MachineOptions() (string, error) {
	mopts, ok := machineOptions[q.machine()]
	if !ok {
		return "", fmt.Errorf("qemu: machine %q: expected pc or microvm", q.Machine)
	}
	if q.machine() != "microvm" {
		return mopts, nil
	}
	switch q.PIT {
	case "":
		if !q.TSCFrequencyLeaf() {
			mopts = microvmWithPIT
		}
	case "on":
		mopts = microvmWithPIT
	case "off":
	default:
		return "", fmt.Errorf("qemu: PIT %q: expected on, off or empty (follow the TSC-frequency leaf)", q.PIT)
	}
	return mopts, nil
}

// Args renders the command line (without the binary). It is deterministic: the same
// configuration always gives the same arguments, which go into the raw logs.
func (q *QEMU) Args() ([]string, error) {
	mopts, err := q.MachineOptions()
	if err != nil {
		return nil, err
	}
	if a := q.accel(); a != "kvm" && a != "tcg" {
		return nil, fmt.Errorf("qemu: accelerator %q: expected kvm or tcg", q.Accel)
	}
	if q.Kernel == "" {
		return nil, fmt.Errorf("qemu: no kernel given")
	}
	if q.SMP < 0 {
		return nil, fmt.Errorf("qemu: SMP %d: expected a number of vCPUs, or 0 for QEMU's default", q.SMP)
	}
	args := []string{"-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio"}
	if q.Name != "" {
		args = append(args, "-name", q.Name+",debug-threads=on")
	}
	if q.BIOSDir != "" {
		args = append(args, "-L", q.BIOSDir)
	}
	args = append(args, "-machine", mopts, "-accel", q.accel(), "-cpu", q.CPUModel())
	if q.MemoryMiB > 0 {
		args = append(args, "-m", strconv.Itoa(q.MemoryMiB)+"M")
	}
	if q.SMP > 0 {
		args = append(args, "-smp", strconv.Itoa(q.SMP))
	}
	args = append(args, "-kernel", q.Kernel)
	if q.Initrd != "" {
		args = append(args, "-initrd", q.Initrd)
	}
	if q.Append != "" {
		args = append(args, "-append", q.Append)
	}
	if q.DebugExit {
		args = append(args, "-device", "isa-debug-exit")
	}
	switch q.machine() {
	case "pc":
		args = append(args, "-no-reboot")
	case "microvm":
		if !q.NoMemLock {
			args = append(args, "-overcommit", "mem-lock=on")
		}
	}
	if q.NIC != nil {
		dev := "virtio-net-pci"
		if q.machine() == "microvm" {
			dev = "virtio-net-device" // microvm has virtio-mmio, no PCI bus by default
		}
		// The tap's descriptor is passed after q.Files (see New).
		args = append(args,
			"-netdev", fmt.Sprintf("tap,id=uknetdev,fd=%d", 3+len(q.Files)),
			"-device", fmt.Sprintf("%s,netdev=uknetdev,mac=%s", dev, or(q.NIC.MAC, DefaultMAC)))
	}
	return append(args, q.Devices...), nil
}

// QEMUBinary resolves the QEMU binary: explicit (the QEMU setting), or qemu-system-x86_64 on PATH.
func QEMUBinary(explicit string) (string, error) {
	return lookBinary("qemu", explicit, "QEMU", "qemu-system-x86_64",
		"install the Debian package qemu-system-x86 (or your distribution's QEMU for x86_64), or set QEMU=/path/to/qemu-system-x86_64")
}

// New checks the configuration and returns a VM ready to start. The tap device, if any, is
// created at Start and is gone once Wait or Stop returned.
func (q QEMU) New() (*Process, error) {
	bin, err := QEMUBinary(q.Binary)
	if err != nil {
		return nil, err
	}
	args, err := q.Args()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(q.Kernel); err != nil {
		return nil, fmt.Errorf("qemu: kernel: %w", err)
	}
	p := &Process{Name: "qemu", Path: bin, Args: args, Files: append([]*os.File(nil), q.Files...), CPUs: q.CPUs}
	p.explain = explainQEMU(filepath.Base(bin))
	if q.NIC != nil {
		p.tap = or(q.NIC.Tap, NewTapName())
		p.prepare = func(p *Process) error {
			t, err := CreateTap(p.tap)
			if err != nil {
				return fmt.Errorf("qemu: %w", err)
			}
			p.Files = append(p.Files, t.File)
			p.OnExit(t.Close)
			return nil
		}
	}
	return p, nil
}

// explainQEMU turns QEMU's own error lines into an error with a hint. isa-debug-exit makes
// every guest-requested exit non-zero, so only exits that printed "qemu-system-…: " lines
// count as QEMU failures.
func explainQEMU(prog string) func(Exit, []byte) error {
	return func(e Exit, console []byte) error {
		if e.Code == 0 {
			return nil
		}
		var msgs []string
		sc := bufio.NewScanner(bytes.NewReader(console))
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, prog+": ") {
				msgs = append(msgs, strings.TrimPrefix(line, prog+": "))
			}
		}
		if len(msgs) == 0 {
			return nil
		}
		all := strings.Join(msgs, "; ")
		hint := ""
		switch {
		case strings.Contains(all, "failed to set MSR 0x10a"):
			hint = ": this (nested) KVM cannot expose IA32_ARCH_CAPABILITIES; set QEMU_CPU=host,migratable=no,+invtsc,-arch-capabilities"
		case strings.Contains(all, "KVM") || strings.Contains(all, "kvm"):
			hint = ": KVM is not usable by QEMU; check /dev/kvm, or run with ACCEL=tcg (software emulation — not comparable with the paper)"
		case strings.Contains(all, "mlock") || strings.Contains(all, "locking memory"):
			hint = ": microvm's -overcommit mem-lock=on (the paper's option) needs root or `ulimit -l unlimited`; QEMU.NoMemLock drops it, as a recorded deviation"
		}
		return fmt.Errorf("qemu failed (%s): %s%s", e, all, hint)
	}
}

// QEMUVersion is the first line of `qemu-system-x86_64 --version`, for the manifest.
func QEMUVersion(ctx context.Context, explicit string) (string, error) {
	bin, err := QEMUBinary(explicit)
	if err != nil {
		return "", err
	}
	return OutputLine(ctx, 30*time.Second, bin, "--version")
}

// OutputLine runs a short command as Output does and returns the first line it printed: a
// version query's answer.
func OutputLine(ctx context.Context, timeout time.Duration, bin string, args ...string) (string, error) {
	out, err := Output(ctx, timeout, bin, args...)
	if err != nil {
		return "", err
	}
	return FirstLine(string(out)), nil
}

// FirstLine is the first line of a text, trimmed: the gist of a tool's answer or of a long
// error message.
func FirstLine(text string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	return strings.TrimSpace(line)
}

// Output runs a short helper command (a version query, an assembler) the way VMMs are run:
// own process group, bounded wait, killed by pid on timeout or cancellation. It returns
// stdout and stderr together, and an error naming the command when it fails.
func Output(ctx context.Context, timeout time.Duration, bin string, args ...string) ([]byte, error) {
	path, err := lookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bin, err)
	}
	p := &Process{Name: filepath.Base(bin), Path: path, Args: args}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	e, err := p.Wait(timeout)
	out := p.Console()
	if err == nil && e.Code != 0 {
		err = fmt.Errorf("%s", e)
	}
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// lookBinary finds a VMM's binary: explicit, which the setting named env gave (it only names
// it in the message), else def on PATH.
func lookBinary(vmm, explicit, env, def, hint string) (string, error) {
	name, from := explicit, env+"="
	if name == "" {
		name, from = def, "default"
	}
	path, err := lookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s: binary %q (%s) not found: %v; %s", vmm, name, from, err, hint)
	}
	return path, nil
}

// or is v, or def when v is the zero value.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
