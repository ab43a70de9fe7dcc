package fig08

import (
	"fmt"
	"math"
)

// SizeofFmt formats a byte count exactly as the original plot.py's sizeof_fmt did: base
// 1024, "%3.1f" and the units B, KB, MB, … (so "MB" here means MiB). Examples:
// 262816 → "256.7KB", 1639224 → "1.6MB", 0 → "0.0B". Bar labels and y tick labels use it,
// so the figure reads like the paper's.
func SizeofFmt(num float64) string {
	for _, unit := range []string{"", "K", "M", "G", "T", "P", "E", "Z"} {
		if math.Abs(num) < 1024 {
			return fmt.Sprintf("%3.1f%sB", num, unit)
		}
		num /= 1024
	}
	return fmt.Sprintf("%.1fYB", num)
}
