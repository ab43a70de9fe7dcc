// Package gdbtrace captures the boot trace of a Unikraft guest built with tracepoints, as the
// paper's fig14 benchmark.sh did by hand, in one call: QEMU starts paused with its gdb stub on
// a private unix socket, gdb breaks at main (Options.Break), continues, sources the image's
// uk-gdb.py and prints the trace buffer with `uk trace`, and our QEMU is stopped by its pid.
// The paper's script broke at ukplat_terminate, which its NGINX boots reached by crashing
// after main(); a working NGINX never gets there (it serves, idle), while the boot trace is
// complete before main(): trace_boot_end is recorded just before Unikraft calls main().
// The trace's function addresses are then resolved from the image's own ELF symbols (Resolve),
// so that the log is in the paper's raw format (Batch) and fig14's parser reads it unchanged.
//
// gdb runs on the host (Debian package gdb), not in the toolchain container: it is then a
// process of ours like QEMU (own process group, killed by pid, bounded waits), it reaches
// QEMU's socket without a bind mount, and a capture costs no container start. Its version is
// recorded in every Result. uk-gdb.py runs objcopy and readelf on the .dbg image, so the
// host's binutils must be installed too.
package gdbtrace

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
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// Options configure one capture (one boot).
type Options struct {
	// QEMU is the VM: Kernel (the image QEMU boots, possibly stripped), Accel, MemoryMiB,
	// CPUs, … Capture adds the gdb stub, -S, -no-shutdown and -no-reboot.
	QEMU vmm.QEMU
	// Debug is the unstripped image (.dbg) gdb reads: the breakpoint's address, the trace
	// buffer's symbols, and the symbols Resolve names the trace's functions with.
	Debug string
	// Script is uk-gdb.py of the image's Unikraft tree (support/scripts/uk-gdb.py). gdb does
	// not auto-load it (Unikraft names it <image>.dbg.gdb.py), so the capture sources it.
	Script string
	// GDB is the gdb binary; empty means gdb on PATH.
	GDB string
	// Break is the function gdb stops the guest at to read its trace; empty means
	// DefaultBreak. It must come after trace_boot_end.
	Break string
	// Timeout bounds the whole capture: QEMU's start, the boot up to Break and `uk trace`.
	// A guest that does not get there in time is a failed capture.
	Timeout time.Duration
	// TempDir is where the private directory holding gdb's socket is made; empty means
	// os.TempDir(). The directory is gone when Capture returns.
	TempDir string
	// Log, when set, receives gdb's output as it comes.
	Log io.Writer
}

// Result is what one capture produced. Capture returns it also when the capture failed, so
// that the raw output is never lost.
type Result struct {
	GDBVersion string   // first line of `gdb --version`
	GDBOutput  []byte   // everything gdb printed, as it printed it
	Console    []byte   // QEMU's console (serial and QEMU's own messages)
	Trace      []byte   // GDBOutput with the trace's function addresses resolved (nil if not)
	QEMU       vmm.Exit // how our QEMU ended (Stopped: by us, as it always is on success)
	QEMUPid    int      // process (and process group) ids, for logs and leak checks
	GDBPid     int
}

// Why a capture failed, for errors.Is; the error's text says what was seen.
var (
	// ErrNoBreak: the guest did not reach the breakpoint (Options.Break) in time, or at all.
	ErrNoBreak = errors.New("the guest did not reach the breakpoint")
	// ErrNoBootEnd: `uk trace` ran but its trace has no trace_boot_end line.
	ErrNoBootEnd = errors.New("the trace has no trace_boot_end")
)

// DefaultBreak is where a capture stops the guest: Unikraft's boot records trace_boot_end
// right before it calls main().
const DefaultBreak = "main"

// stopWait bounds the waits once the capture is over (gdb and QEMU are being killed).
const stopWait = 15 * time.Second

var (
	bootEndRE = regexp.MustCompile(`(?m)^[0-9]+ trace_boot_end:`)
	traceRE   = regexp.MustCompile(`(?m)^[0-9]+ [A-Za-z_][A-Za-z0-9_]*:`)
)

// Capture boots the guest once and returns gdb's output and its trace, resolved. It fails
// (with the Result so far) when the guest does not reach Options.Break within Timeout,
// when the trace lacks trace_boot_end, when an address cannot be resolved, or when ctx is
// cancelled. gdb's exit status says nothing (gdb -batch exits 0 after a failed command), so
// the capture is judged by gdb's output. QEMU and gdb are stopped by their pids on every path.
func Capture(ctx context.Context, o Options) (res *Result, err error) {
	if o.Timeout <= 0 {
		return nil, fmt.Errorf("gdb trace: no timeout given")
	}
	for what, path := range map[string]string{"debug image (.dbg)": o.Debug, "uk-gdb.py": o.Script} {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("gdb trace: %s: %w", what, err)
		}
	}
	brk := o.Break
	if brk == "" {
		brk = DefaultBreak
	}
	if !symbolRE.MatchString(brk) {
		return nil, fmt.Errorf("gdb trace: breakpoint %q is not a function name", brk)
	}
	gdbBin, err := Binary(o.GDB)
	if err != nil {
		return nil, err
	}
	res = &Result{}
	if res.GDBVersion, err = Version(ctx, gdbBin); err != nil {
		return res, err
	}
	deadline := time.Now().Add(o.Timeout)

	// A private directory: the socket's name cannot collide with another run's, and nobody
	// else can connect to our guest's stub (unlike the paper's fixed TCP port 1234).
	dir, err := os.MkdirTemp(o.TempDir, "gdbtrace-")
	if err != nil {
		return res, fmt.Errorf("gdb trace: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = fmt.Errorf("gdb trace: %w", rerr)
		}
	}()
	sock := filepath.Join(dir, "gdb.sock")
	if len(sock) >= 108 || strings.Contains(sock, ",") {
		return res, fmt.Errorf("gdb trace: socket path %q is unusable (a unix socket path must be under 108 bytes and QEMU's option syntax forbids commas); set a shorter temporary directory", sock)
	}

	q := o.QEMU
	q.Devices = append(append([]string(nil), q.Devices...),
		"-S", "-no-shutdown", "-gdb", "unix:"+sock+",server=on,wait=off")
	if q.Machine != "" && q.Machine != "pc" {
		q.Devices = append(q.Devices, "-no-reboot") // Args adds it for pc only
	}
	vm, err := q.New()
	if err != nil {
		return res, fmt.Errorf("gdb trace: %w", err)
	}
	if err := vm.Start(ctx); err != nil {
		return res, fmt.Errorf("gdb trace: %w", err)
	}
	res.QEMUPid = vm.Pid()
	// The VM's only waiter: bounded by the capture's deadline (it kills QEMU then). The
	// deferred Stop ends it on every other path; both are by pid.
	qemuDone := make(chan error, 1)
	go func() {
		// A margin past the deadline, so that gdb's own timeout reports a hang as such
		// rather than as a lost connection.
		e, err := vm.Wait(time.Until(deadline) + 5*time.Second)
		res.QEMU = e
		qemuDone <- err
	}()
	var qemuErr error
	qemuEnded := false
	defer func() {
		serr := vm.Stop()
		if !qemuEnded {
			select {
			case qemuErr = <-qemuDone:
			case <-time.After(stopWait):
				serr = errors.Join(serr, fmt.Errorf("qemu (pid %d) did not end %v after being stopped", res.QEMUPid, stopWait))
			}
		}
		res.Console = vm.Console()
		if err != nil && qemuErr != nil && !errors.Is(qemuErr, vmm.ErrTimeout) && ctx.Err() == nil {
			err = fmt.Errorf("%w (qemu: %v)", err, qemuErr)
		}
		if serr != nil {
			err = errors.Join(err, fmt.Errorf("gdb trace: %w", serr))
		}
	}()

	if err := waitSocket(ctx, sock, deadline, qemuDone); err != nil {
		if errors.Is(err, errQEMUEnded) {
			qemuEnded = true
		}
		// QEMU's console says why it did not come up (a bad option, no KVM).
		return res, fmt.Errorf("gdb trace: %w (QEMU said: %s)", err, tail(vm.Console()))
	}

	gdb := &vmm.Process{Name: "gdb", Path: gdbBin, ConsoleTo: o.Log, Args: []string{
		"-batch", "-nx",
		"-ex", "target remote " + sock,
		"-ex", "hbreak " + brk,
		"-ex", "continue",
		"-ex", "source " + o.Script,
		"-ex", "uk trace",
		o.Debug,
	}}
	if err := gdb.Start(ctx); err != nil {
		return res, fmt.Errorf("gdb trace: %w", err)
	}
	res.GDBPid = gdb.Pid()
	gexit, gerr := gdb.Wait(time.Until(deadline))
	if serr := gdb.Stop(); serr != nil {
		gerr = errors.Join(gerr, serr)
	}
	res.GDBOutput = gdb.Console()
	out := res.GDBOutput

	if cerr := context.Cause(ctx); ctx.Err() != nil {
		return res, fmt.Errorf("gdb trace: capture interrupted: %w", cerr)
	}
	hit := hitRE(brk).Match(out)
	switch {
	case errors.Is(gerr, vmm.ErrTimeout) && !hit:
		return res, fmt.Errorf("gdb trace: %w %s within %v (gdb never stopped there: the guest hangs before %s, or is too slow — under TCG allow more time); gdb said: %s",
			ErrNoBreak, brk, o.Timeout, brk, tail(out))
	case gerr != nil:
		return res, fmt.Errorf("gdb trace: gdb: %w; gdb said: %s", gerr, tail(out))
	case gexit.Code != 0:
		return res, fmt.Errorf("gdb trace: gdb failed (%s): %s", gexit, tail(out))
	case !hit:
		return res, fmt.Errorf("gdb trace: %w %s: gdb ended without stopping there; gdb said: %s", ErrNoBreak, brk, tail(out))
	}
	if !traceRE.Match(out) {
		return res, fmt.Errorf("gdb trace: %w: `uk trace` printed no trace line (is the image built with LIBUKDEBUG_TRACEPOINTS, and is %s its tree's script?); gdb said: %s",
			ErrNoBootEnd, o.Script, tail(out))
	}
	if !bootEndRE.Match(out) {
		return res, fmt.Errorf("gdb trace: %w: the guest stopped at %s before trace_boot_end was recorded (a breakpoint before main(), or a trace buffer too small); last trace line: %s",
			ErrNoBootEnd, brk, lastTraceLine(out))
	}
	if res.Trace, err = Resolve(o.Debug, out); err != nil {
		return res, err
	}
	return res, nil
}

// hitRE matches gdb's report of the stop at function fn: "Breakpoint 1, main (argc=…) at …",
// or "Breakpoint 1.2, main (…)" when the breakpoint has several locations (Unikraft's weak
// main and the application's).
func hitRE(fn string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^(?:Temporary )?[Bb]reakpoint [0-9]+(?:\.[0-9]+)?, (?:0x[0-9a-f]+ in )?` + regexp.QuoteMeta(fn) + `\b`)
}

var symbolRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// TraceLines is how many trace lines out (gdb's output, or its resolved Trace) holds.
func TraceLines(out []byte) int {
	return len(traceRE.FindAllIndex(out, -1))
}

var errQEMUEnded = errors.New("QEMU ended before its gdb socket appeared")

// waitSocket waits until QEMU has created its gdb socket: gdb started before it would fail
// to connect. Bounded by the deadline, by ctx and by QEMU's end.
func waitSocket(ctx context.Context, sock string, deadline time.Time, qemuDone <-chan error) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if fi, err := os.Stat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return nil
		}
		select {
		case err := <-qemuDone:
			if err != nil {
				return fmt.Errorf("%w: %v", errQEMUEnded, err)
			}
			return errQEMUEnded
		case <-ctx.Done():
			return fmt.Errorf("capture interrupted: %w", context.Cause(ctx))
		case <-tick.C:
			if time.Now().After(deadline) {
				return fmt.Errorf("QEMU's gdb socket %s did not appear in time", sock)
			}
		}
	}
}

// Binary resolves gdb: explicit, or gdb on PATH.
func Binary(explicit string) (string, error) {
	name := explicit
	if name == "" {
		name = "gdb"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("gdb trace: gdb %q not found: %v; install the Debian package gdb (with binutils: uk-gdb.py runs objcopy and readelf)", name, err)
	}
	return filepath.Abs(p)
}

var versions sync.Map // gdb path → version line

// Version is the first line of `gdb --version` (asked once per binary), for results.
func Version(ctx context.Context, gdb string) (string, error) {
	if v, ok := versions.Load(gdb); ok {
		return v.(string), nil
	}
	v, err := vmm.OutputLine(ctx, 30*time.Second, gdb, "--version")
	if err != nil {
		return "", fmt.Errorf("gdb trace: %w", err)
	}
	versions.Store(gdb, v)
	return v, nil
}

// tail is the last few non-trace lines of gdb's output, on one line: where gdb says what
// went wrong.
func tail(out []byte) string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !traceRE.MatchString(l) {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return "(nothing)"
	}
	return strings.Join(lines[max(0, len(lines)-4):], " | ")
}

func lastTraceLine(out []byte) string {
	all := traceRE.FindAllIndex(out, -1)
	if len(all) == 0 {
		return "(none)"
	}
	line, _, _ := strings.Cut(string(out[all[len(all)-1][0]:]), "\n")
	return line
}

// Batch is one boot's entry of the paper's raw log (raw/<alloc>-<timestamp>.txt): the line
// "running batch <alloc>, <rep>/<reps>" and the boot's resolved gdb output.
func Batch(alloc string, rep, reps int, trace []byte) []byte {
	b := fmt.Appendf(nil, "running batch %s, %d/%d\n", alloc, rep, reps)
	b = append(b, trace...)
	if len(trace) > 0 && trace[len(trace)-1] != '\n' {
		b = append(b, '\n')
	}
	return b
}
