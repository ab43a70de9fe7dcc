package settings

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	state := t.TempDir()
	s, err := Parse(env(map[string]string{"STATE_DIR": state, "REPS": " "}))
	if err != nil {
		t.Fatal(err)
	}
	if s.From != "latest" || s.ResultsDir != "results" || s.PlotsDir != "plots" || s.Strict || s.GCC != "11" || s.Accel != "kvm" ||
		s.Reps != 26 || s.Warmup != 1 || s.FCGuest != "paper" || s.VMMs != nil || s.Observers != nil || s.Jobs != runtime.NumCPU() {
		t.Errorf("defaults: %+v", s)
	}
	for dir, sub := range map[string]string{s.SourcesCache: "sources", s.ImagesCache: "images", s.Fig08BuildCache: "fig08", s.LogDir(): "logs"} {
		if dir != filepath.Join(state, sub) {
			t.Errorf("%s is not under STATE_DIR (%s)", dir, state)
		}
	}
	values, from := s.Record()
	if len(values) != len(Vars) || values["REPS"] != "26" || from["REPS"] != Default || from["STATE_DIR"] != Environment || values["STRICT"] != "" {
		t.Errorf("record: %v %v", values, from)
	}
}

func TestValuesFromTheEnvironment(t *testing.T) {
	s, err := Parse(env(map[string]string{"REPS": "3", "WARMUP": "0", "ACCEL": "tcg", "STRICT": "1", "VMMS": "qemu, solo5",
		"OBSERVERS": "ftrace,debugcon", "IMAGES_CACHE": "rel/images", "FC_GUEST": "0.13", "JOBS": "2"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Reps != 3 || s.Warmup != 0 || s.Accel != "tcg" || !s.Strict || strings.Join(s.VMMs, "|") != "qemu|solo5" ||
		len(s.Observers) != 2 || !filepath.IsAbs(s.ImagesCache) || s.FCGuest != "0.13" || s.Jobs != 2 {
		t.Errorf("%+v", s)
	}
	values, from := s.Record()
	if values["VMMS"] != "qemu,solo5" || values["STRICT"] != "1" || from["VMMS"] != Environment || from["GCC"] != Default {
		t.Errorf("record: %v %v", values, from)
	}
}

// A bad value is refused with the variable, the value and what to write instead.
func TestBadValuesSayWhatToDo(t *testing.T) {
	for k, v := range map[string]string{
		"REPS":      "abc",
		"WARMUP":    "-1",
		"ACCEL":     "xyz",
		"STRICT":    "maybe",
		"GCC":       "9",
		"OBSERVERS": "ftrace,perf",
		"FC_GUEST":  "0.4",
		"JOBS":      "0",
	} {
		want := map[string]string{"REPS": "expected an integer ≥ 1", "WARMUP": "expected an integer ≥ 0",
			"ACCEL": "expected kvm (the default) or tcg", "STRICT": "use STRICT=1", "GCC": "set GCC=11 or GCC=12",
			"OBSERVERS": "expected ftrace, debugcon", "FC_GUEST": "expected paper", "JOBS": "at least 1"}[k]
		_, err := Parse(env(map[string]string{k: v}))
		if err == nil || !strings.Contains(err.Error(), k+"=\""+v+"\"") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
}

func TestEveryVariableIsDescribed(t *testing.T) {
	seen := map[string]bool{}
	var s Settings
	for _, d := range Vars {
		if seen[d.Name] || d.Help == "" || d.Default != "" && d.Unset != "" || d.field(&s) == nil {
			t.Errorf("%s: duplicate, without meaning, or with two defaults", d.Name)
		}
		seen[d.Name] = true
		if err := d.set(&s, d.Default); err != nil {
			t.Errorf("%s: its default %q is refused: %v", d.Name, d.Default, err)
		}
	}
}

// Every field of Settings but Sources is one variable's.
func TestEveryFieldIsAVariable(t *testing.T) {
	var s Settings
	v := reflect.ValueOf(&s).Elem()
	owner := map[uintptr]string{}
	for _, d := range Vars {
		owner[reflect.ValueOf(d.field(&s)).Pointer()] = d.Name
	}
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if _, ok := owner[v.Field(i).Addr().Pointer()]; !ok && name != "Sources" {
			t.Errorf("Settings.%s is no variable's: add it to Vars", name)
		}
	}
	if len(owner) != v.NumField()-1 {
		t.Errorf("%d variables for %d fields", len(owner), v.NumField()-1)
	}
}

// A set of per-figure mirrors (experiments/cmd/mkfixtures) gives each figure its own; a
// plain mirror serves every figure.
func TestForFigurePicksTheFiguresOwnMirror(t *testing.T) {
	set := t.TempDir()
	if err := os.Mkdir(filepath.Join(set, "fig_10"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := Settings{SourcesMirror: set}
	if got := s.ForFigure("fig_10").SourcesMirror; got != filepath.Join(set, "fig_10") {
		t.Fatalf("fig_10: %s", got)
	}
	if got := s.ForFigure("fig_22").SourcesMirror; got != set {
		t.Fatalf("a figure without a folder of its own keeps the mirror: %s", got)
	}
	if got := (Settings{}).ForFigure("fig_10").SourcesMirror; got != "" {
		t.Fatalf("no mirror: %s", got)
	}
}
