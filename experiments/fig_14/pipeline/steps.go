package pipeline

import (
	"context"
	"strconv"

	"github.com/sirupsen/logrus"

	fig14 "github.com/unikraft-eurosys21/artifact/experiments/fig_14"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/settings"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
)

// Steps are Figure 14's prepare, run and clean targets. Package experiments registers them
// with fig14.Figure.
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
	Run: func(ctx context.Context, s settings.Settings, c figure.Console) (string, error) {
		m, err := sources.ManifestFor(sources.ManifestPath, s.SourcesMirror)
		if err != nil {
			return "", err
		}
		values, from := s.Record()
		reps := s.Reps
		if from["REPS"] == settings.Default {
			// The bundle-wide default of REPS (26) is Figure 10's loop; the paper ran 10
			// boots per allocator for Figure 14.
			reps = DefaultReps
			values["REPS"] = strconv.Itoa(reps)
		}
		return Run(ctx, RunOptions{Accel: s.Accel, Plan: rep.Plan{Reps: reps, Timeout: DefaultTimeout},
			ResultsDir: s.ResultsDir, Images: s.ImagesCache, Fixture: m.Fixture, QEMU: s.QEMU, QEMUCPU: s.QEMUCPU,
			Settings: values, SettingsFrom: from, Log: logrus.StandardLogger(), Out: c.Stdout, Progress: c.Progress})
	},
	Clean: func(_ context.Context, s settings.Settings, c figure.Console) error {
		return Clean(s.ImagesCache, c.Stdout)
	},
}
