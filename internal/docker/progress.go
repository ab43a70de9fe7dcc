package docker

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"
	"time"

	"golang.org/x/term"
)

// Progress shows the output of builds and runs while they happen. Raw logs are written
// separately; Progress is only for the person watching.
type Progress interface {
	// Line shows one line of output from source (an image or container name).
	Line(source, line string)
	// Step shows a milestone (a build step, a finished run), also when not verbose.
	Step(source, text string)
	// Done clears what is transient (a status line on a terminal).
	Done()
}

// NewProgress shows progress on out. On a terminal the latest line is kept on one status line
// (every line is printed when verbose); elsewhere (CI, a pipe) milestones are printed as plain
// timestamped lines, and every output line too when verbose.
func NewProgress(out io.Writer, verbose bool) Progress {
	p := &lineProgress{out: out, verbose: verbose, width: 100}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 20 {
			p.width = w - 1
		}
	}
	return p
}

type lineProgress struct {
	mu      sync.Mutex
	out     io.Writer
	tty     bool
	verbose bool
	width   int
	status  bool // a status line is on screen
}

func (p *lineProgress) Line(source, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.verbose:
		p.clear()
		fmt.Fprintf(p.out, "%s | %s\n", source, line)
	case p.tty:
		p.show(source + ": " + line)
	}
}

func (p *lineProgress) Step(source, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && !p.verbose {
		p.show(source + ": " + text)
		return
	}
	p.clear()
	fmt.Fprintf(p.out, "%s %s: %s\n", time.Now().Format("15:04:05"), source, text)
}

func (p *lineProgress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

// show replaces the status line (terminal only).
func (p *lineProgress) show(s string) {
	r := []rune(s)
	if len(r) > p.width {
		r = append(r[:p.width-1], '…')
	}
	fmt.Fprintf(p.out, "\r\033[K%s", string(r))
	p.status = true
}

func (p *lineProgress) clear() {
	if p.status {
		fmt.Fprint(p.out, "\r\033[K")
		p.status = false
	}
}

// ansi matches terminal escape sequences (colours, cursor movement) in tool output.
var ansi = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])`)

// cleanLine makes a display line of raw output: the text after the last carriage return
// (progress bars redraw with \r), without escape sequences.
func cleanLine(b []byte) string {
	b = bytes.TrimRight(b, "\r")
	if i := bytes.LastIndexByte(b, '\r'); i >= 0 {
		b = b[i+1:]
	}
	return string(ansi.ReplaceAll(b, nil))
}

// maxLine bounds the buffer of lineWriter: a longer "line" is passed on in pieces.
const maxLine = 64 << 10

// lineWriter calls fn for every complete line written to it; Flush passes on the rest.
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func(line string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) > maxLine {
				w.fn(cleanLine(w.buf))
				w.buf = w.buf[:0]
			}
			return len(p), nil
		}
		w.fn(cleanLine(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}

// Flush passes on an unterminated last line.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.fn(cleanLine(w.buf))
		w.buf = nil
	}
}

// tailLines keeps the last n lines passed to add, for error messages.
type tailLines struct {
	mu    sync.Mutex
	n     int
	lines []string
}

func (t *tailLines) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.n {
		t.lines = t.lines[len(t.lines)-t.n:]
	}
}

func (t *tailLines) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b bytes.Buffer
	for _, l := range t.lines {
		b.WriteString("    ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
