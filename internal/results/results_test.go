package results

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
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
