package fig08

import (
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFigureLoadsThePapersData(t *testing.T) {
	if Figure.ID != "fig08" || Figure.Dir != "fig_08" || Figure.Plot != "fig_08_unikraft-image-size" {
		t.Errorf("figure names: %+v", Figure)
	}
	d, err := Figure.Paper()
	if err != nil {
		t.Fatal(err)
	}
	if got := len(d.(*Dataset).Sizes); got != 16 {
		t.Errorf("paper: %d images, want 16", got)
	}
	// The build step will need the configurations: they come with the paper's data.
	if _, err := PaperFiles().Open("configs/nginx_dce_lto/kraft.yaml"); err != nil {
		t.Error(err)
	}
}

// The original plot.py's bar order, legend labels and the colours it ended up with.
func TestSeriesAreTheOriginals(t *testing.T) {
	want := []Variant{
		{"default", "Default configuration", "sandybrown"},
		{"lto", "+ Link-Time Optim. (LTO)", "teal"},
		{"dce", "+ Dead Code Elim. (DCE)", "lightskyblue"},
		{"dce_lto", "+ DCE + LTO", "orchid"},
	}
	if !slices.Equal(Variants, want) {
		t.Errorf("variants %v\nwant %v", Variants, want)
	}
	if !slices.Equal(Apps, []string{"helloworld", "nginx", "redis", "sqlite"}) {
		t.Errorf("apps %v", Apps)
	}
	if imgs := Images(); len(imgs) != 16 || imgs[1].Key() != "helloworld_lto" || imgs[15].Key() != "sqlite_dce_lto" {
		t.Errorf("images %v", imgs)
	}
}

func TestSummaryOfThePaper(t *testing.T) {
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	sum := d.Summary().([]ImageSummary)
	if len(sum) != 16 || sum[0].Image != "helloworld_default" || sum[3].Image != "helloworld_dce_lto" || sum[15].Image != "sqlite_dce_lto" {
		t.Fatalf("summary not in plot order: %+v", sum)
	}
	byKey := map[string]ImageSummary{}
	for _, s := range sum {
		byKey[s.Image] = s
	}
	// The paper's sizes: label as plotted and reduction against the app's default.
	for key, want := range map[string]struct {
		label string
		pct   float64
		steps int64
	}{
		"helloworld_default": {"256.7KB", 0, 4},
		"helloworld_lto":     {"256.7KB", 0, 4},
		"helloworld_dce":     {"192.7KB", 24.94, 3},
		"nginx_lto":          {"1.2MB", 23.96, 19},
		"nginx_dce_lto":      {"832.9KB", 47.97, 13},
		"redis_dce":          {"1.1MB", 39.27, 17},
		"sqlite_dce":         {"832.8KB", 47.98, 13},
	} {
		s := byKey[key]
		if s.Label != want.label || s.ReductionPct == nil || *s.ReductionPct != want.pct || s.LayoutSteps != want.steps {
			t.Errorf("%s: label %q, reduction %v, steps %d; want %q, %v, %d", key, s.Label, s.ReductionPct, s.LayoutSteps,
				want.label, want.pct, want.steps)
		}
	}
	if l := byKey["nginx_default"].Layout; l == nil || l.LoadBytes != 1493216 {
		t.Errorf("nginx_default layout %+v, want load0 1493216 B", l)
	}
	if _, err := json.Marshal(sum); err != nil {
		t.Error(err)
	}
}

// A run may hold only some images (here the helloworld builds of the facts doc, gcc 12):
// the summary lists what is there and has no reduction where the default is missing.
func TestLoadASubsetRun(t *testing.T) {
	d, err := Load(filepath.Join("testdata", "run-helloworld-gcc12"))
	if err != nil {
		t.Fatal(err)
	}
	sum := d.Summary().([]ImageSummary)
	if len(sum) != 4 || sum[1].Image != "helloworld_lto" || sum[1].Bytes != 262824 || len(d.Layout) != 0 {
		t.Errorf("got %+v", sum)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ResultsFile), []byte("nginx_dce\t852792\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s := d.Summary().([]ImageSummary); len(s) != 1 || s[0].ReductionPct != nil {
		t.Errorf("without a default build: %+v, want no reduction", s)
	}
}

func TestLoadSaysWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), dir+" has no results.csv") {
		t.Errorf("empty run directory: error %v", err)
	}
	// Errors in a run's files name the file in the run directory.
	if err := os.WriteFile(filepath.Join(dir, ResultsFile), []byte("nginx_dce\t852792\nnginx_dce\t1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, ResultsFile)+":2: nginx_dce appears again") {
		t.Errorf("duplicate row: error %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ResultsFile), []byte("nginx_dce\t852792\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, LayoutFile), []byte("image\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, LayoutFile)+":1: header") {
		t.Errorf("bad layout header: error %v", err)
	}
}

// Write puts the paper's results.csv back byte for byte, and Load reads the same sizes and
// layouts (elf-layout.tsv is written sorted by image name, the paper's copy by app).
func TestWriteGivesThePapersDataBack(t *testing.T) {
	p, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := p.Write(dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := fs.ReadFile(PaperFiles(), ResultsFile); string(got) != string(want) {
		t.Errorf("%s differs from the paper's", ResultsFile)
	}
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(d.Sizes, p.Sizes) || !maps.Equal(d.Layout, p.Layout) || len(d.Builds) != 0 {
		t.Errorf("loaded %+v, want %+v", d, p)
	}
}
