package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func hashDir(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	if err := contextTar(dir, h); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestContextTarDependsOnContentNotOnTimes(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("ARG BASE\nFROM ${BASE}\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "files"), 0o755)
	os.WriteFile(filepath.Join(dir, "files", "a.sh"), []byte("echo a\n"), 0o644)
	first := hashDir(t, dir)

	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(dir, "files", "a.sh"), old, old)
	if got := hashDir(t, dir); got != first {
		t.Errorf("touching a file changed the context hash")
	}
	os.Chmod(filepath.Join(dir, "files", "a.sh"), 0o755)
	exec1 := hashDir(t, dir)
	if exec1 == first {
		t.Errorf("making a file executable did not change the context hash")
	}
	os.WriteFile(filepath.Join(dir, "files", "a.sh"), []byte("echo b\n"), 0o755)
	if got := hashDir(t, dir); got == exec1 {
		t.Errorf("changing a file did not change the context hash")
	}
}

func TestHashIncludesBaseAndArgs(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("ARG BASE\nFROM ${BASE}\n"), 0o644)
	r := Recipe{Name: "x", Dir: dir}
	h1, _ := Hash(r, Image{ID: "sha256:aaa"})
	h2, _ := Hash(r, Image{ID: "sha256:bbb"})
	r.Args = map[string]string{"GCC": "12"}
	h3, _ := Hash(r, Image{ID: "sha256:aaa"})
	if h1 == h2 || h1 == h3 {
		t.Errorf("hash ignores the base id or build args: %s %s %s", h1, h2, h3)
	}
	if got := Tag("x", h1); got != "unikraft-eurosys21/x:ctx-"+h1[:12] {
		t.Errorf("Tag = %s", got)
	}
}

func TestCheckDockerfileNamesFileAndLine(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("# toolchain\nARG BASE\nFROM debian:bookworm\n"), 0o644)
	err := checkDockerfile(Recipe{Name: "x", Dir: dir})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "Dockerfile")+":3:") || !strings.Contains(err.Error(), "FROM ${BASE}") {
		t.Fatalf("err = %v, want file:3 and the expected FROM line", err)
	}
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("ARG BASE\nfrom $BASE AS build\n"), 0o644)
	if err := checkDockerfile(Recipe{Name: "x", Dir: dir}); err != nil {
		t.Fatal(err)
	}
}

// The recipes in containers/ are what `mage containers` builds: each must build on the
// provided base and label its build steps, so that leftovers of an interrupted build are found.
func TestRepositoryRecipes(t *testing.T) {
	rs, err := Recipes("../../containers")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, r := range rs {
		names[r.Name] = true
		if err := checkDockerfile(r); err != nil {
			t.Error(err)
		}
		b, _ := os.ReadFile(filepath.Join(r.Dir, "Dockerfile"))
		if !bytes.Contains(b, []byte("LABEL "+LabelProject+"="+ProjectValue)) {
			t.Errorf("%s/Dockerfile: no `LABEL %s=%s` line", r.Dir, LabelProject, ProjectValue)
		}
	}
	if !names["unikraft"] {
		t.Errorf("recipes %v lack unikraft", names)
	}
}

func TestLineWriterKeepsTextAfterCarriageReturnAndDropsColours(t *testing.T) {
	var got []string
	w := &lineWriter{fn: func(l string) { got = append(got, l) }}
	w.Write([]byte("Get:1 bookworm [10%]\rGet:1 bookworm [100%]\n\x1b[31mred\x1b[0m text\npart"))
	w.Write([]byte("ial\r\n"))
	w.Write([]byte("no newline"))
	w.Flush()
	want := []string{"Get:1 bookworm [100%]", "red text", "partial", "no newline"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lines = %q, want %q", got, want)
	}
}

func TestProgressWithoutTerminalPrintsStepsOnly(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, false)
	p.Line("unikraft", "compiling foo.c")
	p.Step("unikraft", "Step 2/4 : RUN apt-get update")
	p.Done()
	if strings.Contains(b.String(), "foo.c") || !strings.Contains(b.String(), "unikraft: Step 2/4") {
		t.Errorf("quiet progress printed %q", b.String())
	}
	b.Reset()
	p = NewProgress(&b, true)
	p.Line("unikraft", "compiling foo.c")
	if b.String() != "unikraft | compiling foo.c\n" {
		t.Errorf("verbose progress printed %q", b.String())
	}
}

func TestConnectExplainsMissingDaemon(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	_, err := Connect(context.Background(), Options{})
	if err == nil {
		t.Fatal("Connect to a missing socket succeeded")
	}
	for _, want := range []string{"unix:///nonexistent/docker.sock", "cannot reach", "systemctl start docker", "DOCKER_HOST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// A user outside the docker group gets EACCES on the socket. As root that cannot happen in
// this process, so the test runs itself as user nobody against a socket only root may use.
func TestConnectExplainsPermissionDenied(t *testing.T) {
	if os.Getenv("UKEU21_HELPER") == "connect" {
		_, err := Connect(context.Background(), Options{})
		fmt.Println(err)
		os.Exit(0)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a socket another user may not open")
	}
	dir, err := os.MkdirTemp("", "ukeu21-perm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	os.Chmod(sock, 0o600)
	self, _ := os.Executable()
	bin := filepath.Join(dir, "test.bin")
	data, _ := os.ReadFile(self)
	os.WriteFile(bin, data, 0o755)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestConnectExplainsPermissionDenied$")
	cmd.Env = append(os.Environ(), "UKEU21_HELPER=connect", "DOCKER_HOST=unix://"+sock, "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, Setpgid: true}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper failed: %v\n%s", err, out)
	}
	for _, want := range []string{"no permission", sock, "usermod -aG docker"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("error %q lacks %q", out, want)
		}
	}
}

func TestGCCEnv(t *testing.T) {
	env, err := GCCEnv("")
	if err != nil || !strings.HasPrefix(env[0], "PATH=/opt/gcc-11/bin:") {
		t.Errorf("GCCEnv(\"\") = %v, %v", env, err)
	}
	if _, err := GCCEnv("8"); err == nil || !strings.Contains(err.Error(), "GCC=11 or GCC=12") {
		t.Errorf("GCCEnv(8) err = %v", err)
	}
}

func TestOwnerAlive(t *testing.T) {
	if !ownerAlive(ownerID()) {
		t.Errorf("this process's owner id %q is not alive", ownerID())
	}
	cmd := exec.Command("/bin/true")
	cmd.Run()
	host, _ := os.Hostname()
	dead := fmt.Sprintf("%s/%s/%d/%s", host, bootID(), cmd.Process.Pid, "1")
	if ownerAlive(dead) {
		t.Errorf("exited process %q counted as alive", dead)
	}
	if !ownerAlive("other-host/x/1/1") {
		t.Errorf("owner on another host counted as dead")
	}
}

// Copying out refuses a symbolic link that leads outside the destination, also through
// "../" steps below the top (a check on rooted paths would clean them away at "/").
func TestExtractTarRefusesLinksOutOfTheCopy(t *testing.T) {
	tarOf := func(name, link string) *bytes.Buffer {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		tw.WriteHeader(&tar.Header{Name: "out/", Typeflag: tar.TypeDir, Mode: 0o755})
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: link})
		tw.Close()
		return &b
	}
	for _, c := range []struct {
		name, link string
		ok         bool
	}{
		{"out/up", "../../../etc", false},
		{"out/abs", "/etc", false},
		{"out/parent", "..", true}, // out/.. is the destination itself
		{"out/sub/lib", "../lib.so.1", true},
		{"up2", "..", false},
	} {
		dst := t.TempDir()
		_, err := extractTar(tarOf(c.name, c.link), dst)
		if (err == nil) != c.ok {
			t.Errorf("%s -> %s: err = %v, want ok = %v", c.name, c.link, err, c.ok)
		}
	}
}
