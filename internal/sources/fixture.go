package sources

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// MirrorManifest is the name of the manifest a mirror carries (Archive writes the real one
// there; a fixture mirror its own).
const MirrorManifest = "manifest.json"

// ManifestFor returns the manifest to fetch with: the repository's manifest file, unless
// mirror (SOURCES_MIRROR, may be empty) is a fixture mirror, i.e. carries a manifest.json
// that declares "fixture". Then the mirror's own manifest is returned: its pins are the
// fixture's commits and hashes, which the real manifest could never verify.
//
// Why this cannot weaken a real run: a mirror's manifest replaces the repository's only when
// it says it is a fixture, Fetch then uses a cache of its own (<cache>/fixtures/<name>), and
// everything built from it carries the fixture's name (Set.Fixture → the run's manifest →
// "FIXTURE" in plots and verdicts). A real mirror (an archive of `mage sources:archive`,
// or a directory) is always verified against the repository's pins.
func ManifestFor(file, mirror string) (*Manifest, error) {
	if mirror != "" {
		name, raw, err := readMirrorManifest(mirror)
		if err != nil {
			return nil, err
		}
		if raw != nil {
			m, err := Parse(name, raw)
			if err != nil {
				return nil, err
			}
			if m.Fixture != "" {
				return m, nil
			}
		}
	}
	return Load(file)
}

// readMirrorManifest returns the manifest.json a mirror carries (nil when it has none): at its
// top or under archiveTop, in a directory or in a tar(.gz) file.
func readMirrorManifest(mirror string) (string, []byte, error) {
	st, err := os.Stat(mirror)
	if err != nil {
		return "", nil, fmt.Errorf("sources: %s=%s: %w", EnvMirror, mirror, err)
	}
	if st.IsDir() {
		for _, p := range []string{filepath.Join(mirror, MirrorManifest), filepath.Join(mirror, archiveTop, MirrorManifest)} {
			b, err := os.ReadFile(p)
			if err == nil {
				return p, b, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", nil, fmt.Errorf("sources: %w", err)
			}
		}
		return "", nil, nil
	}
	f, err := os.Open(mirror)
	if err != nil {
		return "", nil, fmt.Errorf("sources: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if zr, err := gzip.NewReader(f); err == nil {
		defer zr.Close()
		r = zr
	} else if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", nil, err
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", nil, nil
		}
		if err != nil {
			return "", nil, fmt.Errorf("sources: %s=%s: not a directory or a readable tar archive: %w", EnvMirror, mirror, err)
		}
		clean := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if clean == MirrorManifest || clean == archiveTop+"/"+MirrorManifest {
			b, err := io.ReadAll(tr)
			if err != nil {
				return "", nil, err
			}
			return mirror + ":" + clean, b, nil
		}
	}
}

// Only returns the manifest restricted to the named sources, in manifest order; a name the
// manifest lacks is an error (a figure asking for a source nobody pinned).
func (m *Manifest) Only(names ...string) (*Manifest, error) {
	out := *m
	out.Sources = nil
	for _, n := range names {
		if _, ok := m.Source(n); !ok {
			where := m.path
			if m.Fixture != "" {
				where += " (fixture " + m.Fixture + ")"
			}
			return nil, fmt.Errorf("sources: %s has no source %q", where, n)
		}
	}
	for _, s := range m.Sources {
		if contains(names, s.Name) {
			out.Sources = append(out.Sources, s)
		}
	}
	return &out, nil
}
