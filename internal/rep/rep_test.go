package rep_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/rep"
)

func TestAllRepetitionsSucceed(t *testing.T) {
	res, err := rep.Run(context.Background(), rep.Plan{Series: "s", Reps: 5, Warmup: 2},
		func(_ context.Context, r rep.Rep) (int, error) {
			if r.Warmup {
				return -r.Index, nil
			}
			return r.Index * 10, nil
		})
	if err != nil || res.Err() != nil {
		t.Fatal(err, res.Err())
	}
	if got := fmt.Sprint(res.Values()); got != "[10 20 30 40 50]" {
		t.Errorf("values %s (warm-ups must not be among them)", got)
	}
	if len(res.Warmups) != 2 || res.Warmups[1].Value != -2 {
		t.Errorf("warm-ups %+v", res.Warmups)
	}
	if got := res.Summary(); got != "s: 5 of 5 repetitions ok (+2 warm-up)" {
		t.Errorf("summary %q", got)
	}
}

func TestFailuresAreRecordedWithRawLogs(t *testing.T) {
	dir := t.TempDir()
	res, err := rep.Run(context.Background(), rep.Plan{Series: "qemu", Reps: 4, RawDir: dir},
		func(_ context.Context, r rep.Rep) (float64, error) {
			os.MkdirAll(filepath.Dir(r.Raw), 0o755)
			os.WriteFile(r.Raw+".console.log", []byte("console of "+r.String()), 0o644)
			if r.Index == 3 {
				return 0, errors.New("guest never wrote port 1500")
			}
			return 1, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 1 || len(res.Values()) != 3 || len(res.Runs) != 4 {
		t.Fatalf("failed %d, values %v", res.Failed, res.Values())
	}
	bad := res.Runs[2]
	want := filepath.Join(dir, "qemu", "rep-03.console.log")
	if bad.OK || bad.Err != "guest never wrote port 1500" || len(bad.Raw) != 1 || bad.Raw[0] != want {
		t.Errorf("failed outcome %+v", bad)
	}
	e := res.Err()
	if e == nil || !strings.Contains(e.Error(), "1 FAILED") || !strings.Contains(e.Error(), want) {
		t.Errorf("Err() = %v", e)
	}
}

func TestTimeoutPerRepetition(t *testing.T) {
	res, err := rep.Run(context.Background(), rep.Plan{Series: "s", Reps: 3, Timeout: 50 * time.Millisecond},
		func(ctx context.Context, r rep.Rep) (int, error) {
			if r.Index == 2 { // a hung boot: only the deadline ends it
				<-ctx.Done()
				return 0, context.Cause(ctx)
			}
			return r.Index, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 1 || res.Runs[1].Err != "timed out after 50ms" {
		t.Errorf("outcome %+v", res.Runs[1])
	}
	if len(res.Runs) != 3 {
		t.Errorf("the loop stopped after a timeout: %d runs", len(res.Runs))
	}
}

// stopped is a failure that says how it stopped, as a boot's error does.
type stopped struct{ how string }

func (s stopped) Error() string        { return "boot failed: " + s.how }
func (s stopped) ObservedStop() string { return s.how }

// A guest that hangs after its entry marker costs AbortAfter timeouts, not REPS: the series
// stops and says what was observed.
func TestSeriesStopsAfterConsecutiveFailuresThatStoppedTheSameWay(t *testing.T) {
	hang := stopped{"entry marker (port 1112) seen, main marker (port 1500) never; timed out after 1m0s"}
	calls := 0
	res, err := rep.Run(context.Background(), rep.Plan{Series: "s", Reps: 26, Warmup: 1, AbortAfter: 3},
		func(ctx context.Context, r rep.Rep) (int, error) {
			calls++
			return 0, hang
		})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3 || len(res.Warmups) != 1 || len(res.Runs) != 2 || res.Failed != 2 {
		t.Errorf("%d boots (%d warm-up, %d measured, %d failed); want 3 in all", calls, len(res.Warmups), len(res.Runs), res.Failed)
	}
	want := "3 consecutive repetitions stopped the same way: " + hang.how
	if res.Aborted != want || res.Runs[1].Stop != hang.how {
		t.Errorf("aborted %q, stop %q", res.Aborted, res.Runs[1].Stop)
	}
	if e := res.Err(); e == nil || !strings.Contains(e.Error(), want) {
		t.Errorf("Err() = %v", e)
	}
}

// Different stops, a success in between, or failures that do not say how they stopped do
// not stop the series.
func TestSeriesGoesOnWhenFailuresDiffer(t *testing.T) {
	errs := map[int]error{
		1: stopped{"a"}, 2: stopped{"a"}, 3: stopped{"b"}, 4: stopped{"b"}, // different stops
		6: stopped{"c"}, 7: stopped{"c"}, // 5 succeeded
		8: errors.New("x"), 9: errors.New("x"), 10: errors.New("x"), // no observed stop
	}
	res, err := rep.Run(context.Background(), rep.Plan{Series: "s", Reps: 10, AbortAfter: 3},
		func(ctx context.Context, r rep.Rep) (int, error) { return r.Index, errs[r.Index] })
	if err != nil || res.Aborted != "" || len(res.Runs) != 10 || res.Failed != 9 {
		t.Errorf("aborted %q after %d runs (%d failed), err %v", res.Aborted, len(res.Runs), res.Failed, err)
	}
}

func TestCancelStopsTheLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := rep.Run(ctx, rep.Plan{Series: "s", Reps: 10},
		func(ctx context.Context, r rep.Rep) (int, error) {
			if r.Index == 3 {
				cancel() // Ctrl-C during the third repetition
				return 0, ctx.Err()
			}
			return r.Index, nil
		})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted after 2 of 10") {
		t.Fatalf("err = %v", err)
	}
	if !res.Interrupted || res.Failed != 0 || len(res.Runs) != 2 {
		t.Errorf("result %+v", res)
	}
	if res.Err() == nil || !strings.Contains(res.Summary(), "interrupted") {
		t.Errorf("an interrupted run looks complete: %s", res.Summary())
	}
}

// A measurement that cannot keep what it measured (the disk is full) ends the whole loop at
// once: its error is not one failed repetition among others.
func TestFatalErrorStopsTheLoopAtOnce(t *testing.T) {
	full := errors.New("write raw/linux.2: no space left on device")
	for _, warmup := range []int{0, 1} {
		calls := 0
		res, err := rep.Run(context.Background(), rep.Plan{Series: "s", Reps: 10, Warmup: warmup, AbortAfter: 3},
			func(_ context.Context, r rep.Rep) (int, error) {
				calls++
				if calls == 2 {
					return 0, rep.Fatal(full)
				}
				return r.Index, nil
			})
		if !errors.Is(err, full) || !rep.IsFatal(err) || !strings.Contains(err.Error(), "no space left on device") {
			t.Fatalf("warm-ups %d: err = %v", warmup, err)
		}
		if calls != 2 || res.Interrupted || res.Aborted != "" {
			t.Errorf("warm-ups %d: %d calls, result %+v", warmup, calls, res)
		}
		if n := len(res.Runs) + len(res.Warmups); n != 2 || (warmup == 0 && res.Failed != 1) {
			t.Errorf("warm-ups %d: the repetition that failed is not recorded: %+v", warmup, res)
		}
	}
	if rep.Fatal(nil) != nil || rep.IsFatal(full) {
		t.Error("Fatal(nil) or a plain error is fatal")
	}
}

func TestBadPlans(t *testing.T) {
	f := func(context.Context, rep.Rep) (int, error) { return 0, nil }
	for _, p := range []rep.Plan{{Series: "s"}, {Series: "s", Reps: 1, Warmup: -1}, {Series: "a/b", Reps: 1}, {Reps: 1}} {
		if _, err := rep.Run(context.Background(), p, f); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}
