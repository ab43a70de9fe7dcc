package sources

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

const archiveReadme = `Pinned upstream sources of the Unikraft EuroSys'21 artifact bundle.

manifest.json  the source manifest (containers/sources.json) these sources were fetched for
pins.json      commits and hashes trusted on first use (weaker pins the manifest allows)
git/           bare repositories; refs/pins/<commit> marks every pinned commit
archives/      downloaded archives, verified against their sha256

Replay without network: SOURCES_MIRROR=<this file, or the directory it unpacks to>
go tool mage sources:fetch (or any figure). Every commit and hash is verified again.
`

// Archive fetches every source of m (from opt.Mirror when set) and writes them, with the
// manifest and the trust-on-first-use records, into one tar file at out (gzip-compressed if
// out ends in .gz or .tgz). SOURCES_MIRROR=<out> replays it with no network. Most of the
// content is already compressed (git packs, tarballs), so plain .tar is the faster choice.
func Archive(ctx context.Context, m *Manifest, opt Options, out string) (*Set, error) {
	set, err := Fetch(ctx, m, opt)
	if err != nil {
		return set, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return set, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".archive-")
	if err != nil {
		return set, err
	}
	defer os.Remove(tmp.Name())
	var w io.Writer = tmp
	var zw *gzip.Writer
	if strings.HasSuffix(out, ".gz") || strings.HasSuffix(out, ".tgz") {
		zw = gzip.NewWriter(tmp)
		w = zw
	}
	tw := tar.NewWriter(w)
	err = writeArchive(ctx, tw, m, set)
	if err == nil {
		err = tw.Close()
	}
	if err == nil && zw != nil {
		err = zw.Close()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return set, fmt.Errorf("sources: write %s: %w", out, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return set, err
	}
	return set, os.Rename(tmp.Name(), out)
}

func writeArchive(ctx context.Context, tw *tar.Writer, m *Manifest, set *Set) error {
	now := time.Now().UTC().Truncate(time.Second)
	addBytes := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: archiveTop + "/" + name, Mode: 0o644, Size: int64(len(b)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: archiveTop + "/", Mode: 0o755, ModTime: now, Typeflag: tar.TypeDir}); err != nil {
		return err
	}
	if err := addBytes("README.txt", []byte(archiveReadme)); err != nil {
		return err
	}
	if err := addBytes("manifest.json", m.raw); err != nil {
		return err
	}
	pins, err := os.ReadFile(filepath.Join(set.Cache, "pins.json"))
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if err == nil {
		if err := addBytes("pins.json", pins); err != nil {
			return err
		}
	}
	repos := map[string]bool{}
	for _, s := range m.Sources {
		if s.Git != nil {
			key, _ := repoKey(s.Git.URL)
			repos["git/"+key+".git"] = true
		}
	}
	var dirs []string
	for d := range repos {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		if err := addTree(ctx, tw, set.Cache, d); err != nil {
			return err
		}
	}
	for _, s := range m.Sources {
		if s.Archive != nil {
			if err := addTree(ctx, tw, set.Cache, "archives/"+s.Archive.File); err != nil {
				return err
			}
		}
	}
	return nil
}

// addTree adds cache/rel (a file or a directory, recursively) under archiveTop/rel.
func addTree(ctx context.Context, tw *tar.Writer, cache, rel string) error {
	root := filepath.Join(cache, filepath.FromSlash(rel))
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r, err := filepath.Rel(cache, p)
		if err != nil {
			return err
		}
		name := archiveTop + "/" + filepath.ToSlash(r)
		if d.IsDir() && d.Name() == "hooks" {
			return filepath.SkipDir // sample hooks only; never run from a mirror
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Name: name + "/", Mode: 0o755, ModTime: info.ModTime(), Typeflag: tar.TypeDir})
		case info.Mode().IsRegular():
			if strings.HasPrefix(d.Name(), ".part-") || d.Name() == "FETCH_HEAD" {
				return nil
			}
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: int64(info.Mode().Perm()), Size: info.Size(), ModTime: info.ModTime(), Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.CopyN(tw, f, info.Size())
			return err
		default:
			return nil // git repositories hold no links or devices
		}
	})
}
