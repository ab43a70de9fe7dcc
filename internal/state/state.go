// Package state is the bundle's one state root: every cache and log of the bundle lives in
// a directory of its own under it, so one setting moves them all.
//
//	$STATE_DIR (default <user cache dir>/unikraft-eurosys21, e.g. ~/.cache/unikraft-eurosys21)
//	    sources/   verified source cache   (SOURCES_CACHE overrides)
//	    images/    fig10's built guests     (IMAGES_CACHE overrides)
//	    fig08/     fig08's build dirs       (FIG08_BUILD_CACHE overrides)
//	    logs/      debootstrap and image-build logs
//
// Results and plots are not state: they go to RESULTS_DIR and PLOTS_DIR. Package settings
// resolves these directories (Settings.StateDir, SourcesCache, …) and the magefile passes
// them down; this package remains for experiments/fig_08/build, which still looks them up
// itself until its pipeline takes its settings from the magefile (issue 11).
package state

import (
	"path/filepath"

	"github.com/unikraft-eurosys21/artifact/internal/settings"
)

// EnvDir names the state root.
const EnvDir = "STATE_DIR"

// Dir is the state root: STATE_DIR, or <user cache dir>/unikraft-eurosys21; absolute.
func Dir() (string, error) {
	s, err := settings.FromEnv()
	return s.StateDir, err
}

// Sub is the directory name under the state root, unless the setting override is set (then
// that, made absolute). override may be "" for a directory without its own setting.
func Sub(name, override string) (string, error) {
	s, err := settings.FromEnv()
	if err != nil {
		return "", err
	}
	if override != "" {
		if v, from := s.Record(); from[override] == settings.Environment {
			return filepath.Abs(v[override])
		}
	}
	return filepath.Join(s.StateDir, name), nil
}
