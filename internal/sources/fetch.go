package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/unikraft-eurosys21/artifact/internal/files"
)

// Options configure Fetch.
type Options struct {
	// Cache is the cache directory (the SOURCES_CACHE setting); required.
	Cache string
	// Mirror replaces every upstream: a directory with git/ and archives/ (and optionally
	// pins.json), or a tarball written by Archive, or the directory it unpacks to. Nothing is
	// downloaded when it is set.
	Mirror string
	// Log receives structured lines (step "sources", field source); logrus' standard logger
	// when nil.
	Log logrus.FieldLogger
	// Progress receives one plain line per action; none when nil.
	Progress io.Writer
	// HTTP is the client for downloads; one with a 30 s connect timeout when nil.
	HTTP *http.Client
}

// Resolved is a source in the cache, verified.
type Resolved struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"` // "git" or "archive"
	URL    string `json:"url"`
	Commit string `json:"commit,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// Pin says how strong the pin is: "commit", "sha256", or "… trusted on first use …".
	Pin string `json:"pin"`
	// Dir is the read-only tree of a git source.
	Dir string `json:"-"`
	// Repo is the cache's bare repository holding a git source's commit and its history.
	Repo string `json:"-"`
	// File is the archive (downloaded, or made from the tree) in the cache.
	File string `json:"-"`
	// Place is where a Unikraft build looks for File (build/<library>/<file>); empty if none.
	Place string `json:"place,omitempty"`
}

// Set is the result of Fetch: every requested source, verified, in manifest order.
type Set struct {
	Cache string
	// Fixture is the manifest's fixture name: the sources are stand-ins (see ManifestFor).
	Fixture string
	Sources []Resolved
}

// Get returns the resolved source called name.
func (s *Set) Get(name string) (Resolved, bool) {
	for _, r := range s.Sources {
		if r.Name == name {
			return r, true
		}
	}
	return Resolved{}, false
}

// Place copies the archives of the named sources (all with a place when none are named) into
// a Unikraft build directory: buildDir is the build's O= (BUILD_DIR), which defaults to
// <app>/build, so a source's place build/<library>/<file> lands at buildDir/<library>/<file>.
// Unikraft's fetch rule then finds the file and downloads nothing.
func (s *Set) Place(buildDir string, names ...string) error {
	for _, n := range names {
		if r, ok := s.Get(n); !ok || r.Place == "" {
			return fmt.Errorf("sources: %s is not a fetched source with a place in a build directory", n)
		}
	}
	for _, r := range s.Sources {
		if r.Place == "" || (len(names) > 0 && !contains(names, r.Name)) {
			continue
		}
		dst := filepath.Join(buildDir, filepath.FromSlash(strings.TrimPrefix(r.Place, "build/")))
		if err := files.Copy(r.File, dst, 0o644); err != nil {
			return fmt.Errorf("sources: place %s: %w", r.Name, err)
		}
	}
	return nil
}

// Fetch makes every source of m present and verified in the cache: git sources at their
// commit (tree exported read-only), archives with their sha256. A mismatch stops it with both
// values and deletes nothing else. Weaker pins (trust_on_first_use) are resolved once,
// recorded in <cache>/pins.json and warned about every time.
func Fetch(ctx context.Context, m *Manifest, opt Options) (*Set, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, fmt.Errorf("sources: git is not installed; it is needed to fetch and verify the pinned repositories (apt-get install git)")
	}
	f, err := newFetcher(opt)
	if err != nil {
		return nil, err
	}
	if m.Fixture != "" {
		if opt.Mirror == "" {
			return nil, fmt.Errorf("sources: the manifest is the fixture %q, whose sources exist only in its mirror: set %s to it", m.Fixture, EnvMirror)
		}
		// A fixture never shares a cache (trees, trust-on-first-use records) with the real
		// sources, so it cannot weaken or overwrite a real pin.
		f.cache = filepath.Join(f.cache, "fixtures", m.Fixture)
	}
	if err := os.MkdirAll(f.cache, 0o755); err != nil {
		return nil, fmt.Errorf("sources: cache %s: %w", f.cache, err)
	}
	unlock, err := lockCache(ctx, f.cache, func() { f.progress("cache", "waiting for another fetch using "+f.cache) })
	if err != nil {
		return nil, err
	}
	defer unlock()
	if opt.Mirror != "" {
		dir, cleanup, err := openMirror(ctx, opt.Mirror, f.cache)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		f.mirror, f.mirrorName = dir, opt.Mirror
	}
	if f.pins, err = readPins(filepath.Join(f.cache, "pins.json")); err != nil {
		return nil, err
	}
	if f.mirror != "" {
		if err := f.adoptMirrorPins(); err != nil {
			return nil, err
		}
	}
	set := &Set{Cache: f.cache, Fixture: m.Fixture}
	var problems []Problem
	for _, s := range m.Sources {
		var r Resolved
		var err error
		if s.Git != nil {
			r, err = f.fetchGit(ctx, s)
		} else {
			r, err = f.resolveArchive(ctx, s)
		}
		if ctx.Err() != nil {
			return set, ctx.Err()
		}
		if err != nil {
			// Go on: a user with a partial mirror learns everything that is missing at once.
			problems = append(problems, newProblem(s, err))
			continue
		}
		set.Sources = append(set.Sources, r)
	}
	if len(problems) > 0 {
		return set, &FetchError{Mirror: opt.Mirror, Problems: problems}
	}
	return set, nil
}

type fetcher struct {
	cache      string
	mirror     string // unpacked mirror directory, "" for upstream
	mirrorName string // as the user gave it
	pins       *Pins
	log        logrus.FieldLogger
	out        io.Writer
	http       *http.Client
}

func newFetcher(opt Options) (*fetcher, error) {
	f := &fetcher{cache: opt.Cache, log: opt.Log, out: opt.Progress, http: opt.HTTP}
	if f.cache == "" {
		return nil, errors.New("sources: no cache directory (Options.Cache, the SOURCES_CACHE setting)")
	}
	abs, err := filepath.Abs(f.cache)
	if err != nil {
		return nil, err
	}
	f.cache = abs
	if f.log == nil {
		f.log = logrus.StandardLogger()
	}
	if f.http == nil {
		f.http = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			TLSHandshakeTimeout:   30 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
		}}
	}
	return f, nil
}

func (f *fetcher) progress(source, text string) {
	if f.out != nil {
		fmt.Fprintf(f.out, "%s sources %s: %s\n", time.Now().Format("15:04:05"), source, text)
	}
}

func (f *fetcher) savePins() error { return writePins(filepath.Join(f.cache, "pins.json"), f.pins) }

// fetchGit fetches and verifies a git source.
func (f *fetcher) fetchGit(ctx context.Context, s Source) (Resolved, error) {
	g := s.Git
	key, _ := repoKey(g.URL)
	repo := filepath.Join(f.cache, "git", key+".git")
	remote := g.URL
	if f.mirror != "" {
		remote = filepath.Join(f.mirror, "git", key+".git")
		if _, err := os.Stat(remote); err != nil {
			return Resolved{}, fmt.Errorf("sources: %s: the mirror %s has no git/%s.git%s", s.Name, f.mirrorName, key, unlessNotExist(err))
		}
	}
	if err := initBare(ctx, repo); err != nil {
		return Resolved{}, fmt.Errorf("sources: %s: %w", s.Name, err)
	}
	log := f.log.WithFields(logrus.Fields{"step": "sources", "source": s.Name})
	r := Resolved{Name: s.Name, Kind: "git", URL: g.URL, Pin: "commit", Repo: repo}
	commit := g.Commit
	if commit == "" {
		rec, seen := f.pins.Commits[s.Name]
		if seen && (rec.URL != g.URL || rec.Ref != g.Ref || rec.Prefix != g.CommitPrefix) {
			seen = false // the manifest entry changed: trust its new value on first use again
		}
		weak := "ref " + g.Ref
		if g.CommitPrefix != "" {
			weak = "abbreviated commit " + g.CommitPrefix
		}
		if seen {
			commit = rec.Commit
			r.Pin = fmt.Sprintf("commit trusted on first use of %s (%s)", weak, rec.FirstSeen.Format("2006-01-02"))
		} else {
			f.progress(s.Name, "resolving "+weak+" from "+remote)
			var err error
			if g.CommitPrefix != "" {
				commit, err = resolvePrefix(ctx, repo, remote, g.CommitPrefix)
			} else {
				commit, err = resolveRef(ctx, repo, remote, g.Ref)
			}
			if err != nil {
				return r, fmt.Errorf("sources: %s: %w", s.Name, err)
			}
			f.pins.Commits[s.Name] = TrustedCommit{URL: g.URL, Ref: g.Ref, Prefix: g.CommitPrefix, Commit: commit, FirstSeen: time.Now().UTC()}
			if err := f.savePins(); err != nil {
				return r, err
			}
			r.Pin = "commit trusted on first use of " + weak + " (now)"
		}
		// Warn once, when the commit is first trusted; later fetches only check it (the
		// record says where it came from), so a rerun does not repeat the warning.
		l := log.WithFields(logrus.Fields{"commit": commit, "pin": r.Pin})
		msg := fmt.Sprintf("weaker pin: %s resolved to %s; every later fetch must find this commit. "+
			"Put it into the manifest as \"commit\" to make the pin explicit", weak, commit)
		if seen {
			l.Debug(msg)
		} else {
			l.Warn(msg)
		}
	}
	if !hasCommit(ctx, repo, commit) {
		f.progress(s.Name, "fetching "+commit[:12]+" from "+remote)
	}
	if err := fetchCommit(ctx, repo, remote, commit); err != nil {
		if commit != g.Commit && errors.Is(err, errNotInRemote) {
			return r, &MismatchError{Source: s.Name, What: "commit", Want: commit, Got: "not present", From: remote,
				Hint: fmt.Sprintf("%v\n  the commit was recorded in %s on first use", err, filepath.Join(f.cache, "pins.json"))}
		}
		return r, fmt.Errorf("sources: %s: %w", s.Name, err)
	}
	if err := pin(ctx, repo, commit); err != nil {
		return r, fmt.Errorf("sources: %s: %w", s.Name, err)
	}
	r.Commit = commit
	r.Dir = filepath.Join(f.cache, "trees", s.Name+"-"+commit[:12])
	if err := f.ensureTree(ctx, repo, commit, r.Dir); err != nil {
		return r, fmt.Errorf("sources: %s: %w", s.Name, err)
	}
	if p := s.Place; p != nil {
		r.Place = p.Path
		r.File = filepath.Join(f.cache, "generated", s.Name+"-"+commit[:12], filepath.Base(p.Path))
		if _, err := os.Stat(r.File); err != nil {
			f.progress(s.Name, "making "+filepath.Base(p.Path)+" from the pinned tree")
			if err := writeZip(ctx, repo, commit, p.Prefix, r.File); err != nil {
				return r, fmt.Errorf("sources: %s: %w", s.Name, err)
			}
		}
	}
	f.progress(s.Name, "ok, commit "+commit[:12])
	log.WithField("commit", commit).Debug("source ready")
	return r, nil
}

// ensureTree exports the tree unless a complete export (marked by <dir>.ok) exists.
func (f *fetcher) ensureTree(ctx context.Context, repo, commit, dir string) error {
	ok := dir + ".ok"
	if b, err := os.ReadFile(ok); err == nil && strings.TrimSpace(string(b)) == commit {
		return nil
	}
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s exists but is not marked complete (an interrupted export?): remove it and fetch again", dir)
	}
	if err := exportTree(ctx, repo, commit, dir); err != nil {
		return err
	}
	return os.WriteFile(ok, []byte(commit+"\n"), 0o644)
}

// resolveArchive fetches and verifies an archive source.
func (f *fetcher) resolveArchive(ctx context.Context, s Source) (Resolved, error) {
	a := s.Archive
	r := Resolved{Name: s.Name, Kind: "archive", URL: a.URL, Place: a.Path, Pin: "sha256", File: filepath.Join(f.cache, "archives", a.File)}
	log := f.log.WithFields(logrus.Fields{"step": "sources", "source": s.Name})
	want := a.SHA256
	if want == "" {
		rec, seen := f.pins.Archives[a.File]
		if seen {
			want = rec.SHA256
			r.Pin = fmt.Sprintf("sha256 trusted on first use (%s)", rec.FirstSeen.Format("2006-01-02"))
		}
	}
	got, err := f.fetchArchive(ctx, s, want)
	if err != nil {
		return r, err
	}
	if a.SHA256 == "" {
		if want == "" {
			f.pins.Archives[a.File] = TrustedHash{URL: a.URL, SHA256: got, FirstSeen: time.Now().UTC()}
			if err := f.savePins(); err != nil {
				return r, err
			}
			r.Pin = "sha256 trusted on first use (now)"
		}
		log.WithFields(logrus.Fields{"sha256": got, "pin": r.Pin}).
			Warnf("no trustworthy sha256 is known for %s: trusting the hash of the first download; every later fetch must match it. "+
				"Verify it independently and put it into the manifest", a.File)
	}
	r.SHA256 = got
	f.progress(s.Name, "ok, sha256 "+got[:12])
	return r, nil
}

// adoptMirrorPins takes over the trust-on-first-use records a mirror (an archive) carries,
// refusing records that contradict the cache's.
func (f *fetcher) adoptMirrorPins() error {
	mp, err := readPins(filepath.Join(f.mirror, "pins.json"))
	if err != nil {
		return err
	}
	changed := false
	for name, rec := range mp.Commits {
		if have, ok := f.pins.Commits[name]; ok && have.Commit != rec.Commit && have.URL == rec.URL && have.Ref == rec.Ref && have.Prefix == rec.Prefix {
			return &MismatchError{Source: name, What: "commit", Want: have.Commit, Got: rec.Commit, From: f.mirrorName + " (pins.json)",
				Hint: "this cache trusted another commit on first use than the mirror did"}
		} else if !ok {
			f.pins.Commits[name] = rec
			changed = true
		}
	}
	for file, rec := range mp.Archives {
		if have, ok := f.pins.Archives[file]; ok && have.SHA256 != rec.SHA256 {
			return &MismatchError{Source: file, What: "sha256", Want: have.SHA256, Got: rec.SHA256, From: f.mirrorName + " (pins.json)",
				Hint: "this cache trusted another hash on first use than the mirror did"}
		} else if !ok {
			f.pins.Archives[file] = rec
			changed = true
		}
	}
	if changed {
		return f.savePins()
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Pins lists the resolved sources for a run manifest (name, kind, url, commit or sha256, and
// how strong the pin is), sorted by name.
func (s *Set) Pins() []Resolved {
	out := append([]Resolved(nil), s.Sources...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
