package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	fig10 "github.com/unikraft-eurosys21/artifact/experiments/fig_10"
	"github.com/unikraft-eurosys21/artifact/experiments/fig_10/fixture"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

func TestHostNeedsKVMForSolo5AndFirecrackerUnderTCG(t *testing.T) {
	for _, key := range []string{fig10.Solo5, fig10.Firecracker} {
		v, _ := fig10.LookupVMM(key)
		if why := hostNeeds(context.Background(), v, vmm.TCG, Binaries{}); !strings.Contains(why, "needs KVM") || !strings.Contains(why, "ACCEL=kvm") {
			t.Errorf("%s under tcg: %q, want needs KVM and what to do", key, why)
		}
	}
	v, _ := fig10.LookupVMM(fig10.Firecracker)
	if why := hostNeeds(context.Background(), v, vmm.KVM, Binaries{Firecracker: filepath.Join(t.TempDir(), "no-such-firecracker")}); !strings.Contains(why, "FIRECRACKER=") || !strings.Contains(why, "unset FIRECRACKER") {
		t.Errorf("a missing FIRECRACKER binary: %q", why)
	}
}

// partialMirror is the FIXTURE mirror whose manifest also names the sources of the Solo5 and
// Firecracker guests (copied from the real manifest) without the mirror holding them: a
// mirror as a user would have it without plat-solo5 and Firecracker.
// It returns the mirror and the names of the sources it lacks.
func partialMirror(t *testing.T) (string, []string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mirror")
	if _, err := fixture.WriteMirror(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	real, err := sources.Load(filepath.Join("..", "..", "..", sources.ManifestPath))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	list := m["sources"].([]any)
	var have, lacks []string
	for _, s := range list {
		have = append(have, s.(map[string]any)["name"].(string))
	}
	for _, n := range slices.Concat(GuestOf(fig10.Solo5, "").Sources(), GuestOf(fig10.Firecracker, "").Sources(), []string{FirecrackerSource}) {
		s, ok := real.Source(n)
		if !ok || slices.Contains(have, n) {
			continue
		}
		list, have, lacks = append(list, s), append(have, n), append(lacks, n)
	}
	m["sources"] = list
	b, _ = json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, lacks
}

// With a mirror lacking the Solo5 and Firecracker sources, prepare builds the QEMU guest,
// names every missing source in one message, and records why the others were not prepared;
// under TCG it does not even look for them.
func TestPrepareWithPartialMirror(t *testing.T) {
	if _, err := vmm.QEMUBinary(""); err != nil {
		t.Skipf("no QEMU: %v", err)
	}
	mirror, lacks := partialMirror(t)
	root := t.TempDir()
	prepare := func(accel string) (*Prepared, string, error) {
		var out bytes.Buffer
		pr, err := Prepare(context.Background(), PrepareOptions{VMMs: []string{fig10.QEMU, fig10.Solo5, fig10.Firecracker}, Accel: accel,
			Manifest:   filepath.Join("..", "..", "..", sources.ManifestPath),
			Sources:    sources.Options{Cache: filepath.Join(root, "sources"), Mirror: mirror, Log: quiet()},
			Containers: filepath.Join("..", "..", "..", "containers"), Images: filepath.Join(root, "images"),
			Docker: docker.Options{Log: quiet(), Out: io.Discard, LogDir: filepath.Join(root, "logs")}, Log: quiet(), Out: &out})
		if err != nil && strings.Contains(err.Error(), "cannot reach the Docker daemon") && os.Getenv("CI") == "" {
			t.Skipf("no Docker daemon: %v", err)
		}
		return pr, out.String(), err
	}

	pr, out, err := prepare(vmm.KVM)
	if err != nil {
		t.Fatalf("prepare stopped although the QEMU guest needs none of the missing sources: %v\n%s", err, out)
	}
	if _, ok := pr.Guests["stat"]; !ok {
		t.Errorf("the QEMU guest was not prepared: %+v", pr.Missing)
	}
	// One message names them all, each with its upstream and place in a mirror.
	for _, n := range lacks {
		s, _ := sources.Load(filepath.Join("..", "..", "..", sources.ManifestPath))
		src, _ := s.Source(n)
		if !strings.Contains(out, "- "+n+":") {
			t.Errorf("the prepare message does not name %s:\n%s", n, out)
		}
		if src.Archive != nil && !strings.Contains(out, "archives/"+src.Archive.File) {
			t.Errorf("the prepare message does not say where %s belongs in a mirror:\n%s", n, out)
		}
	}
	for _, g := range []string{"solo5", "firecracker"} {
		if !strings.Contains(pr.Missing[g], "missing from the mirror") {
			t.Errorf("guest %s: missing = %q", g, pr.Missing[g])
		}
	}

	pr, out, err = prepare(vmm.TCG)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, "plat-solo5") || len(pr.Missing) != 0 {
		t.Errorf("under TCG prepare looked for the sources of VMMs that need KVM:\n%s", out)
	}
	for _, k := range []string{fig10.Solo5, fig10.Firecracker} {
		if !strings.Contains(pr.NotRun[k], "needs KVM") {
			t.Errorf("%s: not run = %q", k, pr.NotRun[k])
		}
	}

	// The run reports them not run with the reason, runs QEMU, and succeeds; STRICT fails.
	for _, strict := range []bool{false, true} {
		var table bytes.Buffer
		dir, err := Run(context.Background(), RunOptions{VMMs: []string{fig10.QEMU, fig10.Solo5, fig10.Firecracker}, Accel: vmm.TCG,
			Plan: rep.Plan{Reps: 1, Timeout: time.Minute}, ResultsDir: t.TempDir(), Images: filepath.Join(root, "images"),
			Fixture: fixture.Name, Strict: strict, Log: quiet(), Out: &table})
		if strict != (err != nil) {
			t.Fatalf("strict=%v: err = %v\n%s", strict, err, table.String())
		}
		st, err := fig10.ReadStatus(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{fig10.Solo5, fig10.Firecracker} {
			if s, _ := st.Get(k); s.Status != fig10.NotRun || !strings.Contains(s.Reason, "needs KVM") {
				t.Errorf("%s: %+v", k, s)
			}
		}
		if s, _ := st.Get(fig10.QEMU); s.Status != fig10.Ran {
			t.Errorf("qemu: %+v", s)
		}
		noAbsolutePaths(t, dir)
	}
}

// noAbsolutePaths fails when a file of the run directory names a path inside the results
// root (such as .incomplete/<id>/…, gone after the rename): paths in a run are relative.
func noAbsolutePaths(t *testing.T, dir string) {
	t.Helper()
	root := filepath.Dir(filepath.Dir(dir))
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, bad := range []string{root, ".incomplete"} {
			if bytes.Contains(b, []byte(bad)) {
				rel, _ := filepath.Rel(dir, p)
				t.Errorf("%s names %s", rel, bad)
			}
		}
		return nil
	})
}
