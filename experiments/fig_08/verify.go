package fig08

import (
	"fmt"
	"slices"
	"strings"

	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

// ClaimLimit is the paper's "Unikraft images are all under 2MB", read as 2 MiB: the paper
// labels its sizes with sizeof_fmt (base 1024), so its "2.0MB" grid line is at 2 MiB.
const ClaimLimit = 2 << 20

// StepTolerance is how many 64 KiB layout steps a size may differ from the paper's and
// still be OK. One step can come from a single byte of content crossing an alignment
// boundary (the helloworld LTO image moves by one step between gcc 8 and gcc 11 builds of
// the same source), so it says nothing; two steps mean at least 64 KiB more or less content.
const StepTolerance = 1

// Verify compares d with the paper's data: each image's size in layout steps, and the
// claims the figure supports (all images under 2 MB; DCE shrinks every app; neither LTO nor
// DCE+LTO makes an image larger than the default build).
func (d *Dataset) Verify(r *verify.Report) {
	p, err := Paper()
	if err != nil {
		r.Claim("the paper's recorded data is readable", "embedded paper/", err.Error(), false)
		return
	}
	if d.Fixture != "" {
		// Stand-in images are shown next to the paper's, never judged against them.
		defer r.Unjudged(len(r.Rows), "FIXTURE "+d.Fixture+": stand-in images, not Unikraft")
	}
	for _, img := range Images() {
		pb := p.Sizes[img]
		mb, ok := d.Sizes[img]
		if !ok {
			if b, failed := d.Builds[img]; failed && b.Status == Failed {
				r.Failed(img.Key(), "build failed; log: "+b.Log)
			} else {
				r.Skipped(img.Key(), "image not in this run")
			}
			continue
		}
		r.Compare(img.Key(), "steps", float64(Steps(pb)), float64(Steps(mb)), verify.Tolerance{Abs: StepTolerance})
		// The verdict is judged in steps; the row also shows the exact bytes.
		row := &r.Rows[len(r.Rows)-1]
		row.Paper = stepsText(pb)
		row.Measured = stepsText(mb)
		row.Diff = fmt.Sprintf("%+d B, %+d steps", mb-pb, Steps(mb)-Steps(pb))
		row.Note = fmt.Sprintf("tolerance ±%d step of 64 KiB", StepTolerance)
	}

	pk, pmax := p.largest()
	mk, mmax := d.largest()
	r.Claim("every image is under 2 MB (2 MiB = 2097152 B)",
		fmt.Sprintf("largest of %d: %s %d B (%s)", len(p.Sizes), pk, pmax, SizeofFmt(float64(pmax))),
		fmt.Sprintf("largest of %d: %s %d B (%s)%s", len(d.Sizes), mk, mmax, SizeofFmt(float64(mmax)), d.over(ClaimLimit)),
		mmax < ClaimLimit)

	for _, app := range Apps {
		d.claim(r, p, app, "dce", "DCE makes the image smaller than the default build", func(x, def int64) bool { return x < def })
		d.claim(r, p, app, "lto", "LTO does not make the image larger than the default build", func(x, def int64) bool { return x <= def })
		d.claim(r, p, app, "dce_lto", "DCE+LTO does not make the image larger than the default build", func(x, def int64) bool { return x <= def })
	}

	r.Note("\"2 MB\" is read as 2 MiB, as the paper's sizeof_fmt labels sizes; read as 2000000 B it holds for the paper "+
		"(largest %d B) and %s for this data (largest %d B)", pmax, holdsText(mmax < 2000000), mmax)
	r.Note("sizes are compared in 64 KiB layout steps (bytes / 65536, rounded down): the image file size is quantised " +
		"by the 64 KiB-aligned interrupt stacks it ends with, so one byte more content can add a whole step")
	if q := d.quantisedTwins(); q != "" {
		r.Note("%s: 64 KiB quantisation, not a copied image (see experiments/fig_08/README.md)", q)
	}
	d.configNotes(r)
}

// configNotes says how the variants of each app differ beyond DCE and LTO, from the final
// .config files of the run, never from the kraft.yaml lines: Kconfig's selects and choice
// defaults turn some of their "=n" lines back on (CONFIG_LIBUKDEBUG=y in every redis and
// sqlite variant of Unikraft 0.4), and drop symbols that do not exist.
func (d *Dataset) configNotes(r *verify.Report) {
	n := 0
	for _, app := range Apps {
		if s := d.configDifferences(app, 8); s != "" {
			r.Note("%s; where they do, the savings are not those of the two flags alone", s)
			n++
		}
	}
	if n == 0 {
		r.Note("how the variants' configurations differ is not shown: that needs the final .config of at least two " +
			"variants of an app (raw/<image>.config, kept by fig08:run); the kraft.yaml files do not tell it")
	}
}

// claim adds "<app>: <text>" comparing the variant's image with the app's default build,
// or a SKIP row when the run lacks one of the two.
func (d *Dataset) claim(r *verify.Report, p *Dataset, app, vkey, text string, holds func(x, def int64) bool) {
	img, def := Image{app, vkey}, Image{app, "default"}
	text = app + ": " + text
	mx, ok1 := d.Sizes[img]
	mdef, ok2 := d.Sizes[def]
	if !ok1 || !ok2 {
		r.Skipped(text, fmt.Sprintf("needs %s and %s; not both in this run", def.Key(), img.Key()))
		return
	}
	side := func(x, def int64) string {
		return fmt.Sprintf("%d B vs %d B (%+.1f%%)", x, def, 100*float64(x-def)/float64(def))
	}
	r.Claim(text, side(p.Sizes[img], p.Sizes[def]), side(mx, mdef), holds(mx, mdef))
}

// largest returns the biggest image (the first in plot order on a tie).
func (d *Dataset) largest() (string, int64) {
	var key string
	var max int64 = -1
	for _, img := range d.images() {
		if d.Sizes[img] > max {
			key, max = img.Key(), d.Sizes[img]
		}
	}
	return key, max
}

// over lists the images at or above limit, for the claim's measured column.
func (d *Dataset) over(limit int64) string {
	var keys []string
	for _, img := range d.images() {
		if d.Sizes[img] >= limit {
			keys = append(keys, img.Key())
		}
	}
	if len(keys) == 0 {
		return ""
	}
	return "; at or above: " + strings.Join(keys, ", ")
}

// quantisedTwins describes the apps whose images have identical sizes in every variant
// measured for both, e.g. "nginx and sqlite have identical sizes in all 4 variants".
func (d *Dataset) quantisedTwins() string {
	var out []string
	for i, a := range Apps {
		for _, b := range Apps[i+1:] {
			n, same := 0, 0
			for _, v := range Variants {
				x, ok1 := d.Sizes[Image{a, v.Key}]
				y, ok2 := d.Sizes[Image{b, v.Key}]
				if ok1 && ok2 {
					n++
					if x == y {
						same++
					}
				}
			}
			if n > 0 && same == n {
				out = append(out, fmt.Sprintf("%s and %s have identical sizes in all %d variants measured", a, b, n))
			}
		}
	}
	slices.Sort(out)
	return strings.Join(out, "; ")
}

func stepsText(b int64) string { return fmt.Sprintf("%d B (%d steps)", b, Steps(b)) }

func holdsText(ok bool) string {
	if ok {
		return "holds"
	}
	return "does not hold"
}
