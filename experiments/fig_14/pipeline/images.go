package pipeline

import (
	"fmt"
	"path"
	"slices"

	fig14 "github.com/unikraft-eurosys21/artifact/experiments/fig_14"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

// Image is one NGINX image of Figure 14: the paper's app-nginx-boottime built with one
// allocator's configuration. Everything else is common to the five (Build).
type Image struct {
	Alloc  string // allocator key (fig14.Allocators), e.g. "tinyalloc"
	Config string // the paper's configuration, paper/support-configs/<Config>
}

// Images are the five images in the paper's run order (benchmark.sh: tinyalloc tlsf buddy
// mimalloc region).
var Images = []Image{
	{Alloc: "tinyalloc", Config: "nginx-boottime/tinyalloc.conf"},
	{Alloc: "tlsf", Config: "nginx-boottime/tlsf.conf"},
	{Alloc: "buddy", Config: "nginx-boottime/buddy.conf"},
	{Alloc: "mimalloc", Config: "nginx-boottime/mimalloc.conf"},
	{Alloc: "region", Config: "nginx-boottime/region.conf"},
}

// Build is what every image is built from, as the paper's unikraft-eurosys21 image had it.
type Build struct {
	Core string // source name of the Unikraft tree
	// Libs are the libraries' source names in the order of the paper's app Makefile's LIBS
	// (pthread-embedded:newlib:lwip:tlsf:nginx:tinyalloc:mimalloc, without redis and sqlite,
	// which no NGINX configuration enables). Each configuration enables the ones it uses.
	Libs []string
	// Placed are the archives the libraries would download, placed where they look first.
	Placed []string
	// Steps, in order: the paper's patches of 7fd6797 (shared with Figure 10), then its
	// edits of the libraries.
	Steps []unikraft.SourceStep
	// Optional names the steps whose source may be missing: the image is then built without
	// them, and prepared.json says so (a patchwork download the paper made at build time).
	Optional []string
	App      map[string][]byte
	Kernel   string // the stripped image in the build directory
	Debug    string // the unstripped image gdb and symbol lookup read, kept as an extra output
}

// Source names of the libraries and their archives (containers/sources.json).
const (
	Core          = "unikraft-7fd6797"
	LibTinyalloc  = "lib-tinyalloc"
	LibLwip       = "lib-lwip"
	LwipPatchwork = "patchwork-737737"
)

// ImageName is CONFIG_UK_NAME of the paper's configurations: the kernel is <name>_kvm-x86_64.
const ImageName = "app-nginx-boottime"

// TinyallocEdits are the paper's two sed edits of lib-tinyalloc's glue.c (its Dockerfile,
// "this is a bug in tinyalloc, temporary fix"), as replacements that fail the build when
// their text is not in the pinned tree.
var TinyallocEdits = []unikraft.SourceStep{
	{Tree: unikraft.TreeLib(LibTinyalloc), Kind: unikraft.Replace, File: "glue.c",
		Old: "#include <uk/tinyalloc.h>", New: "#include <uk/config.h>\n#include <uk/tinyalloc.h>",
		Why: "the paper's lib-tinyalloc fix 1/2: include <uk/config.h> before <uk/tinyalloc.h>"},
	{Tree: unikraft.TreeLib(LibTinyalloc), Kind: unikraft.Replace, File: "glue.c",
		Old: "ta_alloc(b, size)", New: "ta_alloc(b, ALIGN_UP(size + 32, CONFIG_LIBTINYALLOC_ALIGNMENT))",
		Why: "the paper's lib-tinyalloc fix 2/2: pad and align every allocation"},
}

// LwipPatch is the paper's patch of lib-lwip (patchwork 737737, `git apply` in lib-lwip).
var LwipPatch = unikraft.SourceStep{Tree: unikraft.TreeLib(LibLwip), Kind: unikraft.GitApply, Source: LwipPatchwork,
	Why: "the paper's lib-lwip patch (patchwork 737737)"}

// NGINX is the common build of the five images.
var NGINX = Build{
	Core:     Core,
	Libs:     []string{"lib-pthread-embedded", "lib-newlib", LibLwip, "lib-tlsf", "lib-nginx", LibTinyalloc, "lib-mimalloc"},
	Placed:   []string{"pthread-embedded", "newlib", "lwip", "tlsf", "nginx", "tinyalloc", "mimalloc"},
	Steps:    slices.Concat(unikraft.PaperCore(), TinyallocEdits, []unikraft.SourceStep{LwipPatch}),
	Optional: []string{LwipPatchwork},
	// The paper's app-nginx: a Makefile.uk registering the application, nothing else to build
	// (nginx's main() comes from lib-nginx).
	App:    map[string][]byte{"Makefile.uk": []byte("$(eval $(call addlib,appnginx))\n")},
	Kernel: ImageName + "_kvm-x86_64",
	Debug:  ImageName + "_kvm-x86_64.dbg",
}

// InitrdFile is the paper's initrd, in paper/ (support/data-unikraft-eurosys21/nginx.cpio).
const InitrdFile = "nginx.cpio"

// Sources are the source names the images need, optional ones included.
func (b Build) Sources() []string {
	out := slices.Concat([]string{b.Core}, b.Libs, b.Placed)
	for _, st := range b.Steps {
		if st.Source != "" && !slices.Contains(out, st.Source) {
			out = append(out, st.Source)
		}
	}
	return out
}

// ConfigLines are the image's CONFIG_ lines: the paper's file without the machine-specific
// lines.
func (im Image) ConfigLines() ([]string, error) {
	f, err := fig14.PaperFiles().Open(path.Join("support-configs", im.Config))
	if err != nil {
		return nil, fmt.Errorf("fig14: the paper's configuration paper/support-configs/%s is missing from the build: %w", im.Config, err)
	}
	defer f.Close()
	return unikraft.ConfigLines(f)
}
