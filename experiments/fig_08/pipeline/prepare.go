package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	fig08 "github.com/unikraft-eurosys21/artifact/experiments/fig_08"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

// Prepare fetches the sources of the selected images and builds the toolchain image, so
// that Run needs neither network nor image builds.
func Prepare(ctx context.Context, opt Options) error {
	opt, err := opt.withDefaults()
	if err != nil {
		return err
	}
	plans, err := plansFor(opt.Images)
	if err != nil {
		return err
	}
	start := time.Now()
	m, err := sources.ManifestFor(opt.Manifest, opt.Sources.Mirror)
	if err != nil {
		return err
	}
	set, err := fetch(ctx, opt, m, plans)
	if err != nil {
		return err
	}
	fmt.Fprintln(opt.Out, "fig08: "+set.Summary(time.Since(start)))
	_, err = docker.BuildAll(ctx, opt.Containers, opt.dockerOptions())
	return err
}

// Clean removes Figure 8's build cache (every image the builder keeps for it, real and
// fixture). It returns what it removed. Measured runs are never removed (a result is
// deleted by hand, deliberately); source caches, toolchain images and plots are left alone.
func Clean(opt Options) ([]string, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(opt.BuildCache); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err := unikraft.RemoveAll(opt.BuildCache); err != nil {
		return nil, fmt.Errorf("fig08: clean %s: %w", opt.BuildCache, err)
	}
	return []string{opt.BuildCache}, nil
}

func plansFor(imgs []fig08.Image) ([]*Plan, error) {
	var plans []*Plan
	for _, img := range imgs {
		p, err := NewPlan(img)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// fetch verifies (and fetches, if needed) exactly the sources the plans use.
func fetch(ctx context.Context, opt Options, m *sources.Manifest, plans []*Plan) (*sources.Set, error) {
	var names []string
	for _, p := range plans {
		for _, s := range p.Sources() {
			if !slices.Contains(names, s) {
				names = append(names, s)
			}
		}
	}
	sub, err := m.Only(names...)
	if err != nil {
		return nil, err
	}
	return sources.Fetch(ctx, sub, opt.Sources)
}

// toolchain returns the unikraft toolchain image, building it if its recipe changed.
func toolchain(ctx context.Context, c *docker.Client, dir string) (docker.Image, error) {
	imgs, err := c.BuildAll(ctx, dir)
	if err != nil {
		return docker.Image{}, err
	}
	for _, im := range imgs {
		if im.Name == "unikraft" {
			return im, nil
		}
	}
	return docker.Image{}, fmt.Errorf("fig08: %s has no unikraft recipe (containers/unikraft/Dockerfile)", dir)
}
