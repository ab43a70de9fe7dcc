package report

import (
	"fmt"

	fig08 "github.com/unikraft-eurosys21/artifact/experiments/fig_08"
	fig10 "github.com/unikraft-eurosys21/artifact/experiments/fig_10"
	fig14 "github.com/unikraft-eurosys21/artifact/experiments/fig_14"
	fig22 "github.com/unikraft-eurosys21/artifact/experiments/fig_22"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

// notRun lists what a run did not run or what failed in it, each with the reason the run
// recorded: fig08's builds (builds.tsv), fig10's, fig14's and fig22's series (series.json). For a
// figure the report does not know, the verdict's failed units and the series it could not
// judge because they were not run.
func notRun(d figure.Dataset, r *verify.Report) []string {
	var out []string
	switch d := d.(type) {
	case *fig08.Dataset:
		for _, img := range fig08.Images() {
			if _, ok := d.Sizes[img]; ok {
				continue
			}
			if b, ok := d.Builds[img]; ok && b.Status == fig08.Failed {
				out = append(out, fmt.Sprintf("%s — FAILED: build failed; log %s", img.Key(), b.Log))
			} else {
				out = append(out, img.Key()+" — not run: not built in this run (APPS/VARIANTS)")
			}
		}
	case *fig10.Dataset:
		for _, s := range d.Series {
			switch {
			case !s.Ran():
				out = append(out, s.Label+" — "+s.Why())
			case s.FailedBoots > 0:
				out = append(out, fmt.Sprintf("%s — FAILED: %d of %d boots failed (raw logs under raw/%s/)", s.Label, s.FailedBoots, s.Planned, s.Key))
			}
		}
	case *fig14.Dataset:
		for _, s := range d.Series {
			if s.Status != nil && s.Status.Why() != "" {
				out = append(out, s.Label+" — FAILED: "+s.Status.Why())
			}
		}
	case *fig22.Dataset:
		for _, s := range d.Status {
			if why := s.Why(); why != "" {
				out = append(out, fmt.Sprintf("%s VM — FAILED: %s (consoles of failed boots under raw/%s/)", s.Console, why, s.Console))
			}
		}
	default:
		for _, row := range r.Rows {
			switch {
			case row.Kind == "unit" && row.Verdict == verify.Fail:
				out = append(out, row.Series+" — FAILED: "+row.Note)
			case row.Verdict == verify.Skip && len(row.Note) >= 7 && row.Note[:7] == "not run":
				out = append(out, row.Series+" — "+row.Note)
			}
		}
	}
	return out
}
