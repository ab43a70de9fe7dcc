package fig22

import (
	"io"
	"strconv"
	"strings"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// TSCFile is the run directory's record of the host's TSC frequency: one integer, in MHz,
// as the original's tools/tsc_mhz (turbostat) printed it, e.g. "3600".
const TSCFile = "tsc_mhz.txt"

// PaperTSCMHz is the TSC frequency of the paper's testbed (i7-9700K at 3.6 GHz). The paper's
// CSVs do not record it; it is what their ns column was computed with (cycles/ns = 3.6).
const PaperTSCMHz = 3600

// ParseTSC reads a TSC frequency in MHz: one positive integer, surrounding white space
// allowed. The original crashed on an empty file and silently assumed 2600 MHz for a
// value <= 0; both are errors here, because every ns value depends on this number.
func ParseTSC(file string, r io.Reader) (int, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return 0, figure.Errorf(file, 0, "empty: expected the TSC frequency in MHz as one integer, e.g. 3600 (the run step measures it; rerun it)")
	}
	if strings.ContainsAny(text, "\n") {
		return 0, figure.Errorf(file, 0, "expected one integer (the TSC frequency in MHz), found several lines")
	}
	mhz, err := strconv.Atoi(text)
	if err != nil {
		return 0, figure.Errorf(file, 1, "expected the TSC frequency in MHz as an integer, e.g. 3600, found %q", text)
	}
	if mhz <= 0 {
		return 0, figure.Errorf(file, 1, "TSC frequency %d MHz: expected a positive number of MHz; cycles cannot be converted to ns with it", mhz)
	}
	return mhz, nil
}

// FormatTSC is the content of tsc_mhz.txt for a frequency.
func FormatTSC(mhz int) []byte { return []byte(strconv.Itoa(mhz) + "\n") }
