package pipeline

// The whole pipeline, for real, on the FIXTURE source mirror (Unikraft's sources cannot be
// fetched here): pinned sources verified and placed, builds in parallel containers of the
// toolchain image, measurement with debug/elf, the run directory, reuse of unchanged builds,
// and a build that fails on purpose. Needs a Docker daemon (skipped without one, except under
// CI) and the toolchain image (built on first use, minutes).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	fig08 "github.com/unikraft-eurosys21/artifact/experiments/fig_08"
	"github.com/unikraft-eurosys21/artifact/experiments/fig_08/fixture"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

func needDocker(t *testing.T) *docker.Client {
	t.Helper()
	log := logrus.New()
	log.SetOutput(os.Stderr)
	log.SetLevel(logrus.WarnLevel)
	c, err := docker.Connect(context.Background(), docker.Options{Log: log, KeepLeftovers: true})
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs a running Docker daemon: %v", err)
		}
		t.Skipf("no Docker daemon: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func images(keys ...string) []fig08.Image {
	var out []fig08.Image
	for _, k := range keys {
		img, ok := imageByKey(k)
		if !ok {
			panic(k)
		}
		out = append(out, img)
	}
	return out
}

// fixtureOptions are the options of a run of the images keys, jobs at a time, on a FIXTURE
// mirror written for the test, with caches and results of its own; out collects the output.
func fixtureOptions(t *testing.T, ctx context.Context, jobs int, keys ...string) (Options, *bytes.Buffer) {
	t.Helper()
	tmp := t.TempDir()
	mirror, err := fixture.WriteMirror(ctx, filepath.Join(tmp, "mirror"))
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	out := &bytes.Buffer{}
	return Options{
		Images:     images(keys...),
		Jobs:       jobs,
		ResultsDir: filepath.Join(tmp, "results"),
		BuildCache: filepath.Join(tmp, "builds"),
		Manifest:   "../../../containers/sources.json",
		Containers: "../../../containers",
		Sources:    sources.Options{Cache: filepath.Join(tmp, "sources"), Mirror: mirror.Dir, Log: log},
		Out:        out,
		Log:        log,
		Settings:   map[string]string{},
	}, out
}

func TestPipelineOnTheFixtureMirror(t *testing.T) {
	if testing.Short() {
		t.Skip("builds images in Docker")
	}
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	opt, out := fixtureOptions(t, ctx, 2, "helloworld_default", "helloworld_lto", "helloworld_dce", "helloworld_dce_lto", "sqlite_dce")
	defer func() {
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
	}()

	// First run: everything is built.
	rep, err := Run(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fixture != fixture.Name || rep.Phase.Built != 5 || rep.Phase.Failed != 0 || rep.Phase.Speedup <= 0 {
		t.Fatalf("first run: fixture %q, phase %+v; want 5 built with a speed-up", rep.Fixture, rep.Phase)
	}
	d, err := fig08.Load(rep.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Sizes) != 5 || len(d.Layout) != 5 || len(d.Builds) != 5 {
		t.Fatalf("run directory holds %d sizes, %d layouts, %d builds; want 5 each", len(d.Sizes), len(d.Layout), len(d.Builds))
	}
	for img, size := range d.Sizes {
		m := rep.Measurements[img]
		kernels, _ := filepath.Glob(filepath.Join(opt.BuildCache, "fixture-"+fixture.Name, img.Key()+"-*", "app_kvm-x86_64"))
		if len(kernels) != 1 {
			t.Fatalf("%s: image cache holds %v; want one kernel", img.Key(), kernels)
		}
		st, err := os.Stat(kernels[0])
		if err != nil || st.Size() != size || m.FileBytes != size {
			t.Errorf("%s: results.csv says %d B, the image in the cache has %v (%v)", img.Key(), size, st, err)
		}
		// The file is the 64 KiB-aligned stacks' offset + their 128 KiB + a small tail.
		if m.IntrStack != 128<<10 || m.Layout.IntrStackOffset%fig08.LayoutStep != 0 || size-m.Layout.IntrStackOffset-m.IntrStack > 2048 {
			t.Errorf("%s: layout %+v does not explain %d B", img.Key(), m, size)
		}
		if m.Text == 0 || m.Rodata == 0 || m.Data == 0 || m.Bss == 0 || m.Layout.LoadBytes < m.Text+m.Rodata {
			t.Errorf("%s: sections %+v", img.Key(), m)
		}
		if b := d.Builds[img]; b.Status != fig08.Built || !strings.HasPrefix(b.Compiler, "gcc (Debian 11.") || b.Seconds <= 0 {
			t.Errorf("%s: build %+v; want built with gcc 11", img.Key(), b)
		}
		if log, err := os.ReadFile(filepath.Join(rep.RunDir, "raw", img.Key()+".log")); err != nil || !bytes.Contains(log, []byte("olddefconfig")) {
			t.Errorf("%s: raw log %v", img.Key(), err)
		}
	}
	hd, hdce := d.Sizes[images("helloworld_default")[0]], d.Sizes[images("helloworld_dce")[0]]
	if hdce >= hd {
		t.Errorf("FIXTURE helloworld: DCE %d B is not smaller than default %d B; the stand-in's sizes should follow its configuration", hdce, hd)
	}
	m, err := results.ReadManifest(rep.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Fixture != fixture.Name || len(m.Images) != 1 || m.Tools["deb:gcc-11"] == "" || m.Sources == nil {
		t.Errorf("manifest: fixture %q, images %v, gcc-11 %q", m.Fixture, m.Images, m.Tools["deb:gcc-11"])
	}
	var sum struct {
		Phase   Phase               `json:"build_phase"`
		Dropped map[string][]string `json:"dropped_config_lines"`
	}
	raw, _ := os.ReadFile(filepath.Join(rep.RunDir, "summary.json"))
	if err := json.Unmarshal(raw, &sum); err != nil || sum.Phase.Built != 5 || sum.Phase.SumSeconds <= 0 {
		t.Errorf("summary.json build_phase = %+v, %v", sum.Phase, err)
	}
	// sqlite_dce's kraft.yaml sets symbols the stand-in does not declare; its olddefconfig
	// drops them, as kconfig drops symbols a tree does not have, and the run lists them.
	if got := strings.Join(sum.Dropped["sqlite_dce"], "\n"); !strings.Contains(got, "CONFIG_LIBUKMMAP=y (not in the final configuration)") {
		t.Errorf("summary.json dropped_config_lines of sqlite_dce = %q", got)
	}
	// The verdict's notes on how the helloworld variants differ come from their final .config.
	if len(d.Configs) != 5 {
		t.Errorf("the run keeps %d final .config files, want 5", len(d.Configs))
	}
	vr := verify.New("fig_08", "test")
	d.Verify(vr)
	if notes := strings.Join(vr.Notes, "\n"); !strings.Contains(notes, "helloworld: the final .config files of default, lto, dce, dce_lto") {
		t.Errorf("verdict notes do not describe the helloworld configurations:\n%s", notes)
	}
	t.Logf("first run: %s", rep.Phase)

	// Second run: inputs unchanged, nothing is built, the same images are measured again.
	start := time.Now()
	rep2, err := Run(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Phase.Built != 0 || rep2.Phase.Reused != 5 {
		t.Errorf("second run: %+v; want all 5 reused", rep2.Phase)
	}
	d2, err := fig08.Load(rep2.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	for img, size := range d.Sizes {
		if d2.Sizes[img] != size || d2.Builds[img].Status != fig08.Reused {
			t.Errorf("%s: second run %d B (%s), first %d B", img.Key(), d2.Sizes[img], d2.Builds[img].Status, size)
		}
	}
	t.Logf("second run (nothing built) took %.1f s: %s", time.Since(start).Seconds(), rep2.Phase)

	// A build that fails stops only its image: the run is written with the others, the
	// failure is in builds.tsv with its log, the verdict says FAIL "build failed" (a FIXTURE
	// run's sizes are not judged, its failed builds are), and Run fails.
	opt.Images = images("helloworld_default", "helloworld_dce")
	opt.FixtureFail = images("helloworld_dce")
	rep3, err := Run(ctx, opt)
	if !errors.Is(err, ErrBuildsFailed) || !strings.Contains(err.Error(), "1 of 2 builds failed: helloworld_dce") {
		t.Fatalf("a run with a failing build: %v; want ErrBuildsFailed naming helloworld_dce", err)
	}
	if rep3.Phase.Failed != 1 || rep3.Phase.Reused != 1 {
		t.Errorf("failing run: %+v; want 1 failed, 1 reused", rep3.Phase)
	}
	d3, err := fig08.Load(rep3.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	if b := d3.Builds[images("helloworld_dce")[0]]; b.Status != fig08.Failed || b.Log != "raw/helloworld_dce.log" {
		t.Errorf("failed build recorded as %+v", b)
	}
	if log, _ := os.ReadFile(filepath.Join(rep3.RunDir, "raw", "helloworld_dce.log")); !bytes.Contains(log, []byte("fails on purpose")) {
		t.Errorf("the failed build's log lacks the failure:\n%s", log)
	}
	r := verify.New("fig_08", "test")
	d3.Verify(r)
	var failed bool
	for _, row := range r.Rows {
		if row.Series == "helloworld_dce" && row.Verdict == verify.Fail && strings.Contains(row.Note, "build failed") {
			failed = true
		}
		if row.Series == "helloworld_default" && row.Verdict != verify.Skip {
			t.Errorf("FIXTURE size row judged: %+v", row)
		}
	}
	if !failed || r.Err(false) == nil {
		t.Errorf("verify has no FAIL 'build failed' row for helloworld_dce, or passes: %v\n%+v", r.Err(false), r.Rows)
	}
	if !strings.Contains(out.String(), "helloworld_dce: FAILED (exit status") {
		t.Errorf("the failure was not reported")
	}
	// FIXTURE_FAIL is refused with the real manifest.
	opt.Sources.Mirror = ""
	if _, err := Run(ctx, opt); err == nil || !strings.Contains(err.Error(), "FIXTURE_FAIL is for the fixture only") {
		t.Errorf("a run with FIXTURE_FAIL and real sources: %v", err)
	}
}

// Unikraft 0.4 (and the stand-in, which copies its rules) does not make the sources inside a
// library's archive depend on the archive: a parallel make on a fresh build directory looks
// for them while the archive is being unpacked. The build script therefore runs `make fetch`
// and `make prepare` first. With several make jobs per image the build passes with that step
// and fails without it. (-j8: free job slots let make move on at once while the three archives
// of sqlite_dce are unpacked, rather than by chance of which job ends first.)
func TestParallelMakeNeedsSerialFetchAndPrepare(t *testing.T) {
	if testing.Short() {
		t.Skip("builds images in Docker")
	}
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	opt, out := fixtureOptions(t, ctx, 1, "sqlite_dce")
	opt.makeJobs = 8
	opt.noSerialPrepare = true
	if _, err := Run(ctx, opt); !errors.Is(err, ErrBuildsFailed) || !strings.Contains(err.Error(), "every build failed") {
		t.Fatalf("make -j8 straight after olddefconfig: %v; want the build to fail", err)
	}
	failed, _ := filepath.Glob(filepath.Join(opt.ResultsDir, Figure, "failed", "*", "raw", "sqlite_dce.log"))
	if len(failed) != 1 {
		t.Fatalf("the failed run's log: %v; want one under failed/", failed)
	}
	raw, _ := os.ReadFile(failed[0])
	if !bytes.Contains(raw, []byte("No rule to make target")) || !bytes.Contains(raw, []byte("/origin/")) {
		t.Fatalf("the failed build's log does not show make missing a source of an unpacked archive:\n%s", raw)
	}

	opt.noSerialPrepare = false
	out.Reset()
	rep, err := Run(ctx, opt)
	if err != nil {
		t.Fatalf("with make fetch and make prepare first: %v\n%s", err, out.String())
	}
	if rep.Phase.Built != 1 || rep.Phase.MakeJobs != 8 {
		t.Errorf("phase %+v; want sqlite_dce built with make -j8", rep.Phase)
	}
	raw, _ = os.ReadFile(filepath.Join(rep.RunDir, "raw", "sqlite_dce.log"))
	for _, step := range []string{"O=/work/build fetch\n", "O=/work/build prepare\n", "O=/work/build -j8\n"} {
		if !bytes.Contains(raw, []byte(step)) {
			t.Errorf("the build log lacks the step %q", step)
		}
	}
}

// daemonThatGoes forwards a unix socket to the Docker daemon's until the first build
// container is to be created: then it closes its listener and every connection, as a daemon
// that is stopped does. Nothing is created on the real daemon after that point, so nothing
// is left behind on it.
type daemonThatGoes struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newDaemonThatGoes(t *testing.T) string {
	target := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		target = strings.TrimPrefix(h, "unix://")
	}
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemonThatGoes{ln: ln, target: target}
	t.Cleanup(d.stop)
	go d.serve()
	return "unix://" + sock
}

func (d *daemonThatGoes) serve() {
	for {
		c, err := d.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("unix", d.target)
		if err != nil {
			c.Close()
			continue
		}
		d.mu.Lock()
		d.conns = append(d.conns, c, up)
		d.mu.Unlock()
		go io.Copy(c, up)
		go func() {
			buf := make([]byte, 64<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 && bytes.Contains(buf[:n], []byte("/containers/create?name=ukeu21-build-")) {
					d.stop()
					return
				}
				if n > 0 {
					up.Write(buf[:n])
				}
				if err != nil {
					up.Close()
					return
				}
			}
		}()
	}
}

func (d *daemonThatGoes) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ln.Close()
	for _, c := range d.conns {
		c.Close()
	}
}

// A Docker daemon that goes away mid-run stops the run at once with one message: no build
// after it is tried, none is reported as failed one by one, and the partial run is kept
// under failed/.
func TestLostDaemonStopsTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the toolchain image in Docker")
	}
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	opt, out := fixtureOptions(t, ctx, 2, "helloworld_default", "helloworld_lto", "helloworld_dce", "helloworld_dce_lto")
	t.Setenv("DOCKER_HOST", newDaemonThatGoes(t))
	_, err := Run(ctx, opt)
	if !errors.Is(err, unikraft.ErrDockerLost) || !strings.Contains(err.Error(), "partial run") {
		t.Fatalf("Run = %v; want it stopped with ErrDockerLost and the partial run named\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "FAILED") {
		t.Errorf("builds reported as failed one by one:\n%s", out.String())
	}
	kept, _ := filepath.Glob(filepath.Join(opt.ResultsDir, Figure, "failed", "*", "manifest.json"))
	if len(kept) != 1 {
		t.Errorf("partial run kept as %v; want one manifest under failed/", kept)
	}
	if _, err := os.Lstat(filepath.Join(opt.ResultsDir, Figure, "latest")); err == nil {
		t.Errorf("a stopped run became latest")
	}
	t.Logf("Run: %v", err)
}
