// Package progress shows how far the long steps of a figure are (builds, boots, captures)
// while they run: on a terminal, one live line per running task ("QEMU (MicroVM): 12/26
// boots, 1 failed, ETA 40 s"), redrawn in place; elsewhere (CI, a pipe, a file), plain
// timestamped lines at milestones: when a task starts, at every tenth of it, at least
// every 30 s of a task that advances, and when it ends. It never prints a carriage return
// outside a terminal.
//
// It is written here rather than taken from a progress-bar library because the plain
// mode is the one CI sees and no library's non-terminal mode prints milestones; the
// terminal part is a few escape sequences. Logs stay with logrus: other output to the
// same terminal goes through Display.Writer, which lifts the live lines out of its way.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Options configure a Display; New chooses them from its writer.
type Options struct {
	// Terminal redraws live lines in place; otherwise milestones are printed as lines.
	Terminal bool
	// Width truncates live lines (terminal only); 100 when 0.
	Width int
	// Now is the clock (time.Now when nil): tests inject theirs.
	Now func() time.Time
	// Refresh redraws the live lines this often while a task runs, so that its elapsed
	// time and ETA move between steps (terminal only); 0 redraws on steps only.
	Refresh time.Duration
}

// PlainEvery is the longest a task that advances goes without a plain line.
const PlainEvery = 30 * time.Second

// Display shows tasks on one writer. Its methods and its tasks' are safe for concurrent use.
type Display struct {
	mu      sync.Mutex
	out     io.Writer
	o       Options
	running []*Task
	drawn   int  // live lines on screen (terminal)
	partial bool // Writer left a line without its newline (terminal)
	stop    chan struct{}
}

// Terminal is a writer that says whether it is a terminal (a test double, or a wrapper
// around one); an *os.File is asked directly.
type Terminal interface {
	IsTerminal() bool
}

// New shows progress on out: live lines when out is a terminal, plain milestones otherwise.
func New(out io.Writer) *Display {
	o := Options{}
	switch w := out.(type) {
	case *os.File:
		if term.IsTerminal(int(w.Fd())) {
			o.Terminal, o.Refresh = true, time.Second
			if width, _, err := term.GetSize(int(w.Fd())); err == nil && width > 20 {
				o.Width = width - 1
			}
		}
	case Terminal:
		o.Terminal = w.IsTerminal()
	}
	return NewWith(out, o)
}

// NewWith shows progress on out as o says.
func NewWith(out io.Writer, o Options) *Display {
	if o.Width <= 0 {
		o.Width = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Display{out: out, o: o}
}

// Discard is a Display that shows nothing (for callers that were given none).
func Discard() *Display { return NewWith(io.Discard, Options{}) }

// Task is one long step: a number of units (boots, images) done one by one.
type Task struct {
	d      *Display
	name   string
	unit   string
	total  int
	done   int
	failed int
	start  time.Time
	// plain mode: the last milestone printed and when
	shownTenth int
	shownAt    time.Time
	ended      bool
}

// Start begins a task of total units named unit ("boots", "images") and shows it.
func (d *Display) Start(name string, total int, unit string) *Task {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := &Task{d: d, name: name, unit: unit, total: total, start: d.o.Now()}
	t.shownAt = t.start
	d.running = append(d.running, t)
	if d.o.Terminal {
		d.redraw()
		if d.o.Refresh > 0 && d.stop == nil {
			d.stop = make(chan struct{})
			go d.tick(d.stop)
		}
	} else {
		d.plain(t.line())
	}
	return t
}

// Step counts one unit as done, failed when ok is false.
func (t *Task) Step(ok bool) {
	d := t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if t.ended {
		return
	}
	t.done++
	if !ok {
		t.failed++
	}
	if d.o.Terminal {
		d.redraw()
		return
	}
	now := d.o.Now()
	tenth := 0
	if t.total > 0 {
		tenth = t.done * 10 / t.total
	}
	if t.done < t.total && (tenth > t.shownTenth || now.Sub(t.shownAt) >= PlainEvery) {
		t.shownTenth, t.shownAt = tenth, now
		d.plain(t.line())
	}
}

// Done ends the task: its last line stays, with the time it took ("stopped" when fewer
// units were done than planned). Calling it again does nothing.
func (t *Task) Done() {
	d := t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if t.ended {
		return
	}
	t.ended = true
	line := t.final()
	if !d.o.Terminal {
		d.plain(line)
		return
	}
	d.clear()
	for i, r := range d.running {
		if r == t {
			d.running = append(d.running[:i], d.running[i+1:]...)
			break
		}
	}
	fmt.Fprintln(d.out, d.fit(line))
	if len(d.running) == 0 && d.stop != nil {
		close(d.stop)
		d.stop = nil
	}
	d.redraw()
}

// Counts are the units done and failed so far.
func (t *Task) Counts() (done, failed int) {
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	return t.done, t.failed
}

// line is the task's progress: "QEMU (MicroVM): 12/26 boots, 1 failed, ETA 40 s".
func (t *Task) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d/%d %s", t.name, t.done, t.total, t.unit)
	if t.failed > 0 {
		fmt.Fprintf(&b, ", %d failed", t.failed)
	}
	if t.done > 0 && t.done < t.total {
		elapsed := t.d.o.Now().Sub(t.start)
		eta := elapsed / time.Duration(t.done) * time.Duration(t.total-t.done)
		fmt.Fprintf(&b, ", ETA %s", Seconds(eta))
	}
	return b.String()
}

// final is the task's last line: "QEMU (MicroVM): 26/26 boots, 1 failed, in 1 min 2 s".
func (t *Task) final() string {
	s := fmt.Sprintf("%s: %d/%d %s", t.name, t.done, t.total, t.unit)
	if t.failed > 0 {
		s += fmt.Sprintf(", %d failed", t.failed)
	}
	if t.done < t.total {
		s += ", stopped"
	}
	return s + ", in " + Seconds(t.d.o.Now().Sub(t.start))
}

// Seconds rounds d for people: "40 s", "2 min 5 s", "0 s" below half a second.
func Seconds(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s < 60 {
		return fmt.Sprintf("%d s", s)
	}
	if s%60 == 0 {
		return fmt.Sprintf("%d min", s/60)
	}
	return fmt.Sprintf("%d min %d s", s/60, s%60)
}

// plain prints one timestamped line (not a terminal).
func (d *Display) plain(line string) {
	fmt.Fprintf(d.out, "%s %s\n", d.o.Now().Format("15:04:05"), line)
}

// redraw replaces the live lines with the running tasks' (terminal). The cursor is left at
// the end of the last line, so that nothing written without Writer lands at a line start
// above them.
func (d *Display) redraw() {
	if d.partial {
		return // a line being written through Writer: the live lines come back after it
	}
	d.clear()
	for i, t := range d.running {
		if i > 0 {
			io.WriteString(d.out, "\n")
		}
		io.WriteString(d.out, d.fit(t.line()))
	}
	d.drawn = len(d.running)
}

// clear removes the live lines and leaves the cursor at the start of the first one.
func (d *Display) clear() {
	if d.drawn == 0 {
		return
	}
	s := "\r"
	if d.drawn > 1 {
		s += fmt.Sprintf("\033[%dA", d.drawn-1)
	}
	io.WriteString(d.out, s+"\033[J")
	d.drawn = 0
}

func (d *Display) fit(s string) string {
	r := []rune(s)
	if len(r) > d.o.Width {
		return string(append(r[:d.o.Width-1], '…'))
	}
	return s
}

func (d *Display) tick(stop chan struct{}) {
	t := time.NewTicker(d.o.Refresh)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			d.mu.Lock()
			if len(d.running) > 0 {
				d.redraw()
			}
			d.mu.Unlock()
		}
	}
}

// Writer is the display's writer for other output (logs, messages): on a terminal it lifts
// the live lines, writes, and draws them again below; elsewhere it writes through.
func (d *Display) Writer() io.Writer { return writer{d} }

type writer struct{ d *Display }

func (w writer) Write(p []byte) (int, error) {
	d := w.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.o.Terminal {
		return d.out.Write(p)
	}
	d.clear()
	n, err := d.out.Write(p)
	d.partial = len(p) > 0 && p[len(p)-1] != '\n'
	d.redraw()
	return n, err
}
