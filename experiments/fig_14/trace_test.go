package fig14

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

func parseFile(t *testing.T, name string) (*Trace, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return ParseTrace(filepath.Join("testdata", name), f)
}

// testdata/good.txt has two boots in gdb chatter. Boot 1: plat gets time_init (1 µs since the
// clock started) and plat_init (2 µs); the vfsprocess_arg constructor is not a bucket, so its
// time is folded into the misc interval up to alloc_beg (2 µs); alloc takes 4 µs; the
// vfscore tracepoint (not a boot tracepoint) leaves prev alone, so boot_end adds 3 µs to
// misc. boot_end resets prev to 0, so boot 2's time_init counts 2 µs from zero again.
func TestParseTraceRules(t *testing.T) {
	tr, err := parseFile(t, "good.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Boots) != 2 {
		t.Fatalf("%d boots, want 2", len(tr.Boots))
	}
	b1, b2 := tr.Boots[0], tr.Boots[1]
	want1 := Breakdown{Plat: 3, Alloc: 4, Misc: 5}
	want2 := Breakdown{Plat: 2, Misc: 2}
	if b1.Components != want1 || b2.Components != want2 {
		t.Errorf("boots = %v, %v; want %v, %v", b1.Components, b2.Components, want1, want2)
	}
	if b1.Line != 7 || b1.EndLine != 14 || b1.Batch != "tiny, 1/2" || b1.EndNS != 12000 {
		t.Errorf("boot 1 = %+v", b1)
	}
	if b1.Total() != 12 || b2.Total() != 4 {
		t.Errorf("totals %g, %g; want the boot_end times 12 and 4 µs", b1.Total(), b2.Total())
	}
	if m := tr.Mean(); m != (Breakdown{Plat: 2.5, Alloc: 2, Misc: 3.5}) {
		t.Errorf("mean = %v", m)
	}
}

// Every tracked tracepoint lands in the bucket of parse.py's table.
func TestParseTraceBuckets(t *testing.T) {
	var b strings.Builder
	ts := 0
	line := func(tp, args string) {
		ts += 1000
		fmt.Fprintf(&b, "%016d %s: %s\n", ts, tp, args)
	}
	line("trace_boot_time_init", "")
	for _, r := range rules[1:] {
		args := ""
		if r.function != "" {
			args = r.function + "()"
		}
		line(r.tracepoint, args)
	}
	tr, err := ParseTrace("generated", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	// each line is 1 µs after the previous one
	want := Breakdown{Plat: 2, Virtio: 4, Vfscore: 2, Alloc: 1, Ukbus: 2, Pthreads: 1, Lwip: 1, Rootfs: 1, Misc: 4 + 2 + 1 + 5 + 1}
	if got := tr.Boots[0].Components; got != want {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

// A real Unikraft 7fd6797 build's trace names ukbus's inittab entry uk_bus_lib_init (the
// static function lib/ukbus/bus.c registers), where the paper's showed uk_bus_init_all: both
// are ukbus.
func TestUkbusUnderEitherName(t *testing.T) {
	for _, fn := range []string{"uk_bus_init_all", "uk_bus_lib_init"} {
		log := "0000000000001000 trace_boot_time_init: \n" +
			"0000000000003000 trace_boot_inittab_beg: " + fn + "()\n" +
			"0000000000010000 trace_boot_inittab_end: " + fn + "()\n" +
			"0000000000011000 trace_boot_end: \n"
		tr, err := ParseTrace(fn, strings.NewReader(log))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := tr.Boots[0].Components, (Breakdown{Plat: 1, Misc: 2 + 1, Ukbus: 7}); got != want {
			t.Errorf("%s: got %v, want %v", fn, got, want)
		}
	}
}

// Malformed logs fail with file:line and what was expected, never with a silent skip.
func TestParseTraceErrors(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"truncated-line.txt", `testdata/truncated-line.txt:4: truncated trace line "0000000000012000 trace_boot_e"`},
		{"start-without-end.txt", "testdata/start-without-end.txt:2: boot has no trace_boot_end before the next batch at line 5"},
		{"start-without-end-eof.txt", "testdata/start-without-end-eof.txt:3: boot has no trace_boot_end before the end of the file"},
		{"end-without-start.txt", "testdata/end-without-start.txt:3: trace_boot_plat_init outside a boot: no trace_boot_time_init since the beginning of the file"},
		{"non-numeric.txt", `testdata/non-numeric.txt:3: timestamp "000000000000x000" of trace_boot_plat_init is not a decimal number`},
		{"no-boots.txt", "testdata/no-boots.txt:1: batch \"tiny, 1/1\" holds no boot trace"},
		{"unresolved.txt", `testdata/unresolved.txt:2: trace_boot_inittab_beg argument "0x0000000000107450()" is not resolved to a function name`},
		{"backwards.txt", "testdata/backwards.txt:3: time runs backwards"},
		{"empty-batch.txt", `testdata/empty-batch.txt:4: batch "tiny, 2/2" holds no boot trace`},
	} {
		_, err := parseFile(t, c.file)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: error %v\nwant prefix %q", c.file, err, c.want)
		}
		var pe *figure.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: %T is not a *figure.ParseError", c.file, err)
		}
	}
}

func TestParseTraceErrorsInline(t *testing.T) {
	for _, c := range []struct{ name, log, want string }{
		{"only chatter", "GNU gdb 8.2.1\n(gdb) quit\n", "only chatter: no boot found"},
		{"cut in the timestamp", "0000000000001000 trace_boot_time_init: \n00000000000020\n", `only:2: truncated trace line "00000000000020"`},
		{"end without start", "0000000000001000 trace_boot_time_init: \n0000000000002000 trace_boot_end: \n0000000000003000 trace_boot_end: \n",
			"only:3: trace_boot_end outside a boot: no trace_boot_time_init since the trace_boot_end at line 2"},
		{"start twice", "0000000000001000 trace_boot_time_init: \n0000000000002000 trace_boot_time_init: \n", "only:1: boot has no trace_boot_end: the next boot starts at line 2"},
		{"two boots in one batch", "running batch a, 1/1\n0000000000001000 trace_boot_time_init: \n0000000000002000 trace_boot_end: \n0000000000001000 trace_boot_time_init: \n",
			`only:4: second boot in batch "a, 1/1"`},
		{"ctor without function", "0000000000001000 trace_boot_time_init: \n0000000000002000 trace_boot_ctor_beg: \n", `only:2: trace_boot_ctor_beg argument "": expected a function name`},
		{"timestamp overflow", "99999999999999999999 trace_boot_time_init: \n", "only:1: timestamp 99999999999999999999 of trace_boot_time_init does not fit in 64 bits"},
	} {
		name := "only"
		if c.name == "only chatter" {
			name = c.name
		}
		_, err := ParseTrace(name, strings.NewReader(c.log))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: error %v\nwant prefix %q", c.name, err, c.want)
		}
	}
}

// A line counts as a trace line only when it starts with a decimal field followed by a space
// or the end of the line, or names a trace_boot tracepoint as its second field.
func TestGdbChatterIgnored(t *testing.T) {
	log := "38\tin shutdown.c\n0x000000000000fff0 in ?? ()\n  1234 indented\n" +
		"0000000000001000 trace_boot_time_init:\n0000000000002000 trace_boot_end:\n"
	tr, err := ParseTrace("chatter", strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Boots[0].Total(); math.Abs(got-2) > 1e-12 {
		t.Errorf("total %g µs, want 2", got)
	}
}

func TestSplitTraceName(t *testing.T) {
	if a, s, ok := splitTraceName("tinyalloc-03032021090954.txt"); !ok || a != "tinyalloc" || s != "03032021090954" {
		t.Errorf("got %q %q %v", a, s, ok)
	}
	for _, bad := range []string{"tlsf.txt", "tlsf-2021.txt.bak", "tlsf-abc.txt", "build-tlsf.log"} {
		if _, _, ok := splitTraceName(bad); ok {
			t.Errorf("%s accepted as a trace name", bad)
		}
	}
}
