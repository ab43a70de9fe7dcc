// Package state is the bundle's one state root: every cache and log of the bundle lives in
// a directory of its own under it, so one variable moves them all.
//
//	$STATE_DIR (default <user cache dir>/unikraft-eurosys21, e.g. ~/.cache/unikraft-eurosys21)
//	    sources/   verified source cache   (SOURCES_CACHE overrides)
//	    images/    fig10's built guests     (IMAGES_CACHE overrides)
//	    fig08/     fig08's build dirs       (FIG08_BUILD_CACHE overrides)
//	    logs/      debootstrap and image-build logs
//
// Results and plots are not state: they go to RESULTS_DIR and PLOTS_DIR.
package state

import (
	"fmt"
	"os"
	"path/filepath"
)

// EnvDir names the state root.
const EnvDir = "STATE_DIR"

// Dir is the state root: STATE_DIR, or <user cache dir>/unikraft-eurosys21; absolute.
func Dir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return filepath.Abs(d)
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache directory (%v): set %s", err, EnvDir)
	}
	return filepath.Join(d, "unikraft-eurosys21"), nil
}

// Sub is the directory name under the state root, unless the variable override is set (then
// that, made absolute). override may be "" for a directory without its own variable.
func Sub(name, override string) (string, error) {
	if override != "" {
		if d := os.Getenv(override); d != "" {
			return filepath.Abs(d)
		}
	}
	d, err := Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, name), nil
}
