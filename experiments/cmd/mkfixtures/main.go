// Command mkfixtures writes every figure's FIXTURE source mirror into one directory, each in
// the figure's own folder (fig_08/, fig_10/, fig_14/, fig_22/), so that one setting tests
// every pipeline without the upstream sources:
//
//	go run ./experiments/cmd/mkfixtures <dir>
//	SOURCES_MIRROR=<dir> ACCEL=tcg REPS=2 go tool mage all
//
// SOURCES_MIRROR pointing at such a directory gives each figure the mirror in its folder
// (settings.Settings.ForFigure). The stand-in trees differ per figure (each one takes the
// paths its figure's real code takes), which is why they are not merged into one mirror.
// Everything built from them is marked FIXTURE in results, plots, verdicts and the report.
package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	fig08 "github.com/unikraft-eurosys21/artifact/experiments/fig_08/fixture"
	fig10 "github.com/unikraft-eurosys21/artifact/experiments/fig_10/fixture"
	fig14 "github.com/unikraft-eurosys21/artifact/experiments/fig_14/fixture"
	fig22 "github.com/unikraft-eurosys21/artifact/experiments/fig_22/fixture"
	"github.com/unikraft-eurosys21/artifact/internal/fixturemirror"
)

func main() {
	fixturemirror.Main("go run ./experiments/cmd/mkfixtures <dir>", func(ctx context.Context, dir string) (string, error) {
		writers := []struct {
			fig   string
			write func(context.Context, string) error
		}{
			{"fig_08", func(ctx context.Context, d string) error { _, err := fig08.WriteMirror(ctx, d); return err }},
			{"fig_10", func(ctx context.Context, d string) error { _, err := fig10.WriteMirror(ctx, d); return err }},
			{"fig_14", func(ctx context.Context, d string) error { _, err := fig14.WriteMirror(ctx, d); return err }},
			{"fig_22", func(ctx context.Context, d string) error { _, err := fig22.WriteMirror(ctx, d); return err }},
		}
		var wrote []string
		for _, w := range writers {
			d := filepath.Join(dir, w.fig)
			if err := w.write(ctx, d); err != nil {
				return "", fmt.Errorf("%s: %w", w.fig, err)
			}
			wrote = append(wrote, d)
		}
		return fmt.Sprintf("FIXTURE: wrote the stand-in source mirrors of every figure (not Unikraft):\n  %s\n"+
			"use them with: SOURCES_MIRROR=%s ACCEL=tcg REPS=2 go tool mage all\n", strings.Join(wrote, "\n  "), dir), nil
	})
}
