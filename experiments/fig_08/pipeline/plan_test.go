package pipeline

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	fig08 "github.com/unikraft-eurosys21/artifact/experiments/fig_08"
)

var update = flag.Bool("update", false, "rewrite the golden files of the translation")

// render describes a plan in the golden files' form. The symbol that enables a library comes
// from its Config.uk at build time (kraft's rule), so here it is written as a placeholder.
func render(t *testing.T, p *Plan) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "# %s, translated from %s\n", p.Image.Key(), p.Kraft.File)
	fmt.Fprintf(&b, "core %s\n", p.Core)
	enable := map[string]string{}
	for _, l := range p.Libs {
		fmt.Fprintf(&b, "lib %s source %s places %s\n", l.Name, l.Source, strings.Join(l.Archives, ","))
		enable[l.Name] = "<first symbol of lib-" + l.Name + "/Config.uk>"
	}
	var files []string
	for f := range p.App {
		files = append(files, f)
	}
	slices.Sort(files)
	fmt.Fprintf(&b, "app %s\n", strings.Join(files, " "))
	fmt.Fprintf(&b, "volumes %v networks %v\n", p.Kraft.Volumes, p.Kraft.Networks)
	lines, err := p.DotConfig(enable)
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString(".config:\n" + strings.Join(lines, "\n") + "\n")
	return b.String()
}

// The 16 kraft.yaml files translate into the make build: the CONFIG_ lines in kraft's order
// (unikraft's, x86_64, kvm, each library's and its enabling line, the image name), the library
// list with its pinned sources, and the generated application directory.
func TestTranslationOfThePaperConfigs(t *testing.T) {
	for _, img := range fig08.Images() {
		t.Run(img.Key(), func(t *testing.T) {
			p, err := NewPlan(img)
			if err != nil {
				t.Fatal(err)
			}
			got := render(t, p)
			golden := filepath.Join("testdata", "translation", img.Key()+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("translation of %s differs from %s:\n%s", img.Key(), golden, got)
			}
		})
	}
}

// Spot checks that do not rely on the golden files.
func TestTranslationDetails(t *testing.T) {
	libsOf := func(app string) []string {
		p, err := NewPlan(fig08.Image{App: app, Variant: "default"})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range p.Libs {
			names = append(names, l.Name+"@"+l.Source)
		}
		return names
	}
	want := map[string][]string{
		"helloworld": nil,
		"nginx": {"pthread-embedded@lib-pthread-embedded-0.4", "newlib@lib-newlib-0.4", "pcre@lib-pcre", "lwip@lib-lwip-0.4",
			"openssl@lib-openssl-0.4", "nginx@lib-nginx-0.4"},
		"redis":  {"pthread-embedded@lib-pthread-embedded-0.4", "newlib@lib-newlib-0.4", "lwip@lib-lwip-0.4", "redis@lib-redis-0.4"},
		"sqlite": {"pthread-embedded@lib-pthread-embedded-0.4", "newlib@lib-newlib-0.4", "sqlite@lib-sqlite-0.4"},
	}
	for app, libs := range want {
		if got := libsOf(app); !slices.Equal(got, libs) {
			t.Errorf("%s libraries = %v, want %v", app, got, libs)
		}
	}

	// redis sets LIBUKDEBUG=n, then =y: the later line wins, as in kconfig.
	p, _ := NewPlan(fig08.Image{App: "redis", Variant: "lto"})
	lines, _ := p.DotConfig(map[string]string{"pthread-embedded": "A", "newlib": "B", "lwip": "C", "redis": "D"}, "CONFIG_FIXTURE_FAIL=y")
	if !slices.Contains(lines, "CONFIG_LIBUKDEBUG=y") || slices.Contains(lines, "CONFIG_LIBUKDEBUG=n") {
		t.Errorf("redis_lto: LIBUKDEBUG lines %v; want only =y", lines)
	}
	for _, l := range []string{"CONFIG_ARCH_X86_64=y", "CONFIG_PLAT_KVM=y", `CONFIG_UK_NAME="app"`, "CONFIG_OPTIMIZE_LTO=y", "CONFIG_D=y", "CONFIG_FIXTURE_FAIL=y"} {
		if !slices.Contains(lines, l) {
			t.Errorf("redis_lto .config lacks %s: %v", l, lines)
		}
	}
	if _, err := p.DotConfig(map[string]string{"newlib": "B"}); err == nil {
		t.Errorf("a library without its enabling symbol was accepted")
	}

	// The gcc >= 10 flags come from the application's own Makefile.uk; helloworld's is ours.
	h, _ := NewPlan(fig08.Image{App: "helloworld", Variant: "dce"})
	mk := string(h.App["Makefile.uk"])
	for _, s := range []string{"$(eval $(call addlib,apphelloworld))", "-flinker-output=nolto-rel", "-fno-tree-loop-distribute-patterns"} {
		if !strings.Contains(mk, s) {
			t.Errorf("helloworld Makefile.uk lacks %q:\n%s", s, mk)
		}
	}
	if n, _ := NewPlan(fig08.Image{App: "nginx", Variant: "dce"}); strings.Contains(string(n.App["Makefile.uk"]), "addlib") || n.App["main.c"] != nil {
		t.Errorf("nginx has an application library of its own; its main comes from lib-nginx")
	}
	// The nginx variant with the 9pfs volume gets the paper's fs0 data.
	nd, _ := NewPlan(fig08.Image{App: "nginx", Variant: "default"})
	if conf := nd.App["fs0/nginx/conf/nginx.conf"]; len(conf) == 0 || !strings.Contains(string(conf), "server") {
		t.Errorf("nginx_default app lacks fs0/nginx/conf/nginx.conf")
	}
	if nl, _ := NewPlan(fig08.Image{App: "nginx", Variant: "lto"}); nl.App["fs0/nginx/conf/nginx.conf"] != nil {
		t.Errorf("nginx_lto has no volume but got fs0")
	}
}

func TestParseKraftRejectsWhatItCannotTranslate(t *testing.T) {
	base := "specification: '0.5'\nname: app\nunikraft:\n  version: '0.4'\n  kconfig:\n    - CONFIG_X=y\ntargets:\n  - architecture: x86_64\n    platform: kvm\n"
	cases := map[string]struct{ yaml, want string }{
		"spec":      {strings.Replace(base, "'0.5'", "'0.6'", 1), "k.yaml:1: specification \"0.6\""},
		"field":     {base + "extra: 1\n", "field extra not found"},
		"kconfig":   {strings.Replace(base, "CONFIG_X=y", "X=y", 1), "k.yaml:6: unikraft: \"X=y\"; expected CONFIG_"},
		"target":    {strings.Replace(base, "kvm", "xen", 1), "expected exactly one, x86_64 on kvm"},
		"noversion": {strings.Replace(base, "version: '0.4'", "version: ''", 1), "k.yaml:4: unikraft has no version"},
		"twice":     {base + "libraries:\n  newlib:\n    version: '0.4'\n  newlib:\n    version: '0.4'\n", "newlib"},
	}
	for name, c := range cases {
		_, err := ParseKraft("k.yaml", []byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
	k, err := ParseKraft("k.yaml", []byte(base+"libraries:\n  newlib:\n    version: '0.9'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := planFor(fig08.Image{App: "sqlite", Variant: "dce"}, k, fig08.PaperFiles(), "configs/sqlite_dce"); err == nil ||
		!strings.Contains(err.Error(), `library newlib version "0.9"; pinned: 0.4`) {
		t.Errorf("unpinned library version: %v", err)
	}
}

func TestEnableSymbolIsTheFirstEntry(t *testing.T) {
	sym, err := EnableSymbol("Config.uk", []byte("# comment\nmenuconfig LIBNEWLIBC\n\tbool \"newlib\"\nconfig LIBNEWLIBC_X\n"))
	if err != nil || sym != "LIBNEWLIBC" {
		t.Errorf("got %q, %v", sym, err)
	}
	// lib-newlib's Config.uk begins with a hidden symbol: kraft took it too (kconfiglib's
	// first entry), and the paper's kraft.yaml enables LIBNEWLIBC itself.
	newlib := "# hidden\nconfig LIBNEWLIBM\n\tbool\n\tdefault n\n\nmenuconfig LIBNEWLIBC\n\tbool \"libnewlib - A C standard library\"\n"
	if sym, err := EnableSymbol("Config.uk", []byte(newlib)); err != nil || sym != "LIBNEWLIBM" {
		t.Errorf("lib-newlib: got %q, %v; want kraft's choice LIBNEWLIBM", sym, err)
	}
	p, err := NewPlan(fig08.Image{App: "sqlite", Variant: "dce"})
	if err != nil {
		t.Fatal(err)
	}
	lines, err := p.DotConfig(map[string]string{"pthread-embedded": "LIBPTHREAD_EMBEDDED", "newlib": "LIBNEWLIBM", "sqlite": "LIBSQLITE"})
	if err != nil || !slices.Contains(lines, "CONFIG_LIBNEWLIBC=y") {
		t.Errorf("sqlite_dce does not enable newlib itself: %v, %v", lines, err)
	}
	if _, err := EnableSymbol("Config.uk", []byte("# nothing\n")); err == nil {
		t.Errorf("a Config.uk without entries was accepted")
	}
}

func TestSelect(t *testing.T) {
	imgs, err := Select("helloworld, nginx", "dce_lto")
	if err != nil || len(imgs) != 2 || imgs[0].Key() != "helloworld_dce_lto" || imgs[1].Key() != "nginx_dce_lto" {
		t.Errorf("Select = %v, %v", imgs, err)
	}
	if all, _ := Select("", ""); len(all) != 16 {
		t.Errorf("Select of nothing = %d images, want all 16", len(all))
	}
	if _, err := Select("nginx,memcached", ""); err == nil || !strings.Contains(err.Error(), `unknown app "memcached"`) {
		t.Errorf("unknown app: %v", err)
	}
	if _, err := Select("", "lto,pgo"); err == nil || !strings.Contains(err.Error(), `unknown variant "pgo"`) {
		t.Errorf("unknown variant: %v", err)
	}
}

func TestMeasureRefusesWhatIsNotAnImage(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Measure(self); err == nil || !strings.Contains(err.Error(), "no .intrstack") {
		t.Errorf("an ELF without .intrstack: %v", err)
	}
	txt := filepath.Join(t.TempDir(), "x")
	os.WriteFile(txt, []byte("not an ELF"), 0o644)
	if _, err := Measure(txt); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("a text file: %v", err)
	}
}
