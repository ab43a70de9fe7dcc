// Package pipeline makes Figure 8's images: it translates the paper's kraft.yaml files into
// specs for the one Unikraft builder (internal/unikraft: plain make, no kraft tool), which
// builds them in parallel from pinned sources in containers of the toolchain image and
// reuses an image whose inputs did not change; it measures what was built (file size and
// ELF sections) into a run directory that the fig08 package plots and verifies.
package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	fig08 "github.com/unikraft-eurosys21/artifact/experiments/fig_08"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/progress"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

// Figure is the figure directory under results/.
const Figure = "fig_08"

// FixtureFailSymbol makes the fixture's stand-in Unikraft fail a build on purpose.
const FixtureFailSymbol = "CONFIG_FIXTURE_FAIL"

// Phase is the build phase of a run: how long it took against the sum of the builds it ran.
type Phase struct {
	Images int `json:"images"`
	Built  int `json:"built"`
	Reused int `json:"reused"`
	Failed int `json:"failed"`
	Jobs   int `json:"jobs"`
	// MakeJobs is make's -j inside each container: the CPUs shared among the builds at once.
	MakeJobs    int     `json:"make_jobs"`
	WallSeconds float64 `json:"wall_seconds"`
	// SumSeconds adds up the build times of the images built (not reused) in this run.
	SumSeconds float64 `json:"sum_of_build_seconds"`
	// Speedup is SumSeconds / WallSeconds: what running the builds in parallel gained.
	Speedup float64 `json:"parallel_speedup,omitempty"`
}

// String is the line printed after the build phase.
func (p Phase) String() string {
	s := fmt.Sprintf("build phase: %d images (%d built, %d reused, %d failed) in %.1f s wall, JOBS=%d, make -j%d",
		p.Images, p.Built, p.Reused, p.Failed, p.WallSeconds, p.Jobs, p.MakeJobs)
	if p.Built > 0 {
		s += fmt.Sprintf("; sum of the %d build times %.1f s: parallel speed-up %.2f×", p.Built, p.SumSeconds, p.Speedup)
	}
	return s
}

// Report is what Run did.
type Report struct {
	RunDir       string
	Fixture      string
	Builds       map[fig08.Image]fig08.Build
	Measurements map[fig08.Image]Measurement
	// Dropped lists, per image, the lines of the .config written before olddefconfig (the
	// kraft.yaml lines and the bundle's) that the final .config does not hold as written.
	Dropped map[fig08.Image][]string
	Phase   Phase
}

// ErrBuildsFailed is what Run returns (wrapped, with the images and where their logs are)
// when builds were tried and failed; the run with the other images is written all the same.
var ErrBuildsFailed = errors.New("builds failed")

// Run builds and measures the selected images and writes a complete run directory
// (results/fig_08/<run id>/): results.csv in the paper's format, elf-layout.tsv,
// sections.tsv, builds.tsv, summary.json, manifest.json and raw/ (every build log and
// final .config). A build that fails stops only its image: the run is written with the
// others, the failure is in builds.tsv and is a FAIL in the verdict, and Run returns an
// error (ErrBuildsFailed). A lost Docker daemon or an interrupt stops every build at once;
// the partial run is kept under results/fig_08/failed/<run id>/.
func Run(ctx context.Context, opt Options) (*Report, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	plans, err := plansFor(opt.Images)
	if err != nil {
		return nil, err
	}
	m, err := sources.ManifestFor(opt.Manifest, opt.Sources.Mirror)
	if err != nil {
		return nil, err
	}
	if len(opt.FixtureFail) > 0 && m.Fixture == "" {
		return nil, fmt.Errorf("FIXTURE_FAIL is for the fixture only (it sets %s, which only the fixture's stand-in Unikraft knows); unset it", FixtureFailSymbol)
	}
	set, err := fetch(ctx, opt, m, plans)
	if err != nil {
		return nil, err
	}
	env, err := docker.GCCEnv(opt.GCC)
	if err != nil {
		return nil, err
	}
	var specs []unikraft.Spec
	for _, p := range plans {
		var extra []string
		if slices.Contains(opt.FixtureFail, p.Image) {
			extra = append(extra, FixtureFailSymbol+"=y")
		}
		s, err := p.Spec(set, env, extra...)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}

	c, err := docker.Connect(ctx, opt.dockerOptions())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	tool, err := toolchain(ctx, c, opt.Containers)
	if err != nil {
		return nil, err
	}
	pkgs, err := c.PackageVersions(ctx, tool.Ref)
	if err != nil {
		return nil, err
	}

	kind := "upstream"
	if set.Fixture != "" {
		kind = "fixture-" + set.Fixture
		fmt.Fprintf(opt.Out, "fig08: FIXTURE %s: the sources are stand-ins from %s; nothing built here is a Unikraft image\n", set.Fixture, opt.Sources.Mirror)
	}
	run, err := results.Create(opt.ResultsDir, Figure)
	if err != nil {
		return nil, err
	}
	man := results.NewManifest(run)
	man.Fixture = set.Fixture
	man.Settings, man.SettingsFrom = maps.Clone(opt.Settings), opt.SettingsFrom
	// Build sizes do not depend on CPU isolation; the report is recorded anyway so that
	// every run's manifest describes its host the same way.
	man.RecordHost(ctx, "")
	man.Images = map[string]string{tool.Ref: tool.ID}
	man.Sources = set.Pins()
	man.Tools = map[string]string{}
	for p, v := range pkgs {
		man.Tools["deb:"+p] = v
	}

	b := &unikraft.Builder{Docker: c, Toolchain: tool, Cache: filepath.Join(opt.BuildCache, kind), Jobs: opt.makeJobs,
		Log: opt.Log.WithField("figure", Figure), NoFetchPrepare: opt.noSerialPrepare}
	display := opt.Progress
	if display == nil {
		display = progress.New(opt.Out)
	}
	rec := &recorder{opt: opt, raw: run.RawDir(), images: map[string]fig08.Image{}, outcomes: map[fig08.Image]outcome{},
		task: display.Start("fig08 builds", len(specs), "images")}
	for _, p := range plans {
		rec.images[p.Image.Key()] = p.Image
	}
	start := time.Now()
	_, err = b.BuildAll(ctx, specs, opt.Jobs, rec.done)
	rec.task.Done()
	phase := rec.phase(opt.Jobs, b.MakeJobs(min(opt.Jobs, len(specs))), len(plans), time.Since(start))
	if err != nil {
		man.Notes = append(man.Notes, "stopped: "+err.Error())
		man.Ended = time.Now().UTC()
		_ = run.WriteJSON("manifest.json", man)
		dir := run.Abort()
		return nil, fmt.Errorf("fig08: %w\n  the partial run (logs of the %d builds that ended) is kept in %s", err, len(rec.outcomes), dir)
	}

	rep := &Report{Fixture: set.Fixture, Builds: map[fig08.Image]fig08.Build{}, Measurements: map[fig08.Image]Measurement{},
		Dropped: map[fig08.Image][]string{}, Phase: phase}
	sizes := fig08.Sizes{}
	layouts := map[fig08.Image]fig08.Layout{}
	compilers := map[string]bool{}
	var failed []string
	for _, p := range plans {
		o := rec.outcomes[p.Image]
		rep.Builds[p.Image] = o.build
		if len(o.dropped) > 0 {
			rep.Dropped[p.Image] = o.dropped
		}
		if o.build.Compiler != "" {
			compilers[o.build.Compiler] = true
		}
		if o.err != nil {
			failed = append(failed, p.Image.Key())
			msg, _, _ := strings.Cut(o.err.Error(), "\n")
			man.Notes = append(man.Notes, fmt.Sprintf("%s: build failed: %s", p.Image.Key(), msg))
			continue
		}
		rep.Measurements[p.Image] = o.measure
		sizes[p.Image] = o.measure.FileBytes
		layouts[p.Image] = o.measure.Layout
	}
	man.Tools["gcc"] = strings.Join(slices.Sorted(maps.Keys(compilers)), "; ")
	if man.Settings == nil {
		man.Settings = map[string]string{}
	}
	man.Settings["JOBS (effective)"] = fmt.Sprint(opt.Jobs)
	man.Settings["GCC (effective)"] = opt.GCC
	man.Settings["make -j per build"] = fmt.Sprint(phase.MakeJobs)
	man.Notes = append(man.Notes,
		"built with Unikraft's plain make build from the paper's kraft.yaml (no kraft tool), gcc "+opt.GCC+
			" of Debian 12 instead of the paper's gcc 8.3, with the two gcc >= 10 flags added in each application's Makefile.uk",
		"results.csv measures the images built by this run (or reused from an identical earlier build), not committed binaries")
	man.Ended = time.Now().UTC()

	if len(sizes) == 0 {
		_ = run.WriteJSON("manifest.json", man)
		dir := run.Abort()
		return rep, fmt.Errorf("fig08: every build failed (%s); logs and manifest kept in %s: %w", strings.Join(failed, ", "), dir, ErrBuildsFailed)
	}
	d := &fig08.Dataset{Sizes: sizes, Layout: layouts, Builds: rep.Builds}
	if err := writeRun(run, d, rep, man); err != nil {
		run.Abort()
		return rep, err
	}
	if rep.RunDir, err = run.Commit(); err != nil {
		return rep, err
	}
	fmt.Fprintf(opt.Out, "fig08: %s\n", phase)
	fmt.Fprintf(opt.Out, "fig08: wrote %s\n", rep.RunDir)
	if len(failed) > 0 {
		return rep, fmt.Errorf("fig08: %d of %d builds failed: %s; their logs are in %s; the run holds the others, and the verdict (go tool mage fig08:verify) shows the failures as FAIL: %w",
			len(failed), len(plans), strings.Join(failed, ", "), filepath.Join(rep.RunDir, "raw"), ErrBuildsFailed)
	}
	return rep, nil
}

// outcome is one image's build.
type outcome struct {
	build   fig08.Build
	measure Measurement
	dropped []string
	err     error
}

// recorder measures each image as its build ends, keeps its log and final .config in the
// run's raw/, and says what happened.
type recorder struct {
	opt      Options
	raw      string
	images   map[string]fig08.Image // spec name → image
	outcomes map[fig08.Image]outcome
	task     *progress.Task // counts the images as their builds end
	mu       sync.Mutex     // BuildAll calls done one at a time; phase may be read after
}

// done is BuildAll's callback.
func (r *recorder) done(res unikraft.Result) {
	key := res.Spec.Name
	o := r.outcome(key, res)
	r.mu.Lock()
	r.outcomes[r.images[key]] = o
	r.mu.Unlock()
	r.task.Step(o.err == nil)
}

func (r *recorder) outcome(key string, res unikraft.Result) outcome {
	logName := filepath.Join("raw", key+".log")
	fail := func(err error, b fig08.Build) outcome {
		var exit *docker.ExitError
		if errors.As(err, &exit) {
			r.say("%s: FAILED (exit status %d); last lines of %s:\n%s", key, exit.Status, logName, indent(lastLines(exit.Tail, 4)))
		} else {
			r.say("%s: FAILED: %s", key, err)
		}
		b.Status = fig08.Failed
		return outcome{err: err, build: b}
	}
	if res.Err != nil {
		var be *unikraft.BuildError
		if !errors.As(res.Err, &be) {
			return fail(res.Err, fig08.Build{})
		}
		if err := be.KeepRaw(r.raw, key); err != nil {
			return fail(fmt.Errorf("%w (and %v)", res.Err, err), fig08.Build{})
		}
		return fail(res.Err, fig08.Build{Log: logName})
	}
	img := res.Image
	b := fig08.Build{Status: fig08.Built, Seconds: img.Seconds, Compiler: img.Compiler, Log: logName}
	if !img.Built {
		b.Status = fig08.Reused
	}
	if err := img.KeepRaw(r.raw, key); err != nil {
		return fail(err, b)
	}
	m, err := Measure(img.Kernel)
	if err != nil {
		return fail(fmt.Errorf("%s: the build succeeded but its image cannot be measured: %w", key, err), b)
	}
	if img.Built {
		r.say("%s: built in %.1f s (%s): %d B", key, img.Seconds, img.Compiler, m.FileBytes)
	} else {
		r.say("%s: reused (inputs unchanged; built in %.1f s): %d B", key, img.Seconds, m.FileBytes)
	}
	// The lines Kconfig did not keep as written (a symbol that does not exist, an "=n"
	// turned back on by a select or a choice's default) are listed per image in
	// summary.json, so that what is said about a configuration comes from the final .config.
	if len(img.Dropped) > 0 {
		r.opt.Log.WithFields(logrus.Fields{"figure": Figure, "step": "build", "image": key}).
			Infof("%d requested .config lines not in the final .config: %s", len(img.Dropped), strings.Join(img.Dropped, "; "))
	}
	return outcome{measure: m, build: b, dropped: img.Dropped}
}

// phase sums up the build phase once BuildAll returned.
func (r *recorder) phase(jobs, makeJobs, images int, wall time.Duration) Phase {
	ph := Phase{Images: images, Jobs: jobs, MakeJobs: makeJobs, WallSeconds: wall.Seconds()}
	for _, o := range r.outcomes {
		switch o.build.Status {
		case fig08.Built:
			ph.Built++
			ph.SumSeconds += o.build.Seconds
		case fig08.Reused:
			ph.Reused++
		default:
			ph.Failed++
		}
	}
	if ph.Built > 0 && ph.WallSeconds > 0 {
		ph.Speedup = ph.SumSeconds / ph.WallSeconds
	}
	return ph
}

func (r *recorder) say(format string, args ...any) {
	fmt.Fprintf(r.opt.Out, "fig08: "+format+"\n", args...)
	r.opt.Log.WithFields(logrus.Fields{"figure": Figure, "step": "build"}).Debugf(format, args...)
}

// lastLines returns the last n non-empty lines of s.
func lastLines(s string, n int) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out[max(0, len(out)-n):]
}

func indent(lines []string) string { return "    " + strings.Join(lines, "\n    ") }

// writeRun writes the run's files (not raw/, written by the builds).
func writeRun(run *results.Run, d *fig08.Dataset, rep *Report, man *results.Manifest) error {
	if err := d.Write(run.Dir()); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := WriteSections(&buf, rep.Measurements); err != nil {
		return err
	}
	if err := run.WriteFile(SectionsFile, buf.Bytes()); err != nil {
		return err
	}
	sum := struct {
		Images   any                    `json:"images"`
		Sections map[string]Measurement `json:"sections"`
		Phase    Phase                  `json:"build_phase"`
		Dropped  map[string][]string    `json:"dropped_config_lines"`
		Fixture  string                 `json:"fixture,omitempty"`
	}{Images: d.Summary(), Sections: map[string]Measurement{}, Phase: rep.Phase, Dropped: map[string][]string{}, Fixture: rep.Fixture}
	for img, m := range rep.Measurements {
		sum.Sections[img.Key()] = m
	}
	for img, lines := range rep.Dropped {
		sum.Dropped[img.Key()] = lines
	}
	if err := run.WriteJSON("summary.json", sum); err != nil {
		return err
	}
	return run.WriteJSON("manifest.json", man)
}

// SectionsFile holds the per-section sizes of each measured image.
const SectionsFile = "sections.tsv"

// WriteSections writes sections.tsv: image, du_bytes and the section sizes, sorted by name.
func WriteSections(w io.Writer, ms map[fig08.Image]Measurement) error {
	var keys []string
	byKey := map[string]Measurement{}
	for img, m := range ms {
		keys = append(keys, img.Key())
		byKey[img.Key()] = m
	}
	slices.Sort(keys)
	fmt.Fprintln(w, "image\tdu_bytes\ttext\trodata\tdata\tbss\tintrstack\tother_alloc")
	for _, k := range keys {
		m := byKey[k]
		if _, err := fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", k, m.FileBytes, m.Text, m.Rodata, m.Data, m.Bss, m.IntrStack, m.OtherAlloc); err != nil {
			return err
		}
	}
	return nil
}
