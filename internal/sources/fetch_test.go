package sources

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// The tests build a fixture world in a temporary directory: real git repositories and real
// archives, served as a mirror directory (as SOURCES_MIRROR would) or over a local HTTP server
// (as upstream would). GitHub is not reachable here; nothing else is stood in for.

// fixture is an upstream repository with two commits and a tag, and two archives.
type fixture struct {
	dir     string
	work    string // working repository
	c1, c2  string // commits; tag v1.0 points at c1
	mirror  string // mirror directory: git/example.org/team/lib.git, archives/
	archive []byte // lib-1.0.tar.gz
	patch   []byte // fix.patch (trusted on first use)
}

func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.org", "GIT_AUTHOR_DATE=2021-02-15T10:00:00Z", "GIT_COMMITTER_DATE=2021-02-15T10:00:00Z")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	f.work = filepath.Join(f.dir, "work")
	os.MkdirAll(f.work, 0o755)
	gitCmd(t, f.work, "init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(f.work, "Makefile.uk"), []byte("$(eval $(call addlib,libfoo))\n"), 0o644)
	os.MkdirAll(filepath.Join(f.work, "scripts"), 0o755)
	os.WriteFile(filepath.Join(f.work, "scripts", "gen.sh"), []byte("#!/bin/sh\necho gen\n"), 0o755)
	os.Symlink("gen.sh", filepath.Join(f.work, "scripts", "link.sh"))
	gitCmd(t, f.work, "add", "-A")
	gitCmd(t, f.work, "commit", "-q", "-m", "one")
	f.c1 = gitCmd(t, f.work, "rev-parse", "HEAD")
	gitCmd(t, f.work, "tag", "v1.0")
	os.WriteFile(filepath.Join(f.work, "Makefile.uk"), []byte("# two\n"), 0o644)
	gitCmd(t, f.work, "commit", "-q", "-am", "two")
	f.c2 = gitCmd(t, f.work, "rev-parse", "HEAD")

	f.mirror = filepath.Join(f.dir, "mirror")
	os.MkdirAll(filepath.Join(f.mirror, "git", "example.org", "team"), 0o755)
	gitCmd(t, f.dir, "clone", "-q", "--bare", f.work, filepath.Join(f.mirror, "git", "example.org", "team", "lib.git"))

	f.archive = tarGz(t, map[string]string{"lib-1.0/README": "lib 1.0\n", "lib-1.0/src/a.c": "int a;\n"})
	f.patch = []byte("--- a/x\n+++ b/x\n")
	os.MkdirAll(filepath.Join(f.mirror, "archives"), 0o755)
	os.WriteFile(filepath.Join(f.mirror, "archives", "lib-1.0.tar.gz"), f.archive, 0o644)
	os.WriteFile(filepath.Join(f.mirror, "archives", "fix.patch"), f.patch, 0o644)
	return f
}

func tarGz(t *testing.T, files map[string]string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, name := range []string{"lib-1.0/README", "lib-1.0/src/a.c"} {
		body, ok := files[name]
		if !ok {
			continue
		}
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return b.Bytes()
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// manifest writes a manifest of the fixture: a strong git pin with a place, a tag and an
// abbreviated id trusted on first use, a pinned archive and a patch trusted on first use.
func (f *fixture) manifest(t *testing.T, baseURL string) *Manifest {
	t.Helper()
	body := fmt.Sprintf(`{
  "sources": [
    {"name": "lib", "figures": ["fig_10"],
     "git": {"url": "https://example.org/team/lib.git", "commit": %q, "pin_source": "fixture"},
     "place": {"path": "build/libfoo/%s.zip", "format": "zip", "prefix": "lib-%s/"}},
    {"name": "lib-tag", "figures": ["fig_08"],
     "git": {"url": "https://example.org/team/lib.git", "ref": "v1.0", "trust_on_first_use": true, "pin_source": "fixture"}},
    {"name": "lib-short", "figures": ["fig_08"],
     "git": {"url": "https://example.org/team/lib.git", "commit_prefix": %q, "trust_on_first_use": true, "pin_source": "fixture"}},
    {"name": "libarchive", "figures": ["fig_14"],
     "archive": {"url": "%s/lib-1.0.tar.gz", "sha256": %q, "sha256_source": "fixture", "path": "build/libbar/lib-1.0.tar.gz"}},
    {"name": "fix", "figures": ["fig_14"],
     "archive": {"url": "%s/patch/raw/", "file": "fix.patch", "sha256": "", "trust_on_first_use": true, "sha256_source": "none"}}
  ]
}
`, f.c2, f.c2, f.c2, f.c2[:7], baseURL, sha(f.archive), baseURL)
	p := filepath.Join(t.TempDir(), "sources.json")
	os.WriteFile(p, []byte(body), 0o644)
	m, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// noNetwork fails the test if a download is attempted.
func noNetwork(t *testing.T) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("network used with a mirror: %s", r.URL)
		return nil, errors.New("no network in this test")
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func quietLog() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func TestFetchFromMirrorVerifiesAndPlaces(t *testing.T) {
	f := newFixture(t)
	m := f.manifest(t, "https://downloads.example.org")
	cache := t.TempDir()
	var progress bytes.Buffer
	set, err := Fetch(context.Background(), m, Options{Cache: cache, Mirror: f.mirror, HTTP: noNetwork(t), Log: quietLog(), Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	lib, _ := set.Get("lib")
	if lib.Commit != f.c2 || lib.Pin != "commit" {
		t.Errorf("lib = %+v, want commit %s", lib, f.c2)
	}
	b, err := os.ReadFile(filepath.Join(lib.Dir, "Makefile.uk"))
	if err != nil || string(b) != "# two\n" {
		t.Errorf("tree of %s: Makefile.uk = %q, %v", f.c2, b, err)
	}
	st, _ := os.Stat(filepath.Join(lib.Dir, "scripts", "gen.sh"))
	if st == nil || st.Mode().Perm() != 0o555 {
		t.Errorf("executable in the tree has mode %v, want read-only 0555", st.Mode())
	}
	if target, _ := os.Readlink(filepath.Join(lib.Dir, "scripts", "link.sh")); target != "gen.sh" {
		t.Errorf("symlink in tree -> %q", target)
	}
	if err := os.WriteFile(filepath.Join(lib.Dir, "Makefile.uk"), []byte("edit"), 0o644); err == nil && os.Geteuid() != 0 {
		t.Errorf("a file of the pinned tree is writable")
	}

	tag, _ := set.Get("lib-tag")
	short, _ := set.Get("lib-short")
	if tag.Commit != f.c1 || !strings.Contains(tag.Pin, "trusted on first use of ref v1.0") {
		t.Errorf("lib-tag = %+v, want %s trusted on first use", tag, f.c1)
	}
	if short.Commit != f.c2 || !strings.Contains(short.Pin, "abbreviated commit "+f.c2[:7]) {
		t.Errorf("lib-short = %+v, want %s", short, f.c2)
	}
	arch, _ := set.Get("libarchive")
	if arch.SHA256 != sha(f.archive) || arch.Pin != "sha256" {
		t.Errorf("libarchive = %+v", arch)
	}
	fix, _ := set.Get("fix")
	if fix.SHA256 != sha(f.patch) || fix.Pin != "sha256 trusted on first use (now)" {
		t.Errorf("fix = %+v", fix)
	}
	pins, err := readPins(filepath.Join(cache, "pins.json"))
	if err != nil || pins.Commits["lib-tag"].Commit != f.c1 || pins.Archives["fix.patch"].SHA256 != sha(f.patch) {
		t.Errorf("pins.json = %+v, %v", pins, err)
	}

	// The archives a Unikraft build would download land where its Makefile.uk looks.
	build := t.TempDir()
	if err := set.Place(build); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(build, "libbar", "lib-1.0.tar.gz"))
	if !bytes.Equal(got, f.archive) {
		t.Errorf("placed archive differs")
	}
	zr, err := zip.OpenReader(filepath.Join(build, "libfoo", f.c2+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, zf := range zr.File {
		names = append(names, zf.Name)
		if zf.Name == "lib-"+f.c2+"/Makefile.uk" {
			rc, _ := zf.Open()
			body, _ := io.ReadAll(rc)
			rc.Close()
			if string(body) != "# two\n" {
				t.Errorf("zip Makefile.uk = %q", body)
			}
		}
	}
	zr.Close()
	if !strings.Contains(strings.Join(names, " "), "lib-"+f.c2+"/scripts/gen.sh") {
		t.Errorf("zip entries %v lack the prefixed tree", names)
	}
	if err := set.Place(build, "lib-tag"); err == nil {
		t.Errorf("placing a source without a place succeeded")
	}

	// A second fetch finds everything in the cache and verifies it again.
	set2, err := Fetch(context.Background(), m, Options{Cache: cache, Mirror: f.mirror, HTTP: noNetwork(t), Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if fix2, _ := set2.Get("fix"); !strings.HasPrefix(fix2.Pin, "sha256 trusted on first use (20") {
		t.Errorf("second fetch of fix: %+v", fix2)
	}
}

// Upstream mode: git from the repository URL itself, archives over HTTP.
func TestFetchFromUpstream(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/lib-1.0.tar.gz":
			w.Write(f.archive)
		case "/patch/raw/":
			w.Write(f.patch)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	m := f.manifest(t, srv.URL)
	for i := range m.Sources {
		if g := m.Sources[i].Git; g != nil {
			g.URL = "file://" + f.work
		}
	}
	set, err := Fetch(context.Background(), m, Options{Cache: t.TempDir(), HTTP: srv.Client(), Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if lib, _ := set.Get("lib"); lib.Commit != f.c2 {
		t.Errorf("lib commit %s", lib.Commit)
	}
	if a, _ := set.Get("libarchive"); a.SHA256 != sha(f.archive) {
		t.Errorf("libarchive %+v", a)
	}
}

func TestTamperedArchiveIsRefusedAndNothingElseDeleted(t *testing.T) {
	f := newFixture(t)
	m := f.manifest(t, "https://downloads.example.org")
	cache := t.TempDir()
	if _, err := Fetch(context.Background(), m, Options{Cache: cache, Mirror: f.mirror, HTTP: noNetwork(t), Log: quietLog()}); err != nil {
		t.Fatal(err)
	}
	// The mirror's copy is tampered with, and the cached copy is gone (a new machine).
	tampered := append(append([]byte{}, f.archive...), 0)
	os.WriteFile(filepath.Join(f.mirror, "archives", "lib-1.0.tar.gz"), tampered, 0o644)
	os.Remove(filepath.Join(cache, "archives", "lib-1.0.tar.gz"))
	_, err := Fetch(context.Background(), m, Options{Cache: cache, Mirror: f.mirror, HTTP: noNetwork(t), Log: quietLog()})
	var mm *MismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("err = %v, want a MismatchError", err)
	}
	for _, want := range []string{sha(f.archive), sha(tampered), "rejected", "nothing else was deleted"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if kept, _ := os.ReadFile(mm.Kept); !bytes.Equal(kept, tampered) {
		t.Errorf("rejected file not kept at %q", mm.Kept)
	}
	if _, err := os.Stat(filepath.Join(cache, "archives", "lib-1.0.tar.gz")); err == nil {
		t.Errorf("the rejected download was put into the cache")
	}
	for _, keep := range []string{"archives/fix.patch", "pins.json", "git/example.org/team/lib.git/HEAD"} {
		if _, err := os.Stat(filepath.Join(cache, keep)); err != nil {
			t.Errorf("%s was deleted: %v", keep, err)
		}
	}
}

func TestTamperedCacheIsRefused(t *testing.T) {
	f := newFixture(t)
	m := f.manifest(t, "https://downloads.example.org")
	cache := t.TempDir()
	if _, err := Fetch(context.Background(), m, Options{Cache: cache, Mirror: f.mirror, HTTP: noNetwork(t), Log: quietLog()}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(cache, "archives", "fix.patch") // trusted on first use: the recorded hash guards it
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte("other patch\n"), 0o644)
	_, err := Fetch(context.Background(), m, Options{Cache: cache, Mirror: f.mirror, HTTP: noNetwork(t), Log: quietLog()})
	if err == nil || !strings.Contains(err.Error(), sha(f.patch)) || !strings.Contains(err.Error(), sha([]byte("other patch\n"))) {
		t.Errorf("err = %v, want a mismatch naming both hashes", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "other patch\n" {
		t.Errorf("the mismatching cached file was changed or deleted")
	}
}

func TestWrongCommitIsRefused(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t) // same layout, different history (other commit times would differ; content differs)
	os.WriteFile(filepath.Join(other.work, "x"), []byte("x"), 0o644)
	gitCmd(t, other.work, "add", "x")
	gitCmd(t, other.work, "commit", "-q", "-m", "foreign")
	foreign := gitCmd(t, other.work, "rev-parse", "HEAD")
	for _, commit := range []string{foreign, strings.Repeat("0", 40)} {
		m := f.manifest(t, "https://downloads.example.org")
		m.Sources[0].Git.Commit = commit
		m.Sources = m.Sources[:1]
		_, err := Fetch(context.Background(), m, Options{Cache: t.TempDir(), Mirror: f.mirror, HTTP: noNetwork(t), Log: quietLog()})
		if err == nil || !strings.Contains(err.Error(), commit) || !strings.Contains(err.Error(), "is not in") {
			t.Errorf("commit %s: err = %v, want it refused", commit, err)
		}
	}
}

// A ref trusted on first use stays at the recorded commit even when upstream moves the ref.
func TestTrustedRefDoesNotMove(t *testing.T) {
	f := newFixture(t)
	m := f.manifest(t, "https://downloads.example.org")
	cache := t.TempDir()
	if _, err := Fetch(context.Background(), m, Options{Cache: cache, Mirror: f.mirror, HTTP: noNetwork(t), Log: quietLog()}); err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(f.mirror, "git", "example.org", "team", "lib.git")
	gitCmd(t, bare, "tag", "-f", "v1.0", f.c2) // upstream force-moves the tag
	set, err := Fetch(context.Background(), m, Options{Cache: cache, Mirror: f.mirror, HTTP: noNetwork(t), Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if tag, _ := set.Get("lib-tag"); tag.Commit != f.c1 {
		t.Errorf("lib-tag moved to %s, want the recorded %s", tag.Commit, f.c1)
	}
}

func TestArchiveReplaysWithoutNetwork(t *testing.T) {
	f := newFixture(t)
	m := f.manifest(t, "https://downloads.example.org")
	cache := t.TempDir()
	out := filepath.Join(t.TempDir(), "sources-archive.tar")
	first, err := Archive(context.Background(), m, Options{Cache: cache, Mirror: f.mirror, HTTP: noNetwork(t), Log: quietLog()}, out)
	if err != nil {
		t.Fatal(err)
	}
	// The original mirror disappears: only the archive is left.
	os.RemoveAll(f.mirror)

	check := func(what string, set *Set) {
		t.Helper()
		for _, r := range first.Sources {
			got, ok := set.Get(r.Name)
			if !ok || got.Commit != r.Commit || got.SHA256 != r.SHA256 {
				t.Errorf("%s: %s = %+v, want %+v", what, r.Name, got, r)
			}
		}
	}
	fromTar, err := Fetch(context.Background(), m, Options{Cache: t.TempDir(), Mirror: out, HTTP: noNetwork(t), Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	check("replay of the tarball", fromTar)
	if tag, _ := fromTar.Get("lib-tag"); !strings.Contains(tag.Pin, "trusted on first use") {
		t.Errorf("replayed weak pin lost its provenance: %+v", tag)
	}

	unpacked := t.TempDir()
	if err := untarFile(context.Background(), out, unpacked); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(unpacked, archiveTop, "manifest.json"))
	if err != nil || !bytes.Equal(b, m.raw) {
		t.Errorf("archive's manifest.json differs from the manifest: %v", err)
	}
	fromDir, err := Fetch(context.Background(), m, Options{Cache: t.TempDir(), Mirror: unpacked, HTTP: noNetwork(t), Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	check("replay of the unpacked directory", fromDir)

	// A tampered archive inside the tarball is refused on replay.
	p := filepath.Join(unpacked, archiveTop, "archives", "lib-1.0.tar.gz")
	os.WriteFile(p, []byte("not the archive"), 0o644)
	_, err = Fetch(context.Background(), m, Options{Cache: t.TempDir(), Mirror: unpacked, HTTP: noNetwork(t), Log: quietLog()})
	var mm *MismatchError
	if !errors.As(err, &mm) || mm.Want != sha(f.archive) {
		t.Errorf("tampered replay: err = %v", err)
	}
}

func TestMirrorErrorsSayWhatIsMissing(t *testing.T) {
	f := newFixture(t)
	m := f.manifest(t, "https://downloads.example.org")
	os.Remove(filepath.Join(f.mirror, "archives", "fix.patch"))
	_, err := Fetch(context.Background(), m, Options{Cache: t.TempDir(), Mirror: f.mirror, HTTP: noNetwork(t), Log: quietLog()})
	if err == nil || !strings.Contains(err.Error(), "has no archives/fix.patch") {
		t.Errorf("err = %v", err)
	}
	empty := t.TempDir()
	_, err = Fetch(context.Background(), m, Options{Cache: t.TempDir(), Mirror: empty, HTTP: noNetwork(t), Log: quietLog()})
	if err == nil || !strings.Contains(err.Error(), "neither git/ nor archives/") {
		t.Errorf("err = %v", err)
	}
}

func TestRepoKey(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/unikraft/unikraft.git": "github.com/unikraft/unikraft",
		"https://github.com/skuenzer/lib-tlsf":     "github.com/skuenzer/lib-tlsf",
		"file:///tmp/x/work":                       "file/tmp/x/work",
	} {
		if got, err := repoKey(in); err != nil || got != want {
			t.Errorf("repoKey(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	if got, _ := repoKey("https://h/a/../../x"); got != "h/x" {
		t.Errorf("repoKey did not confine a path with .. to its host: %s", got)
	}
}

// The mage targets' entry points: an archive written by one replays as the mirror of the other.
func TestArchiveAllThenFetchAllFromIt(t *testing.T) {
	f := newFixture(t)
	m := f.manifest(t, "https://downloads.example.org")
	out := filepath.Join(t.TempDir(), "a.tar.gz")
	var b bytes.Buffer
	opt := Options{Cache: t.TempDir(), Mirror: f.mirror, Progress: &b, HTTP: noNetwork(t), Log: quietLog()}
	if _, err := ArchiveAll(context.Background(), m.path, opt, out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "sources: 5 verified") || !strings.Contains(b.String(), "replay with SOURCES_MIRROR="+out) {
		t.Errorf("ArchiveAll printed %q", b.String())
	}
	opt.Cache, opt.Mirror = t.TempDir(), out
	b.Reset()
	set, err := FetchAll(context.Background(), m.path, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Sources) != 5 || !strings.Contains(b.String(), "(3 on weaker pins") {
		t.Errorf("FetchAll from the gzip archive: %d sources, printed %q", len(set.Sources), b.String())
	}
}

// A dead upstream host that answers 200 with a parking page must not hide a mirror URL that
// serves the pinned archive; if no URL serves it, the mismatch is reported with both hashes.
func TestWrongFileFromFirstURLFallsBackToMirrors(t *testing.T) {
	f := newFixture(t)
	good := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/lib-1.0.tar.gz":
			w.Write([]byte("<html>this domain is for sale</html>"))
		case "/mirror/lib-1.0.tar.gz":
			if good {
				w.Write(f.archive)
			} else {
				w.Write([]byte("also wrong"))
			}
		case "/patch/raw/":
			w.Write(f.patch)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	m := f.manifest(t, srv.URL)
	for i := range m.Sources {
		if g := m.Sources[i].Git; g != nil {
			g.URL = "file://" + f.work
		}
		if a := m.Sources[i].Archive; a != nil && a.File == "lib-1.0.tar.gz" {
			a.Mirrors = []string{srv.URL + "/mirror/lib-1.0.tar.gz"}
		}
	}
	set, err := Fetch(context.Background(), m, Options{Cache: t.TempDir(), HTTP: srv.Client(), Log: quietLog()})
	if err != nil {
		t.Fatalf("the mirror URL serves the pinned file: %v", err)
	}
	if a, _ := set.Get("libarchive"); a.SHA256 != sha(f.archive) {
		t.Errorf("libarchive %+v", a)
	}

	good = false
	_, err = Fetch(context.Background(), m, Options{Cache: t.TempDir(), HTTP: srv.Client(), Log: quietLog()})
	var mm *MismatchError
	if !errors.As(err, &mm) || mm.Want != sha(f.archive) || mm.Got == "" {
		t.Fatalf("want a mismatch naming both hashes, got %v", err)
	}
}

// A partial mirror: every missing source is named in one message, with its upstream, its
// pin and where the mirror must hold it; the sources that are there are still fetched.
func TestPartialMirrorNamesEveryMissingSourceAtOnce(t *testing.T) {
	f := newFixture(t)
	m := f.manifest(t, "https://downloads.example.org")
	os.Remove(filepath.Join(f.mirror, "archives", "fix.patch"))
	os.Remove(filepath.Join(f.mirror, "archives", "lib-1.0.tar.gz"))
	set, err := Fetch(context.Background(), m, Options{Cache: t.TempDir(), Mirror: f.mirror, HTTP: noNetwork(t), Log: quietLog()})
	var fe *FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a *FetchError", err)
	}
	names, mismatch := Failed(err)
	if strings.Join(names, ",") != "libarchive,fix" || mismatch {
		t.Errorf("failed = %v (mismatch %v), want libarchive,fix and no mismatch", names, mismatch)
	}
	for _, want := range []string{
		"libarchive: the mirror", "https://downloads.example.org/lib-1.0.tar.gz", "sha256 " + sha(f.archive), "at archives/lib-1.0.tar.gz",
		"fix: the mirror", "sha256 trusted on first use", "at archives/fix.patch",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%s", want, err)
		}
	}
	if _, ok := set.Get("lib"); !ok || len(set.Sources) != 3 {
		t.Errorf("the git sources in the mirror were not fetched: %+v", set.Sources)
	}

	// A missing repository is named with its place under git/ and its commit.
	os.RemoveAll(filepath.Join(f.mirror, "git"))
	_, err = Fetch(context.Background(), m, Options{Cache: t.TempDir(), Mirror: f.mirror, HTTP: noNetwork(t), Log: quietLog()})
	for _, want := range []string{"- lib:", "commit " + f.c2, "at git/example.org/team/lib.git", "- lib-tag:", "ref v1.0 (trusted on first use)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%v", want, err)
		}
	}
}

// A weaker pin warns when its commit is first trusted; later fetches check it quietly.
func TestWeakerPinWarnsOnce(t *testing.T) {
	f := newFixture(t)
	m := f.manifest(t, "https://downloads.example.org")
	cache := t.TempDir()
	warnings := func() int {
		l := logrus.New()
		var out bytes.Buffer
		l.SetOutput(&out)
		if _, err := Fetch(context.Background(), m, Options{Cache: cache, Mirror: f.mirror, HTTP: noNetwork(t), Log: l, Progress: io.Discard}); err != nil {
			t.Fatal(err)
		}
		return strings.Count(out.String(), "weaker pin")
	}
	if n := warnings(); n != 2 {
		t.Errorf("first fetch: %d weaker-pin warnings, want 2 (lib-tag, lib-short)", n)
	}
	if n := warnings(); n != 0 {
		t.Errorf("second fetch: %d weaker-pin warnings, want none", n)
	}
}
