package experiments

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/unikraft-eurosys21/artifact/internal/results"
)

func TestMain(m *testing.M) {
	logrus.SetLevel(logrus.WarnLevel)
	os.Exit(m.Run())
}

// The eight files `mage paper` promises, byte-identical when regenerated.
func TestPaperPlotsAreDeterministic(t *testing.T) {
	ctx := context.Background()
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if err := Plot(ctx, Options{From: "paper", PlotsDir: dir}, All...); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{
		"fig_08_unikraft-image-size", "fig_10_unikraft-boot",
		"fig_14_unikraft-nginx-alloc-boot", "fig_22_compare-vfs",
	} {
		for _, ext := range []string{".svg", ".html"} {
			x, err := os.ReadFile(filepath.Join(a, name+ext))
			if err != nil {
				t.Fatal(err)
			}
			y, _ := os.ReadFile(filepath.Join(b, name+ext))
			if !bytes.Equal(x, y) {
				t.Errorf("%s%s differs between two renders", name, ext)
			}
			if ext == ".svg" && !bytes.Contains(x, []byte("paper data")) {
				t.Errorf("%s.svg does not name its data source", name)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(a, "assets", "echarts.min.js")); err != nil {
		t.Errorf("the HTML pages' ECharts copy is missing: %v", err)
	}
}

// The paper's data verifies against itself for every figure, and verify.json says so.
func TestPaperVerifiesAgainstItself(t *testing.T) {
	root := t.TempDir()
	for _, fig := range All {
		var out bytes.Buffer
		s := Options{From: "paper", ResultsDir: root, Strict: true}
		if err := Verify(context.Background(), s, &out, fig); err != nil {
			t.Errorf("%s: %v\n%s", fig.ID, err, out.String())
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, fig.Dir, "paper", "verify.json"))
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ Pass bool }
		if err := json.Unmarshal(b, &v); err != nil || !v.Pass {
			t.Errorf("%s verify.json: %s", fig.ID, b)
		}
	}
}

func TestFromLatestWithoutRunExplains(t *testing.T) {
	fig, _ := ByID("fig10")
	_, err := Open(fig, "latest", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "FROM=paper") {
		t.Fatalf("want a hint at FROM=paper, got %v", err)
	}
	_, err = Open(fig, "20990101T000000Z", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no such run directory") {
		t.Fatalf("want 'no such run directory', got %v", err)
	}
}

// A run directory in the original format is found as latest, and its manifest's
// provenance (run id, accelerator) reaches the plot's subtitle and the verdict.
func TestLatestRunIsPlottedWithProvenance(t *testing.T) {
	root, plots := t.TempDir(), t.TempDir()
	fig, _ := ByID("fig10")
	r, err := results.Create(root, fig.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, vmm := range []string{"qemu", "qemu1nic", "qemumicrovm", "solo5", "firecracker"} {
		b, err := os.ReadFile(filepath.Join("fig_10", "paper", "results", vmm+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		r.WriteFile(vmm+".csv", b)
	}
	m := results.NewManifest(r)
	m.Accel = "tcg"
	r.WriteJSON("manifest.json", m)
	if _, err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := Plot(context.Background(), Options{From: "latest", ResultsDir: root, PlotsDir: plots}, fig); err != nil {
		t.Fatal(err)
	}
	svg, _ := os.ReadFile(filepath.Join(plots, fig.Plot+".svg"))
	if !bytes.Contains(svg, []byte(r.ID)) || !bytes.Contains(svg, []byte("tcg")) {
		t.Errorf("subtitle lacks run id %s or accel tcg", r.ID)
	}
}

// BenchmarkPaper measures `mage paper`'s work: load the paper's data of all four figures
// and render eight files (ECharts is compiled once per process, outside the loop).
func BenchmarkPaper(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	if err := Plot(ctx, Options{From: "paper", PlotsDir: dir}, All...); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Plot(ctx, Options{From: "paper", PlotsDir: dir}, All...); err != nil {
			b.Fatal(err)
		}
	}
}
