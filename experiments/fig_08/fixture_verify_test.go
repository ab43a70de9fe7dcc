package fig08

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

// A run built from FIXTURE sources is shown next to the paper but never judged: even
// numbers equal to the paper's give SKIP rows, so a stand-in cannot pass for Unikraft.
func TestFixtureRunIsNotJudged(t *testing.T) {
	dir := t.TempDir()
	paper, err := fs.ReadFile(PaperFiles(), ResultsFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ResultsFile), paper, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := results.WriteJSONAtomic(filepath.Join(dir, "manifest.json"), results.Manifest{Figure: "fig_08", Fixture: "fig08-standin-1"}); err != nil {
		t.Fatal(err)
	}
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Fixture != "fig08-standin-1" {
		t.Fatalf("fixture not read from the manifest: %q", d.Fixture)
	}
	r := verify.New("fig_08", "fixture run")
	d.Verify(r)
	if n := r.Count(verify.OK) + r.Count(verify.Warn) + r.Count(verify.Fail); n != 0 {
		t.Errorf("%d rows judged on a fixture run", n)
	}
	if r.Count(verify.Skip) != len(r.Rows) || len(r.Rows) < 16 {
		t.Errorf("rows: %+v", r.Rows)
	}
}
