package sources

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/files"
)

// downloadTimeout bounds one download.
const downloadTimeout = 30 * time.Minute

// MismatchError is a verification failure: what the manifest (or the first use) pinned and
// what was found. Nothing else is deleted when it happens.
type MismatchError struct {
	Source string
	What   string // "sha256" or "commit"
	Want   string
	Got    string
	From   string // URL or path the data came from
	Kept   string // where the rejected file was kept for inspection, if anywhere
	Hint   string
}

func (e *MismatchError) Error() string {
	s := fmt.Sprintf("sources: %s: %s mismatch for data from %s\n  pinned: %s\n  found:  %s", e.Source, e.What, e.From, e.Want, e.Got)
	if e.Kept != "" {
		s += "\n  the rejected file was kept at " + e.Kept + " for inspection; nothing else was deleted"
	}
	if e.Hint != "" {
		s += "\n  " + e.Hint
	}
	return s
}

// download writes the content of src (an http(s) URL, or a local path when fromMirror) to a
// new temporary file in dir and returns its name and sha256.
func download(ctx context.Context, hc *http.Client, src string, fromMirror bool, dir string) (string, string, error) {
	var body io.ReadCloser
	if fromMirror {
		f, err := os.Open(src)
		if err != nil {
			return "", "", err
		}
		body = f
	} else {
		ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return "", "", err
		}
		req.Header.Set("User-Agent", "unikraft-eurosys21-artifact (sources fetch)")
		resp, err := hc.Do(req)
		if err != nil {
			return "", "", err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return "", "", fmt.Errorf("HTTP %s", resp.Status)
		}
		body = resp.Body
	}
	defer body.Close()
	tmp, err := os.CreateTemp(dir, ".part-")
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", "", err
	}
	return tmp.Name(), hex.EncodeToString(h.Sum(nil)), nil
}

// fetchArchive makes <cache>/archives/<file> hold the pinned archive and returns its sha256.
// want is the pinned hash ("" when trusted on first use and not seen before).
func (f *fetcher) fetchArchive(ctx context.Context, s Source, want string) (string, error) {
	a := s.Archive
	dst := filepath.Join(f.cache, "archives", a.File)
	if _, err := os.Stat(dst); err == nil {
		got, err := files.SHA256(dst)
		if err != nil {
			return "", err
		}
		if want != "" && got != want {
			return "", &MismatchError{Source: s.Name, What: "sha256", Want: want, Got: got, From: dst,
				Hint: "the cached file changed after it was verified; find out why before removing it (the next fetch downloads it again)"}
		}
		return got, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	var srcs []string
	if f.mirror != "" {
		srcs = []string{filepath.Join(f.mirror, "archives", a.File)}
		if _, err := os.Stat(srcs[0]); err != nil {
			return "", fmt.Errorf("sources: %s: the mirror %s has no archives/%s%s", s.Name, f.mirrorName, a.File, unlessNotExist(err))
		}
	} else {
		srcs = append([]string{a.URL}, a.Mirrors...)
	}
	var failures []string
	var mismatch *MismatchError
	for _, src := range srcs {
		f.progress(s.Name, "downloading "+src)
		tmp, got, err := download(ctx, f.http, src, f.mirror != "", filepath.Dir(dst))
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			failures = append(failures, fmt.Sprintf("%s: %v", src, err))
			continue
		}
		if want != "" && got != want {
			kept := filepath.Join(f.cache, "rejected", a.File+"."+got[:12])
			os.MkdirAll(filepath.Dir(kept), 0o755)
			if err := os.Rename(tmp, kept); err != nil {
				os.Remove(tmp)
				kept = ""
			}
			// A dead host may answer with a parking page: try the other URLs, and report the
			// mismatch only when none of them serves the pinned file.
			mism := &MismatchError{Source: s.Name, What: "sha256", Want: want, Got: got, From: src, Kept: kept,
				Hint: "the upstream file or the mirror differs from the pinned one: check it before changing containers/sources.json"}
			if mismatch == nil {
				mismatch = mism
			}
			failures = append(failures, fmt.Sprintf("%s: %v", src, mism))
			continue
		}
		os.Chmod(tmp, 0o444)
		if err := os.Rename(tmp, dst); err != nil {
			os.Remove(tmp)
			return "", err
		}
		return got, nil
	}
	if mismatch != nil {
		return "", mismatch
	}
	return "", fmt.Errorf("sources: %s: cannot download %s:\n  %s\n  Without internet, set SOURCES_MIRROR to a directory or archive holding archives/%s",
		s.Name, a.File, strings.Join(failures, "\n  "), a.File)
}

var errNoMirrorEntry = errors.New("not in the mirror")
