package fixturemirror

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/sources"
)

// fillWith is a fill function that writes one file under out and declares fixture.
func fillWith(fixture string) func(out, work string) (Manifest, string, error) {
	return func(out, work string) (Manifest, string, error) {
		if err := os.MkdirAll(filepath.Join(out, "archives"), 0o755); err != nil {
			return Manifest{}, "", err
		}
		err := os.WriteFile(filepath.Join(out, "archives", "a.zip"), []byte("zip"), 0o644)
		return Manifest{About: []string{"test"}, Fixture: fixture, Sources: []map[string]any{}}, "readme\n", err
	}
}

func TestWriteReplacesOnlyAFixtureMirror(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mirror")
	for i := 0; i < 2; i++ { // new, then over the earlier fixture mirror
		if err := Write(dir, fillWith("standin-1")); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, sources.MirrorManifest))
	if err != nil || !strings.HasPrefix(string(raw), "{\n  \"about\": [\n    \"test\"\n  ],\n  \"fixture\": \"standin-1\",") {
		t.Errorf("manifest.json: %v\n%s", err, raw)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "README.txt")); err != nil || string(b) != "readme\n" {
		t.Errorf("README.txt: %q, %v", b, err)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "precious.txt"), []byte("x"), 0o644)
	if err := Write(other, fillWith("standin-1")); err == nil || !strings.Contains(err.Error(), "not a fixture mirror") {
		t.Errorf("over another directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "precious.txt")); err != nil {
		t.Error("the other directory was touched")
	}
}

func TestWriteLeavesTheOldMirrorWhenFillFails(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "mirror")
	if err := Write(dir, fillWith("standin-1")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := Write(dir, func(out, work string) (Manifest, string, error) { return Manifest{}, "", boom }); !errors.Is(err, boom) {
		t.Errorf("err = %v; want boom", err)
	}
	if err := Write(dir, fillWith("")); err == nil || !strings.Contains(err.Error(), "declares no fixture name") {
		t.Errorf("manifest without a fixture name: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "archives", "a.zip")); err != nil {
		t.Errorf("the earlier mirror is gone: %v", err)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		t.Errorf("left beside the mirror: %v", entries)
	}
}

// The commit id depends only on the files and the Commit: two repositories made apart agree.
func TestGitRepoIsReproducible(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ctx := context.Background()
	files := map[string][]byte{"README.FIXTURE": []byte("FIXTURE\n"), "lib/a.c": []byte("int a;\n")}
	c := Commit{Message: "FIXTURE stand-in (test)", Date: time.Date(2020, 2, 9, 12, 0, 0, 0, time.UTC), Tag: "RELEASE-0.4"}
	var ids []string
	for _, d := range []string{t.TempDir(), t.TempDir()} {
		id, err := GitRepo(ctx, filepath.Join(d, "work"), filepath.Join(d, "bare.git"), files, c)
		if err != nil {
			t.Fatal(err)
		}
		tag, err := exec.Command("git", "-C", filepath.Join(d, "bare.git"), "rev-parse", "RELEASE-0.4^{commit}").Output()
		if err != nil || strings.TrimSpace(string(tag)) != id {
			t.Errorf("tag RELEASE-0.4 in the bare clone: %q, %v; want %s", tag, err, id)
		}
		ids = append(ids, id)
	}
	if len(ids[0]) != 40 || ids[0] != ids[1] {
		t.Errorf("commits %v; want one 40-digit id twice", ids)
	}
	c.Date = c.Date.Add(time.Second)
	d := t.TempDir()
	if id, err := GitRepo(ctx, filepath.Join(d, "work"), filepath.Join(d, "bare.git"), files, c); err != nil || id == ids[0] {
		t.Errorf("another date gave %s, %v; want another commit", id, err)
	}
}
