package unikraft

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/files"
	"github.com/unikraft-eurosys21/artifact/internal/flock"
)

// Result is one image of BuildAll: the image, or why it could not be built.
type Result struct {
	Spec  Spec
	Image *Image
	Err   error // *BuildError when the build ran and failed
}

// lockTimeout bounds the wait for another process building into the same cache.
const lockTimeout = 3 * time.Hour

// BuildAll builds specs, jobs images at once (each in its own container; make -j in each is
// the CPUs shared among the images running at once, at least 1, unless Builder.Jobs sets
// it), the ones with most libraries first: the longest builds, so the last to start are
// short. It holds the cache's lock, so two processes never build into the same directories.
//
// A build that fails stops only its image: its Result says why. done, when not nil, is
// called with each result as it comes, one at a time. A lost Docker daemon or a cancelled
// ctx stops every build at once: BuildAll then returns the results
// it has (a Result with neither Image nor Err was not built) and the error.
func (b *Builder) BuildAll(ctx context.Context, specs []Spec, jobs int, done func(Result)) ([]Result, error) {
	jobs = max(1, min(jobs, len(specs)))
	makeJobs := b.MakeJobs(jobs)
	if err := os.MkdirAll(b.Cache, 0o755); err != nil {
		return nil, fmt.Errorf("unikraft: image cache: %w", err)
	}
	unlock, err := b.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()

	order := make([]int, len(specs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return len(specs[y].Libs) - len(specs[x].Libs) })
	queue := make(chan int, len(order))
	for _, i := range order {
		queue <- i
	}
	close(queue)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	out := make([]Result, len(specs))
	for i, s := range specs {
		out[i].Spec = s
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range queue {
				if ctx.Err() != nil {
					return
				}
				r := Result{Spec: specs[i]}
				r.Image, r.Err = b.build(ctx, specs[i], makeJobs)
				if r.Err != nil && ctx.Err() == nil && !failedInside(r.Err) {
					// Not the build's own failure: is the daemon still there?
					if perr := b.Docker.Ping(context.WithoutCancel(ctx)); perr != nil {
						cancel(fmt.Errorf("%w: %v", ErrDockerLost, perr))
					}
				}
				if ctx.Err() != nil {
					return // stopped: this build did not fail on its own
				}
				mu.Lock()
				out[i] = r
				if done != nil {
					done(r)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); errors.Is(err, context.Canceled) {
		return out, fmt.Errorf("unikraft: builds stopped: interrupted (%w)", err)
	} else if err != nil {
		return out, fmt.Errorf("unikraft: builds stopped: %w", err)
	}
	return out, nil
}

// MakeJobs is make's -j in each build when running images are built at once: Builder.Jobs
// when set, else the CPUs shared among them, at least 1.
func (b *Builder) MakeJobs(running int) int {
	if b.Jobs > 0 {
		return b.Jobs
	}
	return max(1, runtime.NumCPU()/max(1, running))
}

// ErrDockerLost is the cause of BuildAll stopping when the Docker daemon stopped answering.
var ErrDockerLost = errors.New("the Docker daemon stopped answering during the builds; the builds still running were stopped (start it again, check `docker info`, and rerun)")

// failedInside tells a build that ran and failed on its own (make's exit status) from one
// that could not run.
func failedInside(err error) bool {
	var exit *docker.ExitError
	return errors.As(err, &exit)
}

func (b *Builder) lock(ctx context.Context) (func(), error) {
	f, err := os.OpenFile(filepath.Join(b.Cache, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("unikraft: lock %s: %w", b.Cache, err)
	}
	release, err := flock.Lock(ctx, f, lockTimeout, func() {
		b.log().WithField("cache", b.Cache).Info("waiting for another process building into the same image cache")
	})
	if err != nil {
		return nil, fmt.Errorf("unikraft: another process holds the image cache %s (%v); wait for it or use another cache directory", b.Cache, err)
	}
	return release, nil
}

// KeepRaw copies the image's build log and final .config into dir (a run's raw/) as
// <name>.log and <name>.config, so that a run holds what it measured.
func (img *Image) KeepRaw(dir, name string) error {
	return keepRaw(dir, name, img.Log, img.Config)
}

// KeepRaw copies what the failed build left (its log, and its .config if it got that far)
// into dir as <name>.log and <name>.config.
func (e *BuildError) KeepRaw(dir, name string) error {
	return keepRaw(dir, name, e.Log, e.Config)
}

func keepRaw(dir, name, log, config string) error {
	if err := files.Copy(log, filepath.Join(dir, name+".log"), 0o644); err != nil {
		return fmt.Errorf("unikraft: keep the build log of %s: %w", name, err)
	}
	if config == "" {
		return nil
	}
	if err := files.Copy(config, filepath.Join(dir, name+".config"), 0o644); err != nil {
		return fmt.Errorf("unikraft: keep the .config of %s: %w", name, err)
	}
	return nil
}
