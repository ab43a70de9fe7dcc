package fig22

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func parseFixture(t *testing.T, path, console string) (map[Probe]float64, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return ParseConsole(path, f, Probes(console))
}

// Console logs as the VMs print them (testdata/console: hand-written in the benchmark's
// format, with boot noise, CRLF line ends, terminal escapes and the expected error lines of
// the no-file cases). Only the integer part of each average is kept, as parse.sh did.
func TestConsoleLogs(t *testing.T) {
	for _, tc := range []struct {
		console string
		want    map[Probe]float64
	}{
		{"unikraft", map[Probe]float64{
			{"SHFS", NoFile}: 289, {"SHFS", FileExists}: 306,
			{"VFS", NoFile}: 2231, {"VFS", FileExists}: 1640,
		}},
		{"linux", map[Probe]float64{{"VFS", NoFile}: 4060, {"VFS", FileExists}: 2650}},
		{"linux-nomitig", map[Probe]float64{{"VFS", NoFile}: 3280, {"VFS", FileExists}: 1971}},
	} {
		got, err := parseFixture(t, filepath.Join("testdata", "console", tc.console+".1"), tc.console)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.console, got, tc.want)
		}
	}
}

func TestMalformedConsoleLogs(t *testing.T) {
	for _, tc := range []struct {
		file, console string
		line          int
		want          string
	}{
		{"missing-line.unikraft", "unikraft", 0, "missing the benchmark line VFS,/rnd4k,iterations:1000,avg:<int>.<frac>"},
		{"cut-off.linux", "linux", 10, `malformed benchmark line "VFS,/rnd4k,iterations:1000,avg:"`},
		{"duplicate.linux", "linux", 10, "duplicate benchmark line VFS,<n/a>,iterations:1000,avg:… (first on line 8)"},
		{"iterations.linux", "linux", 8, "100 iterations, expected 1000"},
		{"file-missing.linux", "linux", 12, "VFS,/rnd4k,iterations:1000,avg: was measured on a failing open(): line 11 says \"1000 of 1000 descriptors were not opened\""},
		{"shfs-file-missing.unikraft", "unikraft", 16, "SHFS,/rnd4k,iterations:1000,avg: was measured on a failing open()"},
		{"unexpected.linux", "linux", 8, `unexpected benchmark line "SHFS,<n/a>,iterations:1000,avg:291.0"`},
	} {
		path := filepath.Join("testdata", "console", "bad", tc.file)
		_, err := parseFixture(t, path, tc.console)
		wantParseError(t, err, path, tc.line, tc.want)
	}
}

func TestTerminalCleanup(t *testing.T) {
	for in, want := range map[string]string{
		"\x1b[1;32mVFS,<n/a>\x1b[0m": "VFS,<n/a>",
		"\x1b]0;title\x07VFS":        "VFS",
		"\x1b=VFS":                   "VFS",
		"garbage\rVFS,<n/a>,x":       "VFS,<n/a>,x",
		"VFX\bS,":                    "VFS,",
	} {
		if got := overstrike(escapes.ReplaceAllString(in, "")); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

// bootLog is a minimal console log of one boot of the VM console with the given averages.
func bootLog(console string, cycles map[Probe]string) string {
	var b strings.Builder
	b.WriteString("booting " + console + "\n")
	for _, p := range Probes(console) {
		b.WriteString(p.Line() + cycles[p] + "\n\n")
	}
	return b.String()
}

// paperBase is a base value per series and case ("<series>/<case>") for writeBoots.
var paperBase = map[string]int{
	"unikraft_shfs/file-exists": 300, "unikraft_shfs/no-file": 290,
	"unikraft_vfs/file-exists": 1600, "unikraft_vfs/no-file": 2200,
	"linux_nomitig-vfs/file-exists": 1950, "linux_nomitig-vfs/no-file": 3250,
	"linux_vfs/file-exists": 2600, "linux_vfs/no-file": 4000,
}

// writeBoots writes n boots of every VM into dir/raw; in boot i each series and case
// prints base+i cycles, with a fraction that parse.sh ignored.
func writeBoots(t *testing.T, dir string, n int, base map[string]int) {
	t.Helper()
	raw := filepath.Join(dir, RawDir)
	if err := os.MkdirAll(raw, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, console := range Consoles() {
		for i := 1; i <= n; i++ {
			vals := map[Probe]string{}
			for _, s := range AllSeries {
				if s.Console == console {
					for _, c := range Cases {
						vals[Probe{s.Bench, c}] = strconv.Itoa(base[s.ID()+"/"+string(c)]+i) + ".999"
					}
				}
			}
			if err := os.WriteFile(filepath.Join(raw, console+"."+strconv.Itoa(i)), []byte(bootLog(console, vals)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestParseRaw(t *testing.T) {
	dir := t.TempDir()
	writeBoots(t, dir, 12, paperBase)
	// Other files in raw/ (build logs, typescripts) are not console logs.
	os.WriteFile(filepath.Join(dir, RawDir, "unikraft.1.typescript"), []byte("junk"), 0o644)
	os.WriteFile(filepath.Join(dir, RawDir, "build.log"), []byte("junk"), 0o644)
	boots, err := ParseRaw(filepath.Join(dir, RawDir))
	if err != nil {
		t.Fatal(err)
	}
	shfs := boots["unikraft_shfs"][NoFile]
	if len(shfs) != 12 || shfs[0] != 291 || shfs[11] != 302 {
		t.Errorf("SHFS no-file: %v (boots in numeric order 1..12, integer parts)", shfs)
	}
	if got := boots["linux_nomitig-vfs"][FileExists]; len(got) != 12 || got[1] != 1952 {
		t.Errorf("Linux no-mitig file-exists: %v", got)
	}
	if len(boots) != len(AllSeries) {
		t.Errorf("series: %v", boots)
	}
}

func TestParseRawNeedsEveryVM(t *testing.T) {
	dir := t.TempDir()
	writeBoots(t, dir, 2, paperBase)
	os.Remove(filepath.Join(dir, RawDir, "linux.1"))
	os.Remove(filepath.Join(dir, RawDir, "linux.2"))
	_, err := ParseRaw(filepath.Join(dir, RawDir))
	if err == nil || !strings.Contains(err.Error(), "no console log of the linux VM") {
		t.Errorf("got %v", err)
	}
	empty := t.TempDir()
	if boots, err := ParseRaw(empty); boots != nil || err != nil {
		t.Errorf("no logs at all: %v, %v (want no per-boot data)", boots, err)
	}
}

func TestParseRawNamesTheBadLog(t *testing.T) {
	dir := t.TempDir()
	writeBoots(t, dir, 3, paperBase)
	bad := filepath.Join(dir, RawDir, "linux-nomitig.2")
	os.WriteFile(bad, []byte("VFS,<n/a>,iterations:1000,avg:1.0\n"), 0o644)
	_, err := ParseRaw(filepath.Join(dir, RawDir))
	wantParseError(t, err, bad, 0, "missing the benchmark line VFS,/rnd4k")
}

// Boot numbers are read as numbers: a log named linux.01 is boot 1 and is read from its
// own file; linux.1 next to it is the same boot twice, which is an error naming both.
func TestParseRawZeroPaddedBootNumbers(t *testing.T) {
	dir := t.TempDir()
	writeBoots(t, dir, 2, paperBase)
	raw := filepath.Join(dir, RawDir)
	want, err := ParseRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(raw, "linux.1"), filepath.Join(raw, "linux.01")); err != nil {
		t.Fatal(err)
	}
	got, err := ParseRaw(raw)
	if err != nil {
		t.Fatalf("linux.01: %v", err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("linux.01 read as %v, want %v", got["linux_vfs"], want["linux_vfs"])
	}
	b, _ := os.ReadFile(filepath.Join(raw, "linux.01"))
	os.WriteFile(filepath.Join(raw, "linux.1"), b, 0o644)
	if _, err := ParseRaw(raw); err == nil || !strings.Contains(err.Error(), "linux.01") || !strings.Contains(err.Error(), "two console logs of boot 1") {
		t.Errorf("linux.1 and linux.01: %v", err)
	}
}
