package fig08

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/unikraft-eurosys21/artifact/internal/results"
)

// Dataset is Figure 8's data: the size of each measured image and, where recorded, its ELF
// layout. A run may hold a subset of the 16 images; the chart and the verdict show what is
// there.
type Dataset struct {
	Sizes Sizes
	// Layout is empty when the run recorded none.
	Layout map[Image]Layout
	// Builds says how each image of a run was built (builds.tsv); empty for the paper's
	// data and for runs that did not record it.
	Builds map[Image]Build
	// Fixture names the stand-in sources a run was built from (manifest.json); empty for
	// real builds and for the paper's data.
	Fixture string
	// Configs are the final .config files a run kept (raw/<image>.config); empty for the
	// paper's data. What the verdict says about how variants differ comes from them only.
	Configs map[Image]Config
}

// Paper returns the paper's data: all 16 sizes and their ELF layout.
func Paper() (*Dataset, error) {
	d, err := read(PaperFiles(), "paper/")
	if err != nil {
		return nil, err
	}
	for _, img := range Images() {
		if _, ok := d.Sizes[img]; !ok {
			return nil, fmt.Errorf("paper/%s: no row for %s; the embedded paper data is incomplete", ResultsFile, img.Key())
		}
	}
	return d, nil
}

// Load reads a run directory: results.csv (required), elf-layout.tsv (optional, in the
// format of the paper's copy) and builds.tsv (optional).
func Load(runDir string) (*Dataset, error) {
	d, err := read(os.DirFS(runDir), filepath.Clean(runDir)+string(filepath.Separator))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no %s: it is not a complete Figure 8 run; run the figure again or pick another run: %w",
			runDir, ResultsFile, err)
	}
	if err != nil {
		return nil, err
	}
	if d.Configs, err = readConfigs(os.DirFS(runDir), filepath.Clean(runDir)+string(filepath.Separator), d.Sizes); err != nil {
		return nil, err
	}
	m, err := results.ReadManifest(runDir)
	switch {
	case err == nil:
		d.Fixture = m.Fixture
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	return d, nil
}

// Write writes the dataset's files into dir (a run directory), each atomically, in the
// paper's formats: results.csv, elf-layout.tsv and builds.tsv.
func (d *Dataset) Write(dir string) error {
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{ResultsFile, func(w io.Writer) error { return WriteResults(w, d.Sizes) }},
		{LayoutFile, func(w io.Writer) error { return WriteLayout(w, d.Sizes, d.Layout) }},
		{BuildsFile, func(w io.Writer) error { return WriteBuilds(w, d.Builds) }},
	} {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			return err
		}
		if err := results.WriteFileAtomic(filepath.Join(dir, f.name), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// read loads results.csv and the optional elf-layout.tsv from fsys; prefix makes the file
// names in error messages point at the real files.
func read(fsys fs.FS, prefix string) (*Dataset, error) {
	f, err := fsys.Open(ResultsFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sizes, err := ParseResults(prefix+ResultsFile, f)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Sizes: sizes, Layout: map[Image]Layout{}, Builds: map[Image]Build{}}
	if err := readOptional(fsys, LayoutFile, func(r io.Reader) (err error) {
		d.Layout, err = ParseLayout(prefix+LayoutFile, r, sizes)
		return err
	}); err != nil {
		return nil, err
	}
	if err := readOptional(fsys, BuildsFile, func(r io.Reader) (err error) {
		d.Builds, err = ParseBuilds(prefix+BuildsFile, r, sizes)
		return err
	}); err != nil {
		return nil, err
	}
	return d, nil
}

// readOptional parses name with parse when fsys has it.
func readOptional(fsys fs.FS, name string, parse func(io.Reader) error) error {
	f, err := fsys.Open(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	}
	defer f.Close()
	return parse(f)
}

// images lists the measured images in plot order.
func (d *Dataset) images() []Image {
	var out []Image
	for _, img := range Images() {
		if _, ok := d.Sizes[img]; ok {
			out = append(out, img)
		}
	}
	return out
}

// reduction is how much smaller img is than its app's default build, in percent; ok is
// false when the default was not measured.
func (d *Dataset) reduction(img Image) (pct float64, ok bool) {
	def, ok := d.Sizes[Image{img.App, "default"}]
	if !ok {
		return 0, false
	}
	return 100 * float64(def-d.Sizes[img]) / float64(def), true
}

// ImageSummary is one image in summary.json.
type ImageSummary struct {
	Image   string `json:"image"`
	App     string `json:"app"`
	Variant string `json:"variant"`
	Bytes   int64  `json:"bytes"`
	// Label is the size as the figure prints it (sizeof_fmt).
	Label string `json:"label"`
	// ReductionPct is 100·(default − bytes)/default, two decimals; absent without a default.
	ReductionPct *float64 `json:"reduction_vs_default_pct,omitempty"`
	// LayoutSteps is bytes / 64 KiB, rounded down; TailBytes the remainder (see LayoutStep).
	LayoutSteps int64   `json:"layout_steps_64KiB"`
	TailBytes   int64   `json:"tail_bytes"`
	Layout      *Layout `json:"elf_layout,omitempty"`
	Build       *Build  `json:"build,omitempty"`
}

// Summary lists every measured image in plot order.
func (d *Dataset) Summary() any {
	var out []ImageSummary
	for _, img := range d.images() {
		b := d.Sizes[img]
		s := ImageSummary{
			Image: img.Key(), App: img.App, Variant: img.Variant, Bytes: b, Label: SizeofFmt(float64(b)),
			LayoutSteps: Steps(b), TailBytes: b % LayoutStep,
		}
		if pct, ok := d.reduction(img); ok {
			pct = math.Round(pct*100) / 100
			s.ReductionPct = &pct
		}
		if l, ok := d.Layout[img]; ok {
			s.Layout = &l
		}
		if b, ok := d.Builds[img]; ok {
			s.Build = &b
		}
		out = append(out, s)
	}
	return out
}

// sameSize lists the apps other than img's whose image in the same variant has exactly the
// same size: the visible sign of 64 KiB quantisation (sqlite and nginx in the paper).
func (d *Dataset) sameSize(img Image) []string {
	var out []string
	for _, a := range Apps {
		if other, ok := d.Sizes[Image{a, img.Variant}]; ok && a != img.App && other == d.Sizes[img] {
			out = append(out, a)
		}
	}
	return out
}

func joinAnd(xs []string) string {
	if len(xs) <= 1 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
