package results

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

func TestStartRecordsTheSetupAndKeepSavesAnAbandonedRun(t *testing.T) {
	root := t.TempDir()
	s := Setup{Accel: "tcg", Fixture: "standin", Settings: map[string]string{"REPS": "2"}, SettingsFrom: map[string]string{"REPS": "environment"},
		ToolchainRef: "tc:1", ToolchainID: "sha256:abc", ToolchainPackages: map[string]string{"gcc-12": "12.2"}}
	run, m, err := Start(context.Background(), root, "fig_99", s)
	if err != nil {
		t.Fatal(err)
	}
	if m.Accel != "tcg" || m.Fixture != "standin" || m.Settings["REPS"] != "2" || m.Host == nil || m.Isolation == nil ||
		m.Images["toolchain tc:1"] != "sha256:abc" || m.Tools["toolchain gcc-12"] != "12.2" || m.Machines == nil {
		t.Fatalf("manifest: %+v", m)
	}
	if err := run.WriteFile("raw/boot.1", []byte("measured")); err != nil {
		t.Fatal(err)
	}
	log, hook := test.NewNullLogger()
	func() { defer run.Keep(log) }() // an early return
	kept := filepath.Join(root, "fig_99", "failed", run.ID, "raw", "boot.1")
	if b, err := os.ReadFile(kept); err != nil || string(b) != "measured" {
		t.Fatalf("the abandoned run's raw file: %q, %v", b, err)
	}
	if e := hook.LastEntry(); e == nil || e.Level != logrus.WarnLevel || !strings.Contains(e.Message, "failed") {
		t.Fatalf("no warning saying where the run is: %v", hook.AllEntries())
	}
}

func TestKeepLeavesACommittedRunAlone(t *testing.T) {
	root := t.TempDir()
	run, _, err := Start(context.Background(), root, "fig_99", Setup{Accel: "kvm"})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := run.Commit()
	if err != nil {
		t.Fatal(err)
	}
	log, hook := test.NewNullLogger()
	run.Keep(log)
	if _, err := os.Stat(dir); err != nil || len(hook.AllEntries()) != 0 {
		t.Fatalf("Keep after Commit moved or warned: %v %v", err, hook.AllEntries())
	}
}

func TestAnnounceNamesFixtureAndSoftwareEmulation(t *testing.T) {
	var b bytes.Buffer
	Setup{Accel: "tcg", Fixture: "standin"}.Announce(&b, "fig22", "the kernel is a stand-in, not Unikraft")
	want := "fig22: FIXTURE standin — the kernel is a stand-in, not Unikraft\nfig22: ACCEL=tcg — software emulation, not comparable with the paper\n"
	if b.String() != want {
		t.Fatalf("got %q", b.String())
	}
	b.Reset()
	Setup{Accel: "kvm"}.Announce(&b, "fig22", "x")
	if b.Len() != 0 {
		t.Fatalf("a real KVM run announced %q", b.String())
	}
}

// A run that cannot go on is kept in failed/ with its manifest saying why, and the one
// message names where it is now.
func TestStopKeepsTheRunAndSaysWhere(t *testing.T) {
	root := t.TempDir()
	run, m, err := Start(context.Background(), root, "fig_99", Setup{Accel: "kvm"})
	if err != nil {
		t.Fatal(err)
	}
	inc := run.Dir()
	werr := errors.New("write " + filepath.Join(inc, "raw", "x.1") + ": no space left on device")
	got := run.Stop(m, werr)
	kept := filepath.Join(root, "fig_99", "failed", run.ID)
	if !errors.Is(got, werr) || !strings.Contains(got.Error(), "kept in "+kept) || strings.Contains(got.Error(), inc) {
		t.Fatalf("%v", got)
	}
	back, err := ReadManifest(kept)
	if err != nil || back.Ended.IsZero() || !strings.Contains(strings.Join(back.Notes, "\n"), "incomplete: write raw/x.1: no space left") {
		t.Fatalf("manifest: %v %+v", err, back)
	}
}
