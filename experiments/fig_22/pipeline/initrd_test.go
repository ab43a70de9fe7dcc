package pipeline

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The initrds are read by Linux's and Unikraft's newc unpackers; GNU cpio lists them as
// those do, with every file under its name.
func TestWriteInitrdIsNewcThatCPIOReads(t *testing.T) {
	cpioBin, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("GNU cpio not installed")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "x.cpio")
	hash := strings.Repeat("ab", 32)
	if err := WriteInitrd(p, []Entry{{Name: hash, Data: []byte("4k")}, {Name: "init", Data: []byte("#!x"), Mode: 0o755}}, false); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if !bytes.HasPrefix(b, []byte("070701")) {
		t.Fatalf("not newc: %q", b[:6])
	}
	cmd := exec.Command(cpioBin, "-t", "-v", "-F", p)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -t: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "-rwxr-xr-x") || !strings.Contains(string(out), " init\n") || !strings.Contains(string(out), hash) {
		t.Fatalf("cpio -t lists:\n%s", out)
	}
}

func TestWriteInitrdIsReproducible(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.gz"), filepath.Join(dir, "b.gz")
	e := []Entry{{Name: "init", Data: []byte("x"), Mode: 0o755}, {Name: "f", Data: []byte("y")}}
	for _, p := range []string{a, b} {
		if err := WriteInitrd(p, e, true); err != nil {
			t.Fatal(err)
		}
		e[0], e[1] = e[1], e[0] // order of the entries does not matter
	}
	x, _ := os.ReadFile(a)
	y, _ := os.ReadFile(b)
	if !bytes.Equal(x, y) || len(x) == 0 {
		t.Fatal("same entries gave different initrds")
	}
}
