package fig14

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// A raw trace log is what the original benchmark.sh appended per allocator: for every boot a
// line "running batch <alloc>, <j>/<n>", then gdb's output, which contains the guest's trace
// buffer as printed by `uk trace` (uk-gdb.py), with the function addresses already replaced
// by their names (addr2line):
//
//	0000000000021072 trace_boot_ctor_beg: libkvmpci_uk_bus_register()
//
// i.e. "%016d %s: " % (time_ns, tracepoint) followed by the tracepoint's arguments. The time
// is the guest's monotonic clock in ns, which starts at ukplat_time_init.
//
// What counts as a trace line (everything else is gdb chatter and is ignored, as parse.py
// ignored it):
//   - a line whose first space-separated field is a run of decimal digits (gdb never starts a
//     line that way: addresses start with "0x", source lines are "<n>\t…");
//   - a line whose second space-separated field starts with "trace_boot_", whatever its first
//     field is, so that a damaged timestamp is reported rather than skipped.
//
// A trace line must read "<digits> <tracepoint>:" optionally followed by " <arguments>"; a
// shorter line is a truncated one and an error.

// rule is one row of parse.py's pattern table: a trace_boot tracepoint (and for the
// constructor and inittab tracepoints, the function it reports) and the bucket that receives
// the time since the previous matched line.
type rule struct {
	tracepoint string
	function   string // "" for tracepoints without a function argument
	bucket     Component
}

// rules is parse.py's table in its order. The function names are those the original's
// addr2line step wrote into the log.
var rules = func() []rule {
	r := []rule{
		{"trace_boot_time_init", "", Plat},
		{"trace_boot_plat_init", "", Plat},
	}
	for _, f := range []string{"libkvmpci_uk_bus_register", "libkvmvirtio_uk_bus_register", "libkvmvirtio_pci_register_driver", "libkvmvirtionet_virtio_register_driver"} {
		r = append(r, rule{"trace_boot_ctor_beg", f, Misc}, rule{"trace_boot_ctor_end", f, Virtio})
	}
	for _, f := range []string{"fdtable_init", "vfscore_init"} {
		r = append(r, rule{"trace_boot_ctor_beg", f, Misc}, rule{"trace_boot_ctor_end", f, Vfscore})
	}
	r = append(r, rule{"trace_boot_alloc_beg", "", Misc}, rule{"trace_boot_alloc_end", "", Alloc})
	for _, x := range []struct {
		f string
		c Component
	}{
		{"uk_bus_init_all", Ukbus},
		// The same inittab entry in Unikraft 7fd6797 as built here: lib/ukbus/bus.c
		// registers the static uk_bus_lib_init, which calls uk_bus_init_all (the paper's
		// log names the latter), so a trace of ours names uk_bus_lib_init.
		{"uk_bus_lib_init", Ukbus},
		{"pthread_initcall", Pthreads}, {"liblwip_init", Lwip}, {"vfscore_rootfs", Rootfs},
	} {
		r = append(r, rule{"trace_boot_inittab_beg", x.f, Misc}, rule{"trace_boot_inittab_end", x.f, x.c})
	}
	return append(r, rule{"trace_boot_end", "", Misc})
}()

// Tracepoints that start and end a boot.
const (
	bootStart = "trace_boot_time_init"
	bootEnd   = "trace_boot_end"
)

// Boot is one guest boot found in a trace log.
type Boot struct {
	Line, EndLine int       // lines of trace_boot_time_init and trace_boot_end (1-based)
	Batch         string    // the "running batch …" label before it ("" when the log has none)
	EndNS         int64     // timestamp of trace_boot_end: the guest boot time in ns
	Components    Breakdown // µs per component for this boot
}

// Total is the boot's time up to main() in µs (the sum of its components).
func (b Boot) Total() float64 { return b.Components.Total() }

// Trace is one allocator's log, parsed.
type Trace struct {
	File  string // name used in error messages
	Boots []Boot
	// sum is parse.py's running sum per bucket, accumulated line by line over the whole
	// file. Mean divides it, so that the mean is the same float64 parse.py computed (summing
	// the per-boot values instead would associate the additions differently and could move a
	// rounded digit).
	sum Breakdown
}

// Mean is the mean over the boots per component in µs, computed as parse.py did.
func (t *Trace) Mean() Breakdown {
	var m Breakdown
	for i, s := range t.sum {
		m[i] = s / float64(len(t.Boots))
	}
	return m
}

// Totals are the per-boot totals in µs, in log order.
func (t *Trace) Totals() []float64 {
	xs := make([]float64, len(t.Boots))
	for i, b := range t.Boots {
		xs[i] = b.Total()
	}
	return xs
}

// Values are the per-boot values of component c in µs, in log order.
func (t *Trace) Values(c Component) []float64 {
	xs := make([]float64, len(t.Boots))
	for i, b := range t.Boots {
		xs[i] = b.Components[c]
	}
	return xs
}

var (
	traceLineRE = regexp.MustCompile(`^([0-9]+) ([A-Za-z_][A-Za-z0-9_]*):(?: (.*))?$`)
	functionRE  = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.]*)\(\)$`)
	traceNameRE = regexp.MustCompile(`^[A-Za-z0-9_]+`)
)

const batchPrefix = "running batch "

// ParseTrace reads one allocator's raw log. name is used in error messages (file:line).
//
// It applies parse.py's rules: a matched tracepoint adds (t − prev)/1000 µs to its bucket and
// sets prev = t; trace_boot_end adds to misc and resets prev to 0; every other trace line
// (other constructors, the scheduler, non-boot tracepoints) leaves prev alone, so its time is
// counted in the next matched bucket. Where parse.py skipped silently, ParseTrace fails with
// file:line and what was expected: a boot without its end or its start, a boot tracepoint
// outside a boot, a truncated trace line, a timestamp that is not a number or runs backwards,
// an unresolved function address, a batch without exactly one boot, a log without boots.
func ParseTrace(name string, r io.Reader) (*Trace, error) {
	p := traceParser{t: &Trace{File: name}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		if err := p.line(n, strings.TrimSuffix(sc.Text(), "\r")); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: after line %d: %w", name, n, err)
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return p.t, nil
}

type traceParser struct {
	t *Trace

	open      bool  // inside a boot (time_init seen, boot_end not yet)
	boot      Boot  // the boot being read
	prev      int64 // parse.py's prev: time of the last matched line, 0 after boot_end
	last      int64 // time of the last trace_boot line of the open boot (monotonicity)
	lastEnd   int   // line of the last trace_boot_end (for messages)
	batch     string
	batchLine int
	batchBoot int // boots completed in the current batch
}

func (p *traceParser) errorf(line int, format string, args ...any) error {
	return figure.Errorf(p.t.File, line, format, args...)
}

func (p *traceParser) line(n int, s string) error {
	if strings.HasPrefix(s, batchPrefix) {
		if err := p.endBatch(n); err != nil {
			return err
		}
		p.batch, p.batchLine, p.batchBoot = strings.TrimPrefix(s, batchPrefix), n, 0
		return nil
	}
	first, rest, _ := strings.Cut(s, " ")
	if !isDigits(first) {
		if strings.HasPrefix(rest, "trace_boot_") {
			return p.errorf(n, "timestamp %q of %s is not a decimal number of ns; expected `<ns> <tracepoint>: <arguments>` as printed by gdb's uk trace",
				first, traceNameRE.FindString(rest))
		}
		return nil // gdb chatter
	}
	m := traceLineRE.FindStringSubmatch(s)
	if m == nil {
		return p.errorf(n, "truncated trace line %q; expected `<ns> <tracepoint>: <arguments>` as printed by gdb's uk trace", s)
	}
	tp, args := m[2], m[3]
	if !strings.HasPrefix(tp, "trace_boot_") {
		return nil // another library's tracepoint: unmatched, as in parse.py
	}
	t, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return p.errorf(n, "timestamp %s of %s does not fit in 64 bits", m[1], tp)
	}
	fn := ""
	if strings.HasPrefix(tp, "trace_boot_ctor_") || strings.HasPrefix(tp, "trace_boot_inittab_") {
		if fn, err = p.function(n, tp, args); err != nil {
			return err
		}
	}
	if tp == bootStart {
		if p.open {
			return p.errorf(p.boot.Line, "boot has no %s: the next boot starts at line %d (was the trace cut short?)", bootEnd, n)
		}
		if p.batch != "" && p.batchBoot > 0 {
			return p.errorf(n, "second boot in batch %q (line %d); one batch is one VM boot, so its trace must hold one boot", p.batch, p.batchLine)
		}
		p.open, p.boot, p.prev, p.last = true, Boot{Line: n, Batch: p.batch}, 0, 0
	}
	if !p.open {
		where := "the beginning of the file"
		if p.lastEnd > 0 {
			where = fmt.Sprintf("the %s at line %d", bootEnd, p.lastEnd)
		}
		return p.errorf(n, "%s outside a boot: no %s since %s (the trace buffer may have wrapped; a boot's trace must start with %s)", tp, bootStart, where, bootStart)
	}
	if t < p.last {
		return p.errorf(n, "time runs backwards: %s at %d ns comes after a trace_boot line at %d ns", tp, t, p.last)
	}
	p.last = t
	for _, r := range rules {
		if r.tracepoint != tp || r.function != fn {
			continue
		}
		d := float64(t-p.prev) / 1000
		p.t.sum[r.bucket] += d
		p.boot.Components[r.bucket] += d
		p.prev = t
		break
	}
	if tp == bootEnd {
		p.boot.EndLine, p.boot.EndNS = n, t
		p.t.Boots = append(p.t.Boots, p.boot)
		p.open, p.prev, p.lastEnd = false, 0, n
		p.batchBoot++
	}
	return nil
}

// function checks the argument of a constructor or inittab tracepoint: "<name>()" after the
// addresses were resolved. An unresolved address would silently count as an untracked
// function, so it is an error.
func (p *traceParser) function(n int, tp, args string) (string, error) {
	if m := functionRE.FindStringSubmatch(args); m != nil {
		return m[1], nil
	}
	if strings.HasPrefix(args, "0x") || strings.HasPrefix(args, "??") {
		return "", p.errorf(n, "%s argument %q is not resolved to a function name; resolve the addresses with addr2line -e <kernel.dbg> -fp before parsing", tp, args)
	}
	return "", p.errorf(n, "%s argument %q: expected a function name followed by ()", tp, args)
}

// endBatch checks that the batch ending at line n (or at the end of the file, n = 0) held
// exactly one complete boot.
func (p *traceParser) endBatch(n int) error {
	if p.open {
		next := "the end of the file"
		if n > 0 {
			next = fmt.Sprintf("the next batch at line %d", n)
		}
		return p.errorf(p.boot.Line, "boot has no %s before %s (the guest did not reach main(), or the trace was cut short)", bootEnd, next)
	}
	if p.batch != "" && p.batchBoot == 0 {
		return p.errorf(p.batchLine, "batch %q holds no boot trace (no %s … %s from uk trace); the VM or gdb failed for this boot", p.batch, bootStart, bootEnd)
	}
	return nil
}

func (p *traceParser) finish() error {
	if err := p.endBatch(0); err != nil {
		return err
	}
	if len(p.t.Boots) == 0 {
		return p.errorf(0, "no boot found: expected lines `<ns> %s: ` … `<ns> %s: ` from gdb's uk trace", bootStart, bootEnd)
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// traceFileRE matches a raw log's file name, <alloc>-<digits>.txt, as parse.py's
// re.match(r"(\w+)-(\d+).txt") did (with the dot made literal and the match anchored).
var traceFileRE = regexp.MustCompile(`^(\w+)-(\d+)\.txt$`)

// TraceFileName is the name a run gives the raw log of allocator alloc started at stamp
// (the original's ddmmYYYYHHMMSS or any other run of digits).
func TraceFileName(alloc, stamp string) string { return alloc + "-" + stamp + ".txt" }

// splitTraceName returns the allocator and timestamp of a raw log's file name.
func splitTraceName(base string) (alloc, stamp string, ok bool) {
	m := traceFileRE.FindStringSubmatch(base)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}
