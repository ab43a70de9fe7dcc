package unikraft

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitRepo is a Differ over one local repository (sources.Set does the same over the cache).
type gitRepo string

func (r gitRepo) git(args ...string) ([]byte, error) {
	cmd := exec.Command("git", append([]string{"-C", string(r)}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t.invalid", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@t.invalid", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	return cmd.Output()
}

func (r gitRepo) Diff(_ context.Context, _, from, to string, paths ...string) ([]byte, error) {
	return r.git(append([]string{"diff", from, to, "--"}, paths...)...)
}

func (r gitRepo) Parent(_ context.Context, _, commit string) (string, error) {
	out, err := r.git("rev-parse", commit+"^")
	return strings.TrimSpace(string(out)), err
}

// history commits three trees (written for this test, shaped like unikraft's plat/kvm): the
// base, a later parent, and the statically-alloc-irqs commit; it returns their ids.
func history(t *testing.T) (gitRepo, []string) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	r := gitRepo(t.TempDir())
	if _, err := r.git("init", "-q"); err != nil {
		t.Fatal(err)
	}
	base := "#include <stddef.h>\n\nstatic void *handlers[16];\n\nvoid handle(int irq)\n{\n\tif (irq == 0)\n\t\treturn;\n}\n"
	parent := strings.Replace(strings.Replace(base, "<stddef.h>\n", "<stddef.h>\n#include <uk/plat/time.h>\n", 1), "irq == 0", "irq == ukplat_time_get_irq()", 1)
	merged := strings.Replace(parent, "static void *handlers[16];", "static void *handlers[16][CONFIG_KVM_MAX_IRQ_HANDLER_ENTRIES];", 1)
	cfg := "menu \"KVM\"\nendmenu\n\nconfig KVM_PCI\n\tbool\n"
	laterCfg := "config LATER\n\tbool\n" + cfg
	mergedCfg := strings.Replace(laterCfg, "endmenu\n\n", "endmenu\n\nconfig KVM_MAX_IRQ_HANDLER_ENTRIES\n\tint\n\tdefault 8\n\n", 1)
	var ids []string
	for i, files := range []map[string]string{
		{"plat/kvm/irq.c": base, "plat/kvm/Config.uk": cfg, "README": "base\n"},
		{"plat/kvm/irq.c": parent, "plat/kvm/Config.uk": laterCfg, "README": "later\n"},
		{"plat/kvm/irq.c": merged, "plat/kvm/Config.uk": mergedCfg, "README": "later\n"},
	} {
		for name, body := range files {
			os.MkdirAll(filepath.Join(string(r), filepath.Dir(name)), 0o755)
			os.WriteFile(filepath.Join(string(r), name), []byte(body), 0o644)
		}
		if _, err := r.git("add", "-A"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.git("commit", "-qm", "c"+string(rune('0'+i))); err != nil {
			t.Fatal(err)
		}
		out, _ := r.git("rev-parse", "HEAD")
		ids = append(ids, strings.TrimSpace(string(out)))
	}
	return r, ids
}

// stageCore copies the repository's tree at commit into a work directory's core.
func stageCore(t *testing.T, r gitRepo, commit string) string {
	work := t.TempDir()
	core := filepath.Join(work, coreDir)
	os.MkdirAll(core, 0o755)
	out, err := r.git("archive", "--format=tar", commit)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("tar", "-x", "-C", core)
	cmd.Stdin = strings.NewReader(string(out))
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return work
}

func TestStaticIRQsOnTheBaseTree(t *testing.T) {
	r, ids := history(t)
	steps, err := StaticIRQs(context.Background(), r, "unikraft-300c57e5", ids[0], ids[2])
	if err != nil {
		t.Fatal(err)
	}
	work := stageCore(t, r, ids[0])
	if err := runSteps(t, Spec{Name: "t", Core: Tree{Name: "unikraft-7fd6797", ID: ids[0]}, Steps: steps}, work); err != nil {
		t.Fatal(err)
	}
	irq, _ := os.ReadFile(filepath.Join(work, coreDir, "plat", "kvm", "irq.c"))
	cfg, _ := os.ReadFile(filepath.Join(work, coreDir, "plat", "kvm", "Config.uk"))
	readme, _ := os.ReadFile(filepath.Join(work, coreDir, "README"))
	if !strings.Contains(string(irq), "[CONFIG_KVM_MAX_IRQ_HANDLER_ENTRIES]") || !strings.Contains(string(irq), "if (irq == 0)") ||
		strings.Contains(string(irq), "ukplat_time_get_irq") {
		t.Errorf("irq.c:\n%s", irq)
	}
	if !strings.Contains(string(cfg), "config KVM_MAX_IRQ_HANDLER_ENTRIES") || strings.Contains(string(cfg), "LATER") {
		t.Errorf("Config.uk (the commit's hunk only, at an offset):\n%s", cfg)
	}
	if string(readme) != "base\n" {
		t.Error("the recipe took more than plat/kvm/irq.c from the later tree")
	}
}

// On a tree the recipe was not written for, the first step that does not fit stops the
// build naming itself and the file.
func TestStaticIRQsFailsLoudlyOnAnotherTree(t *testing.T) {
	r, ids := history(t)
	steps, err := StaticIRQs(context.Background(), r, "unikraft-300c57e5", ids[0], ids[2])
	if err != nil {
		t.Fatal(err)
	}
	// A tree that already has the later irq.c: the first diff does not apply.
	work := stageCore(t, r, ids[1])
	err = runSteps(t, Spec{Name: "t", Core: Tree{Name: "other", ID: ids[1]}, Steps: steps}, work)
	if err == nil || !strings.Contains(err.Error(), "step 1 of 3") || !strings.Contains(err.Error(), "diff of plat/kvm/irq.c") ||
		!strings.Contains(err.Error(), "does not apply to plat/kvm/irq.c") {
		t.Errorf("err = %v", err)
	}
	// Without the call to replace (the merged commit applied alone), the third step fails.
	work = stageCore(t, r, ids[0])
	err = runSteps(t, Spec{Name: "t", Core: Tree{Name: "unikraft-7fd6797", ID: ids[0]}, Steps: steps[2:]}, work)
	if err == nil || !strings.Contains(err.Error(), "text not found") || !strings.Contains(err.Error(), "plat/kvm/irq.c") {
		t.Errorf("err = %v", err)
	}
	// A commit without a parent in the history.
	if _, err := StaticIRQs(context.Background(), r, "s", ids[0], ids[0]+"^"); err == nil {
		t.Error("a commit without a parent gave steps")
	}
}
