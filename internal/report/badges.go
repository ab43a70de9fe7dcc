package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

// Badge is one line of the artifact-badge checklist: earned or not, why, and what was checked.
type Badge struct {
	Name   string
	Earned bool
	Why    string // the finding
	Check  string // what the badge means here
}

// Badge names, as the ACM's artifact badges.
const (
	Available  = "Available"
	Functional = "Functional"
	Reproduced = "Reproduced"
)

// CheckAvailable verifies the pinned sources the bundle builds from, offline: every source
// of containers/sources.json is fetched, with the bundle's own verification (every commit,
// every sha256), from a sources:archive tarball (SOURCES_ARCHIVE, when the user set it), else
// from SOURCES_MIRROR, else from the source cache (SOURCES_CACHE, which has a mirror's layout)
// into a scratch cache that is removed afterwards. Nothing is downloaded. A FIXTURE mirror,
// a missing source or a mismatch means not available.
func CheckAvailable(ctx context.Context, c SourcesCheck) Badge {
	b := Badge{Name: Available, Check: "every pinned source of " + c.Manifest + " is present in a sources:archive tarball " +
		"(SOURCES_ARCHIVE), the mirror (SOURCES_MIRROR) or the source cache (SOURCES_CACHE), in that order, and verifies " +
		"(git commits, sha256) when replayed offline into a scratch cache"}
	what, from := "the source cache", c.Cache
	switch {
	case c.Archive != "":
		what, from = "the sources archive", c.Archive
	case c.Mirror != "":
		what, from = "the mirror", c.Mirror
	}
	if _, err := os.Stat(from); err != nil {
		b.Why = fmt.Sprintf("%s %s does not exist: write one with `go tool mage sources:archive` (or fill the cache with sources:fetch)", what, from)
		return b
	}
	if from == c.Cache && !exists(filepath.Join(from, "git")) && !exists(filepath.Join(from, "archives")) {
		b.Why = fmt.Sprintf("the source cache %s holds none of the real sources (fetch them with `go tool mage sources:fetch`, "+
			"or point SOURCES_ARCHIVE at a sources:archive tarball)", from)
		return b
	}
	if from == c.Mirror && !exists(filepath.Join(from, "git")) && !exists(filepath.Join(from, "archives")) {
		var figs []string
		for _, f := range []string{"fig_08", "fig_10", "fig_14", "fig_22"} {
			if exists(filepath.Join(from, f)) {
				figs = append(figs, f)
			}
		}
		if len(figs) > 0 {
			b.Why = fmt.Sprintf("the mirror %s is a set of per-figure mirrors (%s; e.g. the FIXTURE mirrors of experiments/cmd/mkfixtures), not one mirror of every pinned source",
				from, strings.Join(figs, ", "))
			return b
		}
	}
	m, err := sources.ManifestFor(c.Manifest, from)
	if err != nil {
		b.Why = fmt.Sprintf("%s %s: %v", what, from, err)
		return b
	}
	if m.Fixture != "" {
		b.Why = fmt.Sprintf("%s %s is the FIXTURE %s (stand-in sources, not the paper's)", what, from, m.Fixture)
		return b
	}
	scratch, err := os.MkdirTemp("", "report-sources-")
	if err != nil {
		b.Why = err.Error()
		return b
	}
	defer removeAll(scratch)
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	set, err := sources.Fetch(ctx, m, sources.Options{Cache: scratch, Mirror: from, Log: quiet})
	if err != nil {
		var fe *sources.FetchError
		if errors.As(err, &fe) {
			b.Why = fmt.Sprintf("%d of %d pinned sources missing or not verified in %s %s: %s", len(fe.Problems), len(m.Sources), what, from, problemNames(fe))
		} else {
			b.Why = fmt.Sprintf("%s %s: %s", what, from, firstLine(err.Error()))
		}
		return b
	}
	b.Earned = true
	b.Why = fmt.Sprintf("all %d pinned sources verified from %s %s", len(set.Sources), what, from)
	if weak := weakPins(set); weak > 0 {
		b.Why += fmt.Sprintf(" (%d on pins trusted on first use, as the manifest allows)", weak)
	}
	return b
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func problemNames(fe *sources.FetchError) string {
	var names []string
	for _, p := range fe.Problems {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

func weakPins(set *sources.Set) int {
	n := 0
	for _, r := range set.Sources {
		if strings.Contains(r.Pin, "trusted on first use") {
			n++
		}
	}
	return n
}

// removeAll removes the scratch cache, whose trees Fetch made read-only.
func removeAll(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	os.RemoveAll(dir)
}

// functional: every figure ran — a measured run of this bundle, not the paper's data, not a
// FIXTURE, and no unit of work (build, boot, capture) failed in it. Software emulation counts
// (the artifact works), but is not comparable (see reproduced).
func functional(figs []Figure) Badge {
	b := Badge{Name: Functional, Check: "every figure has a measured run (not the paper's data), built from the real sources " +
		"(no FIXTURE), in which no build, boot or capture failed"}
	var why []string
	for _, f := range figs {
		switch {
		case f.Measured == nil:
			why = append(why, f.ID+": "+f.NoRun)
		case f.Measured.Provenance.Fixture != "":
			why = append(why, f.ID+": FIXTURE run "+f.Measured.Provenance.RunID)
		case f.Manifest == nil:
			why = append(why, f.ID+": run "+f.Measured.Provenance.RunID+" has no manifest.json (not written by the run step)")
		default:
			if n := failedUnits(f.Verdict); n > 0 {
				why = append(why, fmt.Sprintf("%s: %d unit(s) of work failed in run %s", f.ID, n, f.Measured.Provenance.RunID))
			}
		}
	}
	b.Earned, b.Why = len(why) == 0, strings.Join(why, "; ")
	if b.Earned {
		b.Why = fmt.Sprintf("all %d figures ran from the real sources", len(figs))
	}
	return b
}

func failedUnits(r *verify.Report) int {
	n := 0
	for _, row := range r.Rows {
		if row.Kind == "unit" && row.Verdict == verify.Fail {
			n++
		}
	}
	return n
}

// reproduced: every figure judged (a real run under KVM), every claim of the paper holds,
// and no row of any verdict is left unjudged.
func reproduced(figs []Figure) Badge {
	b := Badge{Name: Reproduced, Check: "every figure has a real run under KVM (no FIXTURE, no TCG), every claim of the paper " +
		"in its verdict holds, every unit of work succeeded, and no row is left unjudged (SKIP)"}
	var why []string
	claims := 0
	for _, f := range figs {
		if ok, reason := f.Judged(); !ok {
			why = append(why, f.ID+": not judged ("+reason+")")
			continue
		}
		fails, skips := f.Verdict.Count(verify.Fail), f.Verdict.Count(verify.Skip)
		if fails > 0 {
			why = append(why, fmt.Sprintf("%s: %d FAIL row(s)", f.ID, fails))
		}
		if skips > 0 {
			why = append(why, fmt.Sprintf("%s: %d row(s) not judged", f.ID, skips))
		}
		for _, row := range f.Verdict.Rows {
			if row.Kind == "claim" {
				claims++
			}
		}
	}
	b.Earned, b.Why = len(why) == 0, strings.Join(why, "; ")
	if b.Earned {
		b.Why = fmt.Sprintf("all %d claims of the paper hold on measured runs of all %d figures", claims, len(figs))
	}
	return b
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
