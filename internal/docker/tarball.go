package docker

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// contextTar writes dir as a deterministic tar: paths in lexical order, modification times
// zeroed, owners root, modes reduced to 0755/0644. Equal recipes give equal bytes, so the
// bytes' hash says whether an image must be rebuilt; a touched but unchanged file does not.
func contextTar(dir string, w io.Writer) error {
	tw := tar.NewWriter(w)
	epoch := time.Unix(0, 0).UTC()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		name := filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		h := &tar.Header{Name: name, ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case d.IsDir():
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, name+"/", 0o755
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, target, 0o777
		case info.Mode().IsRegular():
			h.Typeflag, h.Size, h.Mode = tar.TypeReg, info.Size(), 0o644
			if info.Mode()&0o111 != 0 {
				h.Mode = 0o755
			}
		default:
			return fmt.Errorf("%s: only files, directories and symlinks can be part of a build context", p)
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.Copy(tw, f)
		if err == nil && n != h.Size {
			err = fmt.Errorf("%s changed while it was being read", p)
		}
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// extractTar unpacks a tar stream (as CopyFromContainer returns it) under dst, refusing
// entries that would land outside dst. Owners are not restored: the files belong to the user
// running the bundle.
func extractTar(r io.Reader, dst string) ([]string, error) {
	var files []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return files, fmt.Errorf("read tar stream: %w", err)
		}
		clean := path.Clean("/" + h.Name)
		if clean == "/" {
			continue
		}
		target := filepath.Join(dst, filepath.FromSlash(clean))
		mode := fs.FileMode(h.Mode).Perm()
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, mode|0o700); err != nil {
				return files, err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return files, err
			}
			if err := writeFile(target, tr, mode); err != nil {
				return files, err
			}
			files = append(files, target)
		case tar.TypeSymlink:
			if linkEscapes(clean, h.Linkname) {
				return files, fmt.Errorf("copy out: refusing symlink %s -> %s that points outside the copy", h.Name, h.Linkname)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return files, err
			}
			os.Remove(target)
			if err := os.Symlink(h.Linkname, target); err != nil {
				return files, err
			}
		default:
			// Devices, fifos and hard links are not needed from a toolchain container.
			return files, fmt.Errorf("copy out: %s is not a regular file, directory or symlink", h.Name)
		}
	}
}

func writeFile(name string, r io.Reader, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
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
