package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/settings"
)

func TestFromSettings(t *testing.T) {
	env := map[string]string{"APPS": "redis", "VARIANTS": "dce,lto", "JOBS": "3", "GCC": "12", "FIXTURE_FAIL": "redis_dce",
		"STATE_DIR": t.TempDir()}
	s, err := settings.Parse(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	opt, err := FromSettings(s, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(opt.Images) != 2 || opt.Images[0].Key() != "redis_lto" || opt.Jobs != 3 || opt.GCC != "12" ||
		len(opt.FixtureFail) != 1 || opt.Settings["APPS"] != "redis" || opt.SettingsFrom["APPS"] != settings.Environment ||
		opt.BuildCache != filepath.Join(env["STATE_DIR"], "fig08") || opt.Docker.LogDir != filepath.Join(env["STATE_DIR"], "logs") {
		t.Errorf("options = %+v", opt)
	}
	for k, v := range map[string]string{"FIXTURE_FAIL": "redis", "APPS": "memcached", "VARIANTS": "fast"} {
		t.Run(k, func(t *testing.T) {
			bad := s
			switch k {
			case "FIXTURE_FAIL":
				bad.FixtureFail = v
			case "APPS":
				bad.Apps = v
			case "VARIANTS":
				bad.Variants = v
			}
			if _, err := FromSettings(bad, nil, false); err == nil || !strings.Contains(err.Error(), k+"=") {
				t.Errorf("%s=%s: %v", k, v, err)
			}
		})
	}
	opt.GCC = "9"
	if _, err := opt.withDefaults(); err == nil || !strings.Contains(err.Error(), "GCC=9") {
		t.Errorf("GCC=9: %v", err)
	}
}

// Clean removes Figure 8's build directories and keeps every measured run.
func TestCleanRemovesOnlyFigure8Builds(t *testing.T) {
	tmp := t.TempDir()
	opt := Options{BuildCache: filepath.Join(tmp, "builds"), ResultsDir: filepath.Join(tmp, "results")}
	keep := filepath.Join(opt.ResultsDir, "fig_10", "run1", "results.csv")
	keep08 := filepath.Join(opt.ResultsDir, "fig_08", "run1", "results.csv")
	for _, f := range []string{filepath.Join(opt.BuildCache, "upstream", "nginx_dce", "build", "x.o"), keep08, keep} {
		os.MkdirAll(filepath.Dir(f), 0o755)
		os.WriteFile(f, []byte("x"), 0o644)
	}
	// An unpacked archive may leave a directory without write permission.
	os.Chmod(filepath.Join(opt.BuildCache, "upstream", "nginx_dce", "build"), 0o555)
	removed, err := Clean(opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != opt.BuildCache {
		t.Errorf("removed %v; want only the build cache", removed)
	}
	if _, err := os.Stat(opt.BuildCache); !os.IsNotExist(err) {
		t.Errorf("%s is still there", opt.BuildCache)
	}
	for _, f := range []string{keep, keep08} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("a measured run was removed: %v", err)
		}
	}
	if again, err := Clean(opt); err != nil || len(again) != 0 {
		t.Errorf("second clean: %v, %v", again, err)
	}
}
