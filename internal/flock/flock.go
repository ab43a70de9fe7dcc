// Package flock takes exclusive advisory locks (flock(2)) on files, waiting for another
// process's lock with a bound: a cancelled context or an expired timeout ends the wait, so
// no step of the bundle can hang forever behind a lock.
package flock

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// ErrTimeout is returned when another process held the lock for the whole timeout.
var ErrTimeout = errors.New("the lock is held by another process")

// Poll is how often a busy lock is tried again.
const Poll = 200 * time.Millisecond

// Lock takes an exclusive lock on the open file f. While another process holds it, Lock
// calls waiting once (when not nil) and tries again every Poll until ctx is done or timeout
// (0: no timeout) has passed. On success it returns the function that releases the lock and
// closes f; on failure f is closed.
func Lock(ctx context.Context, f *os.File, timeout time.Duration, waiting func()) (release func(), err error) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	tick := time.NewTicker(Poll)
	defer tick.Stop()
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		if !told && waiting != nil {
			waiting()
		}
		told = true
		if !deadline.IsZero() && time.Now().After(deadline) {
			f.Close()
			return nil, ErrTimeout
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// Held reports whether some process (this one included) holds a lock on the file at path,
// without waiting. It says yes when the file cannot be opened or locked: the safe answer for
// a caller about to remove what the lock protects.
func Held(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return true
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
