package experiments

import (
	"os/exec"
	"strings"
	"testing"
)

// Every figure has the mage targets its README and the workflows name: plot and verify, and
// where it measures prepare, run, clean and all (fig22:run was once missing while fig22 ran it).
func TestEveryFigureHasItsTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the magefile")
	}
	cmd := exec.Command("go", "tool", "mage", "-l")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go tool mage -l: %v\n%s", err, out)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			listed[f[0]] = true
		}
	}
	for _, fig := range All {
		want := []string{"plot", "verify"}
		if fig.Pipeline != nil {
			want = append(want, "all", "prepare", "run", "clean")
		}
		for _, w := range want {
			if !listed[fig.ID+":"+w] {
				t.Errorf("%s:%s is not a target of the magefile", fig.ID, w)
			}
		}
	}
	for _, w := range []string{"all", "report", "paper"} {
		if !listed[w] {
			t.Errorf("%s is not listed by mage -l", w)
		}
	}
}
