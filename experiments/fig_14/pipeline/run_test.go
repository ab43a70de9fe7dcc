package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	fig14 "github.com/unikraft-eurosys21/artifact/experiments/fig_14"
	"github.com/unikraft-eurosys21/artifact/experiments/fig_14/fixture"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/progress"
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// The FIXTURE images, built once in the toolchain container, booted under TCG and captured
// through QEMU's gdb stub with the stand-in tree's uk-gdb.py: the run step end to end.
func TestFixtureRun(t *testing.T) {
	for _, tool := range []string{"gdb", "objcopy", "readelf"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: the captures need gdb and binutils on the host", tool)
		}
	}
	if _, err := vmm.QEMUBinary(""); err != nil {
		t.Skipf("no QEMU: %v", err)
	}
	opt, pr, out, err := prepare(t, fixture.Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	runResults, interruptResults, brokenResults, brokenImages := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	// gdb's private socket directories go here: the test checks that none is left.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	runOpts := func(resultsDir string, reps int, display *progress.Display) RunOptions {
		return RunOptions{Accel: vmm.TCG, Plan: rep.Plan{Reps: reps, Timeout: 2 * time.Minute}, ResultsDir: resultsDir,
			Images: opt.Images, Fixture: pr.Fixture, Log: quiet(), Out: io.Discard, Progress: display}
	}

	// Two boots of each of the five allocators give the paper's raw files, which parse into
	// the CSVs, and a run whose FIXTURE verdict judges nothing and fails nothing.
	t.Run("two boots per allocator", func(t *testing.T) {
		resultsDir := runResults
		var shown bytes.Buffer
		dir, err := Run(context.Background(), runOpts(resultsDir, 2, progress.NewWith(&shown, progress.Options{})))
		if err != nil {
			t.Fatal(err)
		}
		checkNothingLeft(t, tmp)
		if !strings.Contains(shown.String(), "fig14 region: 2/2 boots") {
			t.Errorf("the progress display did not show the boots:\n%s", shown.String())
		}
		d, err := fig14.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range d.Series {
			if len(s.Trace.Boots) != 2 || s.Status == nil || s.Status.OK != 2 {
				t.Errorf("%s: %d boots in its trace, status %+v", s.Name, len(s.Trace.Boots), s.Status)
			}
			// The PIT calibration under TCG comes before trace_boot_time_init: "plat".
			// ukbus is the stand-in's uk_bus_lib_init, 7fd6797's name of its inittab entry.
			if s.Mean[fig14.Plat] <= 0 || s.Mean[fig14.Alloc] <= 0 || s.Mean[fig14.Lwip] <= 0 || s.Mean[fig14.Ukbus] <= 0 {
				t.Errorf("%s: breakdown %v", s.Name, s.Mean)
			}
			// trace_lines counts the trace's lines, not gdb's other output: the stand-in
			// boot records 19 tracepoints (2 plat, 3 constructors, 2 alloc, 4 inittab
			// entries, the end).
			var reps rep.Result[Boot]
			if b, err := os.ReadFile(filepath.Join(dir, "raw", s.Name, "repetitions.json")); err != nil || json.Unmarshal(b, &reps) != nil {
				t.Fatalf("repetitions.json: %v", err)
			}
			// The capture stops at main, which has two locations (the stand-in's weak main
			// and the application's), as on a real image; the guest idles after main and
			// never reaches ukplat_terminate.
			if g, _ := os.ReadFile(filepath.Join(dir, "raw", s.Name, "rep-01.gdb.txt")); !regexp.MustCompile(`(?m)^Breakpoint 1\.[12], main \(`).Match(g) {
				t.Errorf("%s: gdb did not stop at one of main's two locations:\n%s", s.Name, g)
			}
			for _, o := range reps.Runs {
				if o.Value.Lines != 19 {
					t.Errorf("%s boot %d: trace_lines %d, want 19", s.Name, o.Index, o.Value.Lines)
				}
			}
			for _, f := range []string{"rep-01.gdb.txt", "rep-01.console.log", "rep-02.trace.txt"} {
				if _, err := os.Stat(filepath.Join(dir, "raw", s.Name, f)); err != nil {
					t.Errorf("raw output of a boot missing: %v", err)
				}
			}
		}
		if d.Fixture != fixture.Name || d.Accel != vmm.TCG {
			t.Errorf("provenance: fixture %q, accel %q", d.Fixture, d.Accel)
		}
		r := verify.New(fig14.Figure.Dir, "test")
		d.Verify(r)
		if r.Count(verify.Fail) != 0 || r.Count(verify.OK) != 0 {
			t.Errorf("a FIXTURE run was judged: %d OK, %d FAIL", r.Count(verify.OK), r.Count(verify.Fail))
		}
		var sum RunSummary
		if b, err := os.ReadFile(filepath.Join(dir, "summary.json")); err != nil || json.Unmarshal(b, &sum) != nil {
			t.Fatalf("summary.json: %v", err)
		}
		if sum.Harness.Overhead < 1 || len(sum.Allocators) != len(Images) || sum.Fixture != fixture.Name {
			t.Errorf("summary: %+v", sum)
		}
		m, err := results.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(m.Tools["gdb"], "GNU gdb") || m.Images["image buddy"] != "sha256:"+pr.Images["buddy"].KernelSHA256 ||
			!strings.Contains(strings.Join(m.Notes, "\n"), "tracepoints.patch") {
			t.Errorf("manifest: tools %v, images %v, notes %v", m.Tools, m.Images, m.Notes)
		}
	})

	t.Run("failed captures", func(t *testing.T) {
		brokenScriptRun(t, pr, brokenImages, brokenResults, runOpts("", 4, progress.NewWith(io.Discard, progress.Options{})))
		checkNothingLeft(t, tmp)
	})

	// Ctrl-C during the second allocator stops the run with one message; what was measured is
	// kept in failed/, and no QEMU, gdb or socket is left.
	t.Run("interrupt", func(t *testing.T) {
		resultsDir := interruptResults
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		shown := &cancelAt{text: "fig14 tlsf: 1/3 boots", cancel: cancel}
		_, err := Run(ctx, runOpts(resultsDir, 3, progress.NewWith(shown, progress.Options{})))
		kept, _ := filepath.Glob(filepath.Join(resultsDir, fig14.Figure.Dir, "failed", "*"))
		if len(kept) != 1 {
			t.Fatalf("failed runs kept: %v (err %v)", kept, err)
		}
		if err == nil || strings.Count(err.Error(), "interrupted") != 1 || !strings.Contains(err.Error(), "kept in "+kept[0]) {
			t.Fatalf("err = %v", err)
		}
		checkNothingLeft(t, tmp)
		if _, lerr := results.LatestDir(resultsDir, fig14.Figure.Dir); !errors.Is(lerr, results.ErrNoRun) {
			t.Errorf("an interrupted run became the latest: %v", lerr)
		}
		if raw, _ := filepath.Glob(filepath.Join(kept[0], "raw", "tinyalloc-*.txt")); len(raw) != 1 {
			t.Errorf("the first allocator's trace was not kept: %v", raw)
		}
	})
}

// A gdb script whose `uk trace` prints nothing makes every capture a failed boot with its
// reason; three in a row stop an allocator's series, and without a trace of every
// allocator the run is kept in failed/ with every boot's raw output.
func brokenScriptRun(t *testing.T, pr *Prepared, images, resultsDir string, o RunOptions) {
	script := filepath.Join(images, "uk-gdb.py")
	if err := os.WriteFile(script, []byte("# FIXTURE: a uk-gdb.py whose uk trace prints nothing\nimport gdb\n\n"+
		"class Uk(gdb.Command):\n    def __init__(self):\n        super().__init__(\"uk\", gdb.COMMAND_USER, gdb.COMPLETE_COMMAND, True)\n\n"+
		"class UkTrace(gdb.Command):\n    def __init__(self):\n        super().__init__(\"uk trace\", gdb.COMMAND_USER)\n\n"+
		"    def invoke(self, arg, from_tty):\n        pass\n\nUk()\nUkTrace()\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := *pr
	broken.GDBScript = script
	if err := os.MkdirAll(Dir(images), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := results.WriteJSONAtomic(preparedPath(images, pr.Fixture), &broken); err != nil {
		t.Fatal(err)
	}
	o.Images, o.ResultsDir = images, resultsDir
	_, err := Run(context.Background(), o)
	if !errors.Is(err, ErrBootsFailed) || !strings.Contains(err.Error(), "3 consecutive repetitions stopped the same way: the trace has no trace_boot_end") {
		t.Fatalf("err = %v", err)
	}
	kept, _ := filepath.Glob(filepath.Join(resultsDir, fig14.Figure.Dir, "failed", "*"))
	if len(kept) != 1 {
		t.Fatalf("failed runs kept: %v", kept)
	}
	var st []fig14.SeriesStatus
	if b, err := os.ReadFile(filepath.Join(kept[0], fig14.SeriesFile)); err != nil || json.Unmarshal(b, &st) != nil {
		t.Fatalf("series.json: %v", err)
	}
	if len(st) != len(Images) || st[0].Alloc != "tinyalloc" || st[0].OK != 0 || st[0].Failed != 4 || st[0].Aborted == "" ||
		!strings.Contains(st[0].Errors[0], "printed no trace line") {
		t.Errorf("series: %+v", st)
	}
	if raw, _ := filepath.Glob(filepath.Join(kept[0], "raw", "tinyalloc", "rep-*.gdb.txt")); len(raw) != 3 {
		t.Errorf("raw gdb output of the failed boots: %v", raw)
	}
}

// checkNothingLeft fails when a child process of this test (QEMU, gdb), a container of it or
// a file in tmp (gdb's socket directories) is left.
func checkNothingLeft(t *testing.T, tmp string) {
	t.Helper()
	pid := strconv.Itoa(os.Getpid())
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == pid {
			t.Errorf("process left behind: %s", b)
		}
	}
	if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
		t.Errorf("left in the temporary directory: %v", ents)
	}
	dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(dctx, "docker", "ps", "-a", "--filter", "label="+docker.LabelOwner, "--format", `{{.Label "`+docker.LabelOwner+`"}}`).Output(); err == nil {
		for _, owner := range strings.Fields(string(out)) {
			if strings.Contains(owner, "/"+pid+"/") {
				t.Errorf("container of this test left behind (owner %s)", owner)
			}
		}
	}
}

// cancelAt is a display's writer that cancels when it is shown text (the user's Ctrl-C).
type cancelAt struct {
	bytes.Buffer
	text   string
	cancel context.CancelFunc
}

func (c *cancelAt) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.text) {
		c.cancel()
	}
	return c.Buffer.Write(p)
}
