package fig10

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/unikraft-eurosys21/artifact/internal/boottime"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// ExtendedFile holds every phase of every boot as every observer saw it, on both clocks
// (tab-separated, like the result files). The result files <vmm>.csv keep the paper's two
// columns; this file keeps what they leave out.
const ExtendedFile = "extended.csv"

// ExtendedColumns are the extended file's columns. Durations are µs; an empty field is a
// phase the observer cannot see (the debug console sees no KVM_RUN; Solo5 has no firmware).
//
//   - vmm, rep: the series and the boot (1-based, warm-ups not included)
//   - observer: ftrace or debugcon; primary: yes for the observer whose numbers are in <vmm>.csv
//   - accel: kvm or tcg; clock: the clock of the phases (CLOCK_MONOTONIC, wall time)
//   - vmm_setup_us: VMM exec → first KVM_RUN; firmware_us: first KVM_RUN → port 1112
//   - vmm_us: exec → guest platform entry (port 1112, or the first KVM_RUN without firmware)
//   - guest_us: platform entry → main() (port 1500); total_us: exec → main()
//   - vmm_cpu_us: the VMM process's CPU time (rusage user+system) over its whole life — the
//     other clock, the one the paper's Solo5 and Firecracker numbers used
//   - lifetime_us: fork → exit of the VMM process; exit_code: the VMM's exit status
//   - fc_boot_timer_wall_us, fc_boot_timer_cpu_us: Firecracker's own boot timer, when it logged one
var ExtendedColumns = []string{"vmm", "rep", "observer", "primary", "accel", "clock",
	"vmm_setup_us", "firmware_us", "vmm_us", "guest_us", "total_us", "vmm_cpu_us", "lifetime_us", "exit_code",
	"fc_boot_timer_wall_us", "fc_boot_timer_cpu_us"}

// ExtendedRow is one boot as one observer saw it.
type ExtendedRow struct {
	VMM      string
	Rep      int
	Primary  bool
	Sample   boottime.Sample
	FCWallUS *float64
	FCCPUUS  *float64
}

// NewExtendedRow is the row of one boot of VMM key as one observer saw it; bt is
// Firecracker's boot timer (nil for the other VMMs).
func NewExtendedRow(key string, rep int, s boottime.Sample, primary bool, bt *vmm.BootTimer) ExtendedRow {
	r := ExtendedRow{VMM: key, Rep: rep, Primary: primary, Sample: s}
	if bt != nil {
		w, c := float64(bt.Wall.Microseconds()), float64(bt.CPU.Microseconds())
		r.FCWallUS, r.FCCPUUS = &w, &c
	}
	return r
}

// FormatExtended renders the extended file: the header, then one row per boot and observer.
func FormatExtended(rows []ExtendedRow) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(strings.Join(ExtendedColumns, "\t") + "\n")
	for _, r := range rows {
		s := r.Sample
		f := []string{r.VMM, strconv.Itoa(r.Rep), s.Observer, yesNo(r.Primary), s.Accel, s.Clock,
			opt(s.VMMSetupUS), opt(s.FirmwareUS), opt(s.VMMUS), opt(s.GuestUS), num(s.TotalUS), num(s.VMMCPUUS), num(s.LifetimeUS),
			strconv.Itoa(s.ExitCode), opt(r.FCWallUS), opt(r.FCCPUUS)}
		for i, x := range f {
			if strings.ContainsAny(x, "\t\n") {
				return nil, fmt.Errorf("fig10: extended row %s/%d: %s %q contains a tab or newline", r.VMM, r.Rep, ExtendedColumns[i], x)
			}
		}
		b.WriteString(strings.Join(f, "\t") + "\n")
	}
	return b.Bytes(), nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// num writes µs with nanosecond resolution at most, in the shortest form.
func num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ""
	}
	return strconv.FormatFloat(math.Round(x*1000)/1000, 'f', -1, 64)
}

func opt(p *float64) string {
	if p == nil {
		return ""
	}
	return num(*p)
}
