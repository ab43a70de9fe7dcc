package unikraft

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/unikraft-eurosys21/artifact/internal/files"
)

// CopyTree copies the tree src (files, directories, symbolic links) to dst, which must not
// exist, making every copy writable by its owner: the source cache's trees are read-only,
// and the build writes next to and into its copy.
func CopyTree(src, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("copy %s: %s exists", src, dst)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			return files.Copy(p, target, info.Mode().Perm()|0o600)
		default:
			return fmt.Errorf("copy %s: %s is neither a file, a directory nor a symbolic link", src, p)
		}
	})
}

// RemoveAll removes path, first making directories writable where an unpacked archive left
// them read-only (os.RemoveAll alone fails on those).
func RemoveAll(path string) error {
	if err := os.RemoveAll(path); err == nil {
		return nil
	}
	filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(path)
}

// Clean removes dir, a figure's folder of the image cache (its images, work directories and
// prepared indexes), for the figure named id ("fig14"), and says on out what it did; what
// names the built things ("the NGINX images"). Sources, toolchain images and results live
// elsewhere and are kept.
func Clean(dir, id, what string, out io.Writer) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(out, "%s: nothing to clean (%s does not exist)\n", id, dir)
		return nil
	}
	if err := RemoveAll(dir); err != nil {
		return fmt.Errorf("%s: clean: %w", id, err)
	}
	fmt.Fprintf(out, "%s: removed %s in %s (sources, toolchain image and results are kept)\n", id, what, dir)
	return nil
}
