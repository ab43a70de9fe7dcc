// Package settings is the bundle's one set of settings: every environment variable a target
// reads is a field of Settings, described once in Vars (its name, default and one-line
// meaning). The magefile parses them once (FromEnv), refuses a bad value before anything
// runs, and passes the values down; no other package reads the environment
// (settings_test.go in experiments/ checks that). The README's settings table is checked
// against Vars (Table), and every run's manifest records the values whole (Record), each with
// where it came from.
package settings

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Settings are the values of every environment variable of the bundle (see Vars for each
// one's variable, default and meaning).
type Settings struct {
	From       string // FROM
	ResultsDir string // RESULTS_DIR
	PlotsDir   string // PLOTS_DIR
	Strict     bool   // STRICT

	StateDir       string // STATE_DIR, absolute
	SourcesCache   string // SOURCES_CACHE, absolute
	SourcesMirror  string // SOURCES_MIRROR
	SourcesArchive string // SOURCES_ARCHIVE

	GCC               string // GCC
	Accel             string // ACCEL
	Reps, Warmup      int    // REPS, WARMUP
	QEMU, QEMUCPU     string // QEMU, QEMU_CPU; "" for the defaults of package vmm
	DockerHost        string // DOCKER_HOST: recorded only (see Vars)
	DebootstrapMirror string // DEBOOTSTRAP_MIRROR

	Apps, Variants  string // APPS, VARIANTS: checked by fig08, which knows its images
	Jobs            int    // JOBS
	Fig08BuildCache string // FIG08_BUILD_CACHE, absolute
	FixtureFail     string // FIXTURE_FAIL: checked by fig08

	VMMs                  []string // VMMS: checked by fig10, which knows its VMMs; nil: all
	Observers             []string // OBSERVERS; nil: each step chooses
	ImagesCache           string   // IMAGES_CACHE, absolute
	FCGuest               string   // FC_GUEST
	Firecracker, Solo5HVT string   // FIRECRACKER, SOLO5_HVT; "": the prepared binaries

	LinuxKernel string // LINUX_KERNEL; "": Debian's kernel at fig22's pinned version

	EChartsDir string // ECHARTS_DIR

	// Sources says where each value came from, by variable name: Environment or Default.
	Sources map[string]string
}

// Where a value came from.
const (
	Environment = "environment"
	Default     = "default"
)

// Var describes one variable.
type Var struct {
	Name    string // REPS
	Default string // the literal value when unset or empty; "" for none
	Unset   string // what an unset variable means when not a literal ("number of CPUs"; Markdown)
	Help    string // one line, Markdown: the README's meaning column
	OneOf   []string
	Min     int
	Bad     string // what the error says after `NAME="value": `
	// field is the Settings field: *string, *bool, *int or *[]string.
	field func(*Settings) any
}

// Vars are the bundle's variables, in the README's order.
var Vars = []Var{
	{Name: "FROM", Default: "latest", Help: "data to plot or verify: `paper`, `latest`, a run id, or a run directory; `report` takes `latest` (each figure's latest run, the paper's data where there is none) or `paper`",
		field: func(s *Settings) any { return &s.From }},
	{Name: "RESULTS_DIR", Default: "results", Help: "root of the run directories",
		field: func(s *Settings) any { return &s.ResultsDir }},
	{Name: "PLOTS_DIR", Default: "plots", Help: "where plots are written",
		field: func(s *Settings) any { return &s.PlotsDir }},
	{Name: "STRICT", Help: "`STRICT=1`: warnings (series outside tolerance, series not run, host not isolated) fail too",
		Bad: "use STRICT=1 to fail on warnings, or leave it unset", field: func(s *Settings) any { return &s.Strict }},
	{Name: "STATE_DIR", Unset: "`~/.cache/unikraft-eurosys21`", Help: "the one root of every cache and log below (`sources/`, `images/`, `fig08/`, `logs/` for the debootstrap and image-build logs); results and plots are not under it",
		field: func(s *Settings) any { return &s.StateDir }},
	{Name: "SOURCES_CACHE", Unset: "`$STATE_DIR/sources`", Help: "the verified source cache",
		field: func(s *Settings) any { return &s.SourcesCache }},
	{Name: "SOURCES_MIRROR", Help: "a mirror directory or a `sources:archive` tarball; nothing is downloaded when set. A directory with one mirror per figure in `fig_NN/` (what `go run ./experiments/cmd/mkfixtures <dir>` writes: every figure's FIXTURE mirror) gives each figure its own",
		field: func(s *Settings) any { return &s.SourcesMirror }},
	{Name: "SOURCES_ARCHIVE", Unset: "`sources-archive-<date>.tar`", Help: "output of `sources:archive`",
		field: func(s *Settings) any { return &s.SourcesArchive }},
	{Name: "GCC", Default: "11", OneOf: []string{"11", "12"}, Help: "compiler of the Unikraft builds: `11` or `12`",
		Bad: "the unikraft toolchain has gcc 11 and 12; set GCC=11 or GCC=12", field: func(s *Settings) any { return &s.GCC }},
	{Name: "ACCEL", Default: "kvm", OneOf: []string{"kvm", "tcg"}, Help: "`kvm`, or `tcg` (software emulation: results are marked and not judged against the paper)",
		Bad: "expected kvm (the default) or tcg (software emulation, not comparable with the paper)", field: func(s *Settings) any { return &s.Accel }},
	{Name: "REPS", Default: "26", Min: 1, Help: "repetitions per series (the paper's loop ran 26 times); fig14: 10 boots per allocator when unset, fig22: 25 boots per VM when unset, as the paper's",
		Bad: "expected an integer ≥ 1", field: func(s *Settings) any { return &s.Reps }},
	{Name: "WARMUP", Default: "1", Min: 0, Help: "warm-up runs before a series, not counted",
		Bad: "expected an integer ≥ 0", field: func(s *Settings) any { return &s.Warmup }},
	{Name: "QEMU", Unset: "host's `qemu-system-x86_64`", Help: "the QEMU binary",
		field: func(s *Settings) any { return &s.QEMU }},
	{Name: "QEMU_CPU", Unset: "`host,migratable=no,+invtsc` (`max` under TCG)", Help: "QEMU's CPU model (a nested KVM may need `host,migratable=no,+invtsc,-arch-capabilities`)",
		field: func(s *Settings) any { return &s.QEMUCPU }},
	// DOCKER_HOST is recorded, not passed on: the Docker client library reads it itself
	// (client.FromEnv, with DOCKER_CERT_PATH, DOCKER_TLS_VERIFY and DOCKER_API_VERSION, as
	// every Docker client does), so the bundle talks to the daemon the docker CLI would.
	{Name: "DOCKER_HOST", Unset: "the local socket", Help: "the Docker engine to use (read by the Docker client library itself, with the other `DOCKER_*` variables of the docker CLI)",
		field: func(s *Settings) any { return &s.DockerHost }},
	{Name: "DEBOOTSTRAP_MIRROR", Unset: "Debian's default", Help: "the Debian mirror debootstrap uses when the base image is built locally (when `debian:bookworm` cannot be pulled)",
		field: func(s *Settings) any { return &s.DebootstrapMirror }},
	{Name: "APPS", Unset: "all", Help: "fig08: apps to build, comma-separated (`helloworld,nginx,redis,sqlite`)",
		field: func(s *Settings) any { return &s.Apps }},
	{Name: "VARIANTS", Unset: "all", Help: "fig08: variants to build, comma-separated (`default,lto,dce,dce_lto`)",
		field: func(s *Settings) any { return &s.Variants }},
	{Name: "JOBS", Unset: "number of CPUs", Min: 1, Help: "fig08: builds running at once",
		Bad: "expected a whole number of parallel builds, at least 1", field: func(s *Settings) any { return &s.Jobs }},
	{Name: "FIG08_BUILD_CACHE", Unset: "`$STATE_DIR/fig08`", Help: "fig08: the image cache of the Unikraft builder (an unchanged image is not rebuilt)",
		field: func(s *Settings) any { return &s.Fig08BuildCache }},
	{Name: "FIXTURE_FAIL", Help: "fig08, FIXTURE mirror only: images (`<app>_<variant>`, e.g. `redis_lto`, comma-separated) whose build fails on purpose, to test failure handling; refused with real sources",
		field: func(s *Settings) any { return &s.FixtureFail }},
	{Name: "VMMS", Unset: "all five", Help: "fig10: VMMs to run, comma-separated (`qemu,qemu1nic,qemumicrovm,solo5,firecracker`)",
		field: func(s *Settings) any { return &s.VMMs }},
	{Name: "OBSERVERS", OneOf: []string{"ftrace", "debugcon"}, Unset: "`ftrace` as root under KVM, else `debugcon` (`boottime:selftest`: both as root under KVM)",
		Help: "boot-time observers (`ftrace`, `debugcon`, or both, comma-separated)",
		Bad:  "expected ftrace, debugcon or ftrace,debugcon", field: func(s *Settings) any { return &s.Observers }},
	{Name: "IMAGES_CACHE", Unset: "`$STATE_DIR/images`", Help: "fig10: built guests; fig14: built images (`fig_14/`)",
		field: func(s *Settings) any { return &s.ImagesCache }},
	{Name: "FC_GUEST", Default: "paper", OneOf: []string{"paper", "0.13"}, Help: "fig10: the Firecracker guest: `paper` (unikraft a4cf6565 + the paper's `firecrackersupport.patch`) or `0.13` (Unikraft 0.13.0, if the paper's does not boot on the pinned Firecracker)",
		Bad: "expected paper (a4cf6565 + the paper's firecrackersupport.patch) or 0.13 (Unikraft RELEASE-0.13.0)", field: func(s *Settings) any { return &s.FCGuest }},
	{Name: "FIRECRACKER", Unset: "the prepared binary", Help: "fig10: use this Firecracker binary instead",
		field: func(s *Settings) any { return &s.Firecracker }},
	{Name: "SOLO5_HVT", Unset: "the prepared binary", Help: "fig10: use this solo5-hvt binary instead",
		field: func(s *Settings) any { return &s.Solo5HVT }},
	{Name: "LINUX_KERNEL", Unset: "Debian's `linux-image-amd64` at the pinned version", Help: "fig22: the Linux kernel (a bzImage) the Linux series boot instead, e.g. a copy of the host's `/boot/vmlinuz-$(uname -r)` as the paper booted; recorded as the user's choice",
		field: func(s *Settings) any { return &s.LinuxKernel }},
	{Name: "ECHARTS_DIR", Unset: "`internal/plot/echarts` of the checkout", Help: "where the ECharts lockfile is (when running outside the checkout)",
		field: func(s *Settings) any { return &s.EChartsDir }},
}

// FromEnv reads every variable from the process environment.
func FromEnv() (Settings, error) { return Parse(os.LookupEnv) }

// Parse reads every variable through lookup (os.LookupEnv, or a map in tests), applies the
// defaults, resolves the computed ones (the state directory and the caches under it, made
// absolute; the archive name; the number of CPUs), and refuses a bad value with what was
// wrong and what to write instead. An empty variable counts as unset.
func Parse(lookup func(string) (string, bool)) (Settings, error) {
	s := Settings{Sources: map[string]string{}}
	for _, d := range Vars {
		raw, _ := lookup(d.Name)
		raw = strings.TrimSpace(raw)
		s.Sources[d.Name] = Environment
		if raw == "" {
			raw, s.Sources[d.Name] = d.Default, Default
		}
		if err := d.set(&s, raw); err != nil {
			return s, err
		}
	}
	return s, s.resolve()
}

func (d Var) set(s *Settings, raw string) error {
	bad := func() error {
		msg := d.Bad
		if msg == "" {
			msg = "not a valid value"
		}
		return fmt.Errorf("%s=%q: %s", d.Name, raw, msg)
	}
	ok := func(x string) bool { return len(d.OneOf) == 0 || slices.Contains(d.OneOf, x) }
	switch f := d.field(s).(type) {
	case *string:
		if raw != "" && !ok(raw) {
			return bad()
		}
		*f = raw
	case *bool:
		switch raw {
		case "", "0", "false", "no":
			*f = false
		case "1", "true", "yes":
			*f = true
		default:
			return bad()
		}
	case *int:
		if raw == "" {
			return nil
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < d.Min {
			return bad()
		}
		*f = n
	case *[]string:
		*f = nil
		for _, x := range strings.Split(raw, ",") {
			if x = strings.TrimSpace(x); x == "" {
				continue
			}
			if !ok(x) {
				return bad()
			}
			*f = append(*f, x)
		}
	default:
		panic(fmt.Sprintf("settings: %s has a field of type %T", d.Name, f))
	}
	return nil
}

// value is the field's value as text: lists comma-separated, true as "1", "" for unset.
func (d Var) value(s *Settings) string {
	switch f := d.field(s).(type) {
	case *string:
		return *f
	case *bool:
		if *f {
			return "1"
		}
		return ""
	case *int:
		return strconv.Itoa(*f)
	case *[]string:
		return strings.Join(*f, ",")
	}
	panic("settings: " + d.Name)
}

// resolve fills the defaults that are computed, not literal.
func (s *Settings) resolve() error {
	if s.StateDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("no user cache directory (%v): set STATE_DIR", err)
		}
		s.StateDir = filepath.Join(d, "unikraft-eurosys21")
	}
	for _, p := range []struct {
		dst *string
		sub string
	}{{&s.StateDir, ""}, {&s.SourcesCache, "sources"}, {&s.ImagesCache, "images"}, {&s.Fig08BuildCache, "fig08"}} {
		if *p.dst == "" {
			*p.dst = filepath.Join(s.StateDir, p.sub)
		}
		abs, err := filepath.Abs(*p.dst)
		if err != nil {
			return err
		}
		*p.dst = abs
	}
	if s.SourcesArchive == "" {
		s.SourcesArchive = "sources-archive-" + time.Now().UTC().Format("20060102") + ".tar"
	}
	if s.Jobs == 0 {
		s.Jobs = runtime.NumCPU()
	}
	return nil
}

// LogDir is where the debootstrap and image-build logs go: $STATE_DIR/logs.
func (s Settings) LogDir() string { return filepath.Join(s.StateDir, "logs") }

// ForFigure is s for the figure whose directory name is fig ("fig_10"): when SOURCES_MIRROR
// is a directory holding a mirror of that figure's own in <mirror>/<fig>/ (a set of the
// figures' FIXTURE mirrors, whose stand-in trees differ per figure), that one is the
// figure's mirror; otherwise s is returned unchanged.
func (s Settings) ForFigure(fig string) Settings {
	if s.SourcesMirror == "" || fig == "" {
		return s
	}
	sub := filepath.Join(s.SourcesMirror, fig)
	if st, err := os.Stat(sub); err == nil && st.IsDir() {
		s.SourcesMirror = sub
	}
	return s
}

// Record is every variable's value as a run's manifest records it (lists comma-separated,
// "" for unset) and where each came from (Environment or Default; "caller" for a value a
// test or program set in code).
func (s Settings) Record() (values, from map[string]string) {
	values, from = map[string]string{}, map[string]string{}
	for _, d := range Vars {
		values[d.Name] = d.value(&s)
		if from[d.Name] = s.Sources[d.Name]; from[d.Name] == "" {
			from[d.Name] = "caller"
		}
	}
	return values, from
}

// Table is the README's settings table, one row per variable.
func Table() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, d := range Vars {
		def := "unset"
		switch {
		case d.Default != "":
			def = "`" + d.Default + "`"
		case d.Unset != "":
			def = d.Unset
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", d.Name, def, d.Help)
	}
	return b.String()
}
