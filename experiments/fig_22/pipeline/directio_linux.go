package pipeline

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// directIO reports whether path can be opened with O_DIRECT, which QEMU's cache.direct=on
// needs: tmpfs, for one, refuses it with EINVAL.
func directIO(path string) (bool, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EINVAL) {
		return false, nil
	}
	if err != nil {
		return false, &os.PathError{Op: "open with O_DIRECT", Path: path, Err: err}
	}
	unix.Close(fd)
	return true, nil
}
