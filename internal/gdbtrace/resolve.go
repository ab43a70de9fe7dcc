package gdbtrace

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"regexp"
	"sort"
	"strconv"
)

// addrArgRE is a function address as uk trace prints a constructor's or an inittab entry's
// argument (format "%p()" with %p as 0x%016x): "0x00000000001081b0()".
var addrArgRE = regexp.MustCompile(`0x([0-9a-fA-F]+)\(\)`)

// traceLineRE is a trace line: "<digits> <tracepoint>: <arguments>". Only these are
// rewritten; gdb's chatter ("0x000000000000fff0 in ?? ()") is left as it is.
var traceLineRE = regexp.MustCompile(`^[0-9]+ [A-Za-z_][A-Za-z0-9_]*: `)

// Resolve replaces the function addresses in gdb's output ("0x…()" arguments of trace lines)
// with the names of the functions of image (the .dbg) that contain them, giving the lines
// the paper's addr2line step gave ("vfscore_init()"). It reads the ELF symbol table, so the
// names are the image's own (which function an inittab address is depends on the build). An
// address inside no function is an error: the trace does not belong to this image.
func Resolve(image string, out []byte) ([]byte, error) {
	syms, err := functions(image)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if traceLineRE.Match(line) {
			var rerr error
			line = addrArgRE.ReplaceAllFunc(line, func(m []byte) []byte {
				a, err := strconv.ParseUint(string(addrArgRE.FindSubmatch(m)[1]), 16, 64)
				name := ""
				if err == nil {
					name = syms.lookup(a)
				}
				if name == "" {
					if rerr == nil {
						rerr = fmt.Errorf("gdb trace: line %d: address %s is inside no function of %s (is it the image that ran?)", n, m[:len(m)-2], image)
					}
					return m
				}
				return []byte(name + "()")
			})
			if rerr != nil {
				return nil, rerr
			}
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("gdb trace: gdb output: %w", err)
	}
	return b.Bytes(), nil
}

type symbol struct {
	addr, size uint64
	name       string
	global     bool
}

type symtab []symbol // sorted by address, then global first, then name

func functions(image string) (symtab, error) {
	f, err := elf.Open(image)
	if err != nil {
		return nil, fmt.Errorf("gdb trace: symbols: %w", err)
	}
	defer f.Close()
	all, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("gdb trace: symbols of %s: %w (resolve from the unstripped .dbg image)", image, err)
	}
	var t symtab
	for _, s := range all {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value != 0 && s.Name != "" {
			t = append(t, symbol{s.Value, s.Size, s.Name, elf.ST_BIND(s.Info) != elf.STB_LOCAL})
		}
	}
	if len(t) == 0 {
		return nil, fmt.Errorf("gdb trace: %s has no function symbols (resolve from the unstripped .dbg image)", image)
	}
	sort.Slice(t, func(i, j int) bool {
		if t[i].addr != t[j].addr {
			return t[i].addr < t[j].addr
		}
		if t[i].global != t[j].global {
			return t[i].global
		}
		return t[i].name < t[j].name
	})
	return t, nil
}

// lookup names the function at a, or containing a; "" if none does. Of several symbols at
// one address (aliases) the global one wins, as addr2line's choice would not be stable.
func (t symtab) lookup(a uint64) string {
	i := sort.Search(len(t), func(i int) bool { return t[i].addr > a }) // first after a
	// The candidates are the symbols at the greatest address ≤ a; take the first of them.
	if i == 0 {
		return ""
	}
	at := t[i-1].addr
	j := sort.Search(i, func(j int) bool { return t[j].addr >= at })
	s := t[j]
	if a == s.addr || a < s.addr+s.size {
		return s.name
	}
	return ""
}
