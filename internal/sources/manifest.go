// Package sources fetches the upstream sources the figures build from, at pinned commits and
// checksums, into a local cache; replays them from a mirror directory or from an archive it
// wrote itself; and places the archives that Unikraft libraries would download where their
// builds look for them, so that no build downloads anything unverified.
//
// The pins live in a data file (containers/sources.json), read by Load. Cache layout:
//
//	<cache>/git/<host>/<path>.git      bare repositories (refs/pins/<commit> keep the pins)
//	<cache>/trees/<name>-<commit12>/    the pinned tree of each git source (files read-only)
//	<cache>/archives/<file>             verified archives
//	<cache>/generated/<name>-<commit12>/<file>  archives made from a pinned tree
//	<cache>/pins.json                   what was trusted on first use (weaker pins)
//	<cache>/rejected/                   downloads that failed verification, for inspection
//
// A mirror (SOURCES_MIRROR) has the same git/ and archives/ layout, optionally with pins.json;
// Archive writes one.
package sources

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Manifest is the list of pinned upstream sources.
type Manifest struct {
	About []string `json:"about,omitempty"`
	// Fixture names a stand-in for the upstream sources (see ManifestFor); empty for the
	// real manifest. Whatever is built from a fixture is a test of the pipeline, never a
	// measurement of Unikraft, and carries this name into its results.
	Fixture string   `json:"fixture,omitempty"`
	Sources []Source `json:"sources"`

	path string // file it was read from
	raw  []byte // its bytes, written into archives as they are
}

// Source is one upstream: a git repository at a commit, or a downloadable archive.
type Source struct {
	Name    string    `json:"name"`
	Figures []string  `json:"figures"`
	Note    string    `json:"note,omitempty"`
	Git     *Git      `json:"git,omitempty"`
	Archive *Download `json:"archive,omitempty"`
	// Place makes an archive of a git source's tree for a library that downloads it.
	Place *Place `json:"place,omitempty"`
}

// Git pins a repository. Commit is the strong pin; Ref (a branch or tag the original used) and
// CommitPrefix (an abbreviated id) without Commit are weaker pins, allowed only with
// TrustOnFirstUse.
type Git struct {
	URL             string `json:"url"`
	Commit          string `json:"commit,omitempty"`
	Ref             string `json:"ref,omitempty"`
	CommitPrefix    string `json:"commit_prefix,omitempty"`
	TrustOnFirstUse bool   `json:"trust_on_first_use,omitempty"`
	PinSource       string `json:"pin_source"`
}

// Download pins a downloadable file (an archive or patch) by sha256. An empty SHA256 is allowed only with
// TrustOnFirstUse (no trustworthy value known).
type Download struct {
	URL             string   `json:"url"`
	Mirrors         []string `json:"mirrors,omitempty"`
	File            string   `json:"file,omitempty"` // cache file name; the URL's last element when empty
	SHA256          string   `json:"sha256"`
	SHA256Source    string   `json:"sha256_source"`
	TrustOnFirstUse bool     `json:"trust_on_first_use,omitempty"`
	// Path is where a Unikraft library's build downloads it: build/<library>/<file>,
	// relative to the application directory (empty: not placed, e.g. patches).
	Path string `json:"path,omitempty"`
}

// Place describes the archive made from a git source's tree.
type Place struct {
	Path   string `json:"path"`   // build/<library>/<file>
	Format string `json:"format"` // "zip"
	Prefix string `json:"prefix"` // top directory inside the archive, ending in "/"
}

// Figures the manifest may name.
var knownFigures = []string{"fig_08", "fig_10", "fig_14", "fig_22"}

var (
	hex40    = regexp.MustCompile(`^[0-9a-f]{40}$`)
	hex64    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hexShort = regexp.MustCompile(`^[0-9a-f]{4,39}$`)
	safeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`)
)

// Load reads and checks a manifest. Errors name file:line and what was expected.
func Load(file string) (*Manifest, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("sources: %w", err)
	}
	return Parse(file, raw)
}

// Parse checks a manifest given as bytes; file names it in errors.
func Parse(file string, raw []byte) (*Manifest, error) {
	m := &Manifest{path: file, raw: raw}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("%s:%d: invalid JSON: %v", file, lineAt(raw, se.Offset), err)
		case errors.As(err, &te):
			return nil, fmt.Errorf("%s:%d: %s must be %s, found %s", file, lineAt(raw, te.Offset), te.Field, te.Type, te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return nil, fmt.Errorf("%s:%d: unknown field %q", file, lineOf(raw, `"`+field+`"`), field)
		default:
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	if len(m.Sources) == 0 {
		return nil, fmt.Errorf("%s:1: no sources", file)
	}
	if m.Fixture != "" && !safeName.MatchString(m.Fixture) {
		return nil, fmt.Errorf("%s:%d: fixture name %q: expected letters, digits, '.', '_' or '-'", file, lineOf(raw, `"fixture"`), m.Fixture)
	}
	seen := map[string]bool{}
	files := map[string]string{}
	for i := range m.Sources {
		s := &m.Sources[i]
		line := lineOf(raw, fmt.Sprintf(`"name": %q`, s.Name))
		fail := func(format string, a ...any) error {
			return fmt.Errorf("%s:%d: source %q: %s", file, line, s.Name, fmt.Sprintf(format, a...))
		}
		if !safeName.MatchString(s.Name) {
			return nil, fmt.Errorf("%s:%d: source name %q: expected letters, digits, '.', '_' or '-'", file, line, s.Name)
		}
		if seen[s.Name] {
			return nil, fail("name used twice")
		}
		seen[s.Name] = true
		if len(s.Figures) == 0 {
			return nil, fail("no figures: expected the figures that use it, e.g. [\"fig_10\"]")
		}
		for _, f := range s.Figures {
			if !slices.Contains(knownFigures, f) {
				return nil, fail("unknown figure %q, expected one of %v", f, knownFigures)
			}
		}
		if (s.Git == nil) == (s.Archive == nil) {
			return nil, fail("expected exactly one of \"git\" and \"archive\"")
		}
		if s.Git != nil {
			if err := checkGit(s); err != nil {
				return nil, fail("%v", err)
			}
		} else {
			if err := checkArchive(s); err != nil {
				return nil, fail("%v", err)
			}
			if other, dup := files[s.Archive.File]; dup {
				return nil, fail("file %s is also the file of %q", s.Archive.File, other)
			}
			files[s.Archive.File] = s.Name
		}
	}
	return m, nil
}

func checkGit(s *Source) error {
	g := s.Git
	if _, err := repoKey(g.URL); err != nil {
		return err
	}
	switch {
	case g.Commit != "":
		if !hex40.MatchString(g.Commit) {
			return fmt.Errorf("commit %q: expected a full 40-digit lower-case hex commit id", g.Commit)
		}
		if g.TrustOnFirstUse {
			return fmt.Errorf("trust_on_first_use with a full commit: the commit is the pin, drop the flag")
		}
	case g.CommitPrefix != "":
		if !hexShort.MatchString(g.CommitPrefix) {
			return fmt.Errorf("commit_prefix %q: expected 4 to 39 lower-case hex digits", g.CommitPrefix)
		}
		if !g.TrustOnFirstUse {
			return fmt.Errorf("commit_prefix without a full commit is a weaker pin: set \"trust_on_first_use\": true to accept it")
		}
	case g.Ref != "":
		if !g.TrustOnFirstUse {
			return fmt.Errorf("ref %q without a commit is a weaker pin: add the commit, or set \"trust_on_first_use\": true", g.Ref)
		}
	default:
		return fmt.Errorf("git source without commit, commit_prefix or ref")
	}
	if g.PinSource == "" {
		return fmt.Errorf("pin_source is empty: say where the commit comes from")
	}
	if p := s.Place; p != nil {
		if err := checkPath(p.Path); err != nil {
			return err
		}
		if p.Format != "zip" {
			return fmt.Errorf("place.format %q: only \"zip\" is supported", p.Format)
		}
		if p.Prefix == "" || !strings.HasSuffix(p.Prefix, "/") || strings.Contains(p.Prefix, "..") || strings.HasPrefix(p.Prefix, "/") {
			return fmt.Errorf("place.prefix %q: expected a relative directory name ending in /", p.Prefix)
		}
	}
	return nil
}

func checkArchive(s *Source) error {
	a := s.Archive
	if s.Place != nil {
		return fmt.Errorf("place is for git sources; an archive has its own path")
	}
	for _, u := range append([]string{a.URL}, a.Mirrors...) {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return fmt.Errorf("url %q: expected an http(s) URL", u)
		}
	}
	if a.File == "" {
		pu, _ := url.Parse(a.URL)
		a.File = path.Base(pu.Path)
	}
	if !safeName.MatchString(a.File) {
		return fmt.Errorf("file %q: expected a plain file name (set \"file\" when the URL does not end in one)", a.File)
	}
	switch {
	case a.SHA256 != "" && !hex64.MatchString(a.SHA256):
		return fmt.Errorf("sha256 %q: expected 64 lower-case hex digits", a.SHA256)
	case a.SHA256 != "" && a.TrustOnFirstUse:
		return fmt.Errorf("trust_on_first_use with a sha256: the hash is the pin, drop the flag")
	case a.SHA256 == "" && !a.TrustOnFirstUse:
		return fmt.Errorf("empty sha256: give the hash, or set \"trust_on_first_use\": true if no trustworthy value exists")
	}
	if a.SHA256Source == "" {
		return fmt.Errorf("sha256_source is empty: say where the hash comes from (or why there is none)")
	}
	if a.Path != "" {
		if err := checkPath(a.Path); err != nil {
			return err
		}
		if path.Base(a.Path) != a.File {
			return fmt.Errorf("path %s does not end in the file name %s", a.Path, a.File)
		}
	}
	return nil
}

// checkPath accepts build/<library>/<file>.
func checkPath(p string) error {
	parts := strings.Split(p, "/")
	if len(parts) != 3 || parts[0] != "build" || !safeName.MatchString(parts[1]) || !safeName.MatchString(parts[2]) {
		return fmt.Errorf("path %q: expected build/<library>/<file>", p)
	}
	return nil
}

// ForFigures returns the manifest restricted to sources used by any of figs (all when empty).
func (m *Manifest) ForFigures(figs ...string) *Manifest {
	if len(figs) == 0 {
		return m
	}
	out := *m
	out.Sources = nil
	for _, s := range m.Sources {
		for _, f := range figs {
			if slices.Contains(s.Figures, f) {
				out.Sources = append(out.Sources, s)
				break
			}
		}
	}
	return &out
}

// Source returns the source called name.
func (m *Manifest) Source(name string) (Source, bool) {
	for _, s := range m.Sources {
		if s.Name == name {
			return s, true
		}
	}
	return Source{}, false
}

// repoKey maps a repository URL to its place in git/: host/path without ".git".
func repoKey(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("url %q: expected a repository URL (https://… or file:///…)", raw)
	}
	p := strings.TrimSuffix(strings.Trim(path.Clean("/"+u.Path), "/"), ".git")
	host := u.Host
	if u.Scheme == "file" {
		host = "file"
	}
	if host == "" || p == "" {
		return "", fmt.Errorf("url %q: expected a host and a path", raw)
	}
	for _, part := range strings.Split(host+"/"+p, "/") {
		if part == ".." || part == "." || part == "" {
			return "", fmt.Errorf("url %q: unusable path", raw)
		}
	}
	return host + "/" + p, nil
}

// lineAt is the 1-based line of byte offset off.
func lineAt(raw []byte, off int64) int {
	if off > int64(len(raw)) {
		off = int64(len(raw))
	}
	return bytes.Count(raw[:off], []byte("\n")) + 1
}

// lineOf is the line of the first occurrence of s (1 when absent).
func lineOf(raw []byte, s string) int {
	i := bytes.Index(raw, []byte(s))
	if i < 0 {
		return 1
	}
	return lineAt(raw, int64(i))
}
