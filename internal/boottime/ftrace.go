package boottime

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultTracefs is where tracefs is mounted on current Linux systems.
const DefaultTracefs = "/sys/kernel/tracing"

// kvmRun is the KVM_RUN ioctl request (_IO(0xAE, 0x80)).
const kvmRun = 0xae80

// FtraceOptions configure the ftrace observer.
type FtraceOptions struct {
	// Tracefs is the tracefs mount point; empty means DefaultTracefs, which is mounted when
	// it is not (as root). Another path is used as given, never mounted.
	Tracefs string
	// BufferKB is the per-CPU ring buffer size of the private instance; 0 means 4096.
	BufferKB int
}

// Ftrace observes VM boots through a private ftrace instance. The global trace and other
// instances are untouched; the instance is removed by Close.
//
// Under KVM it sees the VMM's exec (sched_process_exec), its first KVM_RUN ioctl
// (syscalls:sys_enter_ioctl filtered on cmd == KVM_RUN) and the guest's writes to the
// marker ports (kvm:kvm_pio, which fires in the kernel whether or not the VMM has a device
// there), on trace clock "mono" = CLOCK_MONOTONIC. It needs root and cannot see TCG guests.
type Ftrace struct {
	dir     string // the instance's directory
	ioctl   bool   // KVM_RUN is observable (syscall tracepoints exist)
	created bool
	pipe    int // trace_pipe, non-blocking; -1 when closed
}

// OpenFtrace creates the private instance for the given marker ports.
func OpenFtrace(opts FtraceOptions, m Markers) (_ *Ftrace, err error) {
	root := opts.Tracefs
	if root == "" {
		root = DefaultTracefs
		if err := mountTracefs(root); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(root, "instances")); err != nil {
		return nil, fmt.Errorf("ftrace: no tracefs at %s (%v): mount it with `mount -t tracefs nodev %s` as root, or use the debug-console observer, which needs neither root nor tracefs", root, err, root)
	}
	removeStaleInstances(filepath.Join(root, "instances"))
	var b [4]byte
	rand.Read(b[:])
	f := &Ftrace{pipe: -1, dir: filepath.Join(root, "instances", fmt.Sprintf("%s%d-%s", instancePrefix, os.Getpid(), hex.EncodeToString(b[:])))}
	if err := os.Mkdir(f.dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("ftrace: create tracing instance: %w: the ftrace observer needs root; run as root or use the debug-console observer", err)
		}
		return nil, fmt.Errorf("ftrace: create tracing instance: %w", err)
	}
	f.created = true
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	kvmFilter := fmt.Sprintf("rw == 1 && (%s)", portFilter(m.ports()))
	// trace_clock first: writing it clears the instance's buffer.
	steps := []struct{ file, value string }{
		{"trace_clock", "mono"},
		{"buffer_size_kb", strconv.Itoa(or(opts.BufferKB, 4096))},
		{"options/overwrite", "0"},   // when full, drop new events, keep the first ones
		{"options/record-tgid", "1"}, // vCPU threads are attributed to the VMM process
		{"events/sched/sched_process_exec/enable", "1"},
		{"events/kvm/kvm_pio/filter", kvmFilter},
		{"events/kvm/kvm_pio/enable", "1"},
	}
	for _, s := range steps {
		if err := f.write(s.file, s.value); err != nil {
			if strings.HasPrefix(s.file, "events/kvm") {
				return nil, fmt.Errorf("%w: the kvm trace events are missing; load the kvm module (kvm_intel or kvm_amd)", err)
			}
			return nil, err
		}
	}
	// Without syscall tracepoints (CONFIG_FTRACE_SYSCALLS) only vmm_setup/firmware are lost.
	if f.write("events/syscalls/sys_enter_ioctl/filter", fmt.Sprintf("cmd == %#x", kvmRun)) == nil &&
		f.write("events/syscalls/sys_enter_ioctl/enable", "1") == nil {
		f.ioctl = true
	}
	// A reader waiting in poll(2) on trace_pipe (traceWatch) must wake at the first event.
	// Kernels that apply the instance's wake-up watermark (buffer_percent, default 50) to
	// poll would wake it only once the buffer is half full; 0 removes the watermark. (On
	// the development machine's 6.18 kernel poll woke at the first events either way.)
	if _, err := os.Stat(filepath.Join(f.dir, "buffer_percent")); err == nil {
		if err := f.write("buffer_percent", "0"); err != nil {
			return nil, err
		}
	}
	if err := f.write("tracing_on", "1"); err != nil {
		return nil, err
	}
	// Events are taken with consuming reads of trace_pipe. Clearing the buffer through
	// "trace" instead waits for an RCU grace period (~30 ms here), per repetition.
	if f.pipe, err = unix.Open(filepath.Join(f.dir, "trace_pipe"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err != nil {
		f.pipe = -1
		return nil, fmt.Errorf("ftrace: open trace_pipe: %w", err)
	}
	return f, nil
}

// instancePrefix starts the name of every tracing instance this package creates; the
// creating process's pid follows.
const instancePrefix = "ukboottime-"

// removeStaleInstances removes the tracing instances of processes that no longer exist: a
// harness killed outright (kill -9, a closed terminal, a CI timeout) could not remove its
// own, which would keep tracing and hold its ring buffers. Instances of live processes (a
// pid that was reused keeps its instance: it cannot be told apart) and anything not named
// by this package are left alone.
func removeStaleInstances(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), instancePrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 {
			continue
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			unix.Rmdir(filepath.Join(dir, e.Name())) // tracefs removes an instance with rmdir
		}
	}
}

func portFilter(ports []int) string {
	var parts []string
	for _, p := range ports {
		parts = append(parts, fmt.Sprintf("port == %d", p))
	}
	return strings.Join(parts, " || ")
}

// mountTracefs mounts tracefs at root when nothing is mounted there yet.
func mountTracefs(root string) error {
	if _, err := os.Stat(filepath.Join(root, "instances")); err == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("ftrace: tracefs is not mounted at %s and mounting it needs root: run `sudo mount -t tracefs nodev %s`, or use the debug-console observer", root, root)
	}
	if err := unix.Mount("nodev", root, "tracefs", 0, ""); err != nil {
		return fmt.Errorf("ftrace: mount tracefs at %s: %w (is tracefs enabled in this kernel?)", root, err)
	}
	return nil
}

func (f *Ftrace) write(name, value string) error {
	if err := os.WriteFile(filepath.Join(f.dir, name), []byte(value), 0); err != nil {
		return fmt.Errorf("ftrace: write %q to %s: %w", value, name, err)
	}
	return nil
}

// Dir is the instance's directory (tests check it is gone after Close).
func (f *Ftrace) Dir() string { return f.dir }

// SeesKVMRun reports whether the first KVM_RUN ioctl is observable on this kernel.
func (f *Ftrace) SeesKVMRun() bool { return f.ioctl }

// Reset discards the events recorded so far; call it just before starting the VMM.
func (f *Ftrace) Reset() error {
	_, err := f.drain(io.Discard)
	return err
}

// Read takes the events recorded since the last Reset or Read, as ftrace's text (the raw
// log kept for each repetition), after a header naming the instance and the clock.
func (f *Ftrace) Read() ([]byte, error) { return f.readAfter(nil) }

// readAfter is Read for a boot whose first events were already taken from trace_pipe (by a
// traceWatch): they come first, then the rest.
func (f *Ftrace) readAfter(taken []byte) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# ftrace instance %s, trace_clock mono (CLOCK_MONOTONIC), record-tgid\n", f.dir)
	fmt.Fprintf(&b, "# events: sched_process_exec, sys_enter_ioctl if cmd == %#x (KVM_RUN), kvm_pio writes to the marker ports\n", kvmRun)
	b.Write(taken)
	if _, err := f.drain(&b); err != nil {
		return b.Bytes(), err
	}
	return b.Bytes(), nil
}

// drain copies trace_pipe to w until it is empty. Reads consume the events, so nothing is
// read twice and the buffer never fills across repetitions.
func (f *Ftrace) drain(w io.Writer) (int, error) {
	if f.pipe < 0 {
		return 0, errors.New("ftrace: instance closed")
	}
	buf := make([]byte, 64<<10)
	total := 0
	for {
		n, err := unix.Read(f.pipe, buf)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return total, nil
		case err != nil:
			return total, fmt.Errorf("ftrace: read trace_pipe: %w", err)
		case n == 0:
			return total, nil
		}
		w.Write(buf[:n])
		total += n
	}
}

// Close disables tracing in the instance and removes it.
func (f *Ftrace) Close() error {
	if f.pipe >= 0 {
		unix.Close(f.pipe)
		f.pipe = -1
	}
	if !f.created {
		return nil
	}
	f.write("tracing_on", "0")
	var err error
	// rmdir fails with EBUSY while one of the instance's files is open (a reader elsewhere);
	// ours are all closed, so retry briefly and then say what is holding it.
	for i := 0; i < 50; i++ {
		if err = unix.Rmdir(f.dir); err == nil || errors.Is(err, unix.ENOENT) {
			f.created = false
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("ftrace: remove tracing instance %s: %w (a process still has one of its files open; close it and run `rmdir %s`)", f.dir, err, f.dir)
}

// A trace line with record-tgid, e.g.
//
//	qemu-system-x86-28447   (  28441) [001] .....   748.912950: kvm_pio: pio_write at 0x458 size 1 count 1 val 0x1
//
// TASK-PID (TGID) [CPU] flags TIMESTAMP: event. The TGID is "-------" when unknown; the
// flags column is absent when the irq-info option is off.
var traceLine = regexp.MustCompile(`^\s*(.*)-(\d+)\s+\(\s*([\d-]+)\)\s+\[(\d+)\]\s+(?:\S{4,5}\s+)?(\d+)\.(\d{6}):\s+(.*)$`)

var (
	execRE  = regexp.MustCompile(`^sched_process_exec: filename=.* pid=(\d+) old_pid=\d+`)
	ioctlRE = regexp.MustCompile(`^sys_ioctl\(fd: [0-9a-fx]+, cmd: (0x[0-9a-f]+)`)
	pioRE   = regexp.MustCompile(`^kvm_pio: pio_write at (0x[0-9a-f]+) size \d+ count \d+ val`)
)

// ParseTrace extracts process pid's timeline from an instance's trace text: its exec, its
// first KVM_RUN and the first write to each marker port by any of its threads. Lines that
// are not events (comments) are skipped; an event line that does not parse is an error
// naming the line, since it would mean the trace format changed.
func ParseTrace(r io.Reader, pid int) (Timeline, error) {
	p := newTraceParser(pid)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if err := p.line(sc.Text()); err != nil {
			return p.tl, err
		}
	}
	return p.tl, sc.Err()
}

// traceParser builds a timeline one trace line at a time (ParseTrace, and the live watch
// of a boot whose guest does not end its VM).
type traceParser struct {
	pid int
	n   int // lines seen
	tl  Timeline
}

func newTraceParser(pid int) *traceParser {
	return &traceParser{pid: pid, tl: Timeline{Observer: "ftrace", Ports: map[int]time.Duration{}}}
}

func (p *traceParser) line(line string) error {
	p.n++
	n, tl := p.n, &p.tl
	if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
		return nil
	}
	m := traceLine.FindStringSubmatch(line)
	if m == nil {
		if strings.Contains(line, "LOST") && strings.Contains(line, "EVENTS") {
			return fmt.Errorf("trace:%d: the ring buffer lost events (%s); enlarge FtraceOptions.BufferKB", n, strings.TrimSpace(line))
		}
		return fmt.Errorf("trace:%d: not an ftrace event line with TGID (record-tgid): %q", n, line)
	}
	tid, _ := strconv.Atoi(m[2])
	tgid, _ := strconv.Atoi(m[3]) // "-------" (unknown) gives 0
	sec, _ := strconv.ParseInt(m[5], 10, 64)
	usec, _ := strconv.ParseInt(m[6], 10, 64)
	ts := time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond
	ev := m[7]
	switch {
	case strings.HasPrefix(ev, "sched_process_exec:"):
		e := execRE.FindStringSubmatch(ev)
		if e == nil {
			return fmt.Errorf("trace:%d: unexpected sched_process_exec format: %q", n, ev)
		}
		// A VMM re-exec'ing itself keeps its pid; the first exec is the start.
		if pid, _ := strconv.Atoi(e[1]); pid == p.pid && tl.Exec == 0 {
			tl.Exec = ts
		}
	case tgid != p.pid && tid != p.pid:
	case strings.HasPrefix(ev, "sys_ioctl("):
		e := ioctlRE.FindStringSubmatch(ev)
		if e == nil {
			return fmt.Errorf("trace:%d: unexpected sys_enter_ioctl format: %q", n, ev)
		}
		if cmd, _ := strconv.ParseUint(e[1], 0, 64); cmd == kvmRun && tl.KVMRun == 0 {
			tl.KVMRun = ts
		}
	case strings.HasPrefix(ev, "kvm_pio:"):
		e := pioRE.FindStringSubmatch(ev)
		if e == nil {
			return nil // a read: the filter keeps writes only, but be tolerant
		}
		port, _ := strconv.ParseUint(e[1], 0, 32)
		if _, seen := tl.Ports[int(port)]; !seen {
			tl.Ports[int(port)] = ts
		}
	}
	return nil
}

// traceHas reports whether a trace mentions the pid at all (for error messages).
func traceHas(trace []byte, pid int) bool {
	return bytes.Contains(trace, []byte("-"+strconv.Itoa(pid)+" "))
}
