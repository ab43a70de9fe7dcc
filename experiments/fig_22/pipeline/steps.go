package pipeline

import (
	"context"

	"github.com/sirupsen/logrus"

	fig22 "github.com/unikraft-eurosys21/artifact/experiments/fig_22"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/settings"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
)

// Steps are Figure 22's prepare, run and clean targets. Package experiments registers them
// with fig22.Figure.
var Steps = figure.Pipeline{
	Prepare: func(ctx context.Context, s settings.Settings, c figure.Console) error {
		_, err := Prepare(ctx, PrepareOptions{
			Manifest: sources.ManifestPath, Containers: "containers",
			Sources: sources.Options{Cache: s.SourcesCache, Mirror: s.SourcesMirror, Progress: c.Stderr},
			Images:  s.ImagesCache, GCC: s.GCC, LinuxKernel: s.LinuxKernel,
			Docker: docker.Options{Verbose: c.Verbose, LogDir: s.LogDir(), DebootstrapMirror: s.DebootstrapMirror},
			Log:    logrus.StandardLogger().WithField("figure", fig22.Figure.Dir),
			Out:    c.Stderr,
		})
		return err
	},
	Clean: func(_ context.Context, s settings.Settings, c figure.Console) error {
		return Clean(s.ImagesCache, c.Stdout)
	},
}
