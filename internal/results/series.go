package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// SeriesFile is a run step's account of each series (series.json): what was planned, what ran,
// what failed and why. A figure's Load reads it so that its verdict shows failed units as
// FAIL; a directory without it (the paper's data, a run copied by hand) has none.
const SeriesFile = "series.json"

// ReadSeries reads runDir's series.json into a list of the figure's series records; nil when
// there is none.
func ReadSeries[T any](runDir string) ([]T, error) {
	p := filepath.Join(runDir, SeriesFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st []T
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return st, nil
}
