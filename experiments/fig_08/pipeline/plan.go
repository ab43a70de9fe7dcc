package pipeline

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	fig08 "github.com/unikraft-eurosys21/artifact/experiments/fig_08"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

// Plan is the plain make build of one image, translated from its kraft.yaml: which pinned
// sources it needs, the application directory to generate, and the .config to write.
type Plan struct {
	Image fig08.Image
	Kraft *Kraft
	// Core is the source (containers/sources.json) of the Unikraft tree.
	Core string
	// Libs are the libraries in kraft.yaml order: L= lists them in this order.
	Libs []PlanLib
	// App holds the generated application directory: relative path → content.
	App map[string][]byte
}

// PlanLib is one library of a plan.
type PlanLib struct {
	Name    string // kraft.yaml name, and the directory name under /src/libs
	Source  string // git source of the library
	KConfig []string
	// Archives are the sources of the upstream archives the library's build would download;
	// they are placed into the build directory beforehand (sources.Set.Place).
	Archives []string
}

// coreSources maps the kraft.yaml unikraft version to its pinned source.
var coreSources = map[string]string{"0.4": "unikraft-0.4"}

// libraries maps each kraft.yaml library to its pinned sources: the library's git source per
// version, and the archives its Makefile.uk fetches (unikraft-build-facts.md, "Libraries that
// download upstream tarballs").
var libraries = map[string]struct {
	Repo     map[string]string
	Archives []string
}{
	"pthread-embedded": {map[string]string{"0.4": "lib-pthread-embedded-0.4"}, []string{"pthread-embedded"}},
	"newlib":           {map[string]string{"0.4": "lib-newlib-0.4"}, []string{"newlib"}},
	"lwip":             {map[string]string{"0.4": "lib-lwip-0.4"}, []string{"lwip"}},
	"openssl":          {map[string]string{"0.4": "lib-openssl-0.4"}, []string{"openssl"}},
	"nginx":            {map[string]string{"0.4": "lib-nginx-0.4"}, []string{"nginx"}},
	"pcre":             {map[string]string{"5f7140e": "lib-pcre"}, []string{"pcre"}},
	"redis":            {map[string]string{"0.4": "lib-redis-0.4"}, []string{"redis"}},
	"sqlite":           {map[string]string{"0.4": "lib-sqlite-0.4"}, []string{"sqlite"}},
}

// GCC10Flags is appended to every application's Makefile.uk: the two fixes Unikraft 0.4 needs
// with gcc >= 10 (unikraft-build-facts.md, "Compilers"), as plain make variables of the
// application, so no upstream file changes. Neither changes an image's size.
const GCC10Flags = `
# Added by the bundle for gcc >= 10 (Unikraft 0.4 predates it; both fixed upstream in 0.5):
# 1. LTO: keep the partial link of each library real code, not LTO bytecode, else the final
#    link misses symbols such as stdio.c.726979cf.
LIBLDFLAGS-$(CONFIG_OPTIMIZE_LTO) += -flinker-output=nolto-rel
LDFLAGS-$(CONFIG_OPTIMIZE_LTO) += -flinker-output=nolto-rel
# 2. Do not turn nolibc's memset loop into a call to memset itself (the image reboots forever).
CFLAGS-y += -ffreestanding -fno-tree-loop-distribute-patterns
`

// helloMain is the helloworld application (the original's configs/helloworld_*/main.c
// printed "Hello world!"; it was not copied, this is ours).
const helloMain = `#include <stdio.h>

int main(int argc __attribute__((unused)), char *argv[] __attribute__((unused)))
{
	printf("Hello world!\n");
	return 0;
}
`

const helloMakefile = `$(eval $(call addlib,apphelloworld))
APPHELLOWORLD_SRCS-y += $(APPHELLOWORLD_BASE)/main.c
`

// NewPlan translates the paper's kraft.yaml of img.
func NewPlan(img fig08.Image) (*Plan, error) {
	k, err := PaperKraft(img)
	if err != nil {
		return nil, err
	}
	return planFor(img, k, fig08.PaperFiles(), "configs/"+img.Key())
}

// planFor translates k; dir (in files) holds the kraft.yaml's directory, for volumes.
func planFor(img fig08.Image, k *Kraft, files fs.FS, dir string) (*Plan, error) {
	p := &Plan{Image: img, Kraft: k, App: map[string][]byte{}}
	var ok bool
	if p.Core, ok = coreSources[k.Unikraft.Version]; !ok {
		return nil, fmt.Errorf("%s:%d: unikraft version %q; this bundle pins only %s", k.File, k.Unikraft.Line, k.Unikraft.Version, keys(coreSources))
	}
	for _, l := range k.Libs {
		known, ok := libraries[l.Name]
		if !ok {
			return nil, fmt.Errorf("%s:%d: library %q is not one the bundle pins for Figure 8 (%s)", k.File, l.Line, l.Name, keys(libraries))
		}
		src, ok := known.Repo[l.Version]
		if !ok {
			return nil, fmt.Errorf("%s:%d: library %s version %q; pinned: %s", k.File, l.Line, l.Name, l.Version, keys(known.Repo))
		}
		p.Libs = append(p.Libs, PlanLib{Name: l.Name, Source: src, KConfig: l.KConfig, Archives: known.Archives})
	}

	mk := GCC10Flags
	if img.App == "helloworld" {
		mk = helloMakefile + GCC10Flags
		p.App["main.c"] = []byte(helloMain)
	}
	p.App["Makefile.uk"] = []byte(mk)
	raw, err := fs.ReadFile(files, dir+"/kraft.yaml")
	if err != nil {
		return nil, err
	}
	p.App["kraft.yaml"] = raw // for the record; the make build does not read it
	for _, v := range k.Volumes {
		src := path.Clean(v.Source)
		if strings.HasPrefix(src, "..") || path.IsAbs(src) {
			return nil, fmt.Errorf("%s: volume %s source %s: expected a directory next to kraft.yaml", k.File, v.Name, v.Source)
		}
		err := fs.WalkDir(files, dir+"/"+src, func(p2 string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(files, p2)
			p.App[strings.TrimPrefix(p2, dir+"/")] = b
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: volume %s: %w", k.File, v.Name, err)
		}
	}
	return p, nil
}

// Sources lists every pinned source the build needs: the core, the libraries and the
// archives they would download.
func (p *Plan) Sources() []string {
	out := []string{p.Core}
	for _, l := range p.Libs {
		out = append(out, l.Source)
		out = append(out, l.Archives...)
	}
	return out
}

// Archives lists the sources placed into the build directory.
func (p *Plan) Archives() []string {
	var out []string
	for _, l := range p.Libs {
		out = append(out, l.Archives...)
	}
	return out
}

// DotConfig is the .config written before `make olddefconfig`, in the order kraft
// configure wrote its defconfig: the unikraft lines, the architecture and platform
// (x86_64, kvm), then per library its lines and the line that enables it (kraft took the
// first symbol of the library's Config.uk; enable maps library name → that symbol), then
// extra, then the image name. When a symbol is set twice the later line wins, as in kconfig;
// only that line is written. What the lines become is Kconfig's to decide (olddefconfig drops
// unknown symbols and selects turn "=n" lines back on): see the final .config of the build.
func (p *Plan) DotConfig(enable map[string]string, extra ...string) ([]string, error) {
	lines := append([]string(nil), p.Kraft.Unikraft.KConfig...)
	lines = append(lines, "CONFIG_ARCH_X86_64=y", "CONFIG_PLAT_KVM=y")
	for _, l := range p.Libs {
		sym, ok := enable[l.Name]
		if !ok || sym == "" {
			return nil, fmt.Errorf("%s: no enabling symbol known for library %s", p.Image.Key(), l.Name)
		}
		lines = append(lines, l.KConfig...)
		lines = append(lines, "CONFIG_"+sym+"=y")
	}
	lines = append(lines, extra...)
	lines = append(lines, fmt.Sprintf("CONFIG_UK_NAME=%q", p.Kraft.Name))
	last := map[string]int{}
	for i, l := range lines {
		last[symbol(l)] = i
	}
	var out []string
	for i, l := range lines {
		if last[symbol(l)] == i {
			out = append(out, l)
		}
	}
	return out, nil
}

func symbol(line string) string { s, _, _ := strings.Cut(line, "="); return s }

// Spec is the plan as a build of the one Unikraft builder, from the fetched sources: the
// trees mounted as fetched (InPlace; the library directories named as in kraft.yaml), the
// .config lines of DotConfig (the enabling symbols read from each library's Config.uk, then
// extra), the archives placed, env the container's environment (the compiler selection).
func (p *Plan) Spec(set *sources.Set, env []string, extra ...string) (unikraft.Spec, error) {
	fail := func(err error) (unikraft.Spec, error) {
		return unikraft.Spec{}, fmt.Errorf("fig08: %s: %w", p.Image.Key(), err)
	}
	core, err := unikraft.TreeOf(set, p.Core)
	if err != nil {
		return fail(err)
	}
	s := unikraft.Spec{Name: p.Image.Key(), Core: core, App: p.App, Kernel: []string{p.Kraft.Name + "_kvm-x86_64"}, Env: env, InPlace: true}
	enable := map[string]string{}
	for _, l := range p.Libs {
		t, err := unikraft.TreeOf(set, l.Source)
		if err != nil {
			return fail(err)
		}
		file := filepath.Join(t.Dir, "Config.uk")
		cfg, err := os.ReadFile(file)
		if err != nil {
			return fail(fmt.Errorf("library %s (%s): %w", l.Name, l.Source, err))
		}
		if enable[l.Name], err = EnableSymbol(file, cfg); err != nil {
			return fail(err)
		}
		t.Name = l.Name // the directory under /src/libs, as kraft named it
		s.Libs = append(s.Libs, t)
	}
	for _, a := range p.Archives() {
		placed, err := unikraft.PlacedOf(set, a)
		if err != nil {
			return fail(err)
		}
		s.Archives = append(s.Archives, placed)
	}
	if s.Config, err = p.DotConfig(enable, extra...); err != nil {
		return fail(err)
	}
	return s, nil
}

// configSymbol matches a Kconfig entry that defines a symbol.
var configSymbol = regexp.MustCompile(`^\s*(?:menu)?config\s+([A-Za-z0-9_]+)\s*$`)

// EnableSymbol returns the symbol that enables a library: the first config or menuconfig
// entry of its Config.uk, the rule kraft used (kconfig_enabled_flag: kconfiglib's
// top_node.list, the first entry whether it has a prompt or not). For lib-newlib that is the
// hidden LIBNEWLIBM, which kconfig ignores; newlib is enabled by the CONFIG_LIBNEWLIBC=y its
// kraft.yaml lists, as it was for kraft. name is for messages.
func EnableSymbol(name string, configUK []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(configUK))
	for sc.Scan() {
		if m := configSymbol.FindStringSubmatch(sc.Text()); m != nil {
			return m[1], nil
		}
	}
	return "", fmt.Errorf("%s: no config or menuconfig entry; expected the library's enabling symbol first, as kraft did", name)
}

func keys[V any](m map[string]V) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}
