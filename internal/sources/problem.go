package sources

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Problem is one source Fetch could not make present and verified: what it is pinned to,
// where a mirror must hold it, and what went wrong.
type Problem struct {
	Name string
	URL  string
	// Pin is the commit or sha256, or the weaker pin trusted on first use (a ref, an
	// abbreviated commit, "sha256 trusted on first use").
	Pin string
	// MirrorPath is where a SOURCES_MIRROR must hold it: git/<host>/<path>.git or
	// archives/<file>.
	MirrorPath string
	Err        error
}

// Mismatch reports whether the source was found but failed verification (as opposed to
// missing or unreachable).
func (p Problem) Mismatch() bool {
	var m *MismatchError
	return errors.As(p.Err, &m)
}

func newProblem(s Source, err error) Problem {
	p := Problem{Name: s.Name, Err: err}
	switch {
	case s.Git != nil:
		p.URL = s.Git.URL
		key, kerr := repoKey(s.Git.URL)
		if kerr == nil {
			p.MirrorPath = "git/" + key + ".git"
		}
		switch {
		case s.Git.Commit != "":
			p.Pin = "commit " + s.Git.Commit
		case s.Git.CommitPrefix != "":
			p.Pin = "abbreviated commit " + s.Git.CommitPrefix + " (trusted on first use)"
		default:
			p.Pin = "ref " + s.Git.Ref + " (trusted on first use)"
		}
	case s.Archive != nil:
		p.URL = s.Archive.URL
		p.MirrorPath = "archives/" + s.Archive.File
		if s.Archive.SHA256 != "" {
			p.Pin = "sha256 " + s.Archive.SHA256
		} else {
			p.Pin = "sha256 trusted on first use"
		}
	}
	return p
}

// FetchError lists every source Fetch could not provide, each with its upstream, pin and
// place in a mirror, so one message says everything a partial mirror lacks.
type FetchError struct {
	Mirror   string // SOURCES_MIRROR as given ("" for the upstreams)
	Problems []Problem
}

func (e *FetchError) Error() string {
	var b strings.Builder
	var missing, mismatched int
	for _, p := range e.Problems {
		if p.Mismatch() {
			mismatched++
		} else {
			missing++
		}
	}
	from := "upstream"
	if e.Mirror != "" {
		from = "the mirror " + e.Mirror
	}
	fmt.Fprintf(&b, "sources: %d source(s) missing or unreachable and %d failing verification, from %s:", missing, mismatched, from)
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n- %s: %s\n    upstream %s, %s", p.Name, indent(strings.TrimPrefix(strings.TrimPrefix(p.Err.Error(), "sources: "), p.Name+": ")), p.URL, p.Pin)
		if p.MirrorPath != "" {
			fmt.Fprintf(&b, "\n    a mirror holds it at %s", p.MirrorPath)
		}
	}
	if missing > 0 {
		b.WriteString("\nadd the missing ones to the mirror at the places named (or fetch them with network access: `go tool mage sources:fetch`), or leave out what needs them")
	}
	return b.String()
}

// Unwrap gives errors.Is and errors.As every problem's error (a *MismatchError among them).
func (e *FetchError) Unwrap() []error {
	var errs []error
	for _, p := range e.Problems {
		errs = append(errs, p.Err)
	}
	return errs
}

// Failed returns the names of the sources in err's problems (nil when err is not a
// *FetchError), and whether any of them failed verification.
func Failed(err error) (names []string, mismatch bool) {
	var fe *FetchError
	if !errors.As(err, &fe) {
		return nil, false
	}
	for _, p := range fe.Problems {
		names = append(names, p.Name)
		mismatch = mismatch || p.Mismatch()
	}
	return names, mismatch
}

// Problem returns the problem of the named source.
func (e *FetchError) Problem(name string) (Problem, bool) {
	for _, p := range e.Problems {
		if p.Name == name {
			return p, true
		}
	}
	return Problem{}, false
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

// unlessNotExist is " (err)" for an error other than "does not exist", which says no more
// than the message around it.
func unlessNotExist(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	return " (" + err.Error() + ")"
}
