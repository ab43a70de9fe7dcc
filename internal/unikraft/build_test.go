package unikraft

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDroppedNamesWhatTheFinalConfigDoesNotHold(t *testing.T) {
	final := []byte("# comment\nCONFIG_PLAT_KVM=y\nCONFIG_HZ=100\n# CONFIG_LIBUKDEBUG_TRACEPOINTS is not set\nCONFIG_UK_NAME=\"app\"\n")
	got := Dropped([]string{
		"CONFIG_PLAT_KVM=y",                    // kept
		"CONFIG_UK_NAME=\"app\"",               // kept
		"CONFIG_KVM_MAX_IRQ_HANDLER_ENTRIES=8", // a symbol the tree does not declare
		"CONFIG_HZ=1000",                       // overridden
		"CONFIG_LIBUKDEBUG_TRACEPOINTS=y",      // unset by a dependency
		"CONFIG_OPTIMIZE_LTO=n",                // n and absent agree
	}, final)
	want := []string{
		"CONFIG_KVM_MAX_IRQ_HANDLER_ENTRIES=8 (not in the final configuration)",
		"CONFIG_HZ=1000 (final: CONFIG_HZ=100)",
		"CONFIG_LIBUKDEBUG_TRACEPOINTS=y (final: CONFIG_LIBUKDEBUG_TRACEPOINTS=n)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Dropped =\n%q\nwant\n%q", got, want)
	}
}

func spec(t *testing.T, core string) Spec {
	return Spec{
		Name:   "guest",
		Core:   Tree{Name: "unikraft-test", Dir: core, ID: "0123456789abcdef0123456789abcdef01234567"},
		App:    map[string][]byte{"Makefile.uk": []byte("$(eval $(call addlib,app))\n"), "main.c": []byte("int main(void) { return 0; }\n")},
		Config: []string{"CONFIG_PLAT_KVM=y"},
		Edits:  []Edit{{File: "plat/setup.c", Function: "entry", Statement: OutbStatement(1112, 1, "entry"), Why: "marker 1112"}},
		Kernel: []string{"app_kvm-x86_64"},
	}
}

func TestHashChangesWithEveryInput(t *testing.T) {
	base := spec(t, "/tree")
	h := base.Hash("sha256:toolchain")
	if base.Hash("sha256:toolchain") != h {
		t.Fatal("hash is not deterministic")
	}
	if spec(t, "/elsewhere").Hash("sha256:toolchain") != h {
		t.Error("the hash depends on where the cache is, not on the tree's commit")
	}
	changes := map[string]func(*Spec){
		"core commit": func(s *Spec) { s.Core.ID = strings.Repeat("f", 40) },
		"library":     func(s *Spec) { s.Libs = []Tree{{Name: "plat-solo5", Dir: "/x", ID: "1"}} },
		"app file": func(s *Spec) {
			s.App = map[string][]byte{"Makefile.uk": []byte("x"), "main.c": []byte("int main(void) { return 1; }\n")}
		},
		"config":      func(s *Spec) { s.Config = append(s.Config, "CONFIG_HZ=100") },
		"edit":        func(s *Spec) { s.Edits[0].Statement = OutbStatement(1113, 1, "entry") },
		"archive":     func(s *Spec) { s.Archives = []Placed{{Path: "build/libsolo5/v0.4.1.zip", ID: "ab"}} },
		"environment": func(s *Spec) { s.Env = []string{"PATH=/opt/gcc-12/bin"} },
	}
	for what, change := range changes {
		s := spec(t, "/tree")
		s.Edits = slices.Clone(s.Edits)
		change(&s)
		if s.Hash("sha256:toolchain") == h {
			t.Errorf("changing the %s keeps the hash", what)
		}
	}
	if base.Hash("sha256:other-toolchain") == h {
		t.Error("another toolchain image keeps the hash")
	}
}

func TestBuildStopsBeforeTheContainerWhenTheMarkerHasNoPlace(t *testing.T) {
	core := t.TempDir()
	os.MkdirAll(filepath.Join(core, "plat"), 0o755)
	os.WriteFile(filepath.Join(core, "plat", "setup.c"), []byte("void entry_renamed(void) {\n}\n"), 0o444)
	b := &Builder{Cache: t.TempDir()} // no Docker client: the build must fail before needing one
	_, err := b.Build(context.Background(), spec(t, core))
	if err == nil || !strings.Contains(err.Error(), "no definition of entry()") || !strings.Contains(err.Error(), "marker 1112") {
		t.Fatalf("err = %v; want the missing entry function named", err)
	}
	if b, _ := os.ReadFile(filepath.Join(core, "plat", "setup.c")); string(b) != "void entry_renamed(void) {\n}\n" {
		t.Error("the source tree itself was edited")
	}
}

func TestSpecIsChecked(t *testing.T) {
	for what, change := range map[string]func(*Spec){
		"name":        func(s *Spec) { s.Name = "../x" },
		"no Makefile": func(s *Spec) { s.App = map[string][]byte{"main.c": nil} },
		"config line": func(s *Spec) { s.Config = []string{"PLAT_KVM=y"} },
		"kernel":      func(s *Spec) { s.Kernel = nil },
		"app path":    func(s *Spec) { s.App["../evil"] = nil },
	} {
		s := spec(t, t.TempDir())
		change(&s)
		// The tree has no plat/setup.c: only the check can fail without mentioning the edit.
		if _, err := (&Builder{Cache: t.TempDir()}).Build(context.Background(), s); err == nil || strings.Contains(err.Error(), "edit ") {
			t.Errorf("%s: %v; want the spec refused", what, err)
		}
	}
}

func TestCopyTreeMakesAWritableCopy(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(src, "a", "b", "f.c"), []byte("x"), 0o444)
	os.Symlink("b/f.c", filepath.Join(src, "a", "link"))
	os.Chmod(filepath.Join(src, "a", "b"), 0o555)
	t.Cleanup(func() { os.Chmod(filepath.Join(src, "a", "b"), 0o755) })
	dst := filepath.Join(t.TempDir(), "copy")
	if err := CopyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "a", "b", "f.c"), []byte("edited"), 0o644); err != nil {
		t.Errorf("copy not writable: %v", err)
	}
	if l, err := os.Readlink(filepath.Join(dst, "a", "link")); err != nil || l != "b/f.c" {
		t.Errorf("symlink: %q, %v", l, err)
	}
	if b, _ := os.ReadFile(filepath.Join(src, "a", "b", "f.c")); string(b) != "x" {
		t.Error("the source changed")
	}
	if err := CopyTree(src, dst); err == nil {
		t.Error("copy onto an existing directory accepted")
	}
}
