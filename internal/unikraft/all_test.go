package unikraft

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/unikraft-eurosys21/artifact/internal/docker"
)

// fakeDocker stands in for the Docker daemon (FIXTURE: the builds' outcomes are scripted
// per image name, nothing is compiled): "ok-*" leaves a kernel in the build directory,
// "fail-*" exits with status 2 as make does, "hang-*" runs until stopped, "lost-*" finds
// the daemon gone (and Ping says so from then on).
type fakeDocker struct {
	mu      sync.Mutex
	started []string
	scripts []string
	lost    bool
	hanging chan struct{} // closed when a hang-* build runs
}

func (f *fakeDocker) Run(ctx context.Context, spec docker.RunSpec) error {
	name := strings.TrimPrefix(spec.Name, "build ")
	f.mu.Lock()
	f.started = append(f.started, name)
	f.scripts = append(f.scripts, spec.Cmd[len(spec.Cmd)-1])
	f.mu.Unlock()
	work := spec.Mounts[0].Source
	os.WriteFile(spec.LogPath, []byte("+ make olddefconfig\n"+name+" output\n"), 0o644)
	switch {
	case strings.HasPrefix(name, "ok-"):
		os.WriteFile(filepath.Join(work, compilerFile), []byte("gcc (FIXTURE) 0\n"), 0o644)
		os.MkdirAll(filepath.Join(work, buildDir), 0o755)
		return os.WriteFile(filepath.Join(work, buildDir, "app_kvm-x86_64"), []byte("FIXTURE kernel "+name), 0o755)
	case strings.HasPrefix(name, "fail-"):
		return &docker.ExitError{Name: spec.Name, Status: 2, Tail: "make: *** [all] Error 2", LogPath: spec.LogPath}
	case strings.HasPrefix(name, "hang-"):
		close(f.hanging)
		<-ctx.Done()
		return fmt.Errorf("docker: %s interrupted: %w", spec.Name, ctx.Err())
	case strings.HasPrefix(name, "lost-"):
		<-f.hanging // the other build is running when the daemon goes
		f.mu.Lock()
		f.lost = true
		f.mu.Unlock()
		return errors.New("docker: create container for " + spec.Name + ": Cannot connect to the Docker daemon")
	}
	return errors.New("unexpected image " + name)
}

func (f *fakeDocker) Ping(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lost {
		return errors.New("docker: cannot reach the Docker daemon (FIXTURE)")
	}
	return nil
}

func quiet() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func specNamed(t *testing.T, core, name string) Spec {
	s := spec(t, core)
	s.Name, s.Edits = name, nil
	return s
}

func TestBuildAllKeepsGoingPastAFailedBuild(t *testing.T) {
	core := t.TempDir()
	os.WriteFile(filepath.Join(core, "Makefile"), []byte("all:\n"), 0o644)
	fake := &fakeDocker{}
	b := &Builder{Docker: fake, Cache: t.TempDir(), Toolchain: docker.Image{Ref: "toolchain", ID: "sha256:t"}, Log: quiet()}
	specs := []Spec{specNamed(t, core, "ok-1"), specNamed(t, core, "fail-1"), specNamed(t, core, "ok-2")}
	var seen []string
	res, err := b.BuildAll(context.Background(), specs, 2, func(r Result) { seen = append(seen, r.Spec.Name) })
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"fail-1", "ok-1", "ok-2"}) {
		t.Errorf("done saw %v", seen)
	}
	raw := t.TempDir()
	var be *BuildError
	if !errors.As(res[1].Err, &be) || res[1].Image != nil || be.Config == "" {
		t.Fatalf("fail-1: %+v; want a BuildError with its log and .config", res[1])
	}
	if err := be.KeepRaw(raw, "fail-1"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []Result{res[0], res[2]} {
		if r.Err != nil || !r.Image.Built || r.Image.Compiler != "gcc (FIXTURE) 0" {
			t.Fatalf("%s: %+v", r.Spec.Name, r)
		}
		if err := r.Image.KeepRaw(raw, r.Spec.Name); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"fail-1.log", "fail-1.config", "ok-1.log", "ok-1.config", "ok-2.log", "ok-2.config"} {
		if _, err := os.Stat(filepath.Join(raw, f)); err != nil {
			t.Errorf("raw/ lacks %s: %v", f, err)
		}
	}
	// Two images at once share the CPUs; fetch and prepare run before the parallel build.
	want := fmt.Sprintf(" -j%d\n", max(1, runtime.NumCPU()/2))
	for _, sc := range fake.scripts {
		if !strings.Contains(sc, want) || !strings.Contains(sc, " fetch\n") || !strings.Contains(sc, " prepare\n") {
			t.Errorf("script lacks %q or the serial steps:\n%s", want, sc)
		}
	}

	// A second run reuses the two images and tries the failed one again.
	fake.started = nil
	res, err = b.BuildAll(context.Background(), specs, 2, nil)
	if err != nil || res[0].Image == nil || res[0].Image.Built || res[2].Image.Built || !slices.Equal(fake.started, []string{"fail-1"}) {
		t.Errorf("rerun: %v, started %v", err, fake.started)
	}
}

func TestBuildAllStopsAtOnceWhenTheDaemonIsLost(t *testing.T) {
	core := t.TempDir()
	os.WriteFile(filepath.Join(core, "Makefile"), []byte("all:\n"), 0o644)
	fake := &fakeDocker{hanging: make(chan struct{})}
	b := &Builder{Docker: fake, Cache: t.TempDir(), Toolchain: docker.Image{Ref: "toolchain", ID: "sha256:t"}, Log: quiet()}
	specs := []Spec{specNamed(t, core, "hang-1"), specNamed(t, core, "lost-1"), specNamed(t, core, "ok-1"), specNamed(t, core, "ok-2")}
	var seen []string
	res, err := b.BuildAll(context.Background(), specs, 2, func(r Result) { seen = append(seen, r.Spec.Name) })
	if !errors.Is(err, ErrDockerLost) {
		t.Fatalf("err = %v; want ErrDockerLost", err)
	}
	if len(seen) != 0 || slices.Contains(fake.started, "ok-1") || slices.Contains(fake.started, "ok-2") {
		t.Errorf("after the daemon was lost: reported %v, started %v; want nothing more", seen, fake.started)
	}
	for _, r := range res {
		if r.Image != nil || r.Err != nil {
			t.Errorf("%s reported as %+v; a stopped build is neither built nor failed", r.Spec.Name, r)
		}
	}
}

func TestScriptWithoutTheSerialSteps(t *testing.T) {
	s := script("/src/unikraft", []string{"/src/libs/newlib"}, 8, false)
	if strings.Contains(s, " fetch\n") || !strings.Contains(s, "make -C /src/unikraft A=/work/app L=/src/libs/newlib O=/work/build -j8\n") {
		t.Errorf("script:\n%s", s)
	}
}
