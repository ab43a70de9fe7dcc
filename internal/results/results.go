// Package results lays out what a run leaves on disk:
//
//	results/<fig>/<run-id>/          one complete run
//	    raw/                         every console log, trace and build log, untouched
//	    *.csv                        the data in the original artifact's formats
//	    summary.json                 statistics per series
//	    manifest.json                provenance: host, accelerator, versions, times, command
//	    verify.json                  the verdict against the paper (written by verify)
//	results/<fig>/failed/<run-id>/   a failed run, or one whose process was killed (ORPHANED.txt)
//	results/<fig>/latest -> <run-id> the newest complete run
//
// A run is written under results/<fig>/.incomplete/<run-id>/ and renamed into place by
// Commit only when it is complete, so a reader never sees half a run. A run that fails is
// kept by Abort under results/<fig>/failed/<run-id>/ with everything measured so far.
// Every file is written through a temporary file and a rename.
package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Latest is the name of the symlink to the newest complete run.
const Latest = "latest"

// Run is a run directory being written.
type Run struct {
	Fig  string // figure directory name, e.g. "fig_10"
	ID   string // run id, e.g. "20261127T223555Z"
	root string // results root
	dir  string // where files are written now
	done bool
}

// NewID returns a run id for time t: sortable, filesystem-safe, UTC.
func NewID(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// Create starts a new run of fig under root with a fresh id. The id is claimed by creating
// its directory exclusively, so runs started in the same second (or by two processes at
// once) never share one, and it is used by no complete or failed run either. It first
// recovers the runs left under .incomplete/ by killed processes (RecoverOrphans) and says
// so in one line.
func Create(root, fig string) (*Run, error) {
	orphans, err := RecoverOrphans(root, fig)
	logOrphans(fig, orphans)
	if err != nil {
		return nil, err
	}
	incomplete := filepath.Join(root, fig, ".incomplete")
	base := NewID(time.Now())
	for i := 0; ; i++ {
		id := base
		if i > 0 {
			id = fmt.Sprintf("%s-%d", base, i)
		}
		if exists(filepath.Join(root, fig, id)) || exists(filepath.Join(root, fig, "failed", id)) {
			continue
		}
		// Inside the loop: another run's Commit removes .incomplete when it is empty.
		if err := os.MkdirAll(incomplete, 0o755); err != nil {
			return nil, fmt.Errorf("create run directory: %w", err)
		}
		dir := filepath.Join(incomplete, id)
		err := os.Mkdir(dir, 0o755)
		if errors.Is(err, fs.ErrExist) || (errors.Is(err, fs.ErrNotExist) && i < 100) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create run directory: %w", err)
		}
		if err := WriteJSONAtomic(filepath.Join(dir, ownerFile), self()); err != nil {
			return nil, fmt.Errorf("create run directory: %w", err)
		}
		if err := os.Mkdir(filepath.Join(dir, "raw"), 0o755); err != nil {
			return nil, fmt.Errorf("create run directory: %w", err)
		}
		return &Run{Fig: fig, ID: id, root: root, dir: dir}, nil
	}
}

// Dir is the directory files are written to now (temporary until Commit).
func (r *Run) Dir() string { return r.dir }

// Path joins elem under the run directory.
func (r *Run) Path(elem ...string) string { return filepath.Join(append([]string{r.dir}, elem...)...) }

// RawDir is where raw logs go.
func (r *Run) RawDir() string { return r.Path("raw") }

// WriteFile writes name (relative to the run) atomically.
func (r *Run) WriteFile(name string, data []byte) error {
	p := r.Path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return WriteFileAtomic(p, data, 0o644)
}

// WriteJSON writes v as indented JSON to name atomically.
func (r *Run) WriteJSON(name string, v any) error {
	b, err := MarshalJSON(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	return r.WriteFile(name, b)
}

// Commit moves the run into place and points latest at it. It returns the final directory.
func (r *Run) Commit() (string, error) {
	if r.done {
		return r.dir, nil
	}
	final := filepath.Join(r.root, r.Fig, r.ID)
	_ = os.Remove(filepath.Join(r.dir, ownerFile)) // a complete run has no owner to check
	if err := os.Rename(r.dir, final); err != nil {
		return "", fmt.Errorf("commit run: %w", err)
	}
	r.dir, r.done = final, true
	_ = os.Remove(filepath.Join(r.root, r.Fig, ".incomplete"))
	return final, SetLatest(filepath.Join(r.root, r.Fig), r.ID)
}

// Abort keeps an unfinished run under results/<fig>/failed/<id> so nothing measured is
// lost, and returns that directory. It does nothing after Commit.
func (r *Run) Abort() string {
	if r.done {
		return r.dir
	}
	failed := filepath.Join(r.root, r.Fig, "failed", r.ID)
	// A kept run has no owner either: the record would only make failed/ runs look like
	// runs being written.
	_ = os.Remove(filepath.Join(r.dir, ownerFile))
	if err := os.MkdirAll(filepath.Dir(failed), 0o755); err == nil {
		if err := os.Rename(r.dir, failed); err == nil {
			r.dir = failed
		}
	}
	_ = os.Remove(filepath.Join(r.root, r.Fig, ".incomplete"))
	r.done = true
	return r.dir
}

// Moved is err with its message naming the run directory where the run is now: errors made
// while a run was written name its files under .incomplete/<id>, which Abort moves to
// failed/<id>. With to "." the paths become run-relative (for notes kept inside the run).
// It wraps err (errors.Is still finds what err wraps); Moved(nil, …) is nil.
func Moved(err error, from, to string) error {
	if err == nil || from == "" || from == to {
		return err
	}
	return &movedError{err: err, from: from, to: to}
}

type movedError struct {
	err      error
	from, to string
}

func (e *movedError) Unwrap() error { return e.err }
func (e *movedError) Error() string {
	msg := e.err.Error()
	if e.to == "." {
		msg = strings.ReplaceAll(msg, e.from+string(filepath.Separator), "")
	}
	return strings.ReplaceAll(msg, e.from, e.to)
}

// SetLatest atomically points figDir/latest at the run id. The temporary link has a
// name of its own per call, so two runs committing at once cannot trip over each other.
func SetLatest(figDir, id string) error {
	for i := 0; ; i++ {
		tmp := filepath.Join(figDir, fmt.Sprintf(".latest.tmp-%d-%d", os.Getpid(), i))
		err := os.Symlink(id, tmp)
		if errors.Is(err, fs.ErrExist) { // left by an interrupted process with our pid
			continue
		}
		if err != nil {
			return fmt.Errorf("link latest run: %w", err)
		}
		if err := os.Rename(tmp, filepath.Join(figDir, Latest)); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("link latest run: %w", err)
		}
		return nil
	}
}

// ErrNoRun is returned by LatestDir when a figure has no complete run.
var ErrNoRun = errors.New("no complete run")

// LatestDir resolves results/<fig>/latest to the run directory. The link normally holds
// a run id; an absolute target (a link made by hand) is taken as it is.
func LatestDir(root, fig string) (string, error) {
	link := filepath.Join(root, fig, Latest)
	id, err := os.Readlink(link)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w of %s under %s", ErrNoRun, fig, filepath.Join(root, fig))
	}
	if err != nil {
		return "", fmt.Errorf("%w of %s: %s is not a symbolic link to a run (%v); remove it, or point FROM at a run directory", ErrNoRun, fig, link, err)
	}
	dir := id
	if !filepath.IsAbs(id) {
		dir = filepath.Join(root, fig, id)
	}
	if !exists(dir) {
		return "", fmt.Errorf("%w: %s points at %s, which does not exist (moved or deleted?); point FROM at a run directory, or remove the link", ErrNoRun, link, id)
	}
	return dir, nil
}

// WriteFileAtomic writes data to a temporary file next to path and renames it into place,
// so readers see the old file or the new one, never a part.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	ok = true
	return nil
}

// WriteJSONAtomic writes v as indented JSON to path atomically.
func WriteJSONAtomic(path string, v any) error {
	b, err := MarshalJSON(v)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, b, 0o644)
}

// MarshalJSON is the project's JSON encoding: two-space indent, trailing newline, and
// no HTML escaping (results contain "<n/a>" and "->").
func MarshalJSON(v any) ([]byte, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(sb.String()), nil
}

// ReadManifest reads dir/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	return &m, nil
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }
