package sources

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeManifestInto writes m's bytes, with a top-level "fixture" name when fixture is set, as
// the mirror's manifest.json.
func writeManifestInto(t *testing.T, m *Manifest, mirror, fixture string) {
	t.Helper()
	raw := string(m.raw)
	if fixture != "" {
		raw = strings.Replace(raw, "{", `{"fixture": "`+fixture+`",`, 1)
	}
	if err := os.WriteFile(filepath.Join(mirror, MirrorManifest), []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestManifestForKeepsTheRepositoryPinsUnlessTheMirrorIsAFixture(t *testing.T) {
	f := newFixture(t)
	real := f.manifest(t, "https://downloads.example.org")

	got, err := ManifestFor(real.path, "")
	if err != nil || got.Fixture != "" || got.path != real.path {
		t.Fatalf("no mirror: %v, %v; want the repository manifest", got, err)
	}
	got, err = ManifestFor(real.path, f.mirror)
	if err != nil || got.path != real.path {
		t.Fatalf("mirror without manifest.json: %v, %v; want the repository manifest", got, err)
	}

	// A mirror's own manifest that is not a fixture (what `sources:archive` writes) never
	// replaces the repository's pins, even when its pins differ.
	other := *real
	other.raw = []byte(strings.Replace(string(real.raw), f.c2, f.c1, 1))
	writeManifestInto(t, &other, f.mirror, "")
	got, err = ManifestFor(real.path, f.mirror)
	if err != nil || got.path != real.path || got.Sources[0].Git.Commit != f.c2 {
		t.Fatalf("mirror with a real manifest: %+v, %v; want the repository manifest with commit %s", got, err, f.c2)
	}

	writeManifestInto(t, real, f.mirror, "standin-1")
	got, err = ManifestFor(real.path, f.mirror)
	if err != nil || got.Fixture != "standin-1" || got.path != filepath.Join(f.mirror, MirrorManifest) {
		t.Fatalf("fixture mirror: %+v, %v; want the mirror's fixture manifest", got, err)
	}
}

func TestFixtureHasItsOwnCacheAndNeedsItsMirror(t *testing.T) {
	f := newFixture(t)
	writeManifestInto(t, f.manifest(t, "https://downloads.example.org"), f.mirror, "standin-1")
	m, err := ManifestFor("/nonexistent/sources.json", f.mirror)
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	if _, err := Fetch(context.Background(), m, Options{Cache: cache, HTTP: noNetwork(t), Log: quietLog()}); err == nil ||
		!strings.Contains(err.Error(), "fixture") || !strings.Contains(err.Error(), EnvMirror) {
		t.Fatalf("fixture without a mirror: %v; want an error naming %s", err, EnvMirror)
	}
	set, err := Fetch(context.Background(), m, Options{Cache: cache, Mirror: f.mirror, HTTP: noNetwork(t), Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if set.Fixture != "standin-1" || set.Cache != filepath.Join(cache, "fixtures", "standin-1") {
		t.Errorf("set = %q in %s; want fixture standin-1 in its own cache", set.Fixture, set.Cache)
	}
	// The fixture's trust-on-first-use records stay out of the real cache's pins.json.
	if _, err := os.Stat(filepath.Join(cache, "pins.json")); !os.IsNotExist(err) {
		t.Errorf("the real cache got a pins.json from a fixture fetch (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(set.Cache, "pins.json")); err != nil {
		t.Errorf("the fixture cache has no pins.json: %v", err)
	}
}

func TestManifestForReadsATarMirror(t *testing.T) {
	f := newFixture(t)
	m := f.manifest(t, "https://downloads.example.org")
	tarPath := filepath.Join(t.TempDir(), "mirror.tar")
	out, _ := os.Create(tarPath)
	tw := tar.NewWriter(out)
	body := strings.Replace(string(m.raw), "{", `{"fixture": "tarred",`, 1)
	tw.WriteHeader(&tar.Header{Name: archiveTop + "/", Mode: 0o755, Typeflag: tar.TypeDir})
	tw.WriteHeader(&tar.Header{Name: archiveTop + "/" + MirrorManifest, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write([]byte(body))
	tw.Close()
	out.Close()
	got, err := ManifestFor(m.path, tarPath)
	if err != nil || got.Fixture != "tarred" {
		t.Fatalf("tar mirror: %+v, %v", got, err)
	}
}

func TestFixtureNameIsChecked(t *testing.T) {
	_, err := Parse("m.json", []byte(`{"fixture": "../x", "sources": [{"name": "a", "figures": ["fig_08"],
  "git": {"url": "https://example.org/a.git", "commit": "0123456789012345678901234567890123456789", "pin_source": "t"}}]}`))
	if err == nil || !strings.Contains(err.Error(), "m.json:1: fixture name") {
		t.Fatalf("err = %v", err)
	}
}

func TestOnly(t *testing.T) {
	f := newFixture(t)
	m := f.manifest(t, "https://downloads.example.org")
	sub, err := m.Only("libarchive", "lib")
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Sources) != 2 || sub.Sources[0].Name != "lib" || sub.Sources[1].Name != "libarchive" {
		t.Errorf("Only = %+v; want lib, libarchive in manifest order", sub.Sources)
	}
	if len(m.Sources) != 5 {
		t.Errorf("Only changed the manifest")
	}
	if _, err := m.Only("nope"); err == nil || !strings.Contains(err.Error(), `no source "nope"`) {
		t.Errorf("unknown name: %v", err)
	}
}

// An archive given as SOURCES_MIRROR is unpacked; a symbolic link in it that leads outside
// the unpacked tree is refused, also when it climbs out through "../" steps.
func TestMirrorArchiveLinksStayInside(t *testing.T) {
	for _, c := range []struct {
		name, link string
		ok         bool
	}{
		{"unikraft-eurosys21-sources/git/x", "../../../../etc", false},
		{"unikraft-eurosys21-sources/abs", "/etc", false},
		{"up", "..", false},
		{"unikraft-eurosys21-sources/archives/a.zip", "../git/a.zip", true},
	} {
		file := filepath.Join(t.TempDir(), "mirror.tar")
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		tw.WriteHeader(&tar.Header{Name: c.name, Typeflag: tar.TypeSymlink, Linkname: c.link})
		tw.Close()
		os.WriteFile(file, b.Bytes(), 0o644)
		err := untarFile(context.Background(), file, t.TempDir())
		if (err == nil) != c.ok {
			t.Errorf("%s -> %s: err = %v, want ok = %v", c.name, c.link, err, c.ok)
		}
	}
}
