package results

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// envHelper makes the test binary a process that begins a run of fig_10 under the given root,
// writes a measurement, says where, and waits to be killed: a figure killed mid-run.
const envHelper = "RESULTS_TEST_BEGIN_RUN_UNDER"

func TestMain(m *testing.M) {
	if root := os.Getenv(envHelper); root != "" {
		r, err := Create(root, "fig_10")
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		if err := r.WriteFile("raw/qemu/rep-01.console.log", []byte("measured before the kill\n")); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(r.ID)
		var b [1]byte
		os.Stdin.Read(b[:]) // until killed (or the test's end closes stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// beginRun starts a process that begins a run under root and returns it with the run's id.
func beginRun(t *testing.T, root string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHelper+"="+root)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.HasPrefix(line, "error:") {
		t.Fatalf("helper: %q %v", line, err)
	}
	return cmd, strings.TrimSpace(line)
}

func TestKilledRunIsRecoveredAtTheNextStart(t *testing.T) {
	root := t.TempDir()
	cmd, id := beginRun(t, root)
	incomplete := filepath.Join(root, "fig_10", ".incomplete", id)

	// While its process runs, a second start leaves the run alone.
	if orphans, err := RecoverOrphans(root, "fig_10"); err != nil || len(orphans) != 0 {
		t.Fatalf("a live run was recovered: %v %v", orphans, err)
	}
	if !exists(incomplete) {
		t.Fatal("the live run's directory is gone")
	}

	// kill -9 mid-run.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	hook := test.NewGlobal()
	defer hook.Reset()
	r, err := Create(root, "fig_10")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Abort()
	failed := filepath.Join(root, "fig_10", "failed", id)
	if exists(incomplete) || !exists(failed) {
		t.Fatalf("orphan not moved: %s exists %v, %s exists %v", incomplete, exists(incomplete), failed, exists(failed))
	}
	if b, err := os.ReadFile(filepath.Join(failed, "raw", "qemu", "rep-01.console.log")); err != nil || string(b) != "measured before the kill\n" {
		t.Errorf("the measured data was not kept: %q %v", b, err)
	}
	note, err := os.ReadFile(filepath.Join(failed, OrphanNote))
	if err != nil || !strings.Contains(string(note), fmt.Sprintf("pid %d", cmd.Process.Pid)) || !strings.Contains(string(note), "is gone") {
		t.Errorf("note %q %v", note, err)
	}
	var lines []string
	for _, e := range hook.AllEntries() {
		if e.Level <= logrus.WarnLevel {
			lines = append(lines, e.Message)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], id) || !strings.Contains(lines[0], "failed") {
		t.Errorf("the recovery was not said in one line: %q", lines)
	}
}

// A pid reused by another process is not the owner: the start time differs.
func TestReusedPidIsNotTheOwner(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "fig_10", ".incomplete", "20260101T000000Z")
	os.MkdirAll(dir, 0o755)
	o := self() // this (live) process's pid, but another start time
	o.StartTick++
	b, _ := json.Marshal(o)
	os.WriteFile(filepath.Join(dir, ownerFile), b, 0o644)
	orphans, err := RecoverOrphans(root, "fig_10")
	if err != nil || len(orphans) != 1 || orphans[0].ID != "20260101T000000Z" {
		t.Fatalf("orphans %v, err %v", orphans, err)
	}

	// The same record with the right start time is a live owner.
	os.MkdirAll(dir, 0o755)
	b, _ = json.Marshal(self())
	os.WriteFile(filepath.Join(dir, ownerFile), b, 0o644)
	if orphans, _ := RecoverOrphans(root, "fig_10"); len(orphans) != 0 {
		t.Errorf("the live owner's run was recovered: %v", orphans)
	}
}
