package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCleanRemovesOnlyTheGuests(t *testing.T) {
	images := t.TempDir()
	os.MkdirAll(filepath.Join(Dir(images), "stat-abc"), 0o755)
	os.MkdirAll(filepath.Join(images, "fig_08"), 0o755)
	var out bytes.Buffer
	if err := Clean(images, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(Dir(images)); !os.IsNotExist(err) {
		t.Error("the guests are still there")
	}
	if _, err := os.Stat(filepath.Join(images, "fig_08")); err != nil {
		t.Error("clean removed another figure's directory")
	}
	out.Reset()
	if err := Clean(images, &out); err != nil || !strings.Contains(out.String(), "nothing to clean") {
		t.Errorf("second clean: %v, %q", err, out.String())
	}
}
