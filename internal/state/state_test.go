package state

import (
	"path/filepath"
	"testing"
)

func TestOneRootWithOverrides(t *testing.T) {
	root := t.TempDir()
	t.Setenv(EnvDir, root)
	t.Setenv("IMAGES_CACHE", "")
	if d, err := Sub("logs", ""); err != nil || d != filepath.Join(root, "logs") {
		t.Errorf("logs: %s %v", d, err)
	}
	if d, err := Sub("images", "IMAGES_CACHE"); err != nil || d != filepath.Join(root, "images") {
		t.Errorf("images without override: %s %v", d, err)
	}
	other := t.TempDir()
	t.Setenv("IMAGES_CACHE", other)
	if d, err := Sub("images", "IMAGES_CACHE"); err != nil || d != other {
		t.Errorf("images with override: %s %v", d, err)
	}
}
