package rep

import (
	"fmt"
	"time"
)

// Tally is one series' account in a run's series.json, the same for every figure that boots
// a VM per repetition: how many boots were planned and tried, how many failed and why, and
// what the harness cost around the VMs.
type Tally struct {
	Planned int      `json:"planned"`
	Ran     int      `json:"ran"` // boots tried (fewer than planned when the series stopped early)
	OK      int      `json:"ok"`
	Failed  int      `json:"failed"`            // boots that did not give what was planned, left-out ones included
	Aborted string   `json:"aborted,omitempty"` // why the series stopped early
	Errors  []string `json:"errors,omitempty"`  // the first failures, with their reasons
	// LoopWallNS is the series' wall time, LifetimesNS the sum of its VMM processes' lifetimes,
	// Overhead their ratio: what the harness cost beyond the VMs themselves.
	LoopWallNS  int64   `json:"loop_wall_ns"`
	LifetimesNS int64   `json:"qemu_lifetimes_ns"`
	Overhead    float64 `json:"harness_overhead,omitempty"`
}

// maxErrors is how many failures a Tally quotes: the first ones say what went wrong.
const maxErrors = 3

// TallyOf counts res, planned repetitions of which were asked for; lifetime gives the VMM
// process lifetime each repetition's value recorded.
func TallyOf[T any](res Result[T], planned int, lifetime func(T) time.Duration) Tally {
	t := Tally{Planned: planned, Ran: len(res.Runs), OK: len(res.Runs) - res.Failed, Failed: res.Failed, Aborted: res.Aborted}
	var lifetimes time.Duration
	for _, o := range res.Runs {
		if !o.OK && len(t.Errors) < maxErrors {
			t.Errors = append(t.Errors, fmt.Sprintf("boot %d: %s", o.Index, o.Err))
		}
		lifetimes += lifetime(o.Value)
	}
	if res.Aborted != "" {
		t.Failed = t.Planned - t.OK // the boots left out did not give what was planned
	}
	t.LoopWallNS, t.LifetimesNS = res.Wall.Nanoseconds(), lifetimes.Nanoseconds()
	if lifetimes > 0 {
		t.Overhead = float64(res.Wall) / float64(lifetimes)
	}
	return t
}

// Why is the series' failures in one line ("" when every boot succeeded).
func (t Tally) Why() string {
	switch {
	case t.Aborted != "":
		return fmt.Sprintf("series stopped after %d of %d boots: %s", t.Ran, t.Planned, t.Aborted)
	case t.Failed > 0 && len(t.Errors) > 0:
		return fmt.Sprintf("%d of %d boots failed (%s)", t.Failed, t.Planned, t.Errors[0])
	case t.Failed > 0:
		return fmt.Sprintf("%d of %d boots failed", t.Failed, t.Planned)
	}
	return ""
}
