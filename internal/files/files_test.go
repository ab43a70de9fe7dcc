package files

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCopyPlacesTheWholeFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "a", "b", "dst")
	if err := Copy(src, dst, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dst)
	if err != nil || string(b) != "hello\n" {
		t.Fatalf("copy holds %q, %v", b, err)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", fi.Mode().Perm())
	}
	// Only the copy is left in the directory: no temporary file.
	if ents, _ := os.ReadDir(filepath.Dir(dst)); len(ents) != 1 {
		t.Errorf("directory holds %v, want only dst", ents)
	}
	if err := Copy(filepath.Join(dir, "missing"), dst, 0o644); err == nil {
		t.Error("copying a missing file gave no error")
	}
	if b, _ := os.ReadFile(dst); string(b) != "hello\n" {
		t.Errorf("a failed copy changed dst: %q", b)
	}
}

func TestSHA256(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := SHA256(p)
	// SHA-256("abc"), FIPS 180-2 appendix B.1.
	if want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; err != nil || got != want {
		t.Errorf("SHA256 = %s, %v; want %s", got, err, want)
	}
	if _, err := SHA256(p + ".missing"); err == nil {
		t.Error("hashing a missing file gave no error")
	}
}

// Rel names a file below a run directory relative to it; anything else stays as it is.
func TestRel(t *testing.T) {
	for _, c := range []struct{ base, path, want string }{
		{"/r/.incomplete/1", "/r/.incomplete/1/raw/qemu/rep-01.json", "raw/qemu/rep-01.json"},
		{"", "/r/raw/x", "/r/raw/x"},
		{"/r/1", "/r/2/x", "/r/2/x"},
		{"/r/1", "/r/1", "."},
	} {
		if got := Rel(c.base, c.path); got != c.want {
			t.Errorf("Rel(%q, %q) = %q, want %q", c.base, c.path, got, c.want)
		}
	}
}
