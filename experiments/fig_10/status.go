package fig10

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// SeriesFile records, per VMM, whether and how the run step ran it (series.json in a run
// directory; the original artifact had no such file and silently lacked what did not run).
const SeriesFile = "series.json"

// Statuses of a series in a run.
const (
	Ran    = "ran"    // every planned boot ran; some may have failed (Failed)
	Failed = "failed" // no boot succeeded: there is no result file
	// NotRun (dataset.go) is a series that could not run on this host, with a reason.
)

// SeriesStatus is one VMM's entry in series.json.
type SeriesStatus struct {
	VMM    string `json:"vmm"`
	Status string `json:"status"`           // Ran, Failed or NotRun
	Reason string `json:"reason,omitempty"` // why it did not run or failed
	// NotSelected marks a VMM left out by VMMS: not run by choice, not for lack of anything.
	NotSelected bool `json:"not_selected,omitempty"`
	// Guest and Kernel identify the image booted; Binary and Command the VMM.
	Guest   string   `json:"guest,omitempty"`
	Kernel  string   `json:"kernel_sha256,omitempty"`
	Binary  string   `json:"binary,omitempty"`
	Version string   `json:"version,omitempty"`
	Command []string `json:"command,omitempty"` // without the observers' devices
	// Machine is QEMU's -machine value; TSCLeaf whether the guest had CPUID leaf 0x40000010
	// (its TSC frequency; without it Unikraft calibrates 100 ms against the PIT). QEMU only.
	Machine string `json:"machine,omitempty"`
	TSCLeaf *bool  `json:"tsc_frequency_leaf,omitempty"`
	// Observers watched the boots; Observer is the one whose numbers are in <vmm>.csv.
	Observers []string `json:"observers,omitempty"`
	Observer  string   `json:"observer,omitempty"`
	CPUs      []int    `json:"cpus,omitempty"`
	CPUReason string   `json:"cpu_reason,omitempty"`
	Planned   int      `json:"planned,omitempty"`
	OK        int      `json:"ok"`
	Failed    int      `json:"failed"`
	Warmups   int      `json:"warmups,omitempty"`
	// StopAfterMain: the guest halts after main() without ending its VM, so each boot ended
	// when the observers had seen the end marker and the harness stopped the VMM (SIGKILL to
	// its process group); EndedAtMarker counts the measured boots that ended so.
	StopAfterMain bool `json:"stop_after_main,omitempty"`
	EndedAtMarker int  `json:"ended_at_marker,omitempty"`
	// Errors are the first failed boots' errors (their raw logs are under raw/<vmm>/).
	Errors []string `json:"errors,omitempty"`
	// Overhead is the measured loop's wall time over the sum of the VMM processes' lifetimes
	// (fork to exit): what the harness adds around the VMs.
	Overhead    float64  `json:"harness_overhead,omitempty"`
	LoopWallNS  int64    `json:"loop_wall_ns,omitempty"`
	LifetimesNS int64    `json:"vmm_lifetimes_ns,omitempty"`
	Notes       []string `json:"notes,omitempty"`
}

// RunStatus is series.json: the series in the order they ran.
type RunStatus struct {
	Series []SeriesStatus `json:"series"`
}

// Get returns the status of the VMM with the given key.
func (r *RunStatus) Get(key string) (SeriesStatus, bool) {
	for _, s := range r.Series {
		if s.VMM == key {
			return s, true
		}
	}
	return SeriesStatus{}, false
}

// ReadStatus reads series.json from a run directory; nil without error when there is none
// (a run directory written by hand or by another tool, e.g. the paper's results).
func ReadStatus(runDir string) (*RunStatus, error) {
	p := filepath.Join(runDir, SeriesFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st RunStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	for i, s := range st.Series {
		if _, ok := LookupVMM(s.VMM); !ok {
			return nil, fmt.Errorf("%s: series %d: unknown VMM %q", p, i+1, s.VMM)
		}
		switch s.Status {
		case Ran, Failed, NotRun:
		default:
			return nil, fmt.Errorf("%s: series %s: status %q, expected %q, %q or %q", p, s.VMM, s.Status, Ran, Failed, NotRun)
		}
	}
	return &st, nil
}
