// Package build makes Figure 8's images: it translates the paper's kraft.yaml files into
// Unikraft's plain make build (no kraft tool), builds the images in parallel, each in its own
// directory and container of the toolchain image, from pinned sources, reuses a build whose
// inputs did not change, and measures what it built (file size and ELF sections) into a run
// directory that the fig08 package plots and verifies.
package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	fig08 "github.com/unikraft-eurosys21/artifact/experiments/fig_08"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

// Figure is the figure directory under results/.
const Figure = "fig_08"

// recipe names the build procedure in the input hash: change it when the script or the
// generated application changes in a way the other inputs do not show.
const recipe = "fig08-make-build v1"

// FixtureFailSymbol makes the fixture's stand-in Unikraft fail a build on purpose.
const FixtureFailSymbol = "CONFIG_FIXTURE_FAIL"

// script is what runs in the toolchain container: the plain Unikraft make build
// (unikraft-build-facts.md) with the .config the bundle wrote, after recording the compiler.
//
// `make fetch` and `make prepare` run serially before the parallel build, as kraft ran them:
// Unikraft 0.4 does not make the sources inside a library's archive depend on the archive, so
// `make -jN` on a fresh build directory looks for them while the archive is still being
// unpacked ("No rule to make target …/origin/newlib-2.5.0.20170922/…/argz_add.c"). Without
// serial (a test's switch only) the script shows that race.
func script(serial bool) string {
	s := `set -euo pipefail
gcc --version | head -n 1 > /work/compiler.txt
echo "+ $(cat /work/compiler.txt)"
M=(make -C /src/unikraft A=/work/app L="$UK_LIBS" O=/work/build)
echo "+ ${M[*]} olddefconfig"
"${M[@]}" olddefconfig
`
	if serial {
		s += `echo "+ ${M[*]} fetch"
"${M[@]}" fetch
echo "+ ${M[*]} prepare"
"${M[@]}" prepare
`
	}
	return s + `echo "+ ${M[*]} -j$MAKE_JOBS"
"${M[@]}" -j"$MAKE_JOBS"
`
}

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

// outcome is one image's build.
type outcome struct {
	build   fig08.Build
	measure Measurement
	dropped []string
	err     error
}

// Run builds and measures the selected images and writes a complete run directory
// (results/fig_08/<run id>/): results.csv in the paper's format, elf-layout.tsv,
// sections.tsv, builds.tsv, summary.json, manifest.json and raw/ (every build log and
// .config). A failing build stops only its image: the run is still written with the others,
// and the failure is reported here and as SKIP by verify. Run fails when no image was built.
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
		return nil, fmt.Errorf("%s is for the fixture only (it sets %s, which only the fixture's stand-in Unikraft knows); unset it", EnvFixtureFail, FixtureFailSymbol)
	}
	set, err := fetch(ctx, opt, m, plans)
	if err != nil {
		return nil, err
	}

	c, err := docker.Connect(ctx, docker.Options{Verbose: opt.Verbose, Out: opt.Out, Log: opt.Log})
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
	cacheDir := filepath.Join(opt.BuildCache, kind)
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("fig08: build cache: %w", err)
	}
	unlock, err := lockDir(ctx, cacheDir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	run, err := results.Create(opt.ResultsDir, Figure)
	if err != nil {
		return nil, err
	}
	man := results.NewManifest(run)
	man.Fixture = set.Fixture
	man.Settings = opt.Settings
	// Build sizes do not depend on CPU isolation; the report is recorded anyway so that
	// every run's manifest describes its host the same way.
	man.RecordHost(ctx)
	man.Images = map[string]string{tool.Ref: tool.ID}
	man.Sources = set.Pins()
	man.Tools = map[string]string{}
	for p, v := range pkgs {
		man.Tools["deb:"+p] = v
	}

	b := &builder{opt: opt, c: c, set: set, tool: tool, cacheDir: cacheDir, raw: run.RawDir(), fail: opt.FixtureFail,
		script: script(!opt.noSerialPrepare)}
	b.makeJobs = max(1, opt.Jobs)
	if n := min(opt.Jobs, len(plans)); n > 0 {
		b.makeJobs = max(1, numCPU()/n)
	}
	if opt.makeJobs > 0 {
		b.makeJobs = opt.makeJobs
	}
	outcomes, phase := b.buildAll(ctx, plans)
	if ctx.Err() != nil {
		dir := run.Abort()
		return nil, fmt.Errorf("fig08: interrupted; what was done is in %s: %w", dir, ctx.Err())
	}

	rep := &Report{Fixture: set.Fixture, Builds: map[fig08.Image]fig08.Build{}, Measurements: map[fig08.Image]Measurement{},
		Dropped: map[fig08.Image][]string{}, Phase: phase}
	sizes := fig08.Sizes{}
	layouts := map[fig08.Image]fig08.Layout{}
	compilers := map[string]bool{}
	var failed []string
	for _, p := range plans {
		o := outcomes[p.Image]
		rep.Builds[p.Image] = o.build
		if len(o.dropped) > 0 {
			rep.Dropped[p.Image] = o.dropped
		}
		if o.build.Compiler != "" {
			compilers[o.build.Compiler] = true
		}
		if o.err != nil {
			failed = append(failed, p.Image.Key())
			man.Notes = append(man.Notes, fmt.Sprintf("%s: build failed: %v", p.Image.Key(), firstLine(o.err.Error())))
			continue
		}
		rep.Measurements[p.Image] = o.measure
		sizes[p.Image] = o.measure.FileBytes
		layouts[p.Image] = o.measure.Layout
	}
	man.Tools["gcc"] = strings.Join(sortedKeys(compilers), "; ")
	man.Settings["JOBS (effective)"] = fmt.Sprint(opt.Jobs)
	man.Settings["GCC (effective)"] = opt.GCC
	man.Settings["make -j per build"] = fmt.Sprint(b.makeJobs)
	man.Notes = append(man.Notes,
		"built with Unikraft's plain make build from the paper's kraft.yaml (no kraft tool), gcc "+opt.GCC+
			" of Debian 12 instead of the paper's gcc 8.3, with the two gcc >= 10 flags added in each application's Makefile.uk",
		"results.csv measures the images built by this run (or reused from an identical earlier build), not committed binaries")
	man.Ended = time.Now().UTC()

	if len(sizes) == 0 {
		_ = run.WriteJSON("manifest.json", man)
		dir := run.Abort()
		return rep, fmt.Errorf("fig08: every build failed (%s); logs and manifest kept in %s", strings.Join(failed, ", "), dir)
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
		fmt.Fprintf(opt.Out, "fig08: WARNING: %d of %d builds failed: %s; their logs are in %s; the figure and the verdict show the others\n",
			len(failed), len(plans), strings.Join(failed, ", "), filepath.Join(rep.RunDir, "raw"))
	}
	return rep, nil
}

// Prepare fetches the sources of the selected images and builds the toolchain image, so
// that Run needs neither network nor image builds.
func Prepare(ctx context.Context, opt Options) error {
	opt, err := opt.withDefaults()
	if err != nil {
		return err
	}
	plans, err := plansFor(opt.Images)
	if err != nil {
		return err
	}
	start := time.Now()
	m, err := sources.ManifestFor(opt.Manifest, opt.Sources.Mirror)
	if err != nil {
		return err
	}
	set, err := fetch(ctx, opt, m, plans)
	if err != nil {
		return err
	}
	fmt.Fprintln(opt.Out, "fig08: "+set.Summary(time.Since(start)))
	_, err = docker.BuildAll(ctx, opt.Containers, docker.Options{Verbose: opt.Verbose, Out: opt.Out, Log: opt.Log})
	return err
}

// Clean removes Figure 8's build cache (every image's build directory, real and fixture).
// It returns what it removed. Measured runs are never removed (a result is deleted by hand,
// deliberately); source caches, toolchain images and plots are left alone too.
func Clean(opt Options) ([]string, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, dir := range []string{opt.BuildCache} {
		if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := removeAll(dir); err != nil {
			return removed, fmt.Errorf("fig08: clean %s: %w", dir, err)
		}
		removed = append(removed, dir)
	}
	return removed, nil
}

func plansFor(imgs []fig08.Image) ([]*Plan, error) {
	var plans []*Plan
	for _, img := range imgs {
		p, err := NewPlan(img)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// fetch verifies (and fetches, if needed) exactly the sources the plans use.
func fetch(ctx context.Context, opt Options, m *sources.Manifest, plans []*Plan) (*sources.Set, error) {
	var names []string
	for _, p := range plans {
		for _, s := range p.Sources() {
			if !slices.Contains(names, s) {
				names = append(names, s)
			}
		}
	}
	sub, err := m.Only(names...)
	if err != nil {
		return nil, err
	}
	return sources.Fetch(ctx, sub, opt.Sources)
}

// toolchain returns the unikraft toolchain image, building it if its recipe changed.
func toolchain(ctx context.Context, c *docker.Client, dir string) (docker.Image, error) {
	imgs, err := c.BuildAll(ctx, dir)
	if err != nil {
		return docker.Image{}, err
	}
	for _, im := range imgs {
		if im.Name == "unikraft" {
			return im, nil
		}
	}
	return docker.Image{}, fmt.Errorf("fig08: %s has no unikraft recipe (containers/unikraft/Dockerfile)", dir)
}

// builder runs the builds of one Run.
type builder struct {
	opt      Options
	c        *docker.Client
	set      *sources.Set
	tool     docker.Image
	cacheDir string
	raw      string
	fail     []fig08.Image
	makeJobs int
	script   string
	mu       sync.Mutex // serialises lines on opt.Out
}

// buildAll builds the plans, opt.Jobs at a time, the ones with most libraries first (the
// longest builds, so the last to start are short); one failure does not stop the others.
func (b *builder) buildAll(ctx context.Context, plans []*Plan) (map[fig08.Image]outcome, Phase) {
	ph := Phase{Images: len(plans), Jobs: b.opt.Jobs, MakeJobs: b.makeJobs}
	order := slices.Clone(plans)
	slices.SortStableFunc(order, func(x, y *Plan) int { return len(y.Libs) - len(x.Libs) })
	queue := make(chan *Plan, len(order))
	for _, p := range order {
		queue <- p
	}
	close(queue)
	out := map[fig08.Image]outcome{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range min(b.opt.Jobs, len(order)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range queue {
				o := outcome{err: ctx.Err(), build: fig08.Build{Status: fig08.Failed}}
				if ctx.Err() == nil {
					o = b.build(ctx, p)
				}
				mu.Lock()
				out[p.Image] = o
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	ph.WallSeconds = time.Since(start).Seconds()
	for _, o := range out {
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
	return out, ph
}

// done is <image dir>/done.json, written after a successful build: what it was built from.
type done struct {
	InputHash string    `json:"input_hash"`
	Seconds   float64   `json:"build_seconds"`
	Compiler  string    `json:"compiler"`
	Finished  time.Time `json:"finished"`
}

// build builds (or reuses) one image and measures it.
func (b *builder) build(ctx context.Context, p *Plan) outcome {
	key := p.Image.Key()
	dir := filepath.Join(b.cacheDir, key)
	logName := filepath.Join("raw", key+".log")
	fail := func(err error) outcome {
		var exit *docker.ExitError
		if errors.As(err, &exit) {
			b.say("%s: FAILED (exit status %d); last lines of %s:\n%s", key, exit.Status, logName, indent(lastLines(exit.Tail, 4)))
		} else {
			b.say("%s: FAILED: %s", key, err)
		}
		return outcome{err: err, build: fig08.Build{Status: fig08.Failed, Log: logName}}
	}
	in, err := b.inputs(p)
	if err != nil {
		return fail(err)
	}
	image := filepath.Join(dir, "build", p.Kraft.Name+"_kvm-x86_64")
	var d done
	if raw, err := os.ReadFile(filepath.Join(dir, "done.json")); err == nil && json.Unmarshal(raw, &d) == nil && d.InputHash == in.hash {
		if m, err := Measure(image); err == nil {
			if err := b.keepRaw(dir, key); err != nil {
				return fail(err)
			}
			b.say("%s: reused (inputs unchanged since %s): %d B", key, d.Finished.Format(time.RFC3339), m.FileBytes)
			return outcome{measure: m, build: fig08.Build{Status: fig08.Reused, Seconds: d.Seconds, Compiler: d.Compiler, Log: logName},
				dropped: b.dropped(key, in)}
		}
	}

	// A fresh build directory: nothing of an earlier build with other inputs survives.
	for _, sub := range []string{"app", "build", "done.json", "build.log", "compiler.txt"} {
		if err := removeAll(filepath.Join(dir, sub)); err != nil {
			return fail(fmt.Errorf("%s: clear %s: %w", key, dir, err))
		}
	}
	for name, body := range in.app {
		if err := writeFile(filepath.Join(dir, "app", name), body); err != nil {
			return fail(err)
		}
	}
	if err := b.set.Place(filepath.Join(dir, "build"), p.Archives()...); err != nil {
		return fail(err)
	}
	mounts := []docker.Mount{{Source: in.core, Target: "/src/unikraft", ReadOnly: true}, {Source: dir, Target: "/work"}}
	var libPaths []string
	for i, l := range p.Libs {
		target := "/src/libs/" + l.Name
		mounts = append(mounts, docker.Mount{Source: in.libs[i], Target: target, ReadOnly: true})
		libPaths = append(libPaths, target)
	}
	env, _ := docker.GCCEnv(b.opt.GCC)
	env = append(env, "UK_LIBS="+strings.Join(libPaths, ":"), fmt.Sprintf("MAKE_JOBS=%d", b.makeJobs))
	logPath := filepath.Join(b.raw, key+".log")
	b.c.Progress.Step("fig08 "+key, "building")
	start := time.Now()
	err = b.c.Run(ctx, docker.RunSpec{
		Image: b.tool.Ref, Cmd: []string{"bash", "-c", b.script}, Env: env, WorkDir: "/work",
		Mounts: mounts, LogPath: logPath, Name: "fig08 " + key,
	})
	secs := time.Since(start).Seconds()
	compiler := readLine(filepath.Join(dir, "compiler.txt"))
	copyIfExists(filepath.Join(dir, "app", ".config"), filepath.Join(b.raw, key+".config"))
	copyIfExists(logPath, filepath.Join(dir, "build.log"))
	if err != nil {
		o := fail(fmt.Errorf("%s: %w", key, err))
		o.build.Seconds, o.build.Compiler = secs, compiler
		return o
	}
	m, err := Measure(image)
	if err != nil {
		o := fail(fmt.Errorf("%s: the build succeeded but its image cannot be measured: %w", key, err))
		o.build.Seconds, o.build.Compiler = secs, compiler
		return o
	}
	d = done{InputHash: in.hash, Seconds: secs, Compiler: compiler, Finished: time.Now().UTC()}
	raw, _ := json.MarshalIndent(d, "", "  ")
	if err := writeFile(filepath.Join(dir, "done.json"), raw); err != nil {
		return fail(err)
	}
	b.say("%s: built in %.1f s (%s): %d B", key, secs, compiler, m.FileBytes)
	return outcome{measure: m, build: fig08.Build{Status: fig08.Built, Seconds: secs, Compiler: compiler, Log: logName},
		dropped: b.dropped(key, in)}
}

// dropped compares the .config the bundle wrote with the final one the run kept: the lines
// Kconfig did not keep as written (a symbol that does not exist, an "=n" turned back on by a
// select or a choice's default). They are listed per image in summary.json, so that what is
// said about a configuration comes from the final .config, not from the kraft.yaml.
func (b *builder) dropped(key string, in *inputs) []string {
	final, err := os.ReadFile(filepath.Join(b.raw, key+".config"))
	if err != nil {
		return []string{"(no final .config to compare with: " + err.Error() + ")"}
	}
	lines := strings.Split(strings.TrimSpace(string(in.app[".config"])), "\n")
	d := unikraft.Dropped(lines, final)
	if len(d) > 0 {
		b.opt.Log.WithFields(logrus.Fields{"figure": Figure, "step": "build", "image": key}).
			Infof("%d requested .config lines not in the final .config: %s", len(d), strings.Join(d, "; "))
	}
	return d
}

// inputs is everything an image's build depends on, and its hash.
type inputs struct {
	hash string
	app  map[string][]byte // the application directory, .config and defconfig record included
	core string            // tree of the Unikraft source
	libs []string          // trees of the libraries, in plan order
}

func (b *builder) inputs(p *Plan) (*inputs, error) {
	in := &inputs{app: map[string][]byte{}}
	core, ok := b.set.Get(p.Core)
	if !ok {
		return nil, fmt.Errorf("%s: source %s was not fetched", p.Image.Key(), p.Core)
	}
	in.core = core.Dir
	h := sha256.New()
	fmt.Fprintf(h, "%s\nimage %s\ntoolchain %s\ngcc %s\nscript %s\ncore %s %s\n", recipe, p.Image.Key(), b.tool.ID, b.opt.GCC, b.script, core.Name, core.Commit)
	enable := map[string]string{}
	for _, l := range p.Libs {
		r, ok := b.set.Get(l.Source)
		if !ok {
			return nil, fmt.Errorf("%s: source %s was not fetched", p.Image.Key(), l.Source)
		}
		cfg, err := os.ReadFile(filepath.Join(r.Dir, "Config.uk"))
		if err != nil {
			return nil, fmt.Errorf("%s: library %s (%s): %w", p.Image.Key(), l.Name, l.Source, err)
		}
		if enable[l.Name], err = EnableSymbol(filepath.Join(r.Dir, "Config.uk"), cfg); err != nil {
			return nil, err
		}
		in.libs = append(in.libs, r.Dir)
		fmt.Fprintf(h, "lib %s %s %s\n", l.Name, r.Name, r.Commit)
	}
	for _, a := range p.Archives() {
		r, ok := b.set.Get(a)
		if !ok {
			return nil, fmt.Errorf("%s: source %s was not fetched", p.Image.Key(), a)
		}
		fmt.Fprintf(h, "archive %s %s %s %s\n", r.Name, r.Commit, r.SHA256, r.Place)
	}
	var extra []string
	if slices.Contains(b.fail, p.Image) {
		extra = append(extra, FixtureFailSymbol+"=y")
	}
	lines, err := p.DotConfig(enable, extra...)
	if err != nil {
		return nil, err
	}
	maps := func(m map[string][]byte) {
		for _, name := range sortedKeys(m) {
			fmt.Fprintf(h, "file %s %d\n", name, len(m[name]))
			h.Write(m[name])
		}
	}
	for name, body := range p.App {
		in.app[name] = body
	}
	in.app[".config"] = []byte(strings.Join(lines, "\n") + "\n")
	maps(in.app)
	in.hash = hex.EncodeToString(h.Sum(nil))
	return in, nil
}

// keepRaw copies a reused build's log and .config into the run's raw/.
func (b *builder) keepRaw(dir, key string) error {
	if err := copyFile(filepath.Join(dir, "build.log"), filepath.Join(b.raw, key+".log")); err != nil {
		return fmt.Errorf("%s: the reused build's log: %w", key, err)
	}
	copyIfExists(filepath.Join(dir, "app", ".config"), filepath.Join(b.raw, key+".config"))
	return nil
}

func (b *builder) say(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.c.Progress.Done()
	fmt.Fprintf(b.opt.Out, "fig08: "+format+"\n", args...)
	b.opt.Log.WithFields(logrus.Fields{"figure": Figure, "step": "build"}).Debugf(format, args...)
}

// writeRun writes the run's files (not raw/, written by the builds).
func writeRun(run *results.Run, d *fig08.Dataset, rep *Report, man *results.Manifest) error {
	var buf bytes.Buffer
	if err := fig08.WriteResults(&buf, d.Sizes); err != nil {
		return err
	}
	if err := run.WriteFile(fig08.ResultsFile, buf.Bytes()); err != nil {
		return err
	}
	buf.Reset()
	if err := fig08.WriteLayout(&buf, d.Sizes, d.Layout); err != nil {
		return err
	}
	if err := run.WriteFile(fig08.LayoutFile, buf.Bytes()); err != nil {
		return err
	}
	buf.Reset()
	if err := WriteSections(&buf, rep.Measurements); err != nil {
		return err
	}
	if err := run.WriteFile(SectionsFile, buf.Bytes()); err != nil {
		return err
	}
	buf.Reset()
	if err := fig08.WriteBuilds(&buf, rep.Builds); err != nil {
		return err
	}
	if err := run.WriteFile(fig08.BuildsFile, buf.Bytes()); err != nil {
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
