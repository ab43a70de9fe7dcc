package boottime

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// traceWatch reads an instance's trace_pipe while one VMM runs, for a guest that does not
// end its VM (Options.StopAfterMain): it says when the VMM's write to the end marker port
// has been traced, so the harness can stop the VMM then instead of at the timeout.
//
// It blocks in poll(2) on trace_pipe (woken by the ring buffer as events arrive; the
// instance's buffer_percent is 0 so that one event is enough) and on a stop pipe, so it
// costs a wake-up per batch of events (9 for the test guest on microvm), not a busy loop
// competing with the VMM's CPUs. It runs only for such guests. Reads consume
// the events: every byte read is kept, in order, and ends up in the boot's trace text.
type traceWatch struct {
	f      *Ftrace
	parser *traceParser
	port   int
	seen   chan struct{} // closed once the VMM's write to port was read
	done   chan struct{} // closed when the reader returned
	stopR  int
	stopW  int
	read   bytes.Buffer // everything read from trace_pipe
	parsed int          // bytes of read already given to the parser (whole lines)
	err    error
}

// watch starts reading trace_pipe for pid's write to port. Call finish before reading the
// rest of the trace.
func (f *Ftrace) watch(pid, port int) (*traceWatch, error) {
	var stop [2]int
	if err := unix.Pipe2(stop[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("ftrace: watch: pipe: %w", err)
	}
	w := &traceWatch{f: f, parser: newTraceParser(pid), port: port, seen: make(chan struct{}), done: make(chan struct{}), stopR: stop[0], stopW: stop[1]}
	go w.run()
	return w, nil
}

// emptyWakeupPause bounds the reader's wake-ups when poll reports trace_pipe readable but a
// read finds nothing (a kernel that ignores the watermark, or the "block" trace option):
// the reader then pauses instead of spinning.
const emptyWakeupPause = time.Millisecond

func (w *traceWatch) run() {
	defer close(w.done)
	for {
		fds := []unix.PollFd{{Fd: int32(w.stopR), Events: unix.POLLIN}, {Fd: int32(w.f.pipe), Events: unix.POLLIN}}
		_, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			w.err = fmt.Errorf("ftrace: watch: poll: %w", err)
			return
		}
		if fds[0].Revents != 0 {
			return
		}
		n, err := w.f.drain(&w.read)
		if err != nil {
			w.err = err
			return
		}
		if n == 0 {
			time.Sleep(emptyWakeupPause)
			continue
		}
		w.parse()
	}
}

// parse gives the parser the whole lines read since the last call and closes seen once
// the end marker is among them. A line that does not parse stops the parsing only: the
// boot's full trace is parsed again at the end, which reports it.
func (w *traceWatch) parse() {
	if w.parser == nil {
		return
	}
	for {
		rest := w.read.Bytes()[w.parsed:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return
		}
		w.parsed += i + 1
		if err := w.parser.line(string(rest[:i])); err != nil {
			w.parser = nil
			return
		}
		if _, ok := w.parser.tl.Ports[w.port]; ok {
			close(w.seen)
			w.parser = nil // seen: the rest is only kept
			return
		}
	}
}

// finish stops the reader and returns everything it read. Idempotent.
func (w *traceWatch) finish() ([]byte, error) {
	if w.stopW >= 0 {
		unix.Write(w.stopW, []byte{0})
		<-w.done // the reader blocks only in poll, which the stop pipe wakes
		unix.Close(w.stopW)
		unix.Close(w.stopR)
		w.stopW, w.stopR = -1, -1
	}
	return w.read.Bytes(), w.err
}
