package experiments

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/settings"
)

// copiedRun is a test double of Figure 10's run step: it commits a run directory holding
// the paper's result files, marked FIXTURE (they are not a measurement), and counts its calls.
func copiedRun(t *testing.T, root string, calls *int) figure.RunStep {
	return func(ctx context.Context, s settings.Settings, c figure.Console) (string, error) {
		*calls++
		r, err := results.Create(root, "fig_10")
		if err != nil {
			return "", err
		}
		for _, vmm := range []string{"qemu", "qemu1nic", "qemumicrovm", "solo5", "firecracker"} {
			b, err := os.ReadFile(filepath.Join("fig_10", "paper", "results", vmm+".csv"))
			if err != nil {
				t.Fatal(err)
			}
			r.WriteFile(vmm+".csv", b)
		}
		m := results.NewManifest(r)
		m.Fixture = "test-double-copy-of-paper"
		r.WriteJSON("manifest.json", m)
		return r.Commit()
	}
}

// One figure whose prepare fails does not stop the others: the figure after it still runs,
// is plotted and verified, the figure without a pipeline is "not run", and the error names
// the failed figure only.
func TestRunAllGoesOnPastAFailedFigure(t *testing.T) {
	root, plots := t.TempDir(), t.TempDir()
	s, err := settings.Parse(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	broken, _ := ByID("fig08")
	broken.Pipeline = &figure.Pipeline{
		Prepare: func(context.Context, settings.Settings, figure.Console) error {
			return errors.New("injected failure\nsecond line of detail")
		},
		Run: func(context.Context, settings.Settings, figure.Console) (string, error) {
			t.Error("the run step of a figure whose prepare failed was called")
			return "", nil
		},
	}
	calls := 0
	good, _ := ByID("fig10")
	good.Pipeline = &figure.Pipeline{
		Prepare: func(context.Context, settings.Settings, figure.Console) error { return nil },
		Run:     copiedRun(t, root, &calls),
	}
	unbuilt, _ := ByID("fig14")
	unbuilt.Pipeline = &figure.Pipeline{Prepare: broken.Pipeline.Prepare}
	noPipeline, _ := ByID("fig22")
	noPipeline.Pipeline = nil

	var stdout bytes.Buffer
	o := Options{From: "paper", ResultsDir: root, PlotsDir: plots}
	outs, err := RunAll(context.Background(), s, figure.Console{Stdout: &stdout}, o, broken, good, unbuilt, noPipeline)
	if err == nil || !strings.Contains(err.Error(), "fig08: prepare: injected failure") {
		t.Fatalf("want the error to name fig08's failed prepare, got %v", err)
	}
	if strings.Contains(err.Error(), "fig10") || strings.Contains(err.Error(), "fig22") {
		t.Errorf("the error names a figure that did not fail: %v", err)
	}
	want := []struct{ fig, status, why string }{
		{"fig08", OutcomeFailed, "prepare: injected failure"},
		{"fig10", OutcomeOK, ""},
		{"fig14", OutcomeNotRun, "run step is not built"},
		{"fig22", OutcomeNotRun, "no pipeline yet"},
	}
	if len(outs) != len(want) {
		t.Fatalf("got %d outcomes, want %d: %+v", len(outs), len(want), outs)
	}
	for i, w := range want {
		o := outs[i]
		if o.Figure != w.fig || o.Status != w.status || !strings.Contains(o.Why, w.why) {
			t.Errorf("outcome %d = %+v, want %s %s (%q)", i, o, w.fig, w.status, w.why)
		}
	}
	if calls != 1 {
		t.Errorf("fig10's run step ran %d times, want 1", calls)
	}
	// fig10 was plotted and verified from the run it made, not from FROM=paper.
	svg, err := os.ReadFile(filepath.Join(plots, good.Plot+".svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte(filepath.Base(outs[1].RunDir))) {
		t.Errorf("fig10's plot does not show the run %s", outs[1].RunDir)
	}
	if _, err := os.Stat(filepath.Join(outs[1].RunDir, "verify.json")); err != nil {
		t.Errorf("fig10's run was not verified: %v", err)
	}
	if !strings.Contains(stdout.String(), "fig_10 — verification of run") {
		t.Errorf("the verdict table was not printed:\n%s", stdout.String())
	}

	var table bytes.Buffer
	WriteOutcomes(&table, outs)
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 1+len(want) {
		t.Fatalf("summary table has %d lines, want a header and one row per figure:\n%s", len(lines), table.String())
	}
	for i, w := range want {
		if f := strings.Fields(lines[i+1]); f[0] != w.fig || !strings.HasPrefix(strings.Join(f[1:], " "), w.status) {
			t.Errorf("summary row %q, want %s %s", lines[i+1], w.fig, w.status)
		}
	}
	if strings.Contains(table.String(), "second line of detail") {
		t.Errorf("summary table rows span lines:\n%s", table.String())
	}
}
