package sources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/flock"
)

// Pins records what was trusted on first use, so that every later fetch must find the same.
type Pins struct {
	Commits  map[string]TrustedCommit `json:"commits,omitempty"`  // by source name
	Archives map[string]TrustedHash   `json:"archives,omitempty"` // by file name
}

// TrustedCommit is the commit a ref or abbreviated id resolved to on first use.
type TrustedCommit struct {
	URL       string    `json:"url"`
	Ref       string    `json:"ref,omitempty"`
	Prefix    string    `json:"commit_prefix,omitempty"`
	Commit    string    `json:"commit"`
	FirstSeen time.Time `json:"first_seen"`
}

// TrustedHash is the sha256 a download had on first use.
type TrustedHash struct {
	URL       string    `json:"url"`
	SHA256    string    `json:"sha256"`
	FirstSeen time.Time `json:"first_seen"`
}

func readPins(file string) (*Pins, error) {
	p := &Pins{Commits: map[string]TrustedCommit{}, Archives: map[string]TrustedHash{}}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("%s: %w (it records trust-on-first-use pins; repair or delete it to trust again)", file, err)
	}
	if p.Commits == nil {
		p.Commits = map[string]TrustedCommit{}
	}
	if p.Archives == nil {
		p.Archives = map[string]TrustedHash{}
	}
	return p, nil
}

func writePins(file string, p *Pins) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// lockTimeout bounds the wait for another fetch using the same cache.
const lockTimeout = 30 * time.Minute

// lockCache takes an exclusive lock on the cache so two fetches do not write the same files.
func lockCache(ctx context.Context, dir string, waiting func()) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sources: lock cache: %w", err)
	}
	release, err := flock.Lock(ctx, f, lockTimeout, waiting)
	if errors.Is(err, flock.ErrTimeout) {
		return nil, fmt.Errorf("sources: another process has held the lock on %s for %s; stop it or use another SOURCES_CACHE", dir, lockTimeout)
	}
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("sources: lock cache: %w", err)
	}
	return release, err
}
