package docker

import (
	"context"
	"fmt"
	"os"
	"time"
)

// BuildAll connects, builds every recipe under dir (see Client.BuildAll) and prints one
// summary line with the elapsed time: the figure that shows an up-to-date rebuild is a no-op.
// It is what `mage containers` runs.
func BuildAll(ctx context.Context, dir string, opt Options) ([]Image, error) {
	start := time.Now()
	c, err := Connect(ctx, opt)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	imgs, err := c.BuildAll(ctx, dir)
	if err != nil {
		return imgs, err
	}
	out := opt.Out
	if out == nil {
		out = os.Stderr
	}
	built := 0
	for _, im := range imgs[1:] {
		if im.Built {
			built++
		}
		fmt.Fprintf(out, "containers: %s  %s\n", im.Ref, shortID(im.ID))
	}
	fmt.Fprintf(out, "containers: %d images on base %s: %d built, %d up to date, in %.3f s\n",
		len(imgs)-1, imgs[0].Ref, built, len(imgs)-1-built, time.Since(start).Seconds())
	return imgs, nil
}

// Prune connects and removes stale images (see Client.Prune); `mage containers:prune`.
func Prune(ctx context.Context, dir string, opt Options) ([]string, error) {
	c, err := Connect(ctx, opt)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	removed, err := c.Prune(ctx, dir)
	if err == nil {
		out := opt.Out
		if out == nil {
			out = os.Stderr
		}
		fmt.Fprintf(out, "containers: removed %d stale images\n", len(removed))
	}
	return removed, err
}

func shortID(id string) string {
	if len(id) > 19 {
		return id[:19]
	}
	return id
}
