package pipeline

import (
	"context"

	"github.com/sirupsen/logrus"

	fig14 "github.com/unikraft-eurosys21/artifact/experiments/fig_14"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/settings"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
)

// Steps are Figure 14's prepare and clean targets; the run step is not built yet (Run nil).
// Package experiments registers them with fig14.Figure.
var Steps = figure.Pipeline{
	Prepare: func(ctx context.Context, s settings.Settings, c figure.Console) error {
		_, err := Prepare(ctx, PrepareOptions{
			Manifest: sources.ManifestPath, Containers: "containers",
			Sources: sources.Options{Cache: s.SourcesCache, Mirror: s.SourcesMirror, Progress: c.Stderr},
			Images:  s.ImagesCache, GCC: s.GCC,
			Docker: docker.Options{Verbose: c.Verbose, LogDir: s.LogDir(), DebootstrapMirror: s.DebootstrapMirror},
			Log:    logrus.StandardLogger().WithField("figure", fig14.Figure.Dir),
			Out:    c.Stderr, Progress: c.Progress,
		})
		return err
	},
	Clean: func(_ context.Context, s settings.Settings, c figure.Console) error {
		return Clean(s.ImagesCache, c.Stdout)
	},
}
