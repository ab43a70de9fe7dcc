// Package pipeline measures Figure 14: it builds the five NGINX images (one per allocator,
// images.go) from pinned sources with the one Unikraft builder (internal/unikraft) in the
// toolchain image, unstripped images kept for gdb and symbol lookup, records them with the
// paper's initrd for the run step (prepared.json), and boots each image REPS times, every
// boot's trace captured through QEMU's gdb stub (internal/gdbtrace), into a run directory
// that the fig14 package parses, plots and verifies (run.go).
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	fig14 "github.com/unikraft-eurosys21/artifact/experiments/fig_14"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/files"
	"github.com/unikraft-eurosys21/artifact/internal/progress"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

// ToolchainRecipe is the containers/ recipe the images are built in.
const ToolchainRecipe = "unikraft"

// PrepareOptions configure Prepare.
type PrepareOptions struct {
	Manifest   string // the repository's source manifest (containers/sources.json)
	Sources    sources.Options
	Containers string // the containers/ directory
	Images     string // image cache root (IMAGES_CACHE)
	GCC        string // "11" (default) or "12"
	Docker     docker.Options
	Log        logrus.FieldLogger
	Out        io.Writer // progress and the summary; os.Stderr when nil
	// Progress shows the builds as they go; plain lines on Out when nil.
	Progress *progress.Display
}

// Prepared is what the prepare step leaves for the run step (prepared[-<fixture>].json in
// the image cache): the images by allocator, the initrd, the toolchain and every pin.
type Prepared struct {
	Fixture   string             `json:"fixture,omitempty"`
	Mirror    string             `json:"mirror,omitempty"`
	Time      time.Time          `json:"time"`
	Toolchain Toolchain          `json:"toolchain"`
	Sources   []sources.Resolved `json:"sources"`
	// Images by allocator; each keeps its unstripped image as the extra output Build.Debug.
	Images map[string]*unikraft.Image `json:"images"`
	Initrd Initrd                     `json:"initrd"`
	// GDBScript is Unikraft's gdb script (support/scripts/uk-gdb.py) in the source cache's
	// tree of the pinned Unikraft: the run's captures source it (the patches do not touch it).
	GDBScript string `json:"gdb_script"`
}

// Toolchain describes the build container.
type Toolchain = docker.Toolchain

// Initrd is the paper's nginx.cpio, copied next to the images.
type Initrd struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// Debug is the path of the unstripped image of img (gdb reads it; QEMU boots img.Kernel).
func Debug(img *unikraft.Image) string { return img.Extras[NGINX.Debug] }

// Dir is Figure 14's directory in the image cache.
func Dir(images string) string { return filepath.Join(images, "fig_14") }

// preparedPath is the index of prepare for a fixture name ("" for the real sources).
func preparedPath(images, fixture string) string { return figure.PreparedPath(Dir(images), fixture) }

// ReadPrepared reads what prepare left for the given fixture ("" for real sources).
func ReadPrepared(images, fixture string) (*Prepared, error) {
	var pr Prepared
	if err := figure.ReadPrepared(Dir(images), fixture, "fig14", "images", &pr); err != nil {
		return nil, err
	}
	return &pr, nil
}

// Prepare fetches the pinned sources, builds the toolchain image and the five images (each
// cached by content, so an unchanged image is not rebuilt), copies the initrd next to them
// and records it all for the run step.
func Prepare(ctx context.Context, o PrepareOptions) (*Prepared, error) {
	start := time.Now()
	out := o.Out
	if out == nil {
		out = os.Stderr
	}
	log := o.Log
	if log == nil {
		log = logrus.StandardLogger()
	}
	log = log.WithFields(logrus.Fields{"figure": fig14.Figure.Dir, "step": "prepare"})
	m, err := sources.ManifestFor(o.Manifest, o.Sources.Mirror)
	if err != nil {
		return nil, err
	}
	pr := &Prepared{Fixture: m.Fixture, Mirror: o.Sources.Mirror, Time: time.Now().UTC(), Images: map[string]*unikraft.Image{}}
	if m.Fixture != "" {
		fmt.Fprintf(out, "fig14: FIXTURE %s from %s — a stand-in for the upstream sources; nothing built from it is Unikraft or NGINX\n", m.Fixture, o.Sources.Mirror)
	}
	b := NGINX
	// A source every image needs stops everything at once; one that only some images need
	// (an allocator library's archive) stops those images, after the others are built.
	needed := func(n string) []string {
		var by []string
		for _, im := range Images {
			if slices.Contains(b.SourcesOf(im), n) {
				by = append(by, im.Alloc)
			}
		}
		return by
	}
	need := b.Sources()
	var miss []string
	for _, n := range need {
		if _, ok := m.Source(n); !ok {
			miss = append(miss, n)
		}
	}
	for _, n := range miss {
		if len(needed(n)) == len(Images) {
			return nil, fmt.Errorf("fig14: %s has no source %s, which the NGINX images need", sourcesName(o.Manifest, m), strings.Join(miss, ", "))
		}
	}
	need = slices.DeleteFunc(need, func(n string) bool { return slices.Contains(miss, n) })
	sub, err := m.Only(need...)
	if err != nil {
		return nil, err
	}
	sopt := o.Sources
	if sopt.Log == nil {
		sopt.Log = o.Log
	}
	if sopt.Progress == nil {
		sopt.Progress = out
	}
	set, err := sources.Fetch(ctx, sub, sopt)
	var fetchProblems *sources.FetchError
	if fe := (*sources.FetchError)(nil); errors.As(err, &fe) {
		// A source that fails verification, or that every image needs, stops everything.
		for _, p := range fe.Problems {
			if p.Mismatch() || len(needed(p.Name)) == len(Images) {
				return nil, err
			}
			miss = append(miss, p.Name)
		}
		fetchProblems = fe
	} else if err != nil {
		return nil, err
	}
	pr.Sources = set.Pins()
	if core, ok := set.Get(b.Core); ok {
		pr.GDBScript = filepath.Join(core.Dir, "support", "scripts", "uk-gdb.py")
		if _, err := os.Stat(pr.GDBScript); err != nil {
			return nil, fmt.Errorf("fig14: the Unikraft tree %s has no gdb script support/scripts/uk-gdb.py, which the run's captures need: %w", b.Core, err)
		}
	}

	dopt := o.Docker
	if dopt.Log == nil {
		dopt.Log = o.Log
	}
	if dopt.Out == nil {
		dopt.Out = out
	}
	dc, err := docker.Connect(ctx, dopt)
	if err != nil {
		return nil, err
	}
	defer dc.Close()
	tc, env, rec, err := dc.UnikraftToolchain(ctx, o.Containers, ToolchainRecipe, o.GCC, "gcc-11", "gcc-12", "binutils", "make", "patch", "git")
	if err != nil {
		return nil, err
	}
	pr.Toolchain = rec

	builder := &unikraft.Builder{Docker: dc, Toolchain: tc, Cache: Dir(o.Images), Log: o.Log}
	display := o.Progress
	if display == nil {
		display = progress.New(out)
	}
	task := display.Start("fig14 images", len(Images), "images")
	defer task.Done()
	var notBuilt []string
	var specs []unikraft.Spec
	for _, im := range Images {
		if lacks := slices.DeleteFunc(b.SourcesOf(im), func(n string) bool { return !slices.Contains(miss, n) }); len(lacks) > 0 {
			task.Step(false)
			why := fmt.Sprintf("image %s not built: its source(s) %s are missing", im.Alloc, strings.Join(lacks, ", "))
			fmt.Fprintf(out, "fig14: %s\n", why)
			notBuilt = append(notBuilt, why)
			continue
		}
		spec, err := b.spec(ctx, set, im, env)
		if err != nil {
			return nil, err
		}
		specs = append(specs, spec)
	}
	// The images are built at once, one container each, the CPUs shared among them: on a
	// many-core host prepare takes as long as the longest image.
	built, err := builder.BuildAll(ctx, specs, min(len(specs), runtime.NumCPU()), func(r unikraft.Result) {
		task.Step(r.Err == nil && r.Image != nil)
		if r.Image == nil {
			return
		}
		img, alloc := r.Image, strings.TrimPrefix(r.Spec.Name, "fig14-")
		state := "up to date"
		if img.Built {
			state = fmt.Sprintf("built in %.1f s", img.Seconds)
		}
		fmt.Fprintf(out, "fig14: image %-9s %s  %s (sha256 %s)\n", alloc, state, img.Kernel, img.KernelSHA256[:12])
		reportDropped(log.WithField("image", alloc), out, m.Fixture, imageOf(alloc), img)
		pr.Images[alloc] = img
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("fig14: prepare interrupted while building the images: %w", context.Cause(ctx))
	case err != nil:
		return nil, fmt.Errorf("fig14: %w", err)
	}
	for _, r := range built {
		if r.Err != nil {
			// The other images are built and cached; the first failure is the message.
			return nil, fmt.Errorf("fig14: image %s: %w", strings.TrimPrefix(r.Spec.Name, "fig14-"), r.Err)
		}
	}
	task.Done()
	if len(notBuilt) > 0 {
		detail := ""
		if fetchProblems != nil {
			detail = "\n" + fetchProblems.Error()
		}
		return nil, fmt.Errorf("fig14: %s (the other images are built and cached; provide the missing source(s) in %s and run `go tool mage fig14:prepare` again)%s",
			strings.Join(notBuilt, "; "), sourcesName(o.Manifest, m), detail)
	}
	if pr.Initrd, err = placeInitrd(Dir(o.Images)); err != nil {
		return nil, err
	}
	if err := results.WriteJSONAtomic(preparedPath(o.Images, pr.Fixture), pr); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "fig14: prepared %d image(s) and the initrd %s (sha256 %s) in %.1f s (toolchain %s, gcc %s)\n",
		len(pr.Images), InitrdFile, pr.Initrd.SHA256[:12], time.Since(start).Seconds(), tc.Ref, pr.Toolchain.GCC)
	return pr, nil
}

// reportDropped says which of the paper's configuration lines olddefconfig dropped from img:
// debug lines for a library the image leaves out and for a FIXTURE tree (which declares
// only the symbols it uses; one summary line on out), a warning otherwise (the tree does not
// declare a line of the paper's configuration, which changes the image).
func reportDropped(l logrus.FieldLogger, out io.Writer, fixture string, im Image, img *unikraft.Image) {
	standin := 0
	for _, d := range img.Dropped {
		switch {
		case im.LeftOut(d):
			l.Debugf("olddefconfig dropped the paper's config line %s: its library is not in this image", d)
		case fixture != "":
			l.Debugf("olddefconfig of the FIXTURE tree dropped the paper's config line %s", d)
			standin++
		default:
			l.Warnf("olddefconfig dropped the paper's config line %s: the tree does not declare it", d)
		}
	}
	if standin > 0 {
		fmt.Fprintf(out, "fig14: FIXTURE: olddefconfig of the stand-in tree dropped %d of the paper's config lines of the %s image, which it does not declare (prepared.json lists them)\n", standin, im.Alloc)
	}
}

// imageOf is the image of allocator alloc.
func imageOf(alloc string) Image {
	for _, im := range Images {
		if im.Alloc == alloc {
			return im
		}
	}
	return Image{Alloc: alloc}
}

// spec is the build of image im from the fetched sources.
func (b Build) spec(ctx context.Context, set *sources.Set, im Image, env []string) (unikraft.Spec, error) {
	fail := func(err error) (unikraft.Spec, error) {
		return unikraft.Spec{}, fmt.Errorf("fig14: image %s: %w", im.Alloc, err)
	}
	core, err := unikraft.TreeOf(set, b.Core)
	if err != nil {
		return fail(err)
	}
	cfg, err := im.ConfigLines()
	if err != nil {
		return unikraft.Spec{}, err
	}
	s := unikraft.Spec{Name: "fig14-" + im.Alloc, Core: core, App: b.App, Config: cfg,
		Kernel: []string{b.Kernel}, Extras: []string{b.Debug}, Env: env}
	for _, l := range b.LibsOf(im) {
		t, err := unikraft.TreeOf(set, l)
		if err != nil {
			return fail(err)
		}
		s.Libs = append(s.Libs, t)
	}
	for _, st := range b.StepsOf(im) {
		steps, err := st.Resolve(ctx, set, core)
		if err != nil {
			return fail(err)
		}
		s.Steps = append(s.Steps, steps...)
	}
	for _, p := range b.PlacedOf(im) {
		a, err := unikraft.PlacedOf(set, p)
		if err != nil {
			return fail(err)
		}
		s.Archives = append(s.Archives, a)
	}
	return s, nil
}

// placeInitrd copies the paper's nginx.cpio into dir (once; a changed copy is replaced) and
// returns it with its sha256.
func placeInitrd(dir string) (Initrd, error) {
	b, err := fs.ReadFile(fig14.PaperFiles(), InitrdFile)
	if err != nil {
		return Initrd{}, fmt.Errorf("fig14: the paper's initrd paper/%s is missing from the build: %w", InitrdFile, err)
	}
	p := filepath.Join(dir, InitrdFile)
	if err := results.WriteFileAtomic(p, b, 0o644); err != nil {
		return Initrd{}, err
	}
	sum, err := files.SHA256(p)
	return Initrd{Path: p, SHA256: sum, Bytes: int64(len(b))}, err
}

// Clean removes Figure 14's images, work directories and prepared indexes from the image
// cache. Sources, toolchain images and results are kept.
func Clean(images string, out io.Writer) error {
	return unikraft.Clean(Dir(images), "fig14", "the images", out)
}

func sourcesName(path string, m *sources.Manifest) string {
	if m.Fixture != "" {
		return "the FIXTURE manifest " + m.Fixture
	}
	return path
}
