package figure

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// PreparedPath is where a figure's prepare step leaves its index in dir (the figure's
// folder of the image cache), one per fixture name ("" for the real sources): a fixture's
// images never stand in for the real ones.
func PreparedPath(dir, fixture string) string {
	if fixture == "" {
		return filepath.Join(dir, "prepared.json")
	}
	return filepath.Join(dir, "prepared-"+fixture+".json")
}

// ReadPrepared reads into v the index that figure id's prepare step left in dir for fixture;
// what names the prepared things in the message ("guests", "images"), which says to run the
// prepare step when the index is missing or unreadable.
func ReadPrepared(dir, fixture, id, what string, v any) error {
	p := PreparedPath(dir, fixture)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		what = "the " + what
		if fixture != "" {
			what += " of FIXTURE " + fixture
		}
		return fmt.Errorf("%s: %s are not prepared (no %s): run `go tool mage %s:prepare` first (with the same SOURCES_MIRROR)", id, what, p, id)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %s: %w (run `go tool mage %s:prepare` again)", id, p, err, id)
	}
	return nil
}
