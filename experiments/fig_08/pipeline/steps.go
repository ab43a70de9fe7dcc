package pipeline

import (
	"context"
	"fmt"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/settings"
)

// Steps are Figure 8's prepare, run and clean targets: each makes its options from the
// settings (FromSettings) and calls Prepare, Run or Clean. Package experiments registers
// them with fig08.Figure.
var Steps = figure.Pipeline{
	Prepare: func(ctx context.Context, s settings.Settings, c figure.Console) error {
		opt, err := FromSettings(s, c.Stderr, c.Verbose)
		if err != nil {
			return err
		}
		opt.Progress = c.Progress
		return Prepare(ctx, opt)
	},
	Run: func(ctx context.Context, s settings.Settings, c figure.Console) (string, error) {
		opt, err := FromSettings(s, c.Stderr, c.Verbose)
		if err != nil {
			return "", err
		}
		opt.Progress = c.Progress
		rep, err := Run(ctx, opt)
		if rep == nil {
			return "", err
		}
		return rep.RunDir, err
	},
	Clean: func(_ context.Context, s settings.Settings, c figure.Console) error {
		opt, err := FromSettings(s, c.Stderr, c.Verbose)
		if err != nil {
			return err
		}
		removed, err := Clean(opt)
		for _, d := range removed {
			fmt.Fprintln(c.Stderr, "fig08: removed", d)
		}
		return err
	},
}
