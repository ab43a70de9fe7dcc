package pipeline

import (
	"fmt"
	"path"
	"slices"
	"strings"

	fig14 "github.com/unikraft-eurosys21/artifact/experiments/fig_14"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

// Image is one NGINX image of Figure 14: the paper's app-nginx-boottime built with one
// allocator's configuration. Everything else is common to the five (Build).
type Image struct {
	Alloc  string // allocator key (fig14.Allocators), e.g. "tinyalloc"
	Config string // the paper's configuration, paper/support-configs/<Config>
	// Lib is the allocator library only this image's configuration enables, "" for none, and
	// Archive what it downloads. Unikraft's fetch rules register every library in L=, enabled
	// or not, so a library in every image's L= makes every image need its archive.
	Lib, Archive string
	// LibSymbol is Lib's enabling symbol: the paper's configurations, made with every library
	// in L=, also hold its CONFIG_<LibSymbol>_INCLUDED=y, which the other images drop.
	LibSymbol string
}

// Images are the five images in the paper's run order (benchmark.sh: tinyalloc tlsf buddy
// mimalloc region).
var Images = []Image{
	{Alloc: "tinyalloc", Config: "nginx-boottime/tinyalloc.conf", Lib: LibTinyalloc, Archive: "tinyalloc", LibSymbol: "LIBTINYALLOC"},
	{Alloc: "tlsf", Config: "nginx-boottime/tlsf.conf", Lib: "lib-tlsf", Archive: "tlsf", LibSymbol: "LIBTLSF"},
	{Alloc: "buddy", Config: "nginx-boottime/buddy.conf"},
	{Alloc: "mimalloc", Config: "nginx-boottime/mimalloc.conf", Lib: "lib-mimalloc", Archive: "mimalloc", LibSymbol: "LIBMIMALLOC"},
	{Alloc: "region", Config: "nginx-boottime/region.conf"},
}

// Build is what every image is built from, as the paper's unikraft-eurosys21 image had it.
type Build struct {
	Core string // source name of the Unikraft tree
	// Libs are the libraries' source names every image has, in the order of the paper's app
	// Makefile's LIBS (pthread-embedded:newlib:lwip:tlsf:nginx:tinyalloc:mimalloc, without
	// redis and sqlite, which no NGINX configuration enables) less the allocator libraries,
	// which only their own image has (Image.Lib, placed in LIBS' order by LibsOf).
	Libs []string
	// Placed are the archives the libraries would download, placed where they look first.
	Placed []string
	// Steps, in order: the paper's patches of 7fd6797 (shared with Figure 10), then its
	// edits of the libraries. A step of a library an image does not have is left out of it.
	Steps  []unikraft.SourceStep
	App    map[string][]byte
	Kernel string // the stripped image in the build directory
	Debug  string // the unstripped image gdb and symbol lookup read, kept as an extra output
}

// Source names of the libraries and their archives (containers/sources.json).
const (
	Core         = "unikraft-7fd6797"
	LibTinyalloc = "lib-tinyalloc"
	LibLwip      = "lib-lwip"
	// LwipPools is lib-lwip at 3c85bd46 ("lwip: support for memory pools"), the child of the
	// pinned 0330ef2d: the merged form of the paper's patchwork 737737.
	LwipPools = "lib-lwip-3c85bd46"
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

// LwipPatch is the paper's patch of lib-lwip (patchwork 737737, `git apply` in lib-lwip),
// taken from its merged form: the diff 0330ef2d..3c85bd46, which declares LWIP_POOLS,
// LWIP_NUM_TCPCON and LWIP_NUM_TCPLISTENERS. Required: without them olddefconfig drops the
// paper's CONFIG_LWIP_POOLS=y and lwip runs in heap mode, which changes the lwip-init
// component the figure compares.
var LwipPatch = unikraft.SourceStep{Tree: unikraft.TreeLib(LibLwip), Kind: unikraft.CommitDiff, Source: LwipPools,
	Why: "the paper's lib-lwip patch (patchwork 737737), from its merged form 3c85bd46 (memory pools)"}

// NGINXWarnings are the application's flags for lib-nginx's sources. lib-nginx compiles with
// -Werror; gcc 11 and 12 (the paper used 8.3) warn about newlib's headers there
// (-Wattributes: stdlib.h's conflicting alloc_size; -Warray-parameter: newlib's and uktime's
// differing utimes() declarations), so the two warnings stay warnings. They change no code.
// Per warning: the application's flags come before the library's -Werror.
const NGINXWarnings = "LIBNGINX_CFLAGS-y += -Wno-error=attributes -Wno-error=array-parameter\n"

// NGINX is the common build of the five images.
var NGINX = Build{
	Core:   Core,
	Libs:   []string{"lib-pthread-embedded", "lib-newlib", LibLwip, "lib-nginx"},
	Placed: []string{"pthread-embedded", "newlib", "lwip", "nginx"},
	Steps:  slices.Concat(unikraft.PaperCore(), TinyallocEdits, []unikraft.SourceStep{LwipPatch}),
	// The paper's app-nginx: a Makefile.uk registering the application, nothing else to build
	// (nginx's main() comes from lib-nginx), and the warnings gcc 11 raises in lib-nginx.
	App:    map[string][]byte{"Makefile.uk": []byte("$(eval $(call addlib,appnginx))\n" + NGINXWarnings)},
	Kernel: ImageName + "_kvm-x86_64",
	Debug:  ImageName + "_kvm-x86_64.dbg",
}

// InitrdFile is the paper's initrd, in paper/ (support/data-unikraft-eurosys21/nginx.cpio).
const InitrdFile = "nginx.cpio"

// paperLibs is the order of the paper's LIBS.
var paperLibs = []string{"lib-pthread-embedded", "lib-newlib", LibLwip, "lib-tlsf", "lib-nginx", LibTinyalloc, "lib-mimalloc"}

// LibsOf are image im's libraries in the order of the paper's LIBS: the common ones and its
// allocator library.
func (b Build) LibsOf(im Image) []string {
	libs := slices.Clone(b.Libs)
	if im.Lib != "" {
		libs = append(libs, im.Lib)
	}
	slices.SortStableFunc(libs, func(x, y string) int { return rank(x) - rank(y) })
	return libs
}

func rank(lib string) int {
	if i := slices.Index(paperLibs, lib); i >= 0 {
		return i
	}
	return len(paperLibs)
}

// PlacedOf are the archives image im's libraries download.
func (b Build) PlacedOf(im Image) []string {
	if im.Archive == "" {
		return slices.Clone(b.Placed)
	}
	return append(slices.Clone(b.Placed), im.Archive)
}

// StepsOf are the steps of image im: those of its trees.
func (b Build) StepsOf(im Image) []unikraft.SourceStep {
	libs := b.LibsOf(im)
	return slices.DeleteFunc(slices.Clone(b.Steps), func(st unikraft.SourceStep) bool {
		lib, ok := strings.CutPrefix(st.Tree, unikraft.TreeLib(""))
		return ok && !slices.Contains(libs, lib)
	})
}

// SourcesOf are the source names image im needs.
func (b Build) SourcesOf(im Image) []string {
	out := slices.Concat([]string{b.Core}, b.LibsOf(im), b.PlacedOf(im))
	for _, st := range b.StepsOf(im) {
		if st.Source != "" && !slices.Contains(out, st.Source) {
			out = append(out, st.Source)
		}
	}
	return out
}

// Sources are the source names the five images need.
func (b Build) Sources() []string {
	var out []string
	for _, im := range Images {
		for _, n := range b.SourcesOf(im) {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// LeftOut tells whether a config line olddefconfig dropped from im is the marker of another
// image's allocator library (CONFIG_LIBTLSF_INCLUDED=y in the buddy image): expected, as that
// library is not in im's L=.
func (im Image) LeftOut(dropped string) bool {
	for _, other := range Images {
		if other.LibSymbol != "" && other.Lib != im.Lib && strings.HasPrefix(dropped, "CONFIG_"+other.LibSymbol+"_INCLUDED=") {
			return true
		}
	}
	return false
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
