// Package vmm starts and stops virtual machine monitors (QEMU, Firecracker, Solo5 hvt) as
// processes the harness owns.
//
// The original artifact ended every run with a fixed sleep and a kill of every QEMU on the host.
// Here each VMM runs in its own process group, every wait has a timeout, and on timeout, error
// or cancellation only the process group this package started is killed, by pid, while its
// leader is still unreaped (so the pid cannot have been reused). Nothing is killed by name.
package vmm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// VM is one run of a virtual machine monitor: a process started once and waited for once.
type VM interface {
	// Start launches the VMM. Cancelling ctx kills it (and its process group).
	Start(ctx context.Context) error
	// Wait waits up to timeout for the VMM to exit; on timeout it kills it and returns an
	// error wrapping ErrTimeout. It may be called again and returns the same result.
	Wait(timeout time.Duration) (Exit, error)
	// Stop kills the VMM's process group if it is still running and waits for it to go.
	Stop() error
	// Console is everything the VMM wrote to stdout and stderr so far.
	Console() []byte
	// Pid is the VMM's process id (0 before Start).
	Pid() int
}

// ErrTimeout is wrapped by Wait's error when the VMM did not exit in time.
var ErrTimeout = errors.New("timed out")

// Exit describes how a VMM process ended. Times are CLOCK_MONOTONIC readings (see
// Monotonic), so they line up with ftrace's "mono" clock and with boottime's observers.
type Exit struct {
	Code    int            `json:"code"`             // exit status; -1 when killed by a signal
	Signal  syscall.Signal `json:"signal,omitempty"` // the killing signal, if any
	Stopped bool           `json:"stopped"`          // killed by the harness (Stop, timeout, cancel)
	User    time.Duration  `json:"user_ns"`          // rusage user CPU time of the VMM
	System  time.Duration  `json:"system_ns"`        // rusage system CPU time of the VMM
	Started time.Duration  `json:"started_ns"`       // just before the fork
	Execed  time.Duration  `json:"execed_ns"`        // once exec had succeeded (Start returned)
	Ended   time.Duration  `json:"ended_ns"`         // when the exit was observed
}

// CPU is the VMM's CPU time (user + system) from rusage, the clock the paper's Solo5 and
// Firecracker numbers used.
func (e Exit) CPU() time.Duration { return e.User + e.System }

// Lifetime is the wall time from just before the fork to the observed exit.
func (e Exit) Lifetime() time.Duration { return e.Ended - e.Started }

func (e Exit) String() string {
	s := fmt.Sprintf("exit code %d", e.Code)
	if e.Signal != 0 {
		s = "killed by " + unix.SignalName(e.Signal)
	}
	if e.Stopped {
		s += " (stopped by the harness)"
	}
	return s
}

// Monotonic reads CLOCK_MONOTONIC, the clock of every timestamp in this package and of
// ftrace's "mono" trace clock. (Go's own monotonic readings are relative to process start
// and cannot be compared with the kernel's.)
func Monotonic() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic("clock_gettime(CLOCK_MONOTONIC): " + err.Error()) // cannot fail on Linux
	}
	return time.Duration(ts.Nano())
}

// consoleLimit caps the console kept in memory: a guest stuck printing must not exhaust the
// harness. The head is kept (that is where boot messages are).
const consoleLimit = 16 << 20

// stopGrace bounds the wait for a process to disappear after SIGKILL.
const stopGrace = 10 * time.Second

// Process is a VMM process owned by the harness. Drivers (QEMU, Firecracker, Solo5) fill it
// in; it implements VM. A Process is started at most once.
type Process struct {
	Name  string     // VMM name for messages and logs: "qemu", "firecracker", "solo5-hvt"
	Path  string     // the binary
	Args  []string   // arguments after the binary
	Files []*os.File // become fds 3, 4, … in the child; closed in the harness after Start
	// CPUs, when set, is the CPU affinity the VMM starts with. It is set on the forking
	// thread, so every thread the VMM ever creates inherits it (vCPU threads included).
	CPUs []int
	// ConsoleTo, when set, also receives what the VMM writes to stdout and stderr.
	ConsoleTo io.Writer

	// prepare runs at Start before the fork (taps, private directories); it may set Args
	// and Files. cleanups run once the process is gone, on every path, newest first.
	prepare  func(*Process) error
	cleanups []func() error
	// explain turns a failed exit plus console into a clearer error (driver specific).
	explain func(Exit, []byte) error

	tap string // name of the tap device created for this run, if any

	mu      sync.Mutex
	cmd     *exec.Cmd
	console limitedBuffer
	pid     int
	reaped  bool  // the leader has been reaped: its pid may be reused, never signal it
	stopped bool  // the harness killed it
	stopWhy error // why (timeout, context)
	done    chan struct{}
	exit    Exit
	waitErr error
}

// Pid is the VMM's process id (0 before Start).
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid
}

// Tap is the name of the tap device created for this VM ("" when it has no NIC).
func (p *Process) Tap() string { return p.tap }

// Console is everything the VMM wrote to stdout and stderr so far.
func (p *Process) Console() []byte { return p.console.Bytes() }

// OnExit registers f to run once the process is gone (after Wait observed the exit, or
// when Start fails). Errors are returned by Wait.
func (p *Process) OnExit(f func() error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cleanups = append(p.cleanups, f)
}

// Start launches the VMM in its own process group. Cancelling ctx kills the group.
func (p *Process) Start(ctx context.Context) error {
	p.mu.Lock()
	if p.done != nil {
		p.mu.Unlock()
		return fmt.Errorf("%s: already started", p.Name)
	}
	p.done = make(chan struct{})
	p.mu.Unlock()

	if err := ctx.Err(); err != nil {
		return p.failStart(fmt.Errorf("%s: not started: %w", p.Name, err))
	}
	if p.prepare != nil {
		if err := p.prepare(p); err != nil {
			return p.failStart(err)
		}
	}
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Stdin = nil // /dev/null: QEMU must not put the user's terminal in raw mode
	var out io.Writer = &p.console
	if p.ConsoleTo != nil {
		out = io.MultiWriter(&p.console, p.ConsoleTo)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = p.Files
	cmd.WaitDelay = stopGrace
	// Pdeathsig: if the harness dies, so does the VMM (the forking thread stays alive in
	// Go's thread pool, see startPinned).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started, execed, err := startPinned(cmd, p.CPUs)
	for _, f := range p.Files {
		f.Close() // the child has its copies; ours would keep pipes from reaching EOF
	}
	if err != nil {
		return p.failStart(fmt.Errorf("%s: start %s: %w", p.Name, p.Path, err))
	}
	p.mu.Lock()
	p.cmd, p.pid = cmd, cmd.Process.Pid
	p.exit.Started, p.exit.Execed = started, execed
	p.mu.Unlock()
	go p.reap()
	go func() {
		select {
		case <-ctx.Done():
			p.kill(fmt.Errorf("%w", context.Cause(ctx)))
		case <-p.done:
		}
	}()
	return nil
}

// startPinned starts cmd with the calling OS thread's affinity set to cpus, restoring it
// afterwards, and returns CLOCK_MONOTONIC just before the fork and just after exec.
func startPinned(cmd *exec.Cmd, cpus []int) (before, after time.Duration, err error) {
	if len(cpus) == 0 {
		before = Monotonic()
		err = cmd.Start()
		return before, Monotonic(), err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return 0, 0, fmt.Errorf("read CPU affinity: %w", err)
	}
	for _, c := range cpus {
		set.Set(c)
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return 0, 0, fmt.Errorf("pin to CPUs %v: %w (this host has %d CPUs online)", cpus, err, runtime.NumCPU())
	}
	before = Monotonic()
	err = cmd.Start()
	after = Monotonic()
	if rerr := unix.SchedSetaffinity(0, &old); rerr != nil && err == nil {
		// The thread would stay pinned inside the Go runtime; better to fail loudly.
		panic("restore CPU affinity: " + rerr.Error())
	}
	return before, after, err
}

func (p *Process) failStart(err error) error {
	for _, f := range p.Files {
		f.Close()
	}
	if cerr := p.runCleanups(); cerr != nil {
		err = fmt.Errorf("%w; cleanup: %v", err, cerr)
	}
	p.mu.Lock()
	p.waitErr = err
	p.mu.Unlock()
	close(p.done)
	return err
}

// reap waits for the exit without reaping (WNOWAIT), sweeps the rest of the process group
// while the leader's zombie still holds the pid, then reaps and runs the cleanups.
func (p *Process) reap() {
	var info unix.Siginfo
	var err error
	for {
		err = unix.Waitid(unix.P_PID, p.pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	ended := Monotonic()
	p.mu.Lock()
	// Children the VMM left behind are ours too (same group); the group id is still the
	// zombie leader's, so this cannot reach anyone else's processes.
	_ = unix.Kill(-p.pid, unix.SIGKILL)
	p.reaped = true
	p.mu.Unlock()

	werr := p.cmd.Wait()
	p.mu.Lock()
	e := &p.exit
	e.Ended = ended
	e.Stopped = p.stopped
	if st := p.cmd.ProcessState; st != nil {
		ws := st.Sys().(syscall.WaitStatus)
		e.Code = ws.ExitStatus()
		if ws.Signaled() {
			e.Code, e.Signal = -1, ws.Signal()
		}
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			e.User = time.Duration(ru.Utime.Nano())
			e.System = time.Duration(ru.Stime.Nano())
		}
	}
	var ee *exec.ExitError
	switch {
	case err != nil:
		p.waitErr = fmt.Errorf("%s (pid %d): waitid: %w", p.Name, p.pid, err)
	case werr != nil && !errors.As(werr, &ee):
		p.waitErr = fmt.Errorf("%s (pid %d): %w", p.Name, p.pid, werr)
	}
	p.mu.Unlock()
	if cerr := p.runCleanups(); cerr != nil {
		p.mu.Lock()
		p.waitErr = errors.Join(p.waitErr, fmt.Errorf("%s: cleanup after exit: %w", p.Name, cerr))
		p.mu.Unlock()
	}
	close(p.done)
}

func (p *Process) runCleanups() error {
	p.mu.Lock()
	cs := p.cleanups
	p.cleanups = nil
	p.mu.Unlock()
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		if err := cs[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// kill sends SIGKILL to the process group while the leader is unreaped. why is the error
// Wait will report (nil for a deliberate stop).
func (p *Process) kill(why error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pid == 0 || p.reaped {
		return
	}
	if !p.stopped {
		p.stopped, p.stopWhy = true, why
	}
	_ = unix.Kill(-p.pid, unix.SIGKILL)
}

// Stop kills the VMM's process group if it is still running and waits for it to be gone.
func (p *Process) Stop() error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return nil
	}
	p.kill(nil) // a deliberate stop is not an error
	select {
	case <-done:
		return nil
	case <-time.After(stopGrace):
		return fmt.Errorf("%s (pid %d): still running %v after SIGKILL", p.Name, p.Pid(), stopGrace)
	}
}

// Wait waits up to timeout for the VMM to exit. On timeout the process group is killed and
// the error wraps ErrTimeout. A VMM killed because ctx was cancelled returns ctx's error.
// A non-zero exit code is not an error here (QEMU's isa-debug-exit makes every exit
// non-zero); drivers with a known failure signature (QEMU) report it.
func (p *Process) Wait(timeout time.Duration) (Exit, error) {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return Exit{}, fmt.Errorf("%s: Wait before Start", p.Name)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		p.kill(fmt.Errorf("%w after %v", ErrTimeout, timeout))
		select {
		case <-done:
		case <-time.After(stopGrace):
			return Exit{}, fmt.Errorf("%s (pid %d): %w after %v and still running %v after SIGKILL", p.Name, p.Pid(), ErrTimeout, timeout, stopGrace)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waitErr != nil {
		return p.exit, p.waitErr
	}
	if p.exit.Stopped && p.stopWhy != nil {
		return p.exit, fmt.Errorf("%s (pid %d) killed: %w", p.Name, p.pid, p.stopWhy)
	}
	if p.explain != nil && !p.exit.Stopped {
		if err := p.explain(p.exit, p.console.Bytes()); err != nil {
			return p.exit, err
		}
	}
	return p.exit, nil
}

// limitedBuffer is a goroutine-safe buffer that keeps the first consoleLimit bytes.
type limitedBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	truncated bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := consoleLimit - b.buf.Len(); room < len(p) {
		b.buf.Write(p[:max(room, 0)])
		if !b.truncated {
			b.truncated = true
			b.buf.WriteString("\n[harness: console truncated]\n")
		}
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *limitedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// lookPath is exec.LookPath made absolute, so raw logs name the binary that ran.
func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", err
	}
	return filepath.Abs(p)
}
