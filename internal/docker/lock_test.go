package docker

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// privateBuildLock points the build lock at a file of the test's own: the machine-wide lock
// may be held by another test package building images at the same time.
func privateBuildLock(t *testing.T) string {
	t.Helper()
	old := buildLockPath
	buildLockPath = filepath.Join(t.TempDir(), "builds.lock")
	t.Cleanup(func() { buildLockPath = old })
	return buildLockPath
}

// A second image build waits for the first (here: until its context ends).
func TestImageBuildsAreSerialised(t *testing.T) {
	privateBuildLock(t)
	unlock, err := lockBuilds(context.Background(), func() { t.Error("the first lock waited") })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	waited := false
	if _, err := lockBuilds(ctx, func() { waited = true }); !errors.Is(err, context.DeadlineExceeded) || !waited {
		t.Errorf("second lock while the first is held: %v (waited %v)", err, waited)
	}
	unlock()
	again, err := lockBuilds(context.Background(), func() { t.Error("waited after unlock") })
	if err != nil {
		t.Fatal(err)
	}
	again()
}

// The lock file is created for every user (the base image is built as root, later runs may
// not be), and an existing one that is not writable is still usable: flock needs only a
// read-only descriptor.
func TestBuildLockIsSharedBetweenUsers(t *testing.T) {
	name := privateBuildLock(t)
	old := syscall.Umask(0o077)
	unlock, err := lockBuilds(context.Background(), func() {})
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	st, err := os.Stat(name)
	if err != nil || st.Mode().Perm() != 0o666 {
		t.Fatalf("lock file mode %v (%v), want -rw-rw-rw- whatever the umask", st.Mode().Perm(), err)
	}
	os.Chmod(name, 0o444)
	unlock, err = lockBuilds(context.Background(), func() { t.Error("waited for a lock nobody holds") })
	if err != nil {
		t.Fatalf("read-only lock file: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if _, err := lockBuilds(ctx, func() {}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a read-only descriptor did not lock: second lock gave %v", err)
	}
	unlock()
}

// Building one recipe and pruning wait for image builds of other processes, like BuildAll.
// (The lock comes before any call to the daemon, so no daemon is needed to see it.)
func TestBuildRecipeAndPruneWaitForOtherBuilds(t *testing.T) {
	privateBuildLock(t)
	unlock, err := lockBuilds(context.Background(), func() {})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	c := &Client{Progress: NewProgress(io.Discard, false)}
	for what, call := range map[string]func(context.Context) error{
		"BuildRecipe": func(ctx context.Context) error {
			_, err := c.BuildRecipe(ctx, "../../containers", "unikraft")
			return err
		},
		"Prune": func(ctx context.Context) error { _, err := c.Prune(ctx, "../../containers"); return err },
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
		if err := call(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s while another process builds: %v, want it to wait", what, err)
		}
		cancel()
	}
	if _, err := c.BuildRecipe(context.Background(), "../../containers", "nosuch"); err == nil || !strings.Contains(err.Error(), "no recipe") {
		t.Errorf("unknown recipe: %v", err)
	}
}
