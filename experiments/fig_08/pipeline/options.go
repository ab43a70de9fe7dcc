package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"

	fig08 "github.com/unikraft-eurosys21/artifact/experiments/fig_08"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/progress"
	"github.com/unikraft-eurosys21/artifact/internal/settings"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
)

// Options configure Prepare, Run and Clean.
type Options struct {
	// Images to build; all 16 when empty.
	Images []fig08.Image
	// Jobs bounds the builds running at once (one container each); runtime.NumCPU() when 0.
	Jobs int
	// GCC is the compiler version in the toolchain image, "11" (default) or "12".
	GCC string
	// ResultsDir is the root of run directories ("results" when empty).
	ResultsDir string
	// BuildCache is the Unikraft builder's image cache (one directory per kind of sources,
	// upstream or fixture-<name>): an image is reused while its inputs are unchanged.
	BuildCache string
	// Manifest is the repository's source manifest (sources.ManifestPath when empty); a
	// fixture mirror in Sources.Mirror brings its own (sources.ManifestFor).
	Manifest string
	Sources  sources.Options
	// Containers is the folder of toolchain recipes ("containers" when empty).
	Containers string
	// FixtureFail makes these images fail on purpose: CONFIG_FIXTURE_FAIL=y, which only the
	// fixture's stand-in Unikraft knows. Refused with real sources.
	FixtureFail []fig08.Image
	// Out receives progress and the summary lines; os.Stderr when nil.
	Out io.Writer
	// Progress shows the builds as they end; plain lines on Out when nil.
	Progress *progress.Display
	Verbose  bool
	Log      logrus.FieldLogger
	// Docker are the options of the Docker connection (build-log folder, debootstrap
	// mirror); Verbose, Out and Log are taken from these options.
	Docker docker.Options
	// Settings are every setting's value and SettingsFrom where each came from
	// (settings.Settings.Record), recorded in the run's manifest.
	Settings, SettingsFrom map[string]string

	// For tests of the build script only (unikraft.Builder.NoFetchPrepare and Jobs): skip
	// the serial `make fetch` and `make prepare` (to show the race they prevent), and set
	// make's -j instead of sharing the CPUs.
	noSerialPrepare bool
	makeJobs        int
}

// FromSettings makes the options of the fig08 targets from the bundle's settings (parsed
// once by the magefile): the images (APPS, VARIANTS), JOBS, GCC, RESULTS_DIR,
// FIG08_BUILD_CACHE, FIXTURE_FAIL, the source cache and mirror, and the Docker options.
func FromSettings(s settings.Settings, out io.Writer, verbose bool) (Options, error) {
	opt := Options{Out: out, Verbose: verbose, GCC: s.GCC, ResultsDir: s.ResultsDir, BuildCache: s.Fig08BuildCache,
		Jobs: s.Jobs, Sources: sources.Options{Cache: s.SourcesCache, Mirror: s.SourcesMirror, Progress: out},
		Docker: docker.Options{LogDir: s.LogDir(), DebootstrapMirror: s.DebootstrapMirror}}
	opt.Settings, opt.SettingsFrom = s.Record()
	var err error
	if opt.Images, err = Select(s.Apps, s.Variants); err != nil {
		return opt, err
	}
	for _, key := range splitList(s.FixtureFail) {
		img, ok := imageByKey(key)
		if !ok {
			return opt, fmt.Errorf("FIXTURE_FAIL=%q: %q is not an image; expected <app>_<variant>, e.g. nginx_dce", s.FixtureFail, key)
		}
		opt.FixtureFail = append(opt.FixtureFail, img)
	}
	return opt, nil
}

// Select returns the images of the given apps and variants (comma- or space-separated; empty
// means all), in plot order.
func Select(apps, variants string) ([]fig08.Image, error) {
	as, vs := splitList(apps), splitList(variants)
	var keys []string
	for _, v := range fig08.Variants {
		keys = append(keys, v.Key)
	}
	for _, a := range as {
		if !slices.Contains(fig08.Apps, a) {
			return nil, fmt.Errorf("APPS=%q: unknown app %q; expected some of %s", apps, a, strings.Join(fig08.Apps, ","))
		}
	}
	for _, v := range vs {
		if !slices.Contains(keys, v) {
			return nil, fmt.Errorf("VARIANTS=%q: unknown variant %q; expected some of %s", variants, v, strings.Join(keys, ","))
		}
	}
	var out []fig08.Image
	for _, img := range fig08.Images() {
		if (len(as) == 0 || slices.Contains(as, img.App)) && (len(vs) == 0 || slices.Contains(vs, img.Variant)) {
			out = append(out, img)
		}
	}
	return out, nil
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

func imageByKey(key string) (fig08.Image, bool) {
	for _, img := range fig08.Images() {
		if img.Key() == key {
			return img, true
		}
	}
	return fig08.Image{}, false
}

// withDefaults fills the empty fields.
func (o Options) withDefaults() (Options, error) {
	if len(o.Images) == 0 {
		o.Images = fig08.Images()
	}
	if o.Jobs == 0 {
		o.Jobs = runtime.NumCPU()
	}
	if _, err := docker.GCCEnv(o.GCC); err != nil {
		return o, err
	}
	if o.GCC == "" {
		o.GCC = docker.DefaultGCC
	}
	if o.ResultsDir == "" {
		o.ResultsDir = "results"
	}
	if o.BuildCache == "" {
		return o, errors.New("fig08: no build cache given (FIG08_BUILD_CACHE, by default $STATE_DIR/fig08)")
	}
	if o.Manifest == "" {
		o.Manifest = sources.ManifestPath
	}
	if o.Containers == "" {
		o.Containers = "containers"
	}
	if o.Out == nil {
		o.Out = os.Stderr
	}
	if o.Log == nil {
		o.Log = logrus.StandardLogger()
	}
	if o.Sources.Progress == nil {
		o.Sources.Progress = o.Out
	}
	if o.Sources.Log == nil {
		o.Sources.Log = o.Log
	}
	return o, nil
}

// dockerOptions are opt.Docker with the run's output, logger and verbosity.
func (o Options) dockerOptions() docker.Options {
	d := o.Docker
	d.Verbose, d.Out, d.Log = o.Verbose, o.Out, o.Log
	return d
}
