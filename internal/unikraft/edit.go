package unikraft

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Edit inserts a statement as the first statement of a C function in a copy of a source tree.
//
// The paper's guests carry their boot markers in its own patches (tracepoints.patch,
// applied as a Step); a tree those patches do not fit (Unikraft 0.13.0) gets its marker from
// an Edit, which says what it does: which function, which statement, and why, and fails
// loudly when the function is not there (a different tree, a renamed function), so a guest
// can never be built without its marker.
type Edit struct {
	File      string `json:"file"`      // path in the tree, e.g. plat/kvm/x86/setup.c
	Function  string `json:"function"`  // C function whose body gets Statement first
	Statement string `json:"statement"` // one C statement, ending in ';'
	Why       string `json:"why"`       // for logs and the build record
}

// OutbStatement is a one-byte port write as a self-contained C statement: inline assembly
// that needs no header, so it compiles in any tree (Unikraft 0.5, 0.13, the test fixture)
// whatever its own outb() is called.
func OutbStatement(port, value int, comment string) string {
	return fmt.Sprintf(`__asm__ __volatile__("outb %%b0, %%w1" : : "a"((unsigned char)%d), "Nd"((unsigned short)%d)); /* %s */`,
		value, port, comment)
}

// Apply edits the file below root (a writable copy of the tree).
func (e Edit) Apply(root string) error {
	p := filepath.Join(root, filepath.FromSlash(e.File))
	src, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("edit %s: %w: the tree does not have the file the marker goes into", e.File, err)
	}
	out, n, err := InsertFirstStatement(src, e.Function, e.Statement)
	if err != nil {
		return fmt.Errorf("edit %s: %w", e.File, err)
	}
	if n == 0 {
		return fmt.Errorf("edit %s: no definition of %s() found: the tree is not the one this guest was written for "+
			"(the function was renamed or moved); the boot marker (%s) cannot be inserted", e.File, e.Function, e.Why)
	}
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	return os.WriteFile(p, out, st.Mode().Perm()|0o200)
}

// InsertFirstStatement inserts stmt right after the opening brace of every definition of the
// C function fn in src (a function under alternative #ifdef branches has one per branch) and
// returns the new source and the number of definitions changed. The statement goes on the
// brace's line, so every later line keeps its number (and debug information its lines).
//
// A definition is the name at brace depth 0, followed by a parameter list and then, after
// white space, comments or __attribute__((…)), an opening brace. Comments, string and
// character literals and preprocessor lines are skipped, so a prototype, a call, a macro or
// a mention in a comment is never taken for the definition.
func InsertFirstStatement(src []byte, fn, stmt string) ([]byte, int, error) {
	if !isIdent(fn) {
		return nil, 0, fmt.Errorf("function name %q is not a C identifier", fn)
	}
	if strings.ContainsAny(stmt, "\n") || !strings.HasSuffix(strings.TrimSpace(strings.Split(stmt, "/*")[0]), ";") {
		return nil, 0, fmt.Errorf("statement %q: expected one line ending in ';' (before an optional comment)", stmt)
	}
	s := scanner{src: src}
	var at []int // offsets just after the '{' of each definition
	depth := 0
	// Alternative #if branches may each open the same body ("#ifdef A / void f(int a) { /
	// #else / void f(long a) { / #endif"): every branch starts at the depth the #if had,
	// and after #endif the depth is the last branch's.
	var ifDepth []int
	for s.i < len(src) {
		if directive := s.directive(); directive != "" {
			switch directive {
			case "if", "ifdef", "ifndef":
				ifDepth = append(ifDepth, depth)
			case "else", "elif", "elifdef", "elifndef":
				if len(ifDepth) > 0 {
					depth = ifDepth[len(ifDepth)-1]
				}
			case "endif":
				if len(ifDepth) > 0 {
					ifDepth = ifDepth[:len(ifDepth)-1]
				}
			}
		}
		if s.skipNonCode() {
			continue
		}
		c := src[s.i]
		switch {
		case c == '{':
			depth++
			s.i++
		case c == '}':
			if depth > 0 {
				depth--
			}
			s.i++
		case isIdentStart(c):
			start := s.i
			for s.i < len(src) && isIdentChar(src[s.i]) {
				s.i++
			}
			if depth != 0 || string(src[start:s.i]) != fn || (start > 0 && isIdentChar(src[start-1])) {
				continue
			}
			if brace, ok := s.definitionBody(); ok {
				at = append(at, brace+1)
				s.i = brace + 1
				depth++
			}
		default:
			s.i++
		}
	}
	if len(at) == 0 {
		return src, 0, nil
	}
	var out bytes.Buffer
	prev := 0
	for _, off := range at {
		out.Write(src[prev:off])
		out.WriteString(" " + stmt)
		prev = off
	}
	out.Write(src[prev:])
	return out.Bytes(), len(at), nil
}

// scanner walks C source, skipping what is not code.
type scanner struct {
	src []byte
	i   int
}

// skipNonCode skips one comment, literal or preprocessor line at s.i and reports whether it did.
func (s *scanner) skipNonCode() bool {
	src, i := s.src, s.i
	switch {
	case bytes.HasPrefix(src[i:], []byte("//")):
		s.i = lineEnd(src, i)
	case bytes.HasPrefix(src[i:], []byte("/*")):
		end := bytes.Index(src[i+2:], []byte("*/"))
		if end < 0 {
			s.i = len(src)
		} else {
			s.i = i + 2 + end + 2
		}
	case src[i] == '"' || src[i] == '\'':
		q := src[i]
		j := i + 1
		for j < len(src) && src[j] != q && src[j] != '\n' {
			if src[j] == '\\' {
				j++
			}
			j++
		}
		s.i = min(j+1, len(src))
	case src[i] == '#' && atLineStart(src, i):
		// A preprocessor line, with its backslash continuations.
		j := i
		for {
			j = lineEnd(src, j)
			if j >= len(src) || j == 0 || src[j-1] != '\\' {
				break
			}
			j++
		}
		s.i = j
	default:
		return false
	}
	return true
}

// directive returns the name of the preprocessor directive at s.i ("ifdef", "endif", …), or
// "" when s.i is not at one. It does not move s.i.
func (s *scanner) directive() string {
	if s.src[s.i] != '#' || !atLineStart(s.src, s.i) {
		return ""
	}
	j := s.i + 1
	for j < len(s.src) && (s.src[j] == ' ' || s.src[j] == '\t') {
		j++
	}
	k := j
	for k < len(s.src) && isIdentChar(s.src[k]) {
		k++
	}
	return string(s.src[j:k])
}

// definitionBody is called just after the function's name: it reports the offset of the
// body's '{' when a parameter list and then (after white space, comments and attributes)
// a brace follow.
func (s *scanner) definitionBody() (int, bool) {
	save := s.i
	defer func() { s.i = save }()
	s.skipSpace()
	if s.i >= len(s.src) || s.src[s.i] != '(' {
		return 0, false
	}
	if !s.skipParens() {
		return 0, false
	}
	for {
		s.skipSpace()
		if s.i >= len(s.src) {
			return 0, false
		}
		switch {
		case s.src[s.i] == '{':
			return s.i, true
		case bytes.HasPrefix(s.src[s.i:], []byte("__attribute__")):
			s.i += len("__attribute__")
			s.skipSpace()
			if s.i >= len(s.src) || s.src[s.i] != '(' || !s.skipParens() {
				return 0, false
			}
		default:
			return 0, false // ';' (a prototype), ',' or anything else
		}
	}
}

// skipSpace skips white space, comments and preprocessor lines.
func (s *scanner) skipSpace() {
	for s.i < len(s.src) {
		switch c := s.src[s.i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			s.i++
		case bytes.HasPrefix(s.src[s.i:], []byte("//")) || bytes.HasPrefix(s.src[s.i:], []byte("/*")) ||
			c == '#' && atLineStart(s.src, s.i):
			s.skipNonCode()
		default:
			return
		}
	}
}

// skipParens skips a balanced (…) group starting at s.i, literals and comments included.
func (s *scanner) skipParens() bool {
	depth := 0
	for s.i < len(s.src) {
		if s.skipNonCode() {
			continue
		}
		switch s.src[s.i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				s.i++
				return true
			}
		}
		s.i++
	}
	return false
}

func lineEnd(src []byte, i int) int {
	j := bytes.IndexByte(src[i:], '\n')
	if j < 0 {
		return len(src)
	}
	return i + j
}

// atLineStart reports whether only blanks precede offset i on its line.
func atLineStart(src []byte, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch src[j] {
		case '\n':
			return true
		case ' ', '\t':
		default:
			return false
		}
	}
	return true
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }

func isIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}
