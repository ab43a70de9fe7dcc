package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/unikraft-eurosys21/artifact/experiments"
	fig08 "github.com/unikraft-eurosys21/artifact/experiments/fig_08"
	fig10 "github.com/unikraft-eurosys21/artifact/experiments/fig_10"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
)

func TestMain(m *testing.M) {
	logrus.SetLevel(logrus.WarnLevel)
	os.Exit(m.Run())
}

// options reads runs from root and checks an empty source cache.
func options(t *testing.T, from, root string) Options {
	return Options{From: from, ResultsDir: root,
		Sources: SourcesCheck{Manifest: filepath.Join("..", "..", "containers", "sources.json"), Cache: t.TempDir()}}
}

func badge(t *testing.T, r *Report, name string) Badge {
	t.Helper()
	for _, b := range r.Badges {
		if b.Name == name {
			return b
		}
	}
	t.Fatalf("no badge %s", name)
	return Badge{}
}

// FROM=paper writes both files; nothing is earned, and each badge says why.
func TestPaperReport(t *testing.T) {
	root := t.TempDir()
	r, err := Build(context.Background(), options(t, "paper", root), experiments.All...)
	if err != nil {
		t.Fatal(err)
	}
	paths, err := r.WriteFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 {
		t.Fatalf("wrote %v", paths)
	}
	page, _ := os.ReadFile(filepath.Join(root, HTMLFile))
	md, _ := os.ReadFile(filepath.Join(root, MarkdownFile))
	assertSelfContained(t, page)
	if n := bytes.Count(page, []byte("<svg")); n != 4 {
		t.Errorf("the page has %d inline SVGs, want the paper's plot of each of the 4 figures", n)
	}
	for _, b := range r.Badges {
		if b.Earned {
			t.Errorf("badge %s earned from the paper's data: %s", b.Name, b.Why)
		}
	}
	if f := badge(t, r, Functional); !strings.Contains(f.Why, "fig10: FROM=paper") {
		t.Errorf("Functional does not say why: %q", f.Why)
	}
	if a := badge(t, r, Available); !strings.Contains(a.Why, "holds none of the real sources") {
		t.Errorf("Available with an empty cache says %q", a.Why)
	}
	for _, c := range r.Claims {
		if c.Verdict == Holds || c.Verdict == DoesNot {
			t.Errorf("claim %q judged on the paper's data: %s", c.Claim, c.Verdict)
		}
	}
	for _, want := range []string{"| Functional | not earned |", "less than 10 MB of RAM", "not checked", "## fig22"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if regexp.MustCompile(`<(svg|table|div|p|details)\b`).Match(md) {
		t.Error("report.md contains HTML")
	}
}

// assertSelfContained: no script, stylesheet, image, frame or font is loaded from anywhere;
// an http(s):// address appears only as text or as the SVG namespaces.
func assertSelfContained(t *testing.T, page []byte) {
	t.Helper()
	for _, re := range []string{`(?i)<script`, `(?i)<link\b`, `(?i)<img\b`, `(?i)<i?frame\b`, `(?i)<object\b`, `(?i)@import`, `(?i)url\(\s*['"]?(https?:|//)`, `(?i)@font-face`} {
		if m := regexp.MustCompile(re).Find(page); m != nil {
			t.Errorf("report.html loads something: %q", m)
		}
	}
	tag := regexp.MustCompile(`<[^>]*>`)
	allowed := regexp.MustCompile(`xmlns(:\w+)?="https?://[^"]*"`)
	for _, m := range tag.FindAll(page, -1) {
		if rest := allowed.ReplaceAll(m, nil); regexp.MustCompile(`https?://`).Match(rest) {
			t.Errorf("a tag refers to the network: %.200s", m)
		}
	}
}

// writeFig10Run writes a FIXTURE fig10 run with the figure's own writers: the paper's boot
// times stand in for measured ones (test double), Solo5 is recorded as not run.
func writeFig10Run(t *testing.T, root string) string {
	t.Helper()
	d, err := fig10.Paper()
	if err != nil {
		t.Fatal(err)
	}
	r, err := results.Create(root, "fig_10")
	if err != nil {
		t.Fatal(err)
	}
	st := fig10.RunStatus{}
	for i, s := range d.Series {
		if s.Key == "solo5" {
			d.Series[i].Boots = nil
			st.Series = append(st.Series, fig10.SeriesStatus{VMM: s.Key, Status: fig10.NotRun, Reason: "needs KVM (ACCEL=tcg)"})
			continue
		}
		st.Series = append(st.Series, fig10.SeriesStatus{VMM: s.Key, Status: fig10.Ran, Planned: len(s.Boots), OK: len(s.Boots)})
	}
	if err := d.Write(r.Dir()); err != nil {
		t.Fatal(err)
	}
	r.WriteJSON(fig10.SeriesFile, st)
	m := results.NewManifest(r)
	m.Fixture, m.Accel = "report-test-double", "tcg"
	r.WriteJSON("manifest.json", m)
	dir, err := r.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeFig08Run writes a FIXTURE fig08 run of helloworld and nginx whose nginx_lto build failed.
func writeFig08Run(t *testing.T, root string) {
	t.Helper()
	p, err := fig08.Paper()
	if err != nil {
		t.Fatal(err)
	}
	d := &fig08.Dataset{Sizes: fig08.Sizes{}, Builds: map[fig08.Image]fig08.Build{}}
	for img, b := range p.Sizes {
		if img.App != "helloworld" && img.App != "nginx" {
			continue
		}
		if img.Key() == "nginx_lto" {
			d.Builds[img] = fig08.Build{Status: fig08.Failed, Log: "raw/nginx_lto.log"}
			continue
		}
		d.Sizes[img] = b
		d.Builds[img] = fig08.Build{Status: fig08.Built, Compiler: "gcc (test double)", Log: "raw/" + img.Key() + ".log"}
	}
	r, err := results.Create(root, "fig_08")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write(r.Dir()); err != nil {
		t.Fatal(err)
	}
	m := results.NewManifest(r)
	m.Fixture = "report-test-double"
	r.WriteJSON("manifest.json", m)
	if _, err := r.Commit(); err != nil {
		t.Fatal(err)
	}
}

// Runs are shown as their plots mark them (FIXTURE, TCG), with what was not run and what
// failed; figures without a run fall back to the paper's data, marked; nothing is judged.
func TestFixtureRunsAreShownNotJudged(t *testing.T) {
	root := t.TempDir()
	dir10 := writeFig10Run(t, root)
	writeFig08Run(t, root)
	r, err := Build(context.Background(), options(t, "latest", root), experiments.All...)
	if err != nil {
		t.Fatal(err)
	}
	f10 := byID(r.Figures, "fig10")
	if f10.Measured == nil || f10.Measured.Dir != dir10 {
		t.Fatalf("fig10 does not show the latest run %s", dir10)
	}
	if !bytes.Contains(f10.MeasuredSVG, []byte("FIXTURE report-test-double")) || !bytes.Contains(f10.MeasuredSVG, []byte("tcg")) {
		t.Error("fig10's measured plot lacks its FIXTURE and TCG marks")
	}
	if ok, why := f10.Judged(); ok || !strings.Contains(why, "FIXTURE") || !strings.Contains(why, "tcg") {
		t.Errorf("fig10 judged=%v (%s)", ok, why)
	}
	if want := "Solo5 — not run: needs KVM (ACCEL=tcg)"; len(f10.Missing) != 1 || f10.Missing[0] != want {
		t.Errorf("fig10 not run = %q, want [%q]", f10.Missing, want)
	}
	f08 := byID(r.Figures, "fig08")
	if !strings.Contains(strings.Join(f08.Missing, "\n"), "nginx_lto — FAILED: build failed; log raw/nginx_lto.log") {
		t.Errorf("fig08's failed build is not listed: %q", f08.Missing)
	}
	if f14 := byID(r.Figures, "fig14"); f14.Measured != nil || !strings.Contains(f14.NoRun, "no run under") {
		t.Errorf("fig14 without a run: measured=%v, %q", f14.Measured != nil, f14.NoRun)
	}
	if f22 := byID(r.Figures, "fig22"); !strings.Contains(f22.NoRun, "no pipeline") && f22.Pipeline == nil {
		t.Errorf("fig22 without a pipeline: %q", f22.NoRun)
	}
	for _, c := range r.Claims {
		if c.Verdict != NotJudged && c.Verdict != NotChecked {
			t.Errorf("claim %q is %s on FIXTURE data", c.Claim, c.Verdict)
		}
	}
	if f := badge(t, r, Functional); f.Earned || !strings.Contains(f.Why, "fig08: FIXTURE run") || !strings.Contains(f.Why, "fig14: no run") {
		t.Errorf("Functional: %+v", f)
	}
	if b := badge(t, r, Reproduced); b.Earned {
		t.Errorf("Reproduced earned on FIXTURE runs: %s", b.Why)
	}
	page, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	assertSelfContained(t, page)
	if n := bytes.Count(page, []byte("<svg")); n != 6 {
		t.Errorf("%d SVGs, want measured and paper for fig08 and fig10, paper for fig14 and fig22", n)
	}
	// Two charts in one page: their ids must not collide.
	ids := regexp.MustCompile(`id="([^"]+)"`).FindAllSubmatch(page, -1)
	seen := map[string]bool{}
	for _, m := range ids {
		if seen[string(m[1])] {
			t.Errorf("id %q appears twice in the page", m[1])
		}
		seen[string(m[1])] = true
	}
	md := string(r.Markdown())
	for _, want := range []string{"Not judged against the paper: FIXTURE report-test-double", "Solo5 — not run: needs KVM (ACCEL=tcg)"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

// judgedRun presents d as a real KVM run, in memory only: a test double for the judgement
// logic, never written anywhere.
func judgedRun(t *testing.T, id string, d figure.Dataset) Figure {
	fig, err := experiments.ByID(id)
	if err != nil {
		t.Fatal(err)
	}
	f := Figure{Figure: fig, Measured: &experiments.Source{Data: d, Provenance: figure.Provenance{Source: "run", RunID: "test", Accel: "kvm"}},
		Manifest: &results.Manifest{Figure: fig.Dir, RunID: "test", Accel: "kvm"}}
	return f
}

// On judged data the documentation's claims are decided by the tolerances: the paper's own
// numbers hold; an image of 2 MiB + 1 B or a VMM at 45 ms does not.
func TestDocClaimsOnJudgedData(t *testing.T) {
	p08, _ := fig08.Paper()
	p10, _ := fig10.Paper()
	figs := []Figure{judgedRun(t, "fig08", p08), judgedRun(t, "fig10", p10)}
	c := docClaims(figs)
	if c[0].Verdict != Holds || c[1].Verdict != Holds || c[2].Verdict != NotChecked {
		t.Fatalf("on the paper's numbers: %s / %s / %s (%s; %s)", c[0].Verdict, c[1].Verdict, c[2].Verdict, c[0].Evidence, c[1].Evidence)
	}

	big, _ := fig08.Paper()
	big.Sizes[fig08.Image{App: "redis", Variant: "dce_lto"}] = ImageMax + 1
	slow, _ := fig10.Paper()
	for i, b := range slow.Series[0].Boots {
		b.VMMus = 45000
		slow.Series[0].Boots[i] = b
	}
	c = docClaims([]Figure{judgedRun(t, "fig08", big), judgedRun(t, "fig10", slow)})
	if c[0].Verdict != DoesNot || c[1].Verdict != DoesNot || !strings.Contains(c[1].Evidence, "QEMU guest 0.055 ms, total 45.1 ms ✗") {
		t.Errorf("over the limits: %s (%s) / %s (%s)", c[0].Verdict, c[0].Evidence, c[1].Verdict, c[1].Evidence)
	}
}

// Reproduced needs every figure judged and passing; Functional a real run of each.
func TestBadgesOnJudgedRuns(t *testing.T) {
	var figs []Figure
	for _, fig := range experiments.All {
		d, err := fig.Paper()
		if err != nil {
			t.Fatal(err)
		}
		f := judgedRun(t, fig.ID, d)
		f.Verdict = newVerdict(f)
		figs = append(figs, f)
	}
	if b := reproduced(figs); !b.Earned {
		t.Errorf("Reproduced on passing judged runs: %s", b.Why)
	}
	if b := functional(figs); !b.Earned {
		t.Errorf("Functional on real runs: %s", b.Why)
	}
	figs[1].Measured.Provenance.Accel = "tcg"
	if b := reproduced(figs); b.Earned || !strings.Contains(b.Why, "fig10: not judged (software emulation") {
		t.Errorf("Reproduced with a TCG run: %+v", b)
	}
	if b := functional(figs); !b.Earned {
		t.Errorf("a TCG run is functional: %s", b.Why)
	}
	figs[1].Measured = nil
	figs[1].NoRun = "FROM=paper"
	if b := functional(figs); b.Earned || !strings.Contains(b.Why, "fig10: FROM=paper") {
		t.Errorf("Functional without fig10's run: %+v", b)
	}
}

// Available is earned only by sources that verify: a mirror holding the pinned commit does,
// the same mirror against another pin does not, a FIXTURE mirror never does.
func TestAvailableVerifiesTheSources(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	git := func(dir string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	os.MkdirAll(work, 0o755)
	git(work, "init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(work, "a.c"), []byte("int a;\n"), 0o644)
	git(work, "add", "-A")
	git(work, "commit", "-q", "-m", "one")
	commit := git(work, "rev-parse", "HEAD")
	mirror := filepath.Join(dir, "mirror")
	os.MkdirAll(filepath.Join(mirror, "git", "example.org", "team"), 0o755)
	git(dir, "clone", "-q", "--bare", work, filepath.Join(mirror, "git", "example.org", "team", "lib.git"))
	manifest := func(commit string) string {
		p := filepath.Join(t.TempDir(), "sources.json")
		os.WriteFile(p, []byte(fmt.Sprintf(`{"sources": [{"name": "lib", "figures": ["fig_10"],
 "git": {"url": "https://example.org/team/lib.git", "commit": %q, "pin_source": "test"}}]}`, commit)), 0o644)
		return p
	}
	ctx := context.Background()
	if b := CheckAvailable(ctx, SourcesCheck{Manifest: manifest(commit), Mirror: mirror}); !b.Earned || !strings.Contains(b.Why, "all 1 pinned sources verified from the mirror") {
		t.Errorf("a mirror with the pinned commit: %+v", b)
	}
	if b := CheckAvailable(ctx, SourcesCheck{Manifest: manifest(strings.Repeat("ab", 20)), Mirror: mirror}); b.Earned || !strings.Contains(b.Why, "1 of 1 pinned sources missing or not verified") {
		t.Errorf("a mirror without the pinned commit: %+v", b)
	}
	if b := CheckAvailable(ctx, SourcesCheck{Manifest: manifest(commit), Archive: filepath.Join(dir, "none.tar")}); b.Earned || !strings.Contains(b.Why, "does not exist") {
		t.Errorf("a missing archive: %+v", b)
	}
	fx, _ := os.ReadFile(manifest(commit))
	fx = bytes.Replace(fx, []byte(`{"sources"`), []byte(`{"fixture": "report-test", "sources"`), 1)
	os.WriteFile(filepath.Join(mirror, sources.MirrorManifest), fx, 0o644)
	if b := CheckAvailable(ctx, SourcesCheck{Manifest: manifest(commit), Mirror: mirror}); b.Earned || !strings.Contains(b.Why, "FIXTURE report-test") {
		t.Errorf("a FIXTURE mirror: %+v", b)
	}
}

// The report shows every figure: one run id or directory cannot name the runs of all four.
func TestFromOneRunIsRefused(t *testing.T) {
	_, err := Build(context.Background(), options(t, "20261201T000000Z", t.TempDir()), experiments.All...)
	if err == nil || !strings.Contains(err.Error(), "FROM=latest") || !strings.Contains(err.Error(), "FROM=paper") {
		t.Fatalf("want a refusal naming FROM=latest and FROM=paper, got %v", err)
	}
}

// A run folder without the run step's manifest (result files copied by hand, here the
// paper's own numbers) is shown but judges nothing: its provenance is unknown.
func TestARunWithoutManifestIsNotJudged(t *testing.T) {
	d, err := fig10.Paper()
	if err != nil {
		t.Fatal(err)
	}
	f := judgedRun(t, "fig10", d)
	f.Manifest = nil
	if ok, why := f.Judged(); ok || !strings.Contains(why, "no manifest.json") {
		t.Fatalf("judged: %v (%s)", ok, why)
	}
	if c := bootClaim(&f); c.Verdict != NotJudged {
		t.Fatalf("the boot claim was decided on a run without manifest: %+v", c)
	}
}

// A claim is judged on a complete figure only: a run of some apps (or VMMs) is a partial run.
func TestPartialRunsDoNotDecideClaims(t *testing.T) {
	d, err := fig08.Paper()
	if err != nil {
		t.Fatal(err)
	}
	delete(d.Sizes, fig08.Image{App: "sqlite", Variant: "dce_lto"})
	f := judgedRun(t, "fig08", d)
	if c := imageClaim(&f); c.Verdict != NotJudged || !strings.Contains(c.Why, "partial run: 3 of 4") {
		t.Fatalf("%+v", c)
	}
}

// After `mage all`, a figure that failed there without keeping a run is shown as failed
// with why, not by whatever older run RESULTS_DIR still holds.
func TestAFigureThatFailedInMageAllIsShownAsFailed(t *testing.T) {
	fig, err := experiments.ByID("fig22")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{From: "latest", ResultsDir: t.TempDir(),
		Outcomes: []experiments.Outcome{{Figure: "fig22", Status: experiments.OutcomeFailed, Why: "prepare: no Docker daemon"}}}
	f, err := readFigure(fig, o)
	if err != nil {
		t.Fatal(err)
	}
	if f.Measured != nil || f.NoRun != "failed in this `mage all` before keeping a run: prepare: no Docker daemon" {
		t.Fatalf("measured %v, %q", f.Measured != nil, f.NoRun)
	}
}
