package host

import (
	"fmt"
	"strings"
)

// FrequencyRows are the settings that together fix the CPU frequency as the paper's fig_22
// prescription does (intel_pstate=disable, then tools/tunecpumax: the userspace governor at
// the highest non-turbo frequency on every core).
var FrequencyRows = []string{"frequency driver", "frequency governor", "frequency limits", "turbo"}

// Frequency says whether the CPU frequency was fixed and turbo off during the measurement.
type Frequency struct {
	// Fixed is "yes" (every row ok), "no" (some row warns) or "unknown" (this kernel
	// exposes no frequency control, as in most VMs, and nothing warns).
	Fixed string `json:"fixed"`
	// Why lists the rows that are not ok, with what was found.
	Why string `json:"why,omitempty"`
}

// frequency summarises the report's frequency rows (FrequencyRows); Check records it as
// Report.Frequency.
func (r Report) frequency() Frequency {
	var warn, unknown []string
	for _, name := range FrequencyRows {
		st, ok := r.Setting(name)
		switch {
		case !ok:
			unknown = append(unknown, name+": not checked")
		case st.Status == Warn || st.Status == Fail:
			warn = append(warn, fmt.Sprintf("%s: %s (expected %s)", name, st.Found, st.Expected))
		case st.Status == Unknown:
			unknown = append(unknown, fmt.Sprintf("%s: %s", name, st.Found))
		}
	}
	switch {
	case len(warn) > 0:
		return Frequency{Fixed: "no", Why: strings.Join(append(warn, unknown...), "; ")}
	case len(unknown) > 0:
		return Frequency{Fixed: "unknown", Why: strings.Join(unknown, "; ")}
	}
	return Frequency{Fixed: "yes"}
}

// Warning is one line for the terminal when the frequency was not known to be fixed; ""
// when it was.
func (f Frequency) Warning() string {
	switch f.Fixed {
	case "yes":
		return ""
	case "no":
		return "CPU frequency scaling or turbo NOT fixed (the paper fixed both for fig_22; cycles per open() vary with them): " + f.Why +
			"; see the isolation table (go tool mage host) for the commands"
	}
	return "CPU frequency and turbo not under this kernel's control (" + f.Why + "): whether they were fixed is unknown (in a VM the hypervisor's host decides)"
}
