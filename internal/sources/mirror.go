package sources

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// archiveTop is the top directory inside an archive written by Archive.
const archiveTop = "unikraft-eurosys21-sources"

// openMirror returns the directory to read a mirror from: the directory given (or its
// archiveTop subdirectory), or a tarball written by Archive unpacked into a temporary
// directory in the cache (removed by cleanup).
func openMirror(ctx context.Context, mirror, cache string) (dir string, cleanup func(), err error) {
	st, err := os.Stat(mirror)
	if err != nil {
		return "", nil, fmt.Errorf("sources: SOURCES_MIRROR=%s: %w", mirror, err)
	}
	cleanup = func() {}
	dir = mirror
	if !st.IsDir() {
		tmp, err := os.MkdirTemp(cache, ".mirror-")
		if err != nil {
			return "", nil, err
		}
		cleanup = func() { os.RemoveAll(tmp) }
		if err := untarFile(ctx, mirror, tmp); err != nil {
			cleanup()
			return "", nil, fmt.Errorf("sources: SOURCES_MIRROR=%s: unpack: %w", mirror, err)
		}
		dir = tmp
	}
	if _, err := os.Stat(filepath.Join(dir, archiveTop)); err == nil {
		dir = filepath.Join(dir, archiveTop)
	}
	_, gerr := os.Stat(filepath.Join(dir, "git"))
	_, aerr := os.Stat(filepath.Join(dir, "archives"))
	if gerr != nil && aerr != nil {
		cleanup()
		hint := ""
		if figs, _ := filepath.Glob(filepath.Join(dir, "fig_[0-9][0-9]")); len(figs) > 0 {
			// A set of per-figure mirrors (experiments/cmd/mkfixtures): a figure's targets
			// take theirs; a step for all figures at once needs one of them named.
			hint = fmt.Sprintf("; it holds per-figure mirrors (%s): the figures' targets take their own, here name one, e.g. SOURCES_MIRROR=%s",
				strings.Join(baseNames(figs), ", "), figs[0])
		}
		return "", nil, fmt.Errorf("sources: SOURCES_MIRROR=%s has neither git/ nor archives/: expected a directory laid out like "+
			"the cache (git/<host>/<path>.git bare repositories, archives/<file>) or an archive written by `mage sources:archive`%s", mirror, hint)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return abs, cleanup, nil
}

// untarFile unpacks a tar or tar.gz file under dst, refusing entries outside dst.
func untarFile(ctx context.Context, file, dst string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	var magic [2]byte
	if _, err := io.ReadFull(f, magic[:]); err == nil && magic == [2]byte{0x1f, 0x8b} {
		f.Seek(0, io.SeekStart)
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		defer zr.Close()
		r = zr
	} else {
		f.Seek(0, io.SeekStart)
	}
	return untar(ctx, r, dst, false)
}

// untar unpacks the tar stream r under dst, refusing entries outside dst. readOnly is for
// pinned trees (git archive output): files become read-only (0444, or 0555 when executable)
// so that nothing edits them by accident, and must not exist yet; directories stay
// removable. Other archives (mirrors, replays) keep their modes and may not carry symbolic
// links that lead outside dst.
func untar(ctx context.Context, r io.Reader, dst string, readOnly bool) error {
	tr := tar.NewReader(r)
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag == tar.TypeXGlobalHeader { // git archive's commit id
			continue
		}
		clean := path.Clean("/" + h.Name)
		if clean == "/" {
			continue
		}
		target := filepath.Join(dst, filepath.FromSlash(clean))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			flags, mode := os.O_CREATE|os.O_TRUNC|os.O_WRONLY, fs.FileMode(h.Mode).Perm()|0o600
			if readOnly {
				flags, mode = os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444
				if h.Mode&0o111 != 0 {
					mode = 0o555
				}
			}
			out, err := os.OpenFile(target, flags, mode)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			// A pinned upstream tree is taken as its commit has it; links in it are never
			// written through.
			if !readOnly && linkEscapes(clean, h.Linkname) {
				return fmt.Errorf("refusing symlink %s -> %s pointing outside the archive", h.Name, h.Linkname)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, target); err != nil {
				return err
			}
		default:
			// git archive writes only the types above (submodules are left out by git itself).
			return fmt.Errorf("unexpected entry %s of type %c", h.Name, h.Typeflag)
		}
	}
}

// linkEscapes reports whether a symbolic link at name (a cleaned path below the extraction
// root, with or without a leading slash) pointing at target would lead outside that root.
// The check is relative: joined to a rooted path, "../.." would be cleaned away at the root
// and never look like an escape.
func linkEscapes(name, target string) bool {
	if path.IsAbs(target) {
		return true
	}
	rel := path.Join(path.Dir(strings.TrimPrefix(name, "/")), target)
	return rel == ".." || strings.HasPrefix(rel, "../")
}

func baseNames(paths []string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, filepath.Base(p))
	}
	return out
}
