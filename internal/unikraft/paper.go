package unikraft

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/unikraft-eurosys21/artifact/internal/sources"
)

// SourceStep is a build step named by where its text comes from, resolved against the
// fetched sources into Steps: a patch file of a pinned source applied with the paper's tool,
// the statically-alloc-irqs recipe, or a text replacement or addition.
type SourceStep struct {
	Tree string // TreeCore, TreeApp or TreeLib(name)
	Kind string // PatchP1, GitApply, GitApplyIgnoreWhitespace, Replace, Append, RecipeStaticIRQs or CommitDiff
	// Source: patch files: the source holding it; RecipeStaticIRQs: the source of commit
	// 300c57e5; CommitDiff: the source pinned at the commit the tree is brought to.
	Source string
	Path   string // patch files: the path in Source
	File   string // Replace, Append
	Old    string
	New    string
	Why    string
}

// RecipeStaticIRQs is the statically-alloc-irqs change (StaticIRQs) as a SourceStep kind.
const RecipeStaticIRQs = "statically-alloc-irqs"

// CommitDiff is a SourceStep kind: the diff from the tree's pinned commit to the commit of
// Source (a later commit of the same repository), applied with git apply — a patch the paper
// downloaded from patchwork, taken from the upstream commit that merged it.
const CommitDiff = "commit diff"

// Sources of the paper's patches and of the statically-alloc-irqs change.
const (
	ArtifactSource = "eurosys21-artifacts"
	IRQsSource     = "unikraft-300c57e5" // the merged statically-alloc-irqs commit
	// PaperPatchDir is where the artifact keeps its Unikraft patches.
	PaperPatchDir = "support/patches-unikraft-eurosys21/"
)

// PaperCore are the steps the paper's Dockerfile (support/unikraft-eurosys21.dockerfile)
// applied to unikraft 7fd6797 for the trees of Figures 10 and 14, in its order and with its
// tools: the five cpio-series diffs (patch -p1), registerallocs.patch (git apply), the
// statically-alloc-irqs change (here the recipe, see StaticIRQs) and tracepoints.patch (git
// apply), which writes port 1112 first in _libkvmplat_entry() and moves ukplat_time_init()
// there — where registering the timer IRQ needs the static handler table. A fresh slice on
// every call, so a figure can append its own steps.
func PaperCore() []SourceStep {
	return []SourceStep{
		cpio(1, "plat-linuxu-Add-fstat-and-open-host-system-calls"),
		cpio(2, "plat-linuxu-Add-initrd-memory-region"),
		cpio(3, "lib-cpio-Create-empty-CPIO-extraction-library"),
		cpio(4, "lib-cpio-Add-CPIO-extraction-functionality"),
		cpio(5, "lib-vfscore-Add-support-to-mount-initramfs-to-root"),
		{Tree: TreeCore, Kind: GitApply, Source: ArtifactSource, Path: PaperPatchDir + "registerallocs.patch",
			Why: "the paper's allocator options"},
		{Kind: RecipeStaticIRQs, Source: IRQsSource, Why: "the paper's statically-alloc-irqs.patch (KVM_MAX_IRQ_HANDLER_ENTRIES)"},
		{Tree: TreeCore, Kind: GitApply, Source: ArtifactSource, Path: PaperPatchDir + "tracepoints.patch",
			Why: "the paper's boot tracepoints; writes port 1112 first in _libkvmplat_entry()"},
	}
}

func cpio(n int, name string) SourceStep {
	return SourceStep{Tree: TreeCore, Kind: PatchP1, Source: ArtifactSource,
		Path: fmt.Sprintf("%scpio-series/Minios-devel-%d-5-%s.diff", PaperPatchDir, n, name), Why: "the paper's cpio series"}
}

// Resolve turns the step into build steps with the patch texts of the pinned sources of set;
// core is the Unikraft tree the recipe's diffs start from.
func (st SourceStep) Resolve(ctx context.Context, set *sources.Set, core Tree) ([]Step, error) {
	switch st.Kind {
	case RecipeStaticIRQs:
		r, ok := set.Get(st.Source)
		if !ok || r.Commit == "" {
			return nil, fmt.Errorf("%s: source %s is not a fetched git source", st.Kind, st.Source)
		}
		return StaticIRQs(ctx, set, st.Source, core.ID, r.Commit)
	case CommitDiff:
		return st.commitDiff(ctx, set, core)
	case Replace, Append:
		return []Step{{Tree: st.Tree, Kind: st.Kind, Name: st.Why, File: st.File, Old: st.Old, New: st.New, Why: st.Why}}, nil
	}
	r, ok := set.Get(st.Source)
	if !ok {
		return nil, fmt.Errorf("patch %s: source %s is not fetched", st.Path, st.Source)
	}
	var file, name string
	switch {
	case r.Dir != "" && st.Path != "":
		file, name = filepath.Join(r.Dir, filepath.FromSlash(st.Path)), fmt.Sprintf("%s@%.12s:%s", st.Source, r.Commit, st.Path)
	case r.File != "" && st.Path == "":
		// A patch that is an archive source of its own (a patchwork download).
		file, name = r.File, fmt.Sprintf("%s (sha256 %.12s)", st.Source, r.SHA256)
	default:
		return nil, fmt.Errorf("patch %q: source %s is not a fetched git tree holding it, nor a patch file", st.Path, st.Source)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("patch %s of %s at %s: %w", st.Path, st.Source, r.Commit, err)
	}
	return []Step{PatchStep(st.Tree, st.Kind, name, b, st.Why)}, nil
}

// commitDiff resolves a CommitDiff step: the diff of Source's repository from the pinned
// commit of the step's tree (core, or the library's source) to Source's commit.
func (st SourceStep) commitDiff(ctx context.Context, set *sources.Set, core Tree) ([]Step, error) {
	to, ok := set.Get(st.Source)
	if !ok || to.Commit == "" {
		return nil, fmt.Errorf("%s: source %s is not a fetched git source", st.Kind, st.Source)
	}
	base := core.ID
	if lib := libOf(st.Tree); lib != "" {
		from, ok := set.Get(lib)
		if !ok || from.Commit == "" {
			return nil, fmt.Errorf("%s: the library %s is not a fetched git source", st.Kind, lib)
		}
		base = from.Commit
	} else if st.Tree != TreeCore {
		return nil, fmt.Errorf("%s of %s: tree %q has no pinned commit", st.Kind, st.Source, st.Tree)
	}
	diff, err := set.Diff(ctx, st.Source, base, to.Commit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", st.Why, err)
	}
	return []Step{PatchStep(st.Tree, GitApply, fmt.Sprintf("%s: diff %s..%s", st.Source, short(base), short(to.Commit)), diff, st.Why)}, nil
}

// environmentSymbols are lines of a saved .config that describe the machine it was made on,
// not the image: kconfig derives them again.
var environmentSymbols = []string{"CONFIG_UK_FULLVERSION", "CONFIG_UK_CODENAME", "CONFIG_UK_BASE", "CONFIG_UK_APP", "CONFIG_UK_DEFNAME"}

// ConfigLines are the CONFIG_ lines of a saved .config (the paper's configuration files)
// without the lines that describe the machine it was saved on.
func ConfigLines(r io.Reader) ([]string, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, _, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "CONFIG_") || slices.Contains(environmentSymbols, k) {
			continue
		}
		lines = append(lines, line)
	}
	return lines, sc.Err()
}
