package fig08

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfigReadsValuesAndUnsetSymbols(t *testing.T) {
	c, err := ParseConfig(strings.NewReader("#\n# Unikraft configuration\n#\nCONFIG_LIBUKDEBUG=y\n" +
		"# CONFIG_OPTIMIZE_LTO is not set\nCONFIG_UK_NAME=\"app\"\n# a comment = not a symbol\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{"CONFIG_LIBUKDEBUG": "y", "CONFIG_OPTIMIZE_LTO": "n", "CONFIG_UK_NAME": `"app"`}
	if len(c) != len(want) {
		t.Errorf("parsed %v, want %v", c, want)
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %q, want %q", k, c[k], v)
		}
	}
	if c.value("CONFIG_ABSENT") != "n" {
		t.Errorf("an absent symbol reads as %q, want n", c.value("CONFIG_ABSENT"))
	}
}

// writeRun writes a run directory with the paper's sizes of images and their final .config.
func writeRun(t *testing.T, configs map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	p, _ := Paper()
	var csv strings.Builder
	for key, body := range configs {
		app, v, _ := strings.Cut(key, "_")
		csv.WriteString(key + "\t" + fmt.Sprint(p.Sizes[Image{app, v}]) + "\n")
		os.MkdirAll(filepath.Join(dir, "raw"), 0o755)
		os.WriteFile(filepath.Join(dir, "raw", key+".config"), []byte(body), 0o644)
	}
	os.WriteFile(filepath.Join(dir, ResultsFile), []byte(csv.String()), 0o644)
	return dir
}

// The verdict's notes about how variants differ come from the final .config files: a
// kraft.yaml "CONFIG_LIBUKDEBUG=n" that Kconfig turned back on (as Unikraft 0.4's selects do
// in every redis variant) is no difference, OPTIMIZE_SIZE set by three variants is one.
func TestVerifyNotesComeFromTheFinalConfigs(t *testing.T) {
	base := "CONFIG_PLAT_KVM=y\nCONFIG_LIBUKDEBUG=y\nCONFIG_LIBUKDEBUG_PRINTK_ERR=y\n"
	dir := writeRun(t, map[string]string{
		"redis_default": base + "# CONFIG_OPTIMIZE_SIZE is not set\n",
		"redis_lto":     base + "CONFIG_OPTIMIZE_SIZE=y\nCONFIG_OPTIMIZE_LTO=y\n",
		"redis_dce":     base + "CONFIG_OPTIMIZE_SIZE=y\nCONFIG_OPTIMIZE_DEADELIM=y\n",
		"sqlite_dce":    base + "CONFIG_OPTIMIZE_DEADELIM=y\n",
		"sqlite_lto":    base + "CONFIG_OPTIMIZE_LTO=y\n",
	})
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Configs) != 5 {
		t.Fatalf("loaded %d configurations, want 5", len(d.Configs))
	}
	notes := strings.Join(check(t, d).Notes, "\n")
	for _, want := range []string{
		"redis: the final .config files of default, lto, dce also differ in OPTIMIZE_SIZE (n in default; y in lto, dce)",
		"sqlite: the final .config files of lto, dce differ only in the DCE and LTO flags",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	for _, wrong := range []string{"UKDEBUG", "drops", "OPTIMIZE_LTO", "helloworld", "nginx"} {
		if strings.Contains(notes, wrong) {
			t.Errorf("notes mention %q, which the final configurations do not show as a difference:\n%s", wrong, notes)
		}
	}

	// Without final configurations (the paper's data) nothing is claimed about them.
	notes = strings.Join(check(t, paperWith(t, nil)).Notes, "\n")
	if strings.Contains(notes, "UKDEBUG") || !strings.Contains(notes, "not shown") {
		t.Errorf("paper notes:\n%s", notes)
	}
}
