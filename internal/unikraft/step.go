package unikraft

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/docker"
)

// Step is one change made to a staged tree before the build, in the order given: a patch
// applied with the tool the paper used, or a text replacement. Patch texts come from pinned
// sources (a file of the artifact repository, the diff of two pinned commits) and are handed
// in as bytes, so nothing of them lives in this repository and their hash enters the image's.
//
// Steps run inside the toolchain container, which has patch, git and python3: the tools are
// the ones whose versions every run records with the toolchain, and the host needs none of
// them. A step that does not apply stops the build with the step's name and the file the
// tool could not patch.
type Step struct {
	Tree string `json:"tree"` // TreeCore, TreeApp or TreeLib(name)
	Kind string `json:"kind"` // PatchP1, GitApply, GitApplyIgnoreWhitespace, Replace, Append
	// Name says where the patch comes from, e.g. "eurosys21-artifacts@d88853d5:support/…/tracepoints.patch".
	Name        string `json:"name"`
	Patch       []byte `json:"-"`
	PatchSHA256 string `json:"patch_sha256,omitempty"`
	File        string `json:"file,omitempty"` // Replace, Append: the file, relative to the tree
	Old         string `json:"old,omitempty"`  // Replace: the text that must be there
	New         string `json:"new,omitempty"`  // Replace: its replacement; Append: the text appended
	Why         string `json:"why,omitempty"`
}

// Trees a step applies to.
const (
	TreeCore = "core" // the copy of Spec.Core
	TreeApp  = "app"  // the application directory
)

// treeLibPrefix starts the tree of a library step: "lib:<source name>".
const treeLibPrefix = "lib:"

// TreeLib is the copy of the library of Spec.Libs with the given (source) name, as a step's
// tree: the paper edited some libraries before building (lib-tinyalloc's glue.c, lib-lwip's
// patchwork patch).
func TreeLib(name string) string { return treeLibPrefix + name }

// libOf is the library name of a TreeLib tree, or "".
func libOf(tree string) string {
	if name, ok := strings.CutPrefix(tree, treeLibPrefix); ok {
		return name
	}
	return ""
}

// Kinds of step.
const (
	PatchP1                  = "patch -p1"
	GitApply                 = "git apply"
	GitApplyIgnoreWhitespace = "git apply --ignore-whitespace"
	Replace                  = "replace"
	Append                   = "append"
)

// PatchStep is a step applying patch text with the tool kind.
func PatchStep(tree, kind, name string, patch []byte, why string) Step {
	sum := sha256.Sum256(patch)
	return Step{Tree: tree, Kind: kind, Name: name, Patch: patch, PatchSHA256: hex.EncodeToString(sum[:]), Why: why}
}

func (st Step) check(libs []Tree) error {
	if lib := libOf(st.Tree); lib != "" {
		if !slices.ContainsFunc(libs, func(l Tree) bool { return l.Name == lib }) {
			return fmt.Errorf("step %q: tree %q: the image has no library %s", st.Name, st.Tree, lib)
		}
	} else if st.Tree != TreeCore && st.Tree != TreeApp {
		return fmt.Errorf("step %q: tree %q: expected %q, %q or %q", st.Name, st.Tree, TreeCore, TreeApp, TreeLib("<library>"))
	}
	switch st.Kind {
	case PatchP1, GitApply, GitApplyIgnoreWhitespace:
		if len(st.Patch) == 0 {
			return fmt.Errorf("step %q: %s of an empty patch", st.Name, st.Kind)
		}
		if sum := sha256.Sum256(st.Patch); hex.EncodeToString(sum[:]) != st.PatchSHA256 {
			return fmt.Errorf("step %q: the patch text does not match its recorded sha256 (make it with PatchStep)", st.Name)
		}
	case Replace, Append:
		if st.File == "" || !isRelPath(st.File) {
			return fmt.Errorf("step %q: file %q: expected a path inside the tree", st.Name, st.File)
		}
		if st.Kind == Replace && st.Old == "" {
			return fmt.Errorf("step %q: replace of an empty text", st.Name)
		}
	default:
		return fmt.Errorf("step %q: unknown kind %q", st.Name, st.Kind)
	}
	return nil
}

func isRelPath(p string) bool {
	return p == path.Clean(p) && !path.IsAbs(p) && p != ".." && !strings.HasPrefix(p, "../")
}

// hashLine is the step's line in the image's content hash.
func (st Step) hashLine() string {
	return fmt.Sprintf("step %s %q %q patch=%s file=%q old=%q new=%q", st.Tree, st.Kind, st.Name, st.PatchSHA256, st.File, st.Old, st.New)
}

// Paths of the step files in the work directory (the container sees them under /work).
const stepsDir = "steps"

// stepMarker starts each step's output in the log, so a failure is traced to its step: the
// step's index, then the tree it changes and what it applies, for the reader of the log.
const stepMarker = "### step "

// stepScript writes the steps' inputs into work/steps and returns the shell script that
// applies them in order, for work seen at root (workMount in the container).
func stepScript(steps []Step, work, root string) (string, error) {
	dir := filepath.Join(work, stepsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "replace.py"), []byte(replacePy), 0o644); err != nil {
		return "", err
	}
	in := func(i int, what string) string {
		return path.Join(root, stepsDir, fmt.Sprintf("%02d.%s", i, what))
	}
	write := func(i int, what string, b []byte) error {
		return os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d.%s", i, what)), b, 0o644)
	}
	var sb strings.Builder
	sb.WriteString("set -e\n")
	for i, st := range steps {
		tree, label := path.Join(root, coreDir), "unikraft"
		if st.Tree == TreeApp {
			tree, label = path.Join(root, appDir), "the application"
		} else if lib := libOf(st.Tree); lib != "" {
			tree, label = path.Join(root, libsDir, lib), lib
		}
		what := st.Name
		if st.File != "" {
			what = st.File + ": " + what
		}
		header := fmt.Sprintf("%s%d of %d, %s: %s %s", stepMarker, i, len(steps), label, st.Kind, what)
		fmt.Fprintf(&sb, "echo %s\ncd %s\n", shellQuote(header), tree)
		switch st.Kind {
		case PatchP1:
			if err := write(i, "patch", st.Patch); err != nil {
				return "", err
			}
			// --batch: never ask; --forward: an already applied hunk is a failure, not a
			// question; no backup files in the tree.
			fmt.Fprintf(&sb, "patch -p1 --batch --forward --no-backup-if-mismatch -i %s\n", in(i, "patch"))
		case GitApply, GitApplyIgnoreWhitespace:
			if err := write(i, "patch", st.Patch); err != nil {
				return "", err
			}
			fmt.Fprintf(&sb, "%s --verbose %s\n", st.Kind, in(i, "patch"))
		case Replace, Append:
			if err := write(i, "old", []byte(st.Old)); err != nil {
				return "", err
			}
			if err := write(i, "new", []byte(st.New)); err != nil {
				return "", err
			}
			fmt.Fprintf(&sb, "python3 %s %s %s %s %s\n", path.Join(root, stepsDir, "replace.py"), st.Kind, st.File, in(i, "old"), in(i, "new"))
		}
	}
	fmt.Fprintf(&sb, "echo '%sdone'\n", stepMarker)
	return sb.String(), nil
}

// shellQuote is s as one single-quoted shell word.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// replacePy replaces every occurrence of a text in a file, or appends a text to a file; it
// fails when the file or the text is not there.
const replacePy = `import sys
kind, name, old, new = sys.argv[1], sys.argv[2], open(sys.argv[3]).read(), open(sys.argv[4]).read()
try:
    text = open(name).read()
except OSError as e:
    sys.exit("%s: %s: %s" % (kind, name, e.strerror))
if kind == "replace":
    n = text.count(old)
    if n == 0:
        sys.exit("replace: %s: text not found: %r" % (name, old))
    text = text.replace(old, new)
    print("replaced %d occurrence(s) in %s" % (n, name))
else:
    text += new
    print("appended to %s" % name)
open(name, "w").write(text)
`

// applySteps applies s.Steps to the staged work directory in the toolchain container.
func (b *Builder) applySteps(ctx context.Context, s Spec, work, logPath string) error {
	if len(s.Steps) == 0 {
		return nil
	}
	script, err := stepScript(s.Steps, work, workMount)
	if err != nil {
		return fmt.Errorf("unikraft: %s: %w", s.Name, err)
	}
	err = b.Docker.Run(ctx, docker.RunSpec{
		Image:   b.Toolchain.Ref,
		Cmd:     []string{"bash", "-c", script},
		WorkDir: workMount,
		Mounts:  []docker.Mount{{Source: work, Target: workMount}},
		LogPath: logPath,
		Timeout: 10 * time.Minute,
		Name:    "patch " + s.Name,
	})
	if err == nil {
		return nil
	}
	log, _ := os.ReadFile(logPath)
	return stepFailure(s, string(log), logPath, work, err)
}

// stepFailure explains a failed run of the step script from its log: which step, which
// patch, which file.
func stepFailure(s Spec, log, logPath, work string, err error) error {
	i, out := failedStep(log)
	if i < 0 || i >= len(s.Steps) {
		return fmt.Errorf("unikraft: %s: applying the patches failed before any step ran (log %s): %w", s.Name, logPath, err)
	}
	st := s.Steps[i]
	files := ""
	if f := failedFiles(out); len(f) > 0 {
		files = " to " + strings.Join(f, ", ")
	} else if st.File != "" {
		files = " to " + st.File
	}
	tree := s.Core.Name + " at " + s.Core.ID
	if st.Tree == TreeApp {
		tree = "the application"
	} else if lib := libOf(st.Tree); lib != "" {
		tree = "the library " + lib
		for _, l := range s.Libs {
			if l.Name == lib {
				tree += " at " + l.ID
			}
		}
	}
	return fmt.Errorf("unikraft: %s: step %d of %d, %s of %s, does not apply%s in %s (%s):\n%s\n(log %s, work directory kept: %s)",
		s.Name, i+1, len(s.Steps), st.Kind, st.Name, files, tree, st.Why, indent(lastLines(out, 15)), logPath, work)
}

// failedStep returns the index of the last step started in the log and that step's output.
func failedStep(log string) (int, string) {
	at := strings.LastIndex(log, stepMarker)
	if at < 0 {
		return -1, ""
	}
	rest := log[at+len(stepMarker):]
	line, out, _ := strings.Cut(rest, "\n")
	var i int
	if _, err := fmt.Sscanf(line, "%d", &i); err != nil {
		return -1, ""
	}
	return i, out
}

var (
	gitFailed   = regexp.MustCompile(`^error: (?:patch failed: )?([^:\s]+)(?::\d+)?(?:: .*)?$`)
	patchFile   = regexp.MustCompile(`^(?:patching|checking) file '?([^']+?)'?$`)
	replaceFail = regexp.MustCompile(`^(?:replace|append): ([^:\s]+): `)
)

// failedFiles names the files a failed patch or replacement could not change, from the tool's
// output: git apply's "error: patch failed: F:N", patch's "patching file F" before "FAILED"
// or "can't find file to patch", the replacement's "replace: F: text not found".
func failedFiles(out string) []string {
	var files []string
	add := func(f string) {
		for _, x := range files {
			if x == f {
				return
			}
		}
		files = append(files, f)
	}
	current, cantFind := "", false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := patchFile.FindStringSubmatch(line); m != nil {
			current = m[1]
			continue
		}
		switch {
		case strings.Contains(line, "FAILED") && current != "":
			add(current)
		case strings.HasPrefix(line, "can't find file to patch"):
			cantFind = true
		case cantFind && (strings.HasPrefix(line, "|--- ") || strings.HasPrefix(line, "|+++ ")):
			// patch shows the headers of the file it cannot find after saying so.
			if f := strings.Fields(line[5:]); len(f) > 0 && f[0] != "/dev/null" {
				add(strings.TrimPrefix(strings.TrimPrefix(f[0], "a/"), "b/"))
				cantFind = false
			}
		default:
			if m := gitFailed.FindStringSubmatch(line); m != nil && !strings.HasPrefix(line, "error: unrecognized") {
				add(m[1])
			} else if m := replaceFail.FindStringSubmatch(line); m != nil {
				add(m[1])
			}
		}
	}
	return files
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }
