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
	"github.com/unikraft-eurosys21/artifact/internal/verify"
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
	v := verify.New("fig10", "run")
	res.Verify(v)
	if v.Count(verify.Fail) != 1 || v.Err(false) == nil {
		t.Errorf("verdict does not fail: %+v", v.Rows)
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
	if res.Failed != 1 || !strings.Contains(res.Runs[1].Err, "repetition 2 timed out after 50ms") {
		t.Errorf("outcome %+v", res.Runs[1])
	}
	if len(res.Runs) != 3 {
		t.Errorf("the loop stopped after a timeout: %d runs", len(res.Runs))
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

func TestBadPlans(t *testing.T) {
	f := func(context.Context, rep.Rep) (int, error) { return 0, nil }
	for _, p := range []rep.Plan{{Series: "s"}, {Series: "s", Reps: 1, Warmup: -1}, {Series: "a/b", Reps: 1}, {Reps: 1}} {
		if _, err := rep.Run(context.Background(), p, f); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("REPS", "26")
	t.Setenv("WARMUP", "")
	p, err := rep.FromEnv(rep.Plan{Reps: 3, Warmup: 1})
	if err != nil || p.Reps != 26 || p.Warmup != 1 {
		t.Errorf("%+v, %v", p, err)
	}
	for _, bad := range []string{"0", "-3", "many"} {
		t.Setenv("REPS", bad)
		if _, err := rep.FromEnv(rep.Plan{}); err == nil || !strings.Contains(err.Error(), "REPS=") {
			t.Errorf("REPS=%s: %v", bad, err)
		}
	}
}
