package fig22

import (
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/results"
)

// SeriesFile is the run step's account of each VM's boots (series.json): how many were
// planned, how many failed and why. Load reads it so that the verdict shows failed boots
// as FAIL; a directory without it (the paper's data, a run copied by hand) has none.
const SeriesFile = results.SeriesFile

// SeriesStatus is one VM's boots in series.json (Why says what failed).
type SeriesStatus struct {
	Console string `json:"console"` // the VM: "unikraft", "linux-nomitig", "linux"
	rep.Tally
}

// readStatus reads runDir's series.json; nil when there is none.
func readStatus(runDir string) ([]SeriesStatus, error) {
	return results.ReadSeries[SeriesStatus](runDir)
}
