package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	fig14 "github.com/unikraft-eurosys21/artifact/experiments/fig_14"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

// The five images come in the paper's run order (benchmark.sh), one per allocator of the
// figure, each from the paper's configuration of that allocator.
func TestImagesAreThePapersFiveInItsRunOrder(t *testing.T) {
	var got []string
	for _, im := range Images {
		got = append(got, im.Alloc)
		if _, ok := fig14.AllocatorByName(im.Alloc); !ok {
			t.Errorf("%s is not an allocator of the figure", im.Alloc)
		}
		cfg, err := im.ConfigLines()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`CONFIG_UK_NAME="` + ImageName + `"`, "CONFIG_LIBUKDEBUG_TRACEPOINTS=y", "CONFIG_DEBUG_SYMBOLS_LVL3=y", "CONFIG_KVM_MAX_IRQ_HANDLER_ENTRIES=8"} {
			if !slices.Contains(cfg, want) {
				t.Errorf("%s: the configuration has no %s", im.Alloc, want)
			}
		}
		if slices.ContainsFunc(cfg, func(l string) bool {
			return strings.HasPrefix(l, "CONFIG_UK_BASE=") || strings.HasPrefix(l, "CONFIG_UK_APP=")
		}) {
			t.Errorf("%s: the paper's machine-specific lines were kept", im.Alloc)
		}
		boot := map[string]string{"tinyalloc": "TINYALLOC", "tlsf": "TLSF", "buddy": "BBUDDY", "mimalloc": "MIMALLOC", "region": "REGION"}[im.Alloc]
		if !slices.Contains(cfg, "CONFIG_LIBUKBOOT_INIT"+boot+"=y") {
			t.Errorf("%s: the configuration does not select its boot allocator", im.Alloc)
		}
	}
	if want := []string{"tinyalloc", "tlsf", "buddy", "mimalloc", "region"}; !slices.Equal(got, want) {
		t.Errorf("images %v, want the paper's run order %v", got, want)
	}
}

// The steps are the paper's, in its Dockerfile's order: the cpio series, registerallocs,
// the statically-alloc-irqs change (required: tracepoints.patch moves ukplat_time_init()
// before any allocator exists), tracepoints, then its edits of lib-tinyalloc and lib-lwip's
// patchwork patch (its merged form 3c85bd46, required) — the same list of core steps as
// Figure 10's paper guests.
func TestStepsAreThePapersInItsOrder(t *testing.T) {
	var got []string
	for _, st := range NGINX.Steps {
		switch {
		case st.Path != "":
			got = append(got, st.Kind+" "+filepath.Base(st.Path))
		case st.Kind == unikraft.RecipeStaticIRQs:
			got = append(got, st.Kind)
		default:
			got = append(got, st.Kind+" "+st.Tree+" "+st.Source+st.File)
		}
	}
	want := []string{
		"patch -p1 Minios-devel-1-5-plat-linuxu-Add-fstat-and-open-host-system-calls.diff",
		"patch -p1 Minios-devel-2-5-plat-linuxu-Add-initrd-memory-region.diff",
		"patch -p1 Minios-devel-3-5-lib-cpio-Create-empty-CPIO-extraction-library.diff",
		"patch -p1 Minios-devel-4-5-lib-cpio-Add-CPIO-extraction-functionality.diff",
		"patch -p1 Minios-devel-5-5-lib-vfscore-Add-support-to-mount-initramfs-to-root.diff",
		"git apply registerallocs.patch",
		"statically-alloc-irqs",
		"git apply tracepoints.patch",
		"replace lib:lib-tinyalloc glue.c",
		"replace lib:lib-tinyalloc glue.c",
		"commit diff lib:lib-lwip lib-lwip-3c85bd46",
	}
	if !slices.Equal(got, want) {
		t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(NGINX.Steps[:8], unikraft.PaperCore()) {
		t.Error("the core steps differ from unikraft.PaperCore, which Figure 10's paper guests use")
	}
	if e := TinyallocEdits; e[0].Old != "#include <uk/tinyalloc.h>" || e[0].New != "#include <uk/config.h>\n#include <uk/tinyalloc.h>" ||
		e[1].Old != "ta_alloc(b, size)" || e[1].New != "ta_alloc(b, ALIGN_UP(size + 32, CONFIG_LIBTINYALLOC_ALIGNMENT))" {
		t.Errorf("the tinyalloc edits are not the paper's sed commands: %+v", e)
	}
	// The tinyalloc edits are steps of the tinyalloc image only: the others lack the library.
	if n := len(NGINX.StepsOf(Images[1])); n != len(NGINX.Steps)-2 || Images[1].Alloc != "tlsf" {
		t.Errorf("the tlsf image has %d steps, want all but the two tinyalloc edits", n)
	}
}

// Every image has the common libraries and only its own allocator library, in the order of
// the paper's LIBS: Unikraft's fetch rules register every library in L=, so an allocator
// library in all five would make all five need its archive.
func TestOnlyItsOwnImageHasAnAllocatorLibrary(t *testing.T) {
	want := map[string][]string{
		"tinyalloc": {"lib-pthread-embedded", "lib-newlib", "lib-lwip", "lib-nginx", "lib-tinyalloc"},
		"tlsf":      {"lib-pthread-embedded", "lib-newlib", "lib-lwip", "lib-tlsf", "lib-nginx"},
		"buddy":     {"lib-pthread-embedded", "lib-newlib", "lib-lwip", "lib-nginx"},
		"mimalloc":  {"lib-pthread-embedded", "lib-newlib", "lib-lwip", "lib-nginx", "lib-mimalloc"},
		"region":    {"lib-pthread-embedded", "lib-newlib", "lib-lwip", "lib-nginx"},
	}
	for _, im := range Images {
		if got := NGINX.LibsOf(im); !slices.Equal(got, want[im.Alloc]) {
			t.Errorf("%s: libraries %v, want %v", im.Alloc, got, want[im.Alloc])
		}
		cfg, _ := im.ConfigLines()
		for lib, sym := range map[string]string{"lib-tlsf": "CONFIG_LIBTLSF=y", "lib-tinyalloc": "CONFIG_LIBTINYALLOC=y", "lib-mimalloc": "CONFIG_LIBMIMALLOC=y"} {
			if enabled, has := slices.Contains(cfg, sym), slices.Contains(NGINX.LibsOf(im), lib); enabled != has {
				t.Errorf("%s: %s enabled %v, library in the image %v", im.Alloc, sym, enabled, has)
			}
		}
	}
	if tlsf := NGINX.PlacedOf(Images[1]); !slices.Contains(tlsf, "tlsf") || slices.Contains(NGINX.PlacedOf(Images[2]), "tlsf") {
		t.Errorf("the TLSF archive: tlsf image %v, buddy image %v", tlsf, NGINX.PlacedOf(Images[2]))
	}
}

// Every library and archive the images need is pinned in containers/sources.json, and each
// archive is placed where its library's build looks for it.
func TestLibrariesAndArchivesArePinned(t *testing.T) {
	m, err := sources.Load(filepath.Join("..", "..", "..", sources.ManifestPath))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range NGINX.Sources() {
		s, ok := m.Source(n)
		if !ok {
			t.Errorf("containers/sources.json has no %s", n)
			continue
		}
		placed := (s.Place != nil && s.Place.Path != "") || (s.Archive != nil && s.Archive.Path != "")
		if (slices.Contains(NGINX.Placed, n) || slices.ContainsFunc(Images, func(im Image) bool { return im.Archive == n })) && !placed {
			t.Errorf("%s has no place in a build directory", n)
		}
	}
	if !bytes.Contains(NGINX.App["Makefile.uk"], []byte(NGINXWarnings)) {
		t.Errorf("the application does not keep gcc 11's warnings in lib-nginx from being errors:\n%s", NGINX.App["Makefile.uk"])
	}
	if NGINX.Kernel != "app-nginx-boottime_kvm-x86_64" || NGINX.Debug != NGINX.Kernel+".dbg" {
		t.Errorf("kernel %s, debug image %s", NGINX.Kernel, NGINX.Debug)
	}
}

func TestCleanRemovesOnlyTheImages(t *testing.T) {
	images := t.TempDir()
	os.MkdirAll(filepath.Join(Dir(images), "fig14-buddy-abc"), 0o755)
	os.MkdirAll(filepath.Join(images, "fig_10"), 0o755)
	var out bytes.Buffer
	if err := Clean(images, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(Dir(images)); !os.IsNotExist(err) {
		t.Error("the images are still there")
	}
	if _, err := os.Stat(filepath.Join(images, "fig_10")); err != nil {
		t.Error("clean removed another figure's directory")
	}
}

func TestRunNeedsPreparedImages(t *testing.T) {
	_, err := ReadPrepared(t.TempDir(), "fig14-standin-1")
	if err == nil || !strings.Contains(err.Error(), "fig14:prepare") || !strings.Contains(err.Error(), "FIXTURE") {
		t.Errorf("ReadPrepared of an empty cache: %v", err)
	}
}
