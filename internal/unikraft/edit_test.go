package unikraft

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A platform file shaped like the ones the markers go into (written for this test).
const setupC = `#include <x86/cpu.h>

/* _libkvmplat_entry(void *arg) { is mentioned in a comment } */
void _libkvmplat_entry(void *arg);
static const char *name = "_libkvmplat_entry(x) {";
#define CALL_ENTRY(a) _libkvmplat_entry(a) {

static void _libkvmplat_entry2(void *arg __attribute__((unused)))
{
	ukplat_entry_argp(NULL, cmdline, sizeof(cmdline));
}

void _libkvmplat_entry(void *arg)
{
	struct multiboot_info *mi = (struct multiboot_info *)arg;

	_init_cpufeatures();
	if (mi) { _libkvmplat_entry(mi); }
}
`

func TestInsertFirstStatementFindsOnlyTheDefinition(t *testing.T) {
	stmt := OutbStatement(1112, 1, "platform entry")
	out, n, err := InsertFirstStatement([]byte(setupC), "_libkvmplat_entry", stmt)
	if err != nil || n != 1 {
		t.Fatalf("n = %d, err = %v; want one definition", n, err)
	}
	want := strings.Replace(setupC, "void _libkvmplat_entry(void *arg)\n{\n", "void _libkvmplat_entry(void *arg)\n{ "+stmt+"\n", 1)
	if string(out) != want {
		t.Errorf("edited source:\n%s\nwant:\n%s", out, want)
	}
	if strings.Count(string(out), "\n") != strings.Count(setupC, "\n") {
		t.Error("the edit changed the number of lines")
	}
	if !strings.Contains(stmt, `"Nd"((unsigned short)1112)`) || !strings.Contains(stmt, `"a"((unsigned char)1)`) {
		t.Errorf("statement %s does not write 1 to port 1112", stmt)
	}
}

func TestInsertFirstStatementInEveryBranch(t *testing.T) {
	// Two headers sharing one body, then two bodies sharing one closing brace, then a
	// function after both, which must still be seen at depth 0.
	src := "#ifdef A\nvoid entry(int a)\n#else\nvoid entry(long a) __attribute__((noreturn)) /* x */\n#endif\n{\n\tgo();\n}\n" +
		"#ifndef B\nvoid late(void *arg)\n{\n\tone();\n#else\nvoid late(unsigned long mi)\n{\n\ttwo();\n#endif\n\tboth();\n}\n" +
		"int other(void) { return entry(1); }\nvoid entry(char c) { }\n"
	out, n, err := InsertFirstStatement([]byte(src), "entry", "mark();")
	if err != nil || n != 2 {
		t.Fatalf("n = %d, err = %v\n%s", n, err, out)
	}
	if !strings.Contains(string(out), "#endif\n{ mark();\n") || !strings.Contains(string(out), "void entry(char c) { mark(); }") {
		t.Errorf("edited source:\n%s", out)
	}
	out, n, err = InsertFirstStatement([]byte(src), "late", "mark();")
	if err != nil || n != 2 || strings.Count(string(out), "{ mark();\n") != 2 {
		t.Fatalf("n = %d, err = %v\n%s", n, err, out)
	}
}

func TestInsertFirstStatementWithoutDefinition(t *testing.T) {
	out, n, err := InsertFirstStatement([]byte("void entry(void);\nint f(void) { entry(); return 0; }\n"), "entry", "mark();")
	if err != nil || n != 0 || string(out) != "void entry(void);\nint f(void) { entry(); return 0; }\n" {
		t.Errorf("n = %d, err = %v, out = %q; want the source unchanged and 0", n, err, out)
	}
	for _, bad := range []string{"mark()", "a;\nb;"} {
		if _, _, err := InsertFirstStatement([]byte("void entry(void) {}"), "entry", bad); err == nil {
			t.Errorf("statement %q accepted", bad)
		}
	}
	if _, _, err := InsertFirstStatement(nil, "not an identifier", "x;"); err == nil {
		t.Error("bad function name accepted")
	}
}

func TestEditApplyFailsLoudly(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "plat"), 0o755)
	os.WriteFile(filepath.Join(root, "plat", "setup.c"), []byte("void renamed_entry(void *arg)\n{\n}\n"), 0o444)
	e := Edit{File: "plat/setup.c", Function: "_libkvmplat_entry", Statement: "mark();", Why: "boot marker 1112"}
	err := e.Apply(root)
	if err == nil || !strings.Contains(err.Error(), "no definition of _libkvmplat_entry()") || !strings.Contains(err.Error(), "boot marker 1112") {
		t.Fatalf("err = %v; want a loud failure naming the function and the marker", err)
	}
	e.File = "plat/missing.c"
	if err := e.Apply(root); err == nil || !strings.Contains(err.Error(), "plat/missing.c") {
		t.Fatalf("missing file: %v", err)
	}
	e.File, e.Function = "plat/setup.c", "renamed_entry"
	if err := e.Apply(root); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(root, "plat", "setup.c"))
	if string(b) != "void renamed_entry(void *arg)\n{ mark();\n}\n" {
		t.Errorf("edited file: %q", b)
	}
}
