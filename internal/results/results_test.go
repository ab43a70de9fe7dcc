package results

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRunLifecycle(t *testing.T) {
	root := t.TempDir()
	r, err := Create(root, "fig_10")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFile("qemu.csv", []byte("vmm_us\tguest_us\n1\t2\n")); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFile("raw/qemu-0.log", []byte("log")); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON("summary.json", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	// Not visible as latest before commit.
	if _, err := LatestDir(root, "fig_10"); !errors.Is(err, ErrNoRun) {
		t.Fatalf("latest before commit: %v", err)
	}
	final, err := r.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if final != filepath.Join(root, "fig_10", r.ID) {
		t.Errorf("final dir %s", final)
	}
	got, err := LatestDir(root, "fig_10")
	if err != nil || got != final {
		t.Fatalf("latest = %s, %v", got, err)
	}
	if b, _ := os.ReadFile(filepath.Join(got, "raw", "qemu-0.log")); string(b) != "log" {
		t.Error("raw log lost")
	}
	if _, err := os.Stat(filepath.Join(root, "fig_10", ".incomplete")); !os.IsNotExist(err) {
		t.Error(".incomplete left behind")
	}

	// A second run moves latest along.
	r2, _ := Create(root, "fig_10")
	if r2.ID == r.ID {
		t.Fatal("run ids must be unique")
	}
	final2, _ := r2.Commit()
	if got, _ := LatestDir(root, "fig_10"); got != final2 {
		t.Errorf("latest not moved: %s", got)
	}
}

func TestAbortKeepsWhatWasMeasured(t *testing.T) {
	root := t.TempDir()
	r, _ := Create(root, "fig_14")
	r.WriteFile("raw/tlsf.txt", []byte("trace"))
	dir := r.Abort()
	if dir != filepath.Join(root, "fig_14", "failed", r.ID) {
		t.Errorf("aborted into %s", dir)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "raw", "tlsf.txt")); string(b) != "trace" {
		t.Error("aborted run lost its raw data")
	}
	if _, err := LatestDir(root, "fig_14"); err == nil {
		t.Error("an aborted run must not become latest")
	}
	if _, err := os.Stat(filepath.Join(dir, ownerFile)); err == nil {
		t.Errorf("the aborted run keeps its owner record %s", ownerFile)
	}
}

// Errors made while a run was written name it under .incomplete/; once it was moved, Moved
// names it where it is (or, with ".", relative to it) and still wraps the error.
func TestMovedNamesTheRunWhereItIs(t *testing.T) {
	root := t.TempDir()
	r, _ := Create(root, "fig_22")
	from := r.Dir()
	err := fmt.Errorf("%s: no console log: %w", filepath.Join(from, "raw"), fs.ErrNotExist)
	to := r.Abort()
	moved := Moved(err, from, to)
	if want := filepath.Join(to, "raw") + ": no console log: file does not exist"; moved.Error() != want || !errors.Is(moved, fs.ErrNotExist) {
		t.Errorf("moved: %v, want %s", moved, want)
	}
	if got := Moved(err, from, ".").Error(); got != "raw: no console log: file does not exist" {
		t.Errorf("run-relative: %s", got)
	}
	if Moved(nil, from, to) != nil {
		t.Error("Moved(nil) is not nil")
	}
}

func TestWriteFileAtomicLeavesNoTemporaries(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.csv")
	for _, s := range []string{"one", "two"} {
		if err := WriteFileAtomic(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporaries left: %v", entries)
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Errorf("content %q", b)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "x"), nil, 0o644); err == nil {
		t.Error("writing into a missing directory must fail")
	}
}

func TestMarshalJSONDoesNotEscape(t *testing.T) {
	b, _ := MarshalJSON(map[string]string{"case": "<n/a>"})
	if string(b) != "{\n  \"case\": \"<n/a>\"\n}\n" {
		t.Errorf("%q", b)
	}
}

// Runs started at the same moment (one process with several goroutines, or several
// processes) get distinct ids, and all of them commit; latest ends up on one of them.
func TestConcurrentRunsGetDistinctIDs(t *testing.T) {
	root := t.TempDir()
	const n = 8
	runs := make([]*Run, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i], errs[i] = Create(root, "fig_10")
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for i, r := range runs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if ids[r.ID] {
			t.Fatalf("two runs share the id %s", r.ID)
		}
		ids[r.ID] = true
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = runs[i].Commit()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("commit: %v", err)
		}
	}
	latest, err := LatestDir(root, "fig_10")
	if err != nil || !ids[filepath.Base(latest)] {
		t.Errorf("latest = %s, %v", latest, err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "fig_10"))
	if len(entries) != n+1 { // n runs and latest; no temporaries, no .incomplete
		t.Errorf("left in fig_10: %v", entries)
	}
}

// An id used by a failed run is not given to a new run: aborting the new run would
// otherwise have nowhere to go and leave it under .incomplete.
func TestNewRunDoesNotReuseAFailedRunsID(t *testing.T) {
	root := t.TempDir()
	now := time.Now()
	// Failed runs with this second's id and the next one's, so that the test means the
	// same whenever the clock ticks.
	failed := []string{NewID(now), NewID(now.Add(time.Second))}
	for _, id := range failed {
		if err := os.MkdirAll(filepath.Join(root, "fig_14", "failed", id), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Create(root, "fig_14")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(failed, r.ID) {
		t.Errorf("new run got a failed run's id %s", r.ID)
	}
}

func TestLatestLinkProblemsSayWhatToDo(t *testing.T) {
	root := t.TempDir()
	fig := filepath.Join(root, "fig_22")
	os.MkdirAll(fig, 0o755)
	// A dangling link names its target.
	os.Symlink("20990101T000000Z", filepath.Join(fig, Latest))
	if _, err := LatestDir(root, "fig_22"); !errors.Is(err, ErrNoRun) || !strings.Contains(err.Error(), "20990101T000000Z") {
		t.Errorf("dangling latest: %v", err)
	}
	// An absolute target made by hand is followed.
	run := t.TempDir()
	os.Remove(filepath.Join(fig, Latest))
	os.Symlink(run, filepath.Join(fig, Latest))
	if got, err := LatestDir(root, "fig_22"); err != nil || got != run {
		t.Errorf("absolute latest: %s, %v; want %s", got, err, run)
	}
	// A latest that is not a link (copied without links) is not "no run": it says so.
	os.Remove(filepath.Join(fig, Latest))
	os.Mkdir(filepath.Join(fig, Latest), 0o755)
	if _, err := LatestDir(root, "fig_22"); err == nil || !strings.Contains(err.Error(), "not a symbolic link") {
		t.Errorf("latest as a directory: %v", err)
	}
}
