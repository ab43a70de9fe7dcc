package flock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func open(t *testing.T, p string) *os.File {
	t.Helper()
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSecondLockWaitsUntilTheFirstIsReleased(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	release, err := Lock(context.Background(), open(t, p), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !Held(p) {
		t.Fatal("Held must see the lock")
	}
	waited := make(chan struct{})
	got := make(chan error, 1)
	go func() {
		r, err := Lock(context.Background(), open(t, p), 0, func() { close(waited) })
		if err == nil {
			r()
		}
		got <- err
	}()
	<-waited // the second locker saw the lock busy and said so
	release()
	if err := <-got; err != nil {
		t.Fatalf("second lock after release: %v", err)
	}
	if Held(p) {
		t.Error("nobody holds the lock any more")
	}
}

func TestBusyLockEndsOnTimeoutAndCancel(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	release, err := Lock(context.Background(), open(t, p), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := Lock(context.Background(), open(t, p), time.Nanosecond, nil); !errors.Is(err, ErrTimeout) {
		t.Errorf("timeout: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Lock(ctx, open(t, p), 0, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: got %v", err)
	}
}

func TestHeldOnAMissingFileIsNo(t *testing.T) {
	if Held(filepath.Join(t.TempDir(), "none.lock")) {
		t.Error("a lock file that does not exist is not held")
	}
}
