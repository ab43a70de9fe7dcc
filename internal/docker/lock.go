package docker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/flock"
)

// buildLockWait bounds the wait for another process building the bundle's images (a first
// build of the base and toolchain images takes minutes).
const buildLockWait = 90 * time.Minute

// buildLockPath is the lock shared by every process of the bundle on this machine, root's and
// other users' alike (a variable so that tests can use a lock of their own).
var buildLockPath = filepath.Join(os.TempDir(), "unikraft-eurosys21-image-builds.lock")

// lockBuilds serialises image builds of the processes on this machine (two `mage` commands,
// or test packages run in parallel): the second waits and then finds the images built,
// instead of building the same base and toolchain at the same time.
func lockBuilds(ctx context.Context, waiting func()) (func(), error) {
	name := buildLockPath
	f, err := openLockFile(name)
	if err != nil {
		return nil, fmt.Errorf("docker: lock %s: %w (it is only a lock file: remove it and try again)", name, err)
	}
	release, err := flock.Lock(ctx, f, buildLockWait, waiting)
	if errors.Is(err, flock.ErrTimeout) {
		return nil, fmt.Errorf("docker: another process has been building images for %s (lock %s); stop it and try again", buildLockWait, name)
	}
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("docker: lock %s: %w", name, err)
	}
	return release, err
}

// buildsRunning reports whether a process on this machine holds the build lock (this one
// included). It does not wait; when the lock cannot be checked it says yes, the safe answer
// for its caller.
func buildsRunning() bool { return flock.Held(buildLockPath) }

// openLockFile opens the lock file, creating it readable and writable by every user. An
// existing file is opened read-only and without O_CREAT (flock needs neither write access
// nor ownership), so a lock file that root created in the sticky temporary directory (the
// base image is built as root) does not lock a later non-root run out: with O_CREAT,
// fs.protected_regular refuses another user's file there even when its mode allows it.
func openLockFile(name string) (*os.File, error) {
	for range 3 {
		f, err := os.Open(name)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
		f, err = os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue // created by another process in between: open that one
		}
		if err != nil {
			return nil, err
		}
		if err := f.Chmod(0o666); err != nil { // the umask narrowed it
			f.Close()
			return nil, err
		}
		return f, nil
	}
	return nil, fmt.Errorf("%s keeps appearing and disappearing", name)
}
