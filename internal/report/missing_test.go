package report

import (
	"strings"
	"testing"

	fig22 "github.com/unikraft-eurosys21/artifact/experiments/fig_22"
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

// A fig22 VM whose boots failed is listed with the run's own account of why.
func TestNotRunListsFig22sFailedBoots(t *testing.T) {
	d, err := fig22.Paper()
	if err != nil {
		t.Fatal(err)
	}
	d.Status = []fig22.SeriesStatus{
		{Console: "linux", Tally: rep.Tally{Planned: 25, Ran: 25, OK: 25}},
		{Console: "unikraft", Tally: rep.Tally{Planned: 25, Ran: 3, Failed: 25, Aborted: "3 consecutive repetitions stopped the same way: no SHFS volume"}},
	}
	got := notRun(d, &verify.Report{})
	if len(got) != 1 || !strings.Contains(got[0], "unikraft VM — FAILED: series stopped after 3 of 25 boots") {
		t.Fatalf("%q", got)
	}
}
