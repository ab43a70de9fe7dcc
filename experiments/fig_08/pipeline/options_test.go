package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvApps, "redis")
	t.Setenv(EnvVariants, "dce,lto")
	t.Setenv(EnvJobs, "3")
	t.Setenv(EnvGCC, "12")
	t.Setenv(EnvFixtureFail, "redis_dce")
	opt, err := FromEnv(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(opt.Images) != 2 || opt.Images[0].Key() != "redis_lto" || opt.Jobs != 3 || opt.GCC != "12" ||
		len(opt.FixtureFail) != 1 || opt.Settings[EnvApps] != "redis" {
		t.Errorf("options = %+v", opt)
	}
	for k, v := range map[string]string{EnvJobs: "0", EnvFixtureFail: "redis", EnvApps: "memcached"} {
		t.Run(k, func(t *testing.T) {
			t.Setenv(k, v)
			if _, err := FromEnv(nil, false); err == nil || !strings.Contains(err.Error(), k+"=") {
				t.Errorf("%s=%s: %v", k, v, err)
			}
		})
	}
	t.Setenv(EnvJobs, "")
	t.Setenv(EnvGCC, "9")
	t.Setenv(EnvFixtureFail, "")
	opt, _ = FromEnv(nil, false)
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
