package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// buildLockWait bounds the wait for another process building the bundle's images (a first
// build of the base and toolchain images takes minutes).
const buildLockWait = 90 * time.Minute

// lockBuilds serialises image builds of the processes on this machine (two `mage` commands,
// or test packages run in parallel): the second waits and then finds the images built,
// instead of building the same base and toolchain at the same time.
func lockBuilds(ctx context.Context, waiting func()) (func(), error) {
	name := filepath.Join(os.TempDir(), "unikraft-eurosys21-image-builds.lock")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("docker: lock %s: %w", name, err)
	}
	deadline := time.Now().Add(buildLockWait)
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("docker: lock %s: %w", name, err)
		}
		if !told {
			waiting()
			told = true
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("docker: another process has been building images for %s (lock %s); stop it and try again", buildLockWait, name)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
