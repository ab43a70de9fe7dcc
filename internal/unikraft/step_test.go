package unikraft

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runSteps runs the step script with the host's bash, patch, git and python3 on a work
// directory laid out as the build's (the container runs the same script on the same layout).
func runSteps(t *testing.T, s Spec, work string) error {
	t.Helper()
	for _, tool := range []string{"bash", "patch", "git", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	script, err := stepScript(s.Steps, work, work)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", "-c", script).CombinedOutput()
	if err != nil {
		return stepFailure(s, string(out), "LOG", work, err)
	}
	return nil
}

// A tree with one C file, written for this test.
const irqC = "#include <stdio.h>\n\nint timer_irq(void)\n{\n\treturn ukplat_time_get_irq();\n}\n"

func workTree(t *testing.T) string {
	work := t.TempDir()
	os.MkdirAll(filepath.Join(work, coreDir, "plat"), 0o755)
	os.MkdirAll(filepath.Join(work, appDir), 0o755)
	os.WriteFile(filepath.Join(work, coreDir, "plat", "irq.c"), []byte(irqC), 0o644)
	os.WriteFile(filepath.Join(work, appDir, "main.c"), []byte("int main(void)\n{\n\treturn 0;\n}\n"), 0o644)
	return work
}

const includePatch = `--- a/plat/irq.c
+++ b/plat/irq.c
@@ -1,3 +1,4 @@
 #include <stdio.h>
+#include <uk/plat/time.h>
 
 int timer_irq(void)
`

func TestStepsApplyInOrder(t *testing.T) {
	work := workTree(t)
	s := Spec{Name: "t", Core: Tree{Name: "core", ID: "c0"}, Steps: []Step{
		PatchStep(TreeCore, PatchP1, "include.patch", []byte(includePatch), "as the paper"),
		{Tree: TreeCore, Kind: Replace, Name: "no such function", File: "plat/irq.c", Old: "ukplat_time_get_irq()", New: "0"},
		PatchStep(TreeApp, GitApply, "marker.patch", []byte("--- a/main.c\n+++ b/main.c\n@@ -1,3 +1,4 @@\n int main(void)\n {\n+\tmark();\n \treturn 0;\n"), ""),
		{Tree: TreeApp, Kind: Append, Name: "extra", File: "main.c", New: "/* end */\n"},
	}}
	if err := runSteps(t, s, work); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(work, coreDir, "plat", "irq.c"))
	if want := "#include <stdio.h>\n#include <uk/plat/time.h>\n\nint timer_irq(void)\n{\n\treturn 0;\n}\n"; string(got) != want {
		t.Errorf("irq.c:\n%s\nwant:\n%s", got, want)
	}
	app, _ := os.ReadFile(filepath.Join(work, appDir, "main.c"))
	if string(app) != "int main(void)\n{\n\tmark();\n\treturn 0;\n}\n/* end */\n" {
		t.Errorf("main.c:\n%s", app)
	}
}

func TestAPatchThatDoesNotApplyStopsTheBuildNamingPatchAndFile(t *testing.T) {
	// The line the hunk replaces is not in the file (no fuzz helps).
	bad := "--- a/plat/irq.c\n+++ b/plat/irq.c\n@@ -4,3 +4,3 @@\n {\n-\treturn 8;\n+\treturn 0;\n }\n"
	for _, kind := range []string{PatchP1, GitApply, GitApplyIgnoreWhitespace} {
		work := workTree(t)
		s := Spec{Name: "t", Core: Tree{Name: "core", ID: "c0"}, Steps: []Step{
			PatchStep(TreeCore, kind, "eurosys21-artifacts@d88853d5:wrong.patch", []byte(bad), "test"),
			{Tree: TreeCore, Kind: Replace, Name: "never reached", File: "plat/irq.c", Old: "ukplat_time_get_irq()", New: "0"},
		}}
		err := runSteps(t, s, work)
		if err == nil {
			t.Fatalf("%s: a patch with wrong context applied", kind)
		}
		for _, want := range []string{"step 1 of 2", kind + " of eurosys21-artifacts@d88853d5:wrong.patch", "does not apply to plat/irq.c", "core at c0"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error does not say %q:\n%v", kind, want, err)
			}
		}
		if got, _ := os.ReadFile(filepath.Join(work, coreDir, "plat", "irq.c")); string(got) != irqC {
			t.Errorf("%s: a later step ran after the failure", kind)
		}
	}
	// A patch of a file the tree does not have.
	work := workTree(t)
	missing := strings.ReplaceAll(includePatch, "plat/irq.c", "plat/kvm/irq.c")
	for _, kind := range []string{PatchP1, GitApply} {
		err := runSteps(t, Spec{Name: "t", Core: Tree{Name: "core", ID: "c0"}, Steps: []Step{PatchStep(TreeCore, kind, "moved.patch", []byte(missing), "")}}, work)
		if err == nil || !strings.Contains(err.Error(), "does not apply to plat/kvm/irq.c") {
			t.Errorf("%s of a missing file: %v", kind, err)
		}
	}
}

func TestRecipeStepsFailLoudlyWhenTheirTextIsMissing(t *testing.T) {
	work := workTree(t)
	for _, st := range []Step{
		{Tree: TreeCore, Kind: Replace, Name: "timer irq", File: "plat/irq.c", Old: "ukplat_time_get_irq(void)", New: "0"},
		{Tree: TreeCore, Kind: Replace, Name: "timer irq", File: "plat/kvm/irq.c", Old: "x", New: "0"},
		{Tree: TreeApp, Kind: Append, Name: "solo5", File: "Makefile.uk", New: "x\n"},
	} {
		err := runSteps(t, Spec{Name: "t", Core: Tree{Name: "core", ID: "c0"}, Steps: []Step{st}}, work)
		if err == nil || !strings.Contains(err.Error(), "does not apply to "+st.File) || !strings.Contains(err.Error(), st.Kind+" of timer irq") && st.Kind == Replace {
			t.Errorf("%s %s: %v", st.Kind, st.File, err)
		}
	}
}

func TestStepsEnterTheHash(t *testing.T) {
	s := spec(t, "/tree")
	h := s.Hash("tc")
	a := PatchStep(TreeCore, GitApply, "a.patch", []byte(includePatch), "")
	s.Steps = []Step{a}
	withA := s.Hash("tc")
	s.Steps = []Step{PatchStep(TreeCore, GitApply, "a.patch", []byte(includePatch+" \n"), "")}
	if withA == h || s.Hash("tc") == withA {
		t.Error("a step or its patch text does not change the hash")
	}
	s.Steps = []Step{{Tree: TreeCore, Kind: Replace, Name: "r", File: "f", Old: "a", New: "0"}}
	r0 := s.Hash("tc")
	s.Steps[0].New = "1"
	if s.Hash("tc") == r0 {
		t.Error("the replacement text does not change the hash")
	}
}

func TestStepsAreChecked(t *testing.T) {
	for what, st := range map[string]Step{
		"tree":     {Tree: "libs", Kind: Replace, File: "f", Old: "a"},
		"kind":     {Tree: TreeCore, Kind: "sed", File: "f", Old: "a"},
		"empty":    {Tree: TreeCore, Kind: Replace, File: "f"},
		"path":     {Tree: TreeCore, Kind: Replace, File: "../f", Old: "a"},
		"tampered": {Tree: TreeCore, Kind: GitApply, Patch: []byte("x"), PatchSHA256: "00"},
		"no lib":   {Tree: TreeLib("lib-other"), Kind: Replace, File: "f", Old: "a"},
	} {
		if err := st.check([]Tree{{Name: "lib-tinyalloc"}}); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
}

// A library of the image is a tree of its own: a replacement in lib-tinyalloc's glue.c (as the
// paper's sed) changes that library's copy, and a text that is not there names the library.
func TestStepsEditALibrary(t *testing.T) {
	work := workTree(t)
	glue := filepath.Join(work, libsDir, "lib-tinyalloc", "glue.c")
	os.MkdirAll(filepath.Dir(glue), 0o755)
	os.WriteFile(glue, []byte("#include <uk/tinyalloc.h>\nvoid *f(void *b, int size) { return ta_alloc(b, size); }\n"), 0o644)
	lib := Tree{Name: "lib-tinyalloc", ID: "49f1efcc"}
	s := Spec{Name: "t", Core: Tree{Name: "core", ID: "c0"}, Libs: []Tree{lib}, Steps: []Step{
		{Tree: TreeLib(lib.Name), Kind: Replace, Name: "config.h", File: "glue.c", Old: "#include <uk/tinyalloc.h>", New: "#include <uk/config.h>\n#include <uk/tinyalloc.h>"},
	}}
	if err := s.Steps[0].check(s.Libs); err != nil {
		t.Fatal(err)
	}
	if err := runSteps(t, s, work); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(glue); !strings.HasPrefix(string(b), "#include <uk/config.h>\n#include <uk/tinyalloc.h>\n") {
		t.Errorf("glue.c after the step:\n%s", b)
	}
	s.Steps[0] = Step{Tree: TreeLib(lib.Name), Kind: Replace, Name: "align", File: "glue.c", Old: "ta_alloc(b, size + 1)", New: "x"}
	err := runSteps(t, s, work)
	if err == nil || !strings.Contains(err.Error(), "the library lib-tinyalloc at 49f1efcc") || !strings.Contains(err.Error(), "glue.c") {
		t.Errorf("a missing text: %v", err)
	}
}

// The steps log names each step's tree and what it applies (a library's step is not
// Unikraft's), and a failure is still traced to the step by its index.
func TestStepLogHeadersNameTheTree(t *testing.T) {
	script, err := stepScript([]Step{
		PatchStep(TreeCore, GitApply, "tracepoints.patch", []byte("x"), ""),
		{Tree: TreeLib("lib-tinyalloc"), Kind: Replace, Name: "the paper's fix", File: "glue.c", Old: "a", New: "b"},
	}, t.TempDir(), "/work")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"echo '### step 0 of 2, unikraft: git apply tracepoints.patch'",
		`echo '### step 1 of 2, lib-tinyalloc: replace glue.c: the paper'\''s fix'`,
	} {
		if !strings.Contains(script, want) {
			t.Errorf("the script has no %s:\n%s", want, script)
		}
	}
	if i, out := failedStep("### step 0 of 2, unikraft: x\nok\n### step 1 of 2, lib-tinyalloc: replace glue.c\nerror\n"); i != 1 || out != "error\n" {
		t.Errorf("failedStep = %d, %q", i, out)
	}
}
