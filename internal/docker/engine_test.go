package docker

// Tests against a real Docker engine. They build the real base and toolchain images (the first
// run on a machine takes minutes: debootstrap + apt-get), so they are skipped when no daemon
// answers — except under CI (CI set), where a missing daemon is a failure.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/sirupsen/logrus"
)

var (
	engineOnce sync.Once
	engineC    *Client
	engineErr  error

	toolchainOnce sync.Once
	toolchain     []Image
	toolchainErr  error
)

var testLogDir string

func TestMain(m *testing.M) {
	if os.Getenv("UKEU21_HELPER") != "" { // a helper process of a test; it exits by itself
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "ukeu21-docker-test-logs-")
	if err != nil {
		panic(err)
	}
	testLogDir = dir
	code := m.Run()
	if engineC != nil {
		engineC.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// engine connects once for all tests of this package.
func engine(t testing.TB) *Client {
	t.Helper()
	engineOnce.Do(func() {
		log := logrus.New()
		log.SetLevel(logrus.WarnLevel)
		engineC, engineErr = Connect(context.Background(), Options{Log: log, Verbose: testing.Verbose(), LogDir: testLogDir})
	})
	if engineErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs a running Docker daemon: %v", engineErr)
		}
		t.Skipf("no Docker daemon: %v", engineErr)
	}
	return engineC
}

// toolchainImages builds containers/ once (base + unikraft toolchain).
func toolchainImages(t testing.TB) []Image {
	c := engine(t)
	toolchainOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
		defer cancel()
		start := time.Now()
		toolchain, toolchainErr = c.BuildAll(ctx, "../../containers")
		fmt.Fprintf(os.Stderr, "containers: first BuildAll in this test process took %.1f s\n", time.Since(start).Seconds())
	})
	if toolchainErr != nil {
		t.Fatal(toolchainErr)
	}
	return toolchain
}

func unikraftImage(t testing.TB) Image {
	for _, im := range toolchainImages(t) {
		if im.Name == "unikraft" {
			return im
		}
	}
	t.Fatal("no unikraft image built")
	return Image{}
}

// ourContainers lists the containers this test process owns (other test packages may run
// containers at the same time; they are not counted).
func ourContainers(t testing.TB, c *Client) []container.Summary {
	t.Helper()
	return labelled(t, c, LabelOwner+"="+ownerID())
}

// labelled lists containers (running or not) with the label key=value.
func labelled(t testing.TB, c *Client, label string) []container.Summary {
	t.Helper()
	list, err := c.api.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestBuildAllIsContentAddressed(t *testing.T) {
	imgs := toolchainImages(t)
	if imgs[0].Name != "base" || imgs[0].ID == "" {
		t.Fatalf("first image %+v is not the base", imgs[0])
	}
	ctx := context.Background()
	again, err := engine(t).BuildAll(ctx, "../../containers")
	if err != nil {
		t.Fatal(err)
	}
	for i, im := range again {
		if im.Built || im.ID != imgs[i].ID {
			t.Errorf("second BuildAll rebuilt %s: %+v (first %+v)", im.Name, im, imgs[i])
		}
	}
	ii, err := engine(t).api.ImageInspect(ctx, unikraftImage(t).Ref)
	if err != nil {
		t.Fatal(err)
	}
	if ii.Config.Labels[LabelContext] != unikraftImage(t).Hash || ii.Config.Labels[LabelProject] != ProjectValue {
		t.Errorf("image labels %v lack the content hash", ii.Config.Labels)
	}
}

const helloC = `#include <stdio.h>
int main(void) { printf("hello from gcc %d\n", __GNUC__); return 0; }
`

// The toolchain compiles and runs a C program as the invoking user, without network, with
// each of its two compilers, and the result is copied out of the container.
func TestToolchainCompilesAndRuns(t *testing.T) {
	c := engine(t)
	img := unikraftImage(t)
	src := t.TempDir()
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "hello.c"), []byte(helloC), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, gcc := range []string{"11", "12"} {
		env, _ := GCCEnv(gcc)
		var stdout bytes.Buffer
		log := filepath.Join(t.TempDir(), "raw.log")
		err := c.Run(context.Background(), RunSpec{
			Image: img.Ref, Env: env, WorkDir: "/tmp",
			Mounts: []Mount{{Source: src, Target: "/src", ReadOnly: true}, {Source: out, Target: "/out"}},
			Cmd: []string{"sh", "-c", `set -e
				gcc -O2 -o /tmp/hello /src/hello.c
				/tmp/hello | tee /out/hello-` + gcc + `.txt
				id -u; ls /sys/class/net; size /tmp/hello >/dev/null; readelf -h /tmp/hello >/dev/null
				gdb --version >/dev/null; make --version >/dev/null; flex --version >/dev/null; bison --version >/dev/null
				python3 -c 'print(1)' >/dev/null; echo 1+1 | bc >/dev/null; git --version >/dev/null
				unzip -v >/dev/null; patch --version >/dev/null; cpio --version >/dev/null; wget --version >/dev/null; curl --version >/dev/null`},
			Stdout:  &stdout,
			LogPath: log,
			CopyOut: []CopyOut{{From: "/tmp/hello", To: filepath.Join(out, "gcc"+gcc)}},
			Timeout: 5 * time.Minute,
			Name:    "hello-gcc" + gcc,
		})
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Fields(stdout.String())
		want := []string{"hello", "from", "gcc", gcc, fmt.Sprint(os.Getuid()), "lo"}
		if fmt.Sprint(lines) != fmt.Sprint(want) {
			t.Errorf("gcc-%s: output %q, want %q (program output, uid, network interfaces)", gcc, lines, want)
		}
		raw, _ := os.ReadFile(log)
		if !strings.Contains(string(raw), "hello from gcc "+gcc) {
			t.Errorf("raw log %s lacks the program output: %q", log, raw)
		}
		written, err := os.ReadFile(filepath.Join(out, "hello-"+gcc+".txt"))
		if err != nil || string(written) != "hello from gcc "+gcc+"\n" {
			t.Errorf("bind-mounted output: %q, %v", written, err)
		}
		st, err := os.Stat(filepath.Join(out, "hello-"+gcc+".txt"))
		if err == nil && st.Sys().(*syscall.Stat_t).Uid != uint32(os.Getuid()) {
			t.Errorf("output file owned by uid %d, want %d", st.Sys().(*syscall.Stat_t).Uid, os.Getuid())
		}
		// The copied-out binary runs on the host (same architecture, Debian 12 libc).
		bin := filepath.Join(out, "gcc"+gcc, "hello")
		got, err := exec.Command(bin).Output()
		if err != nil || string(got) != "hello from gcc "+gcc+"\n" {
			t.Errorf("copied-out %s printed %q, %v", bin, got, err)
		}
	}
	if n := len(ourContainers(t, c)); n != 0 {
		t.Errorf("%d containers left after the runs", n)
	}
}

func TestRunReportsExitStatusWithLastLines(t *testing.T) {
	c := engine(t)
	log := filepath.Join(t.TempDir(), "fail.log")
	err := c.Run(context.Background(), RunSpec{Image: unikraftImage(t).Ref, Name: "failing",
		Cmd: []string{"sh", "-c", "echo first; echo 'it broke' >&2; exit 3"}, LogPath: log, Timeout: time.Minute})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Status != 3 {
		t.Fatalf("err = %v, want exit status 3", err)
	}
	if !strings.Contains(err.Error(), "it broke") || !strings.Contains(err.Error(), log) {
		t.Errorf("error %q lacks the last lines or the log path", err)
	}
	if n := len(ourContainers(t, c)); n != 0 {
		t.Errorf("%d containers left after a failed run", n)
	}
}

func TestRunMountErrorsAreClear(t *testing.T) {
	c := engine(t)
	err := c.Run(context.Background(), RunSpec{Image: unikraftImage(t).Ref, Cmd: []string{"true"},
		Mounts: []Mount{{Source: "/nonexistent/src", Target: "/src"}}})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/src") {
		t.Errorf("err = %v, want the missing mount source named", err)
	}
}

func TestPackageVersionsListsTheToolchain(t *testing.T) {
	pkgs, err := engine(t).PackageVersions(context.Background(), unikraftImage(t).Ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"gcc-11", "gcc-12", "binutils", "make", "flex", "bison", "libncurses-dev", "python3", "bc", "git", "gdb", "cpio", "unzip", "patch"} {
		if pkgs[p] == "" {
			t.Errorf("package %s not listed (have %d packages)", p, len(pkgs))
		}
	}
	if !strings.HasPrefix(pkgs["gcc-12"], "12.") {
		t.Errorf("gcc-12 version %q", pkgs["gcc-12"])
	}
}

// cancelOn is a Progress that cancels a context when a line contains a marker.
type cancelOn struct {
	marker string
	cancel context.CancelFunc
	before func() // runs just before the cancel
	once   sync.Once
}

func (p *cancelOn) Line(_, l string) {
	if strings.Contains(l, p.marker) {
		p.once.Do(func() {
			if p.before != nil {
				p.before()
			}
			p.cancel()
		})
	}
}
func (p *cancelOn) Step(_, l string) { p.Line("", l) }
func (p *cancelOn) Done()            {}

// Ctrl-C (a cancelled context) in the middle of a run stops and removes the container.
func TestCancelledRunRemovesContainer(t *testing.T) {
	c := engine(t)
	img := unikraftImage(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cc := *c
	cc.Progress = &cancelOn{marker: "started", cancel: cancel}
	start := time.Now()
	err := cc.Run(ctx, RunSpec{Image: img.Ref, Name: "sleeper", Cmd: []string{"sh", "-c", "echo started; sleep 120"}})
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v, want interrupted", err)
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("cancel took %s", d)
	}
	if n := len(ourContainers(t, c)); n != 0 {
		t.Errorf("%d containers left after a cancelled run", n)
	}
}

// Ctrl-C in the middle of an image build leaves no container behind either. The build step
// carries a label unique to this test, inherited by the daemon's build container.
func TestCancelledBuildLeavesNoContainer(t *testing.T) {
	c := engine(t)
	base := toolchainImages(t)[0]
	dir := filepath.Join(t.TempDir(), "ukeu21test-cancel")
	os.MkdirAll(dir, 0o755)
	nonce := fmt.Sprintf("ukeu21-test-cancel=%d", time.Now().UnixNano())
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(fmt.Sprintf(
		"ARG BASE\nFROM ${BASE}\nLABEL %s=%s\nLABEL %s\nRUN echo build-$((6*7)) && sleep 120\n", LabelProject, ProjectValue, nonce)), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cc := *c
	during := 0
	cc.Progress = &cancelOn{marker: "build-42", cancel: cancel, before: func() { during = len(labelled(t, c, nonce)) }}
	_, err := cc.Build(ctx, base, Recipe{Name: "ukeu21test-cancel", Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v, want interrupted", err)
	}
	if during != 1 {
		t.Fatalf("%d build containers were running when the build was cancelled, want 1", during)
	}
	// The daemon stops the build step when the client goes away; give it a bounded moment.
	deadline := time.Now().Add(30 * time.Second)
	for len(labelled(t, c, nonce)) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if left := labelled(t, c, nonce); len(left) > 0 {
		t.Errorf("%d build containers left after the cancelled build (state %s)", len(left), left[0].State)
	}
	c.Prune(context.Background(), "../../containers") // dangling layers of the cancelled build
}

// A process killed outright (no cleanup) leaves its container; the next start removes it.
func TestLeftoverOfKilledProcessIsRemoved(t *testing.T) {
	if os.Getenv("UKEU21_HELPER") == "hang" {
		c, err := Connect(context.Background(), Options{KeepLeftovers: true, Out: io.Discard})
		if err != nil {
			fmt.Println("connect:", err)
			os.Exit(1)
		}
		c.Progress = &printLines{}
		c.Run(context.Background(), RunSpec{Image: os.Getenv("UKEU21_IMAGE"), Name: "hang", Cmd: []string{"sh", "-c", "echo started; sleep 300"}})
		os.Exit(1)
	}
	c := engine(t)
	img := unikraftImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestLeftoverOfKilledProcessIsRemoved$")
	cmd.Env = append(os.Environ(), "UKEU21_HELPER=hang", "UKEU21_IMAGE="+img.Ref)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	started := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "started") {
			started = true
			break
		}
	}
	if !started {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("helper did not start its container")
	}
	// kill -9 of exactly the helper: it gets no chance to remove its container.
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	owner := ""
	for _, ct := range labelled(t, c, LabelProject+"="+ProjectValue) {
		if strings.Contains(ct.Labels[LabelOwner], fmt.Sprintf("/%d/", cmd.Process.Pid)) {
			owner = ct.ID
		}
	}
	if owner == "" {
		t.Fatal("the killed helper's container is not there: nothing to test")
	}
	if err := c.RemoveLeftovers(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, ct := range labelled(t, c, LabelProject+"="+ProjectValue) {
		if ct.ID == owner {
			t.Errorf("leftover container %s of the killed process was not removed", owner[:12])
		}
	}
}

type printLines struct{}

func (printLines) Line(_, l string) { fmt.Println(l) }
func (printLines) Step(_, l string) {}
func (printLines) Done()            {}

// Prune removes an older build of a recipe and keeps the current one and every other
// recipe's current image.
func TestPruneRemovesStaleBuilds(t *testing.T) {
	c := engine(t)
	imgs := toolchainImages(t)
	base := imgs[0]
	recipes := t.TempDir()
	// The real recipes, copied, so that their current images count as in use.
	for _, im := range imgs[1:] {
		copyDir(t, filepath.Join("../../containers", im.Name), filepath.Join(recipes, im.Name))
	}
	dir := filepath.Join(recipes, "ukeu21test-prune")
	os.MkdirAll(dir, 0o755)
	write := func(v string) {
		os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(fmt.Sprintf("ARG BASE\nFROM ${BASE}\nLABEL %s=%s\nLABEL version=%s\n", LabelProject, ProjectValue, v)), 0o644)
	}
	ctx := context.Background()
	write("1")
	old, err := c.Build(ctx, base, Recipe{Name: "ukeu21test-prune", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	write("2")
	cur, err := c.Build(ctx, base, Recipe{Name: "ukeu21test-prune", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if old.Ref == cur.Ref {
		t.Fatalf("changed recipe kept its tag %s", old.Ref)
	}
	removed, err := c.Prune(ctx, recipes)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.imageID(ctx, old.Ref); ok {
		t.Errorf("stale %s survived Prune (removed %v)", old.Ref, removed)
	}
	for _, keep := range append([]Image{cur}, imgs...) {
		if _, ok, _ := c.imageID(ctx, keep.Ref); !ok {
			t.Errorf("Prune removed current image %s", keep.Ref)
		}
	}
	c.api.ImageRemove(ctx, cur.Ref, image.RemoveOptions{PruneChildren: true})
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkBuildAllUpToDate measures `mage containers` when nothing changed: connect, find
// the base, hash every recipe, find its image. The issue asks for under 2 s.
func BenchmarkBuildAllUpToDate(b *testing.B) {
	toolchainImages(b)
	for i := 0; i < b.N; i++ {
		imgs, err := BuildAll(context.Background(), "../../containers", Options{Out: io.Discard, KeepLeftovers: false})
		if err != nil {
			b.Fatal(err)
		}
		for _, im := range imgs {
			if im.Built {
				b.Fatalf("%s was rebuilt", im.Name)
			}
		}
	}
}

// A stopped container without an owner is a build step's: while any process builds images
// (holds the build lock) it may be waiting for its layer to be committed, so it is left
// alone; with no build running it is a leftover of an interrupted build and removed.
func TestUnownedContainersAreLeftAloneWhileImagesBuild(t *testing.T) {
	c := engine(t)
	img := unikraftImage(t)
	privateBuildLock(t)
	ctx := context.Background()
	created, err := c.api.ContainerCreate(ctx, &container.Config{Image: img.Ref, Cmd: []string{"true"},
		Labels: map[string]string{LabelProject: ProjectValue}}, &container.HostConfig{NetworkMode: "none"}, nil, nil, containerName("build-step"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.removeContainer(created.ID) })
	present := func() bool {
		_, err := c.api.ContainerInspect(ctx, created.ID)
		return err == nil
	}
	unlock, err := lockBuilds(ctx, func() {})
	if err != nil {
		t.Fatal(err)
	}
	err = c.RemoveLeftovers(ctx)
	unlock()
	if err != nil {
		t.Fatal(err)
	}
	if !present() {
		t.Fatal("a build step's container was removed while an image build was running")
	}
	if err := c.RemoveLeftovers(ctx); err != nil {
		t.Fatal(err)
	}
	if present() {
		t.Error("a stopped container without an owner was kept with no build running")
	}
}
