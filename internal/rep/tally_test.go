package rep

import (
	"errors"
	"testing"
	"time"
)

func TestTallyOfAnAbortedSeries(t *testing.T) {
	res := Result[time.Duration]{Runs: []Outcome[time.Duration]{
		{Index: 1, OK: true, Value: 2 * time.Second},
		{Index: 2, Err: "timed out", err: errors.New("timed out"), Value: time.Second},
		{Index: 3, Err: "timed out", Value: time.Second},
		{Index: 4, Err: "timed out", Value: time.Second},
	}, Failed: 3, Aborted: "3 consecutive repetitions stopped the same way: timed out", Wall: 10 * time.Second}
	tl := TallyOf(res, 10, func(d time.Duration) time.Duration { return d })
	if tl.Ran != 4 || tl.OK != 1 || tl.Failed != 9 || len(tl.Errors) != 3 || tl.LifetimesNS != int64(5*time.Second) || tl.Overhead != 2 {
		t.Fatalf("%+v", tl)
	}
	if want := "series stopped after 4 of 10 boots: 3 consecutive repetitions stopped the same way: timed out"; tl.Why() != want {
		t.Fatalf("Why() = %q", tl.Why())
	}
}

func TestTallyWhy(t *testing.T) {
	for _, c := range []struct {
		t    Tally
		want string
	}{
		{Tally{Planned: 5, Ran: 5, OK: 5}, ""},
		{Tally{Planned: 5, Ran: 5, OK: 4, Failed: 1, Errors: []string{"boot 2: no main"}}, "1 of 5 boots failed (boot 2: no main)"},
		{Tally{Planned: 5, Ran: 5, OK: 4, Failed: 1}, "1 of 5 boots failed"},
	} {
		if got := c.t.Why(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.t, got, c.want)
		}
	}
}
