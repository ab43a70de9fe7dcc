package experiments

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/settings"
)

// The README's settings table is the one package settings describes: same variables, same
// order, same defaults, same meanings. To change a setting, change settings.Vars and paste
// the table this test prints.
func TestREADMESettingsTableIsTheSettingsPackages(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var table []string
	for _, line := range strings.Split(string(readme), "\n") {
		if line == "| variable | default | meaning |" || len(table) > 0 && strings.HasPrefix(line, "|") {
			table = append(table, line)
		} else if len(table) > 0 {
			break
		}
	}
	want := strings.Split(strings.TrimSuffix(settings.Table(), "\n"), "\n")
	if slices.Equal(table, want) {
		return
	}
	for i := range max(len(table), len(want)) {
		var got, w string
		if i < len(table) {
			got = table[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if got != w {
			t.Errorf("README.md's settings table, row %d:\n got %s\nwant %s", i+1, got, w)
			break
		}
	}
	t.Errorf("the settings table README.md should have (from settings.Vars):\n%s", settings.Table())
}

// readsEnvironment lists the files that may read the environment, relative to the
// repository root: the settings package and the magefile, which parse the settings once.
var readsEnvironment = []string{
	"internal/settings/",
	"magefile.go",
}

// No package outside the settings package and the magefile reads the environment:
// os.Getenv, os.LookupEnv, os.Environ or syscall's, as a call or as a value, in any Go
// file but tests. One use is not reading a setting and is allowed everywhere: a child
// process's environment built as `cmd.Env = append(os.Environ(), …)` (git and its
// GIT_*/LC_ALL variables), which passes the user's environment on unread.
func TestOnlyTheSettingsPackageReadsTheEnvironment(t *testing.T) {
	reads := envReads(t, "..")
	var inSettings bool
	for _, r := range reads {
		if !slices.ContainsFunc(readsEnvironment, func(p string) bool { return strings.HasPrefix(r.file, p) }) {
			t.Errorf("%s:%d reads the environment (%s): take the value from package settings, passed down by the magefile", r.file, r.line, r.call)
		}
		inSettings = inSettings || strings.HasPrefix(r.file, "internal/settings/")
	}
	if !inSettings {
		t.Errorf("the scan did not find the settings package's own reads (%v): it is broken", reads)
	}
}

type envRead struct {
	file, call string
	line       int
}

// envReads scans the Go files under root, tests excluded, for uses of the environment
// functions of os and syscall.
func envReads(t *testing.T, root string) []envRead {
	t.Helper()
	fset := token.NewFileSet()
	var out []envRead
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
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		pkgs := map[string]bool{} // local names of os and syscall in this file
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "os" || path == "syscall" {
				name := path
				if imp.Name != nil {
					name = imp.Name.Name
				}
				pkgs[name] = true
			}
		}
		childEnv := map[ast.Node]bool{} // the os.Environ() of `x.Env = append(os.Environ(), …)`
		ast.Inspect(f, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
				return true
			}
			if sel, ok := as.Lhs[0].(*ast.SelectorExpr); !ok || sel.Sel.Name != "Env" {
				return true
			}
			if call, ok := as.Rhs[0].(*ast.CallExpr); ok && len(call.Args) > 0 {
				if fn, ok := call.Fun.(*ast.Ident); ok && fn.Name == "append" {
					if env, ok := call.Args[0].(*ast.CallExpr); ok {
						childEnv[env.Fun] = true
					}
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok || !pkgs[pkg.Name] || !slices.Contains([]string{"Getenv", "LookupEnv", "Environ"}, sel.Sel.Name) {
				return true
			}
			if sel.Sel.Name == "Environ" && childEnv[sel] {
				return true
			}
			out = append(out, envRead{file: rel, line: fset.Position(sel.Pos()).Line, call: pkg.Name + "." + sel.Sel.Name})
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
