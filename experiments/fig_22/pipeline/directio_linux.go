package pipeline

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// errNotWritable is a SHFS volume QEMU cannot open read-write: no drive option helps.
var errNotWritable = errors.New("not writable")

// directIO reports whether the volume at path can be opened as QEMU opens it with
// cache.direct=on: read-write (the drive is not read-only, as in the paper) with O_DIRECT.
// A file system without O_DIRECT (tmpfs before Linux 6.6) refuses it with EINVAL: false, and
// the run takes DriveFallback. A volume that cannot be opened read-write at all (a read-only
// mount, a read-only or immutable file) is an error wrapping errNotWritable: QEMU would fail
// to start with either drive option, so the run refuses before booting anything. A
// read-only probe would pass such a volume and let every Unikraft boot fail.
func directIO(path string) (bool, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	switch {
	case err == nil:
		unix.Close(fd)
		return true, nil
	case errors.Is(err, unix.EINVAL):
		return false, nil
	case errors.Is(err, unix.EROFS), errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return false, fmt.Errorf("%w: %w (QEMU opens the volume read-write, as the paper's guest did; make the file writable, or put IMAGES_CACHE on a writable file system and prepare again)",
			errNotWritable, &os.PathError{Op: "open read-write", Path: path, Err: err})
	}
	return false, &os.PathError{Op: "open read-write with O_DIRECT", Path: path, Err: err}
}
