package pipeline

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	fig08 "github.com/unikraft-eurosys21/artifact/experiments/fig_08"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/state"
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
	// upstream or fixture-<name>): an image is reused while its inputs are unchanged
	// (DefaultBuildCache when empty).
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
	Out     io.Writer
	Verbose bool
	Log     logrus.FieldLogger
	// Settings are the environment settings, recorded in the run's manifest.
	Settings map[string]string

	// For tests of the build script only (unikraft.Builder.NoFetchPrepare and Jobs): skip
	// the serial `make fetch` and `make prepare` (to show the race they prevent), and set
	// make's -j instead of sharing the CPUs.
	noSerialPrepare bool
	makeJobs        int
}

// Environment settings read by FromEnv.
const (
	EnvApps        = "APPS"        // comma-separated apps (helloworld,nginx,redis,sqlite); all when empty
	EnvVariants    = "VARIANTS"    // comma-separated variants (default,lto,dce,dce_lto); all when empty
	EnvJobs        = "JOBS"        // parallel builds; number of CPUs when empty
	EnvGCC         = "GCC"         // 11 (default) or 12
	EnvResultsDir  = "RESULTS_DIR" // results root
	EnvBuildCache  = "FIG08_BUILD_CACHE"
	EnvFixtureFail = "FIXTURE_FAIL" // comma-separated images that fail on purpose (fixture only)
)

// FromEnv reads the settings of the fig08 targets from the environment.
func FromEnv(out io.Writer, verbose bool) (Options, error) {
	opt := Options{Out: out, Verbose: verbose, GCC: os.Getenv(EnvGCC), ResultsDir: os.Getenv(EnvResultsDir),
		BuildCache: os.Getenv(EnvBuildCache), Settings: map[string]string{}}
	for _, k := range []string{EnvApps, EnvVariants, EnvJobs, EnvGCC, EnvResultsDir, EnvBuildCache, EnvFixtureFail, sources.EnvMirror, sources.EnvCache} {
		if v := os.Getenv(k); v != "" {
			opt.Settings[k] = v
		}
	}
	var err error
	if opt.Images, err = Select(os.Getenv(EnvApps), os.Getenv(EnvVariants)); err != nil {
		return opt, err
	}
	if v := os.Getenv(EnvJobs); v != "" {
		if opt.Jobs, err = strconv.Atoi(v); err != nil || opt.Jobs < 1 {
			return opt, fmt.Errorf("%s=%q: expected a whole number of parallel builds, at least 1", EnvJobs, v)
		}
	}
	if v := os.Getenv(EnvFixtureFail); v != "" {
		for _, key := range splitList(v) {
			img, ok := imageByKey(key)
			if !ok {
				return opt, fmt.Errorf("%s=%q: %q is not an image; expected <app>_<variant>, e.g. nginx_dce", EnvFixtureFail, v, key)
			}
			opt.FixtureFail = append(opt.FixtureFail, img)
		}
	}
	opt.Sources, err = sources.OptionsFromEnv(out)
	return opt, err
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
			return nil, fmt.Errorf("%s=%q: unknown app %q; expected some of %s", EnvApps, apps, a, strings.Join(fig08.Apps, ","))
		}
	}
	for _, v := range vs {
		if !slices.Contains(keys, v) {
			return nil, fmt.Errorf("%s=%q: unknown variant %q; expected some of %s", EnvVariants, variants, v, strings.Join(keys, ","))
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

// DefaultBuildCache is <STATE_DIR>/fig08 (e.g. ~/.cache/unikraft-eurosys21/fig08).
func DefaultBuildCache() (string, error) {
	d, err := state.Sub("fig08", "")
	if err != nil {
		return "", fmt.Errorf("fig08: %w (or %s)", err, EnvBuildCache)
	}
	return d, nil
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
		d, err := DefaultBuildCache()
		if err != nil {
			return o, err
		}
		o.BuildCache = d
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
