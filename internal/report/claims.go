package report

import (
	"fmt"
	"slices"
	"strings"

	fig08 "github.com/unikraft-eurosys21/artifact/experiments/fig_08"
	fig10 "github.com/unikraft-eurosys21/artifact/experiments/fig_10"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/stats"
)

// Claim verdicts.
const (
	Holds      = "holds"
	DoesNot    = "does not hold"
	NotJudged  = "not judged"
	NotChecked = "not checked"
)

// DocClaim is one headline claim of Unikraft's documentation page, checked against the run
// of the figure that illustrates it.
type DocClaim struct {
	Claim  string // as the documentation says it
	Figure string // the figure that covers it ("" for none)
	// Reading says how the claim's words ("around") are turned into a test.
	Reading string
	// Evidence is what the data shown says (for a figure without a judged run, the paper's
	// data or the FIXTURE's numbers, for information only).
	Evidence string
	Verdict  string // Holds, DoesNot, NotJudged or NotChecked
	Why      string // why not judged or not checked
}

// Tolerances of the documentation's claims. The documentation rounds the paper's figures,
// so its words are read with the margins below, which the report prints with each claim.
const (
	// ImageMax: "around 1 MB" — no image of the smallest build above 2 MiB (1 MB with a factor
	// of 2; smaller is not a contradiction) ...
	ImageMax = 2 << 20
	// ImageMedianMin: ... and their median at least 0.5 MiB, so that "around 1 MB" still
	// describes a typical application (the paper's helloworld is 0.19 MiB, nginx and sqlite
	// 0.81 MiB, redis 1.06 MiB).
	ImageMedianMin = 1 << 19
	// GuestMaxUs: "around 1 ms on top of the VMM time" — every VMM's mean guest part at most
	// 2 ms (1 ms with a factor of 2; a faster guest is not a contradiction).
	GuestMaxUs = 2000.0
	// TotalMinUs, TotalMaxUs: "total boot time 2 ms–40 ms" with a 10% margin on each end:
	// the documentation's range rounds the paper's bars, the slowest of which (QEMU 1NIC)
	// is 42.7 ms.
	TotalMinUs, TotalMaxUs = 1800.0, 44000.0
)

func docClaims(figs []Figure) []DocClaim {
	return []DocClaim{imageClaim(byID(figs, "fig08")), bootClaim(byID(figs, "fig10")), {
		Claim:   "Unikraft images need less than 10 MB of RAM",
		Verdict: NotChecked,
		Why: "none of the four figures measures how much memory a guest needs (Figure 14's NGINX boots with the " +
			"1024 MiB the paper gave it; the paper's memory figure is not part of this bundle)",
	}}
}

func byID(figs []Figure, id string) *Figure {
	for i := range figs {
		if figs[i].ID == id {
			return &figs[i]
		}
	}
	return nil
}

// shown is the figure's data the claim is computed on, with a judgement gate: a claim is
// judged only on a measured real run under KVM; otherwise it is computed for information.
func shown(f *Figure) (figure.Dataset, string, bool) {
	if f.Measured == nil {
		return f.Paper.Data, "paper's data (" + f.NoRun + ")", false
	}
	ok, why := f.Judged()
	if !ok {
		return f.Measured.Data, why, false
	}
	return f.Measured.Data, "", true
}

func imageClaim(f *Figure) DocClaim {
	c := DocClaim{Claim: "Unikraft images are around 1 MB", Figure: "fig08",
		Reading: fmt.Sprintf("the DCE+LTO image (the smallest build of Figure 8) of every app in the run is at most %s, "+
			"and their median at least %s", mib(ImageMax), mib(ImageMedianMin))}
	if f == nil {
		c.Verdict, c.Why = NotJudged, "Figure 8 is not in this report"
		return c
	}
	data, why, judged := shown(f)
	d, ok := data.(*fig08.Dataset)
	if !ok {
		c.Verdict, c.Why = NotJudged, fmt.Sprintf("Figure 8's data has an unexpected type %T", data)
		return c
	}
	var sizes []int64
	var parts []string
	for _, app := range fig08.Apps {
		if b, ok := d.Sizes[fig08.Image{App: app, Variant: "dce_lto"}]; ok {
			sizes = append(sizes, b)
			parts = append(parts, fmt.Sprintf("%s %s", app, mib(b)))
		}
	}
	if len(sizes) == 0 {
		c.Verdict, c.Why = NotJudged, "no DCE+LTO image in the run"
		return c
	}
	if len(sizes) < len(fig08.Apps) && judged {
		// The median of a subset is not the paper's: every app must be in.
		why, judged = fmt.Sprintf("partial run: %d of %d apps' DCE+LTO images", len(sizes), len(fig08.Apps)), false
	}
	holds := slices.Max(sizes) <= ImageMax && median(sizes) >= ImageMedianMin
	c.Evidence = fmt.Sprintf("%s; median %s", strings.Join(parts, ", "), mib(median(sizes)))
	return judge(c, holds, judged, why)
}

func bootClaim(f *Figure) DocClaim {
	c := DocClaim{Claim: "Unikraft guests boot in around 1 ms on top of the VMM time (total boot time 2 ms–40 ms)", Figure: "fig10",
		Reading: fmt.Sprintf("every VMM of Figure 10 ran; on the QEMU series (QEMU, QEMU (1NIC), QEMU (MicroVM)), whose VMM/guest "+
			"split is measured the same way, the mean guest part is at most %.0f ms; on every VMM the mean total is within %.1f–%.0f ms (the range ±10%%)",
			GuestMaxUs/1000, TotalMinUs/1000, TotalMaxUs/1000)}
	if f == nil {
		c.Verdict, c.Why = NotJudged, "Figure 10 is not in this report"
		return c
	}
	data, why, judged := shown(f)
	d, ok := data.(*fig10.Dataset)
	if !ok {
		c.Verdict, c.Why = NotJudged, fmt.Sprintf("Figure 10's data has an unexpected type %T", data)
		return c
	}
	holds, ran := true, 0
	var parts, notRun []string
	for _, s := range d.Series {
		if !s.Ran() {
			notRun = append(notRun, s.Label)
			continue
		}
		ran++
		_, guest, total := s.Stats()
		// fig10 does not compare the split across VMMs (Solo5's and Firecracker's parts are
		// measured otherwise): the guest part counts for the QEMU series only.
		qemu := strings.HasPrefix(s.Key, fig10.QEMU)
		ok := total.Mean >= TotalMinUs && total.Mean <= TotalMaxUs && (!qemu || guest.Mean <= GuestMaxUs)
		holds = holds && ok
		mark := ""
		if !ok {
			mark = " ✗"
		}
		if qemu {
			parts = append(parts, fmt.Sprintf("%s guest %.3f ms, total %.1f ms%s", s.Label, guest.Mean/1000, total.Mean/1000, mark))
		} else {
			parts = append(parts, fmt.Sprintf("%s total %.1f ms%s", s.Label, total.Mean/1000, mark))
		}
	}
	if ran == 0 {
		c.Verdict, c.Why = NotJudged, "no VMM ran"
		return c
	}
	c.Evidence = strings.Join(parts, "; ")
	if len(notRun) > 0 {
		c.Evidence += "; not run: " + strings.Join(notRun, ", ")
		if judged {
			why, judged = "partial run: "+strings.Join(notRun, ", ")+" did not run", false
		}
	}
	return judge(c, holds, judged, why)
}

func judge(c DocClaim, holds, judged bool, why string) DocClaim {
	v := DoesNot
	if holds {
		v = Holds
	}
	if !judged {
		c.Verdict, c.Why = NotJudged, why+"; on this data it "+v+", for information only"
		return c
	}
	c.Verdict = v
	return c
}

// median of the image sizes, in bytes (stats.Median of their values).
func median(xs []int64) int64 {
	fs := make([]float64, len(xs))
	for i, x := range xs {
		fs[i] = float64(x)
	}
	return int64(stats.Median(fs))
}

func mib(b int64) string { return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20)) }
