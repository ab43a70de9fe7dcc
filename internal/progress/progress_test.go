package progress

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// clock is a fake clock that tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time        { return c.t }
func (c *clock) add(d time.Duration)   { c.t = c.t.Add(d) }
func newClock() *clock                 { return &clock{t: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)} }
func (c *clock) opts(tty bool) Options { return Options{Terminal: tty, Now: c.now} }
func lines(s string) []string          { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
func noCR(t *testing.T, s string) {
	t.Helper()
	if strings.ContainsAny(s, "\r\033") {
		t.Errorf("plain output has control characters: %q", s)
	}
}

func TestPlainPrintsMilestones(t *testing.T) {
	c := newClock()
	var out bytes.Buffer
	d := NewWith(&out, c.opts(false))
	task := d.Start("QEMU (MicroVM)", 26, "boots")
	for i := 1; i <= 26; i++ {
		c.add(2 * time.Second)
		task.Step(i != 5)
	}
	task.Done()
	want := []string{
		"10:00:00 QEMU (MicroVM): 0/26 boots",
		"10:00:06 QEMU (MicroVM): 3/26 boots, ETA 46 s", // a tenth: 26/10 rounds up to 3
		"10:00:12 QEMU (MicroVM): 6/26 boots, 1 failed, ETA 40 s",
		"10:00:16 QEMU (MicroVM): 8/26 boots, 1 failed, ETA 36 s",
		"10:00:22 QEMU (MicroVM): 11/26 boots, 1 failed, ETA 30 s",
		"10:00:26 QEMU (MicroVM): 13/26 boots, 1 failed, ETA 26 s",
		"10:00:32 QEMU (MicroVM): 16/26 boots, 1 failed, ETA 20 s",
		"10:00:38 QEMU (MicroVM): 19/26 boots, 1 failed, ETA 14 s",
		"10:00:42 QEMU (MicroVM): 21/26 boots, 1 failed, ETA 10 s",
		"10:00:48 QEMU (MicroVM): 24/26 boots, 1 failed, ETA 4 s",
		"10:00:52 QEMU (MicroVM): 26/26 boots, 1 failed, in 52 s",
	}
	got := lines(out.String())
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("plain output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	noCR(t, out.String())
}

func TestPlainPrintsASlowTaskEvery30Seconds(t *testing.T) {
	c := newClock()
	var out bytes.Buffer
	d := NewWith(&out, c.opts(false))
	task := d.Start("builds", 100, "images")
	c.add(10 * time.Second)
	task.Step(true) // 1 %, 10 s: nothing
	c.add(25 * time.Second)
	task.Step(false) // 2 %, 35 s since the start line: a line
	c.add(time.Second)
	task.Step(true) // nothing
	task.Done()
	want := "10:00:00 builds: 0/100 images\n" +
		"10:00:35 builds: 2/100 images, 1 failed, ETA 28 min 35 s\n" +
		"10:00:36 builds: 3/100 images, 1 failed, stopped, in 36 s\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// fakeTTY is a writer that says it is a terminal.
type fakeTTY struct{ bytes.Buffer }

func (*fakeTTY) IsTerminal() bool { return true }

func TestNewAsksTheWriterIfItIsATerminal(t *testing.T) {
	if !New(&fakeTTY{}).o.Terminal {
		t.Error("a writer that says it is a terminal gets plain lines")
	}
	if New(&bytes.Buffer{}).o.Terminal {
		t.Error("a buffer is taken for a terminal")
	}
}

func TestTerminalRedrawsOneLinePerTask(t *testing.T) {
	c := newClock()
	tty := &fakeTTY{}
	d := NewWith(tty, c.opts(true))
	a := d.Start("QEMU", 4, "boots")
	b := d.Start("builds", 2, "images")
	c.add(4 * time.Second)
	a.Step(true)
	fmt.Fprintln(d.Writer(), "WARN a log line")
	a.Step(false)
	a.Done()
	b.Step(true)
	b.Done()
	// \r\033[J clears from the first live line down; \033[1A moves up one line.
	want := strings.Join([]string{
		"QEMU: 0/4 boots",
		"\r\033[JQEMU: 0/4 boots\nbuilds: 0/2 images",
		"\r\033[1A\033[JQEMU: 1/4 boots, ETA 12 s\nbuilds: 0/2 images",
		"\r\033[1A\033[JWARN a log line\nQEMU: 1/4 boots, ETA 12 s\nbuilds: 0/2 images",
		"\r\033[1A\033[JQEMU: 2/4 boots, 1 failed, ETA 4 s\nbuilds: 0/2 images",
		"\r\033[1A\033[JQEMU: 2/4 boots, 1 failed, stopped, in 4 s\nbuilds: 0/2 images",
		"\r\033[Jbuilds: 1/2 images, ETA 4 s",
		"\r\033[Jbuilds: 1/2 images, stopped, in 4 s\n",
	}, "")
	if tty.String() != want {
		t.Errorf("terminal output:\n%q\nwant:\n%q", tty.String(), want)
	}
	// What a person sees at the end: every task's last line, the log line between.
	screen := render(tty.String())
	wantScreen := "WARN a log line\nQEMU: 2/4 boots, 1 failed, stopped, in 4 s\nbuilds: 1/2 images, stopped, in 4 s\n"
	if screen != wantScreen {
		t.Errorf("screen:\n%s\nwant:\n%s", screen, wantScreen)
	}
}

func TestTerminalTruncatesToItsWidth(t *testing.T) {
	tty := &fakeTTY{}
	d := NewWith(tty, Options{Terminal: true, Width: 10, Now: newClock().now})
	d.Start("a long name", 3, "boots")
	if got := tty.String(); got != "a long na…" {
		t.Errorf("got %q", got)
	}
}

func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		400 * time.Millisecond: "0 s",
		40 * time.Second:       "40 s",
		2 * time.Minute:        "2 min",
		125 * time.Second:      "2 min 5 s",
	} {
		if got := Seconds(d); got != want {
			t.Errorf("Seconds(%v) = %q, want %q", d, got, want)
		}
	}
}

// render plays the escape sequences the display uses (\r, \033[nA, \033[J) on a screen of
// lines and returns what it shows.
func render(s string) string {
	screen := []string{""}
	row := 0
	for len(s) > 0 {
		switch {
		case s[0] == '\r':
			screen[row] = screen[row][:0]
			s = s[1:]
		case s[0] == '\n':
			row++
			if row == len(screen) {
				screen = append(screen, "")
			}
			s = s[1:]
		case strings.HasPrefix(s, "\033[J"):
			screen = screen[:row+1]
			screen[row] = ""
			s = s[3:]
		case strings.HasPrefix(s, "\033["):
			var n int
			fmt.Sscanf(s[2:], "%dA", &n)
			row -= n
			s = s[strings.IndexByte(s, 'A')+1:]
		default:
			screen[row] += s[:1]
			s = s[1:]
		}
	}
	return strings.Join(screen, "\n")
}
