package boottime

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
	"unsafe"

	"github.com/unikraft-eurosys21/artifact/internal/vmm"
	"golang.org/x/sys/unix"
)

// debugcon observes one QEMU run through isa-debugcon devices: each marker port gets a
// device whose chardev is one end of a SOCK_SEQPACKET socket pair (passed to QEMU as an
// inherited descriptor, -chardev socket,fd=N), and one reader thread receives the bytes.
// No root, no tracefs, any accelerator.
//
// Each byte's time is the kernel's receive timestamp (SO_TIMESTAMPNS), taken when QEMU's
// write reached the socket, converted from CLOCK_REALTIME to CLOCK_MONOTONIC: the reader's
// own wake-up latency, which on a busy host reached milliseconds, is not in it. What remains
// between the guest's outb and the timestamp is KVM's exit to QEMU and QEMU's handling of it
// (or TCG's helper), ~25 µs under KVM.
//
// All markers of a boot are converted with one offset between the two clocks, read once
// when the boot is over. Reading it per marker (as this observer first did) put each
// marker's own measuring error into its time: a reader thread preempted between its clock
// readings shifted one marker by up to half the preemption, which under TCG on a loaded
// 2-CPU host put port 1112 after port 1500 (1 boot in ~300). The kernel stamps both markers
// on the same clock, so with one offset their order and distance are the kernel's. The
// offset is also read before the boot: a wall-clock step in between (settimeofday, an NTP
// step; slewing moves both clocks alike) would shift the markers, and fails the boot.
//
// The exec anchor is the harness's reading just before it forks the VMM (vmm.Exit.Started),
// taken by running code rather than after a wake-up: it precedes the exec by Go's process
// start, the fork and the execve, ~0.4 ms, a small constant rather than a wake-up delay
// that grows with the host's load (the reading after exec trailed it by up to 38 ms on a
// busy host). The first KVM_RUN is invisible here, so vmm_setup/firmware stay unknown.
// The agreement test against ftrace states the resulting bound.
type debugcon struct {
	readers []*portReader
	done    chan struct{}
	stopR   int // poll wakes on this pipe when the probe is abandoned
	stopW   int
	err     error
	before  clockOffset // CLOCK_REALTIME − CLOCK_MONOTONIC before the boot
}

type portReader struct {
	port  int
	fd    int
	eof   bool
	marks []mark
	seen  chan struct{} // closed with the first marker byte
}

type mark struct {
	real    time.Duration // kernel receive timestamp, CLOCK_REALTIME (converted in finish)
	arrived time.Duration // when the reader got it, CLOCK_MONOTONIC
	b       byte
}

// attachDebugcon adds one isa-debugcon device per marker port to q and starts the reader.
func attachDebugcon(q *vmm.QEMU, m Markers) (*debugcon, error) {
	var stop [2]int
	if err := unix.Pipe2(stop[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("debugcon: pipe: %w", err)
	}
	d := &debugcon{stopR: stop[0], stopW: stop[1], done: make(chan struct{}), before: readClockOffset()}
	fail := func(err error) (*debugcon, error) {
		close(d.done)
		d.close()
		for _, f := range q.Files {
			f.Close()
		}
		return nil, fmt.Errorf("debugcon: %w", err)
	}
	for _, port := range m.ports() {
		sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fail(fmt.Errorf("socketpair: %w", err))
		}
		d.readers = append(d.readers, &portReader{port: port, fd: sp[0], seen: make(chan struct{})})
		if err := unix.SetsockoptInt(sp[0], unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			unix.Close(sp[1])
			return fail(fmt.Errorf("SO_TIMESTAMPNS: %w", err))
		}
		fd := q.PassFile(os.NewFile(uintptr(sp[1]), fmt.Sprintf("debugcon-%d", port))) // closed once QEMU started
		id := fmt.Sprintf("ukbt%d", port)
		q.Devices = append(q.Devices,
			"-chardev", fmt.Sprintf("socket,id=%s,fd=%d", id, fd),
			"-device", fmt.Sprintf("isa-debugcon,iobase=%d,chardev=%s", port, id))
	}
	go d.read()
	return d, nil
}

// read polls all sockets on its own OS thread until every one reached EOF (QEMU exited;
// the harness closed its copies at start) or the probe is abandoned.
func (d *debugcon) read() {
	defer close(d.done)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread() // unlocking keeps the thread alive (see vmm Pdeathsig)
	buf := make([]byte, 256)
	oob := make([]byte, unix.CmsgSpace(16))
	for {
		fds := []unix.PollFd{{Fd: int32(d.stopR), Events: unix.POLLIN}}
		var open []*portReader
		for _, r := range d.readers {
			if !r.eof {
				fds = append(fds, unix.PollFd{Fd: int32(r.fd), Events: unix.POLLIN})
				open = append(open, r)
			}
		}
		if len(open) == 0 {
			return
		}
		_, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			d.err = fmt.Errorf("debugcon: poll: %w", err)
			return
		}
		if fds[0].Revents != 0 {
			return
		}
		for i, r := range open {
			if fds[i+1].Revents == 0 {
				continue
			}
			n, oobn, _, _, err := unix.Recvmsg(r.fd, buf, oob, unix.MSG_DONTWAIT)
			arrived := vmm.Monotonic()
			switch {
			case errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN):
				continue
			case err != nil:
				d.err = fmt.Errorf("debugcon %d: recvmsg: %w", r.port, err)
				return
			case n == 0:
				r.eof = true
				continue
			}
			t, err := kernelTimestamp(oob[:oobn])
			if err != nil {
				d.err = fmt.Errorf("debugcon %d: %w", r.port, err)
				return
			}
			if len(r.marks) == 0 {
				close(r.seen)
			}
			for _, b := range buf[:n] {
				r.marks = append(r.marks, mark{real: t, arrived: arrived, b: b})
			}
		}
	}
}

// kernelTimestamp extracts the SCM_TIMESTAMPNS of a received message: CLOCK_REALTIME, the
// only clock socket timestamps have.
func kernelTimestamp(oob []byte) (time.Duration, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, fmt.Errorf("control message: %w", err)
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			return time.Duration(ts.Nano()), nil
		}
	}
	return 0, errors.New("no kernel timestamp on the marker (SO_TIMESTAMPNS unsupported?)")
}

// clockOffset is CLOCK_REALTIME − CLOCK_MONOTONIC, read with an uncertainty of ±Err.
type clockOffset struct {
	Offset, Err time.Duration
}

// readClockOffset reads the offset between the clocks from a monotonic reading bracketed by
// two realtime readings, keeping the tightest of a few brackets: a preemption inside one
// bracket only widens that bracket. A variable, so a test can make it misbehave.
var readClockOffset = func() clockOffset {
	best := clockOffset{Err: -1}
	for range 5 {
		var a, b unix.Timespec
		unix.ClockGettime(unix.CLOCK_REALTIME, &a)
		m := vmm.Monotonic()
		unix.ClockGettime(unix.CLOCK_REALTIME, &b)
		half := time.Duration(b.Nano()-a.Nano()) / 2
		if best.Err < 0 || half < best.Err {
			best = clockOffset{Offset: time.Duration(a.Nano()) + half - m, Err: half}
		}
	}
	return best
}

// stepTolerance is how far the clocks' offset may move during a boot before the boot is
// failed as a wall-clock step (beyond the readings' own uncertainty).
const stepTolerance = time.Millisecond

// finish waits (bounded) for the reader to see EOF on every socket, then builds the
// timeline. exec is the harness's CLOCK_MONOTONIC reading of the VMM's exec.
func (d *debugcon) finish(exec time.Duration) (Timeline, []byte, error) {
	var err error
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		err = errors.New("debugcon: a marker socket stayed open 10s after QEMU ended (another process holds its other end)")
	}
	d.close() // waits for the reader
	err = errors.Join(err, d.err)
	after := readClockOffset()
	if step := after.Offset - d.before.Offset; step.Abs() > after.Err+d.before.Err+stepTolerance {
		err = errors.Join(err, fmt.Errorf("debugcon: the wall clock (CLOCK_REALTIME, the clock of the markers' socket timestamps) was stepped by %v during the boot; its markers cannot be placed on CLOCK_MONOTONIC", step))
	}
	tl := Timeline{Observer: "debugcon", Exec: exec, Ports: map[int]time.Duration{}}
	var raw strings.Builder
	fmt.Fprintf(&raw, "# debugcon marker log, CLOCK_MONOTONIC ns: kernel receive timestamp of each byte, then the reader's arrival time\n"+
		"# exec %d\n# CLOCK_REALTIME - CLOCK_MONOTONIC: %d ns (±%d) before the boot, %d ns (±%d) after; markers converted with the latter\n",
		exec.Nanoseconds(), d.before.Offset.Nanoseconds(), d.before.Err.Nanoseconds(), after.Offset.Nanoseconds(), after.Err.Nanoseconds())
	for _, r := range d.readers {
		for _, m := range r.marks {
			fmt.Fprintf(&raw, "%d port=%d byte=%#02x arrived=%d\n", (m.real - after.Offset).Nanoseconds(), r.port, m.b, m.arrived.Nanoseconds())
		}
		if len(r.marks) > 0 {
			tl.Ports[r.port] = r.marks[0].real - after.Offset
		}
	}
	return tl, []byte(raw.String()), err
}

// seen is closed once a marker byte of port has arrived (Options.StopAfterMain).
func (d *debugcon) seen(port int) <-chan struct{} {
	for _, r := range d.readers {
		if r.port == port {
			return r.seen
		}
	}
	return nil // not a marker port: never
}

// close stops the reader and closes every descriptor (idempotent).
func (d *debugcon) close() {
	if d.stopW < 0 {
		return
	}
	unix.Write(d.stopW, []byte{0})
	<-d.done
	for _, r := range d.readers {
		unix.Close(r.fd)
	}
	unix.Close(d.stopW)
	unix.Close(d.stopR)
	d.stopW, d.stopR = -1, -1
}
