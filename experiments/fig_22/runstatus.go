package fig22

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// SeriesFile is the run step's account of each VM's boots (series.json): how many were
// planned, how many failed and why. Load reads it so that the verdict shows failed boots
// as FAIL; a directory without it (the paper's data, a run copied by hand) has none.
const SeriesFile = "series.json"

// SeriesStatus is one VM's boots in series.json.
type SeriesStatus struct {
	Console string   `json:"console"` // the VM: "unikraft", "linux-nomitig", "linux"
	Planned int      `json:"planned"`
	Ran     int      `json:"ran"` // boots tried (fewer than planned when the series stopped early)
	OK      int      `json:"ok"`
	Failed  int      `json:"failed"`
	Aborted string   `json:"aborted,omitempty"` // why the series stopped early
	Errors  []string `json:"errors,omitempty"`  // the first failures, with their reasons
	// LoopWallNS is the series' wall time, LifetimesNS the sum of its QEMU lifetimes.
	LoopWallNS  int64   `json:"loop_wall_ns"`
	LifetimesNS int64   `json:"qemu_lifetimes_ns"`
	Overhead    float64 `json:"harness_overhead,omitempty"`
}

// Why is the failures of the series in one line ("" when every boot succeeded).
func (s SeriesStatus) Why() string {
	switch {
	case s.Aborted != "":
		return fmt.Sprintf("series stopped after %d of %d boots: %s", s.Ran, s.Planned, s.Aborted)
	case s.Failed > 0 && len(s.Errors) > 0:
		return fmt.Sprintf("%d of %d boots failed (%s)", s.Failed, s.Planned, s.Errors[0])
	case s.Failed > 0:
		return fmt.Sprintf("%d of %d boots failed", s.Failed, s.Planned)
	}
	return ""
}

// readStatus reads runDir's series.json; nil when there is none.
func readStatus(runDir string) ([]SeriesStatus, error) {
	p := filepath.Join(runDir, SeriesFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st []SeriesStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return st, nil
}
