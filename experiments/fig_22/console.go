package fig22

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// Iterations is how many open() calls the benchmark times per line (TEST_COUNT in main.c).
const Iterations = 1000

// rnd4kHash is the SHA-256 of the 4 KiB test file: its name in both initrds and its
// hash in the SHFS volume. An error message naming it means the file-exists case failed.
const rnd4kHash = "7e022976e3522c64794e5a5f2e74fa2cf7e107e99848a6b5f94c9ee9e88a86f1"

// Probe is one line the benchmark prints per boot: a file-system interface and a case.
type Probe struct {
	Bench string // "SHFS" (shfs_fio_open) or "VFS" (open)
	Case  Case
}

// Line is the probe's console line up to its value, as the benchmark prints it.
func (p Probe) Line() string {
	return fmt.Sprintf("%s,%s,iterations:%d,avg:", p.Bench, p.Case.consolePath(), Iterations)
}

// Probes returns the lines expected in every console log of the VM labelled console.
func Probes(console string) []Probe {
	var ps []Probe
	for _, s := range AllSeries {
		if s.Console == console {
			for _, c := range Cases {
				ps = append(ps, Probe{s.Bench, c})
			}
		}
	}
	return ps
}

// benchLine is the benchmark's result line:
// "VFS,/rnd4k,iterations:1000,avg:1637.440". The fraction is printed without zero
// padding (".44" can mean .044), which is one reason only the integer part is used.
var benchLine = regexp.MustCompile(`^(SHFS|VFS),(<n/a>|/rnd4k),iterations:([0-9]+),avg:([0-9]+)\.([0-9]+)$`)

// escapes are the terminal escape sequences the original stripped from the typescripts
// (perl -pe 's/\e([^\[\]]|\[.*?[a-zA-Z]|\].*?\a)//g').
var escapes = regexp.MustCompile(`\x1b([^\[\]]|\[.*?[a-zA-Z]|\].*?\x07)`)

// ParseConsole reads the console log of one VM boot and returns, for each probe in want, the
// integer part of the average cycles per open() (parse.sh's grep kept only the digits before
// the point). Terminal escapes, carriage returns and backspaces are resolved as the
// original's perl | col -b did. Every probe must appear exactly once; a line that starts
// like a result line but does not parse, a probe that is not expected from this VM, and a
// file-exists measurement preceded by an error opening the file are errors naming the line.
func ParseConsole(file string, r io.Reader, want []Probe) (map[Probe]float64, error) {
	wanted := map[Probe]bool{}
	for _, p := range want {
		wanted[p] = true
	}
	got := map[Probe]float64{}
	at := map[Probe]int{}
	// failure is the last error message of the benchmark since its previous result line:
	// it belongs to the measurement the next result line reports.
	failure, failureLine := "", 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	n := 0
	for sc.Scan() {
		n++
		text := strings.TrimRight(overstrike(escapes.ReplaceAllString(sc.Text(), "")), " \t")
		if strings.Contains(text, "descriptors were not opened") || strings.Contains(text, "/"+rnd4kHash+": ") {
			failure, failureLine = strings.TrimSpace(text), n
			continue
		}
		if !strings.HasPrefix(text, "SHFS,") && !strings.HasPrefix(text, "VFS,") {
			continue
		}
		m := benchLine.FindStringSubmatch(text)
		if m == nil {
			return nil, figure.Errorf(file, n, "malformed benchmark line %q: expected <SHFS|VFS>,<<n/a>|/rnd4k>,iterations:%d,avg:<int>.<frac>", text, Iterations)
		}
		p := Probe{Bench: m[1], Case: FileExists}
		if m[2] == NoFile.consolePath() {
			p.Case = NoFile
		}
		if it, err := strconv.Atoi(m[3]); err != nil || it != Iterations {
			return nil, figure.Errorf(file, n, "%s: %s iterations, expected %d: the guest runs a different benchmark build than this figure describes", p.Line(), m[3], Iterations)
		}
		if !wanted[p] {
			return nil, figure.Errorf(file, n, "unexpected benchmark line %q: this VM's log should hold only %s", text, probeList(want))
		}
		if first, dup := at[p]; dup {
			return nil, figure.Errorf(file, n, "duplicate benchmark line %s… (first on line %d): expected one per boot", p.Line(), first)
		}
		if p.Case == FileExists && failure != "" {
			return nil, figure.Errorf(file, n, "%s was measured on a failing open(): line %d says %q; the file must exist in the guest's file system (rebuild the initrd/SHFS image)", p.Line(), failureLine, failure)
		}
		avg, err := strconv.ParseUint(m[4], 10, 64)
		if err != nil {
			return nil, figure.Errorf(file, n, "average %q out of range", m[4])
		}
		got[p], at[p] = float64(avg), n
		failure = ""
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	for _, p := range want {
		if _, ok := at[p]; !ok {
			return nil, figure.Errorf(file, 0, "missing the benchmark line %s<int>.<frac> (did the guest crash or time out before printing it? see the rest of this log)", p.Line())
		}
	}
	return got, nil
}

// overstrike applies carriage returns and backspaces as a terminal (and col -b) does: a
// later character replaces the one already in its column.
func overstrike(s string) string {
	if !strings.ContainsAny(s, "\r\b") {
		return s
	}
	var out []rune
	col := 0
	for _, r := range s {
		switch r {
		case '\r':
			col = 0
		case '\b':
			if col > 0 {
				col--
			}
		default:
			if col < len(out) {
				out[col] = r
			} else {
				out = append(out, r)
			}
			col++
		}
	}
	return string(out)
}

func probeList(ps []Probe) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Line()+"…")
	}
	return strings.Join(s, ", ")
}

// consoleLog matches raw/<label>.<N>, the log of boot N (the original's eval/<label>.<N>).
var consoleLog = regexp.MustCompile(`^([a-z-]+)\.([0-9]+)$`)

// Boots holds per-boot values: series ID → case → one value per boot, in boot order.
type Boots map[string]map[Case][]float64

// ParseRaw reads every console log raw/<label>.<N> of the VMs in Consoles() and returns
// the per-boot integer averages of each series and case. Other files in dir (build logs,
// typescripts) are left alone. It returns nil when dir holds no console log at all;
// when some VM has logs and another has none, that is an error.
func ParseRaw(dir string) (Boots, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	type bootLog struct {
		n    int
		name string
	}
	logs := map[string][]bootLog{}
	seen := map[string]string{} // "<console>.<n>" → file name, to catch "linux.1" and "linux.01"
	for _, e := range entries {
		m := consoleLog.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() || len(Probes(m[1])) == 0 {
			continue
		}
		i, err := strconv.Atoi(m[2])
		if err != nil {
			return nil, fmt.Errorf("%s: boot number out of range", filepath.Join(dir, e.Name()))
		}
		key := fmt.Sprintf("%s.%d", m[1], i)
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("%s and %s: two console logs of boot %d of the %s VM; keep one", filepath.Join(dir, prev), filepath.Join(dir, e.Name()), i, m[1])
		}
		seen[key] = e.Name()
		logs[m[1]] = append(logs[m[1]], bootLog{i, e.Name()})
	}
	if len(logs) == 0 {
		return nil, nil
	}
	boots := Boots{}
	for _, console := range Consoles() {
		ls := logs[console]
		if len(ls) == 0 {
			return nil, fmt.Errorf("%s: no console log of the %s VM (expected %s.1 …), but the other VMs have logs: the run is incomplete; rerun the run step", dir, console, console)
		}
		sort.Slice(ls, func(a, b int) bool { return ls[a].n < ls[b].n })
		want := Probes(console)
		for _, l := range ls {
			file := filepath.Join(dir, l.name)
			vals, err := parseConsoleFile(file, want)
			if err != nil {
				return nil, err
			}
			for _, s := range AllSeries {
				if s.Console != console {
					continue
				}
				if boots[s.ID()] == nil {
					boots[s.ID()] = map[Case][]float64{}
				}
				for _, c := range Cases {
					boots[s.ID()][c] = append(boots[s.ID()][c], vals[Probe{s.Bench, c}])
				}
			}
		}
	}
	return boots, nil
}

func parseConsoleFile(file string, want []Probe) (map[Probe]float64, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseConsole(file, f, want)
}
