package experiments

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Every environment variable the code reads is in the README's settings table. The variables
// are found in the Go sources (test files excluded, the magefile included): the arguments of
// os.Getenv and os.LookupEnv, resolved through constants; where the argument is a parameter,
// the arguments of every call of that helper (lookBinary(…, "QEMU", …)); where it is a loop
// variable, the names listed in the function and the package variables it uses.
func TestREADMEListsEveryVariableTheCodeReads(t *testing.T) {
	read := envReads(t, "..")
	if len(read) < 10 {
		t.Fatalf("found only %v: the scan is broken", read)
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]bool{}
	row := regexp.MustCompile("^\\|([^|]*)\\|")
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	for _, line := range strings.Split(string(readme), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			for _, n := range name.FindAllStringSubmatch(m[1], -1) {
				table[n[1]] = true
			}
		}
	}
	for _, v := range read {
		if !table[v] {
			t.Errorf("the code reads %s, which the README's settings table does not list", v)
		}
	}
}

var envName = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

// envReads scans the Go files under root for the environment variables they read.
func envReads(t *testing.T, root string) []string {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != root || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Constants and package variables by name (names clash rarely enough across packages
	// for this purpose; a clash could only add names, never hide one).
	consts := map[string][]string{}
	vars := map[string]ast.Node{}
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, sp := range g.Specs {
				vs, ok := sp.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, n := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					if g.Tok == token.CONST {
						if s, ok := literal(vs.Values[i]); ok {
							consts[n.Name] = append(consts[n.Name], s)
						}
					} else {
						vars[n.Name] = vs.Values[i]
					}
				}
			}
		}
	}
	names := map[string]bool{}
	resolve := func(e ast.Expr) []string {
		if s, ok := literal(e); ok {
			return []string{s}
		}
		switch x := e.(type) {
		case *ast.Ident:
			return consts[x.Name]
		case *ast.SelectorExpr:
			return consts[x.Sel.Name]
		}
		return nil
	}
	// listed adds every variable-like name a node spells, directly or through constants and
	// the package variables it uses.
	var listed func(n ast.Node, seen map[string]bool)
	listed = func(n ast.Node, seen map[string]bool) {
		ast.Inspect(n, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.BasicLit:
				if s, ok := literal(x); ok && envName.MatchString(s) {
					names[s] = true
				}
			case *ast.Ident, *ast.SelectorExpr:
				for _, s := range resolve(x.(ast.Expr)) {
					if envName.MatchString(s) {
						names[s] = true
					}
				}
				if id, ok := x.(*ast.Ident); ok && vars[id.Name] != nil && !seen[id.Name] {
					seen[id.Name] = true
					listed(vars[id.Name], seen)
				}
			}
			return true
		})
	}
	var helpers []struct {
		name string
		arg  int
	}
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			var params []string
			for _, fld := range fn.Type.Params.List {
				for _, n := range fld.Names {
					params = append(params, n.Name)
				}
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || !isEnvRead(call) || len(call.Args) == 0 {
					return true
				}
				arg := call.Args[0]
				if vs := resolve(arg); len(vs) > 0 {
					for _, v := range vs {
						names[v] = true
					}
					return true
				}
				if id, ok := arg.(*ast.Ident); ok && slices.Contains(params, id.Name) {
					helpers = append(helpers, struct {
						name string
						arg  int
					}{fn.Name.Name, slices.Index(params, id.Name)})
					return true
				}
				listed(fn.Body, map[string]bool{})
				return true
			})
		}
	}
	for _, h := range helpers {
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) <= h.arg {
					return true
				}
				if id, ok := call.Fun.(*ast.Ident); ok && id.Name == h.name {
					for _, v := range resolve(call.Args[h.arg]) {
						names[v] = true
					}
				}
				return true
			})
		}
	}
	var out []string
	for n := range names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func isEnvRead(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "os" && (sel.Sel.Name == "Getenv" || sel.Sel.Name == "LookupEnv")
}

func literal(e ast.Expr) (string, bool) {
	l, ok := e.(*ast.BasicLit)
	if !ok || l.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(l.Value)
	return s, err == nil
}
