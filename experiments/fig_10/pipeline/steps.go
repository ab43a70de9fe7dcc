// Package pipeline measures Figure 10: it builds the hello-world guests of the selected VMMs
// from pinned sources with the one Unikraft builder (internal/unikraft) in the toolchain
// image (prepare.go, guests.go), checks what this host can run (feasible.go), and boots
// each guest REPS times, one fresh pinned VMM process per boot, timed by the host's
// observers, into a run directory that the fig10 package plots and verifies (run.go).
package pipeline

import (
	"context"

	"github.com/sirupsen/logrus"

	fig10 "github.com/unikraft-eurosys21/artifact/experiments/fig_10"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/settings"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
)

// Steps are Figure 10's prepare, run and clean targets: prepare and run first check VMMS
// and FC_GUEST against the figure (CheckSettings), then call Prepare or Run with the
// settings they need. Package experiments registers them with fig10.Figure.
var Steps = figure.Pipeline{
	Prepare: func(ctx context.Context, s settings.Settings, c figure.Console) error {
		if err := CheckSettings(s.VMMs, s.FCGuest); err != nil {
			return err
		}
		_, err := Prepare(ctx, PrepareOptions{
			VMMs: s.VMMs, Accel: s.Accel, Manifest: sources.ManifestPath, Containers: "containers",
			Sources: sources.Options{Cache: s.SourcesCache, Mirror: s.SourcesMirror, Progress: c.Stderr},
			Images:  s.ImagesCache, GCC: s.GCC, FCGuest: s.FCGuest, Binaries: binaries(s),
			Docker: docker.Options{Verbose: c.Verbose, LogDir: s.LogDir(), DebootstrapMirror: s.DebootstrapMirror},
			Log:    logrus.StandardLogger().WithField("figure", fig10.Figure.Dir),
			Out:    c.Stderr, Progress: c.Progress,
		})
		return err
	},
	Run: func(ctx context.Context, s settings.Settings, c figure.Console) (string, error) {
		if err := CheckSettings(s.VMMs, s.FCGuest); err != nil {
			return "", err
		}
		m, err := sources.ManifestFor(sources.ManifestPath, s.SourcesMirror)
		if err != nil {
			return "", err
		}
		values, from := s.Record()
		return Run(ctx, RunOptions{VMMs: s.VMMs, Accel: s.Accel,
			Plan:       rep.Plan{Reps: s.Reps, Warmup: s.Warmup, Timeout: DefaultTimeout},
			ResultsDir: s.ResultsDir, Images: s.ImagesCache, Fixture: m.Fixture, Strict: s.Strict,
			FCGuest: s.FCGuest, Binaries: binaries(s), QEMUCPU: s.QEMUCPU, Observers: s.Observers,
			Settings: values, SettingsFrom: from, Log: logrus.StandardLogger(), Out: c.Stdout, Progress: c.Progress})
	},
	Clean: func(_ context.Context, s settings.Settings, c figure.Console) error {
		return Clean(s.ImagesCache, c.Stdout)
	},
}

// binaries are the VMM binaries the settings name (QEMU, SOLO5_HVT, FIRECRACKER).
func binaries(s settings.Settings) Binaries {
	return Binaries{QEMU: s.QEMU, Solo5HVT: s.Solo5HVT, Firecracker: s.Firecracker}
}
