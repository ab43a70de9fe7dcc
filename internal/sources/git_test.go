package sources

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// literalTree writes a tree object byte for byte as given (git's own tools would normalise the
// mode), the way old tools wrote some trees that are now part of real histories.
func literalTree(t *testing.T, work, mode, name, id string) string {
	t.Helper()
	raw, err := hex.DecodeString(id)
	if err != nil {
		t.Fatal(err)
	}
	body := append([]byte(mode+" "+name+"\x00"), raw...)
	cmd := exec.Command("git", "hash-object", "-t", "tree", "--literally", "-w", "--stdin")
	cmd.Dir = work
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hash-object: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// oddRepo is a mirror of one repository whose single commit has a root tree made by
// literalTree, with an entry of the given mode and name pointing at an ordinary subtree.
func oddRepo(t *testing.T, mode, name string) (mirror, commit string) {
	t.Helper()
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	os.MkdirAll(filepath.Join(work, "src"), 0o755)
	gitCmd(t, work, "init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(work, "src", "a.c"), []byte("int a;\n"), 0o644)
	gitCmd(t, work, "add", "-A")
	sub := gitCmd(t, work, "write-tree")
	sub = gitCmd(t, work, "rev-parse", sub+":src")
	root := literalTree(t, work, mode, name, sub)
	commit = gitCmd(t, work, "commit-tree", "-m", "old tool", root)
	gitCmd(t, work, "update-ref", "refs/heads/main", commit)
	gitCmd(t, work, "tag", "5.0.6")

	mirror = filepath.Join(dir, "mirror")
	os.MkdirAll(filepath.Join(mirror, "git", "example.org", "team"), 0o755)
	gitCmd(t, dir, "clone", "-q", "--bare", "--no-hardlinks", work, filepath.Join(mirror, "git", "example.org", "team", "old.git"))
	return mirror, commit
}

func oddManifest(t *testing.T, git string) *Manifest {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sources.json")
	os.WriteFile(p, []byte(`{"sources": [{"name": "old", "figures": ["fig_08"], "git": {"url": "https://example.org/team/old.git", `+git+`, "pin_source": "fixture"}}]}`), 0o644)
	m, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// redis's history holds a tree whose directory mode is spelt "040000"; git's fsck calls that
// zeroPaddedFilemode. Such a repository is fetched, pinned and exported, by commit and by a tag
// trusted on first use (how containers/sources.json names redis).
func TestZeroPaddedModeTreeIsFetched(t *testing.T) {
	mirror, commit := oddRepo(t, "040000", "src")
	if out, err := exec.Command("git", "-C", filepath.Join(mirror, "git", "example.org", "team", "old.git"), "fsck").CombinedOutput(); err == nil &&
		!strings.Contains(string(out), "zeroPaddedFilemode") {
		t.Fatalf("the fixture does not have the property under test: git fsck says %s", out)
	}
	for _, pin := range []string{fmt.Sprintf("%q: %q", "commit", commit), `"ref": "5.0.6", "trust_on_first_use": true`} {
		cache := t.TempDir()
		set, err := Fetch(context.Background(), oddManifest(t, pin), Options{Cache: cache, Mirror: mirror, HTTP: noNetwork(t), Log: quietLog()})
		if err != nil {
			t.Fatalf("%s: %v", pin, err)
		}
		r, _ := set.Get("old")
		if r.Commit != commit {
			t.Errorf("%s: commit %s, want %s", pin, r.Commit, commit)
		}
		if b, err := os.ReadFile(filepath.Join(r.Dir, "src", "a.c")); err != nil || string(b) != "int a;\n" {
			t.Errorf("%s: exported tree: a.c = %q, %v", pin, b, err)
		}
		if got := gitCmd(t, filepath.Join(cache, "git", "example.org", "team", "old.git"), "rev-parse", "refs/pins/"+commit); got != commit {
			t.Errorf("%s: pin ref names %s", pin, got)
		}
	}
}

// The other checks stay on: a tree with a ".git" entry (fsck's hasDotgit, an error) is
// refused, and so is a mirror whose commit object was rewritten under its old id.
func TestFetchStillChecksObjects(t *testing.T) {
	mirror, commit := oddRepo(t, "40000", ".git")
	_, err := Fetch(context.Background(), oddManifest(t, fmt.Sprintf("%q: %q", "commit", commit)), Options{Cache: t.TempDir(), Mirror: mirror, HTTP: noNetwork(t), Log: quietLog()})
	if err == nil || !strings.Contains(err.Error(), "hasDotgit") {
		t.Errorf("a tree with a .git entry: err = %v, want fsck's hasDotgit", err)
	}

	mirror, commit = oddRepo(t, "040000", "src")
	bare := filepath.Join(mirror, "git", "example.org", "team", "old.git")
	body := gitCmd(t, bare, "cat-file", "commit", commit) + "\n"
	forged := strings.Replace(body, "old tool", "new tool", 1)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	fmt.Fprintf(zw, "commit %d\x00%s", len(forged), forged)
	zw.Close()
	obj := filepath.Join(bare, "objects", commit[:2], commit[2:])
	os.Chmod(obj, 0o644)
	if err := os.WriteFile(obj, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Fetch(context.Background(), oddManifest(t, fmt.Sprintf("%q: %q", "commit", commit)), Options{Cache: t.TempDir(), Mirror: mirror, HTTP: noNetwork(t), Log: quietLog()})
	if err == nil || !strings.Contains(err.Error(), commit) {
		t.Errorf("a rewritten commit object: err = %v, want the fetch of %s refused", err, commit)
	}
	t.Logf("rewritten commit refused with: %v", err)
}
