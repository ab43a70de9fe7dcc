package workflows

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// repoRoot is the checkout this package sits in (internal/workflows).
const repoRoot = "../.."

// lint runs actionlint on one workflow, or on the repository's workflows when content is nil,
// the way `go tool actionlint` does in the checkout, shellcheck included when it is installed.
func lint(t *testing.T, path string, content []byte) ([]*actionlint.Error, string) {
	t.Helper()
	opts := &actionlint.LinterOptions{WorkingDir: repoRoot}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = sc
	} else {
		t.Log("shellcheck is not installed: the run: scripts are not checked (.ci/run installs it)")
	}
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, opts)
	if err != nil {
		t.Fatal(err)
	}
	var errs []*actionlint.Error
	if content == nil {
		errs, err = l.LintRepository(repoRoot)
	} else {
		errs, err = l.Lint(path, content, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return errs, out.String()
}

func workflowFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, ".github", "workflows", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows under .github/workflows (%v)", err)
	}
	return files
}

// The repository's workflows pass actionlint with no finding.
func TestActionlint(t *testing.T) {
	workflowFiles(t)
	if errs, out := lint(t, "", nil); len(errs) > 0 {
		t.Errorf("actionlint found %d problem(s) in .github/workflows:\n%s", len(errs), out)
	}
}

// The linter as set up here does find a broken workflow: an undefined matrix key and, with
// shellcheck, an unquoted variable.
func TestActionlintFindsProblems(t *testing.T) {
	bad := []byte(`on: push
permissions:
  contents: read
jobs:
  a:
    runs-on: ubuntu-24.04
    steps:
      - run: echo ${{ matrix.fig }} $HOME/x
`)
	errs, out := lint(t, "bad.yml", bad)
	kinds := map[string]bool{}
	for _, e := range errs {
		kinds[e.Kind] = true
	}
	if !kinds["expression"] {
		t.Errorf("an undefined matrix key was not reported:\n%s", out)
	}
	if _, err := exec.LookPath("shellcheck"); err == nil && !kinds["shellcheck"] {
		t.Errorf("shellcheck is installed but an unquoted $HOME was not reported:\n%s", out)
	}
}

// uses: owner/repo[/path]@<40 hex digits> # v<version>
var pinned = regexp.MustCompile(`^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$`)

// Every action is pinned by full commit, with the release it is in a comment, so that what
// runs is what was reviewed and a reader still sees the version.
func TestActionsPinnedByCommit(t *testing.T) {
	uses := regexp.MustCompile(`^\s*(?:-\s+)?uses:\s*(.*)$`)
	n := 0
	for _, f := range workflowFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			m := uses.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			n++
			if ref := strings.TrimSpace(m[1]); !pinned.MatchString(ref) {
				t.Errorf("%s:%d: %q is not pinned as owner/repo@<full commit> # v<version>", filepath.Base(f), i+1, ref)
			}
		}
	}
	if n == 0 {
		t.Error("no uses: line found: the check read nothing")
	}
}

func TestPinnedPattern(t *testing.T) {
	for ref, want := range map[string]bool{
		"actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1": true,
		"actions/checkout@v7": false,
		"actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1":               false,
		"actions/checkout@3d3c42e5 # v7.0.1":                                      false,
		"github/codeql-action/init@3d3c42e5aac5ba805825da76410c181273ba90b1 # v3": true,
	} {
		if got := pinned.MatchString(ref); got != want {
			t.Errorf("pinned(%q) = %v, want %v", ref, got, want)
		}
	}
}
