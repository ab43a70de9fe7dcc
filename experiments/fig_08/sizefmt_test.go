package fig08

import "testing"

func TestSizeofFmtMatchesTheOriginalLabels(t *testing.T) {
	for in, want := range map[float64]string{
		0:           "0.0B",
		1023:        "1023.0B",
		1024:        "1.0KB",
		197280:      "192.7KB",
		262816:      "256.7KB",
		852792:      "832.8KB",
		852928:      "832.9KB",
		1114936:     "1.1MB",
		1246392:     "1.2MB",
		1639224:     "1.6MB",
		1835832:     "1.8MB",
		1 << 20:     "1.0MB",
		2 << 20:     "2.0MB",
		3 << 20:     "3.0MB",
		5 << 30:     "5.0GB",
		1048575.999: "1024.0KB", // like Python: the unit is chosen before rounding
	} {
		if got := SizeofFmt(in); got != want {
			t.Errorf("SizeofFmt(%v) = %q, want %q", in, got, want)
		}
	}
}
