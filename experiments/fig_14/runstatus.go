package fig14

import (
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/results"
)

// SeriesFile is the run step's account of each allocator's boots (series.json): how many
// were planned, how many failed and why. Load reads it so that the verdict shows failed boots
// as FAIL; a directory without it (the paper's data, a run copied by hand) has none.
const SeriesFile = results.SeriesFile

// SeriesStatus is one allocator's series in series.json: the boots' tally (Why says what
// failed) with the image booted and the raw trace written.
type SeriesStatus struct {
	Alloc string `json:"alloc"`
	Image string `json:"image_sha256"`
	rep.Tally
	Trace string `json:"trace,omitempty"` // raw/<alloc>-<timestamp>.txt
}

// readStatus reads runDir's series.json; nil when there is none.
func readStatus(runDir string) ([]SeriesStatus, error) {
	return results.ReadSeries[SeriesStatus](runDir)
}
