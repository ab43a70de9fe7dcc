package fig10

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/state"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// Environment settings of the fig10 targets (besides REPS, WARMUP, ACCEL, QEMU, QEMU_CPU,
// SOURCES_MIRROR, SOURCES_CACHE, GCC, RESULTS_DIR and STRICT, read where they are used).
const (
	EnvVMMs   = "VMMS"         // comma-separated subset of qemu,qemu1nic,qemumicrovm,solo5,firecracker
	EnvImages = "IMAGES_CACHE" // where built guests are cached
	// EnvObservers chooses the observers: "ftrace", "debugcon" or both, comma-separated;
	// unset: ftrace as root under KVM, else the debug console.
	EnvObservers = "OBSERVERS"
)

// ObserversFromEnv reads OBSERVERS (nil when unset: the run step chooses).
func ObserversFromEnv() ([]string, error) {
	v := os.Getenv(EnvObservers)
	if v == "" {
		return nil, nil
	}
	var out []string
	for _, o := range strings.Split(v, ",") {
		switch o = strings.TrimSpace(o); o {
		case "ftrace", "debugcon":
			out = append(out, o)
		default:
			return nil, fmt.Errorf("%s=%q: expected ftrace, debugcon or ftrace,debugcon", EnvObservers, v)
		}
	}
	return out, nil
}

// settingNames are recorded in a run's manifest when set.
var settingNames = []string{"REPS", "WARMUP", "VMMS", "ACCEL", "OBSERVERS", "QEMU", "QEMU_CPU", "SOURCES_MIRROR", "SOURCES_CACHE",
	"GCC", "IMAGES_CACHE", "STATE_DIR", "FC_GUEST", "FIRECRACKER", "SOLO5_HVT", "RESULTS_DIR", "STRICT"}

// ImagesFromEnv is IMAGES_CACHE, by default <STATE_DIR>/images.
func ImagesFromEnv() (string, error) {
	d, err := state.Sub("images", EnvImages)
	if err != nil {
		return "", fmt.Errorf("fig10: %w (or %s)", err, EnvImages)
	}
	return d, nil
}

// VMMsFromEnv reads VMMS (all five when unset).
func VMMsFromEnv() ([]string, error) {
	var keys []string
	for _, k := range strings.Split(os.Getenv(EnvVMMs), ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	if _, err := selectVMMs(keys); err != nil {
		return nil, err
	}
	if _, err := firecrackerGuest(); err != nil {
		return nil, err
	}
	return keys, nil
}

// PrepareFromEnv is `mage fig10:prepare`: Prepare with the settings from the environment;
// verbose (mage -v) shows every line of the builds.
func PrepareFromEnv(ctx context.Context, verbose bool) error {
	vmms, err := VMMsFromEnv()
	if err != nil {
		return err
	}
	accel, err := vmm.AccelFromEnv()
	if err != nil {
		return err
	}
	images, err := ImagesFromEnv()
	if err != nil {
		return err
	}
	sopt, err := sources.OptionsFromEnv(os.Stderr)
	if err != nil {
		return err
	}
	_, err = Prepare(ctx, PrepareOptions{
		VMMs: vmms, Accel: accel, Manifest: sources.ManifestPath, Sources: sopt, Containers: "containers", Images: images,
		GCC: os.Getenv("GCC"), Docker: docker.Options{Verbose: verbose},
		Log: logrus.StandardLogger().WithField("figure", Figure.Dir),
	})
	return err
}

// RunFromEnv is `mage fig10:run`: Run with the settings from the environment, writing under
// resultsDir (RESULTS_DIR); strict (STRICT=1) makes a VMM that cannot run a failure.
func RunFromEnv(ctx context.Context, resultsDir string, strict bool) error {
	accel, err := vmm.AccelFromEnv()
	if err != nil {
		return err
	}
	vmms, err := VMMsFromEnv()
	if err != nil {
		return err
	}
	plan, err := rep.FromEnv(rep.Plan{Reps: DefaultReps, Warmup: 1, Timeout: DefaultTimeout})
	if err != nil {
		return err
	}
	images, err := ImagesFromEnv()
	if err != nil {
		return err
	}
	observers, err := ObserversFromEnv()
	if err != nil {
		return err
	}
	m, err := sources.ManifestFor(sources.ManifestPath, os.Getenv(sources.EnvMirror))
	if err != nil {
		return err
	}
	settings := map[string]string{}
	for _, k := range settingNames {
		if v, ok := os.LookupEnv(k); ok {
			settings[k] = v
		}
	}
	_, err = Run(ctx, RunOptions{VMMs: vmms, Accel: accel, Plan: plan, ResultsDir: resultsDir, Images: images,
		Fixture: m.Fixture, Strict: strict, Settings: settings, Observers: observers, Log: logrus.StandardLogger()})
	return err
}

// CleanFromEnv is `mage fig10:clean`.
func CleanFromEnv() error {
	images, err := ImagesFromEnv()
	if err != nil {
		return err
	}
	return Clean(images, os.Stdout)
}
