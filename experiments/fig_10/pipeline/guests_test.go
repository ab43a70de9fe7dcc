package pipeline

import (
	"context"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	fig10 "github.com/unikraft-eurosys21/artifact/experiments/fig_10"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

func TestEveryVMMHasAGuestBuiltFromThePapersConfiguration(t *testing.T) {
	for _, v := range fig10.VMMs {
		g := GuestOf(v.Key, "")
		lines, err := g.ConfigLines()
		if err != nil {
			t.Fatalf("%s: %v", v.Key, err)
		}
		for _, l := range lines {
			k, _, _ := strings.Cut(l, "=")
			if slices.Contains([]string{"CONFIG_UK_FULLVERSION", "CONFIG_UK_CODENAME", "CONFIG_UK_BASE", "CONFIG_UK_APP", "CONFIG_UK_DEFNAME"}, k) || strings.Contains(l, "/root/workspace") {
				t.Errorf("%s: machine-specific line %q kept", g.Key, l)
			}
		}
		for _, want := range []string{"CONFIG_ARCH_X86_64=y", "CONFIG_LIBNOLIBC=y", "CONFIG_OPTIMIZE_PERF=y"} {
			if !slices.Contains(lines, want) {
				t.Errorf("%s: no %s in %v", g.Key, want, lines)
			}
		}
		if g.Deviation == "" && !(g.Core == "unikraft-7fd6797" && g.App == AppSource) {
			t.Errorf("%s: the guest does not say how it differs from the paper's", g.Key)
		}
	}
	stat, _ := GuestOf(fig10.QEMU, "").ConfigLines()
	nic, _ := GuestOf(fig10.QEMU1NIC, "").ConfigLines()
	if GuestOf(fig10.QEMUMicroVM, "").Key != "stat" || !slices.Contains(stat, "CONFIG_LIBUKALLOCREGION=y") || slices.Contains(stat, "CONFIG_VIRTIO_NET=y") {
		t.Errorf("the QEMU guest is not the paper's stat.conf: %v", stat)
	}
	if !slices.Contains(nic, "CONFIG_VIRTIO_NET=y") || !slices.Contains(nic, "CONFIG_VIRTIO_PCI=y") {
		t.Errorf("the 1NIC guest has no virtio-net: %v", nic)
	}
	solo5, _ := GuestOf(fig10.Solo5, "").ConfigLines()
	if !slices.Contains(solo5, "CONFIG_PLAT_SOLO5=y") || len(GuestOf(fig10.Solo5, "").Edits) != 0 {
		t.Errorf("the Solo5 guest must be plat-solo5 without an entry marker (an unknown port ends the tender)")
	}
	// FC_GUEST: the paper's guest by default, Unikraft 0.13.0 on request.
	paper := GuestOf(fig10.Firecracker, "")
	fc, _ := paper.ConfigLines()
	if paper.Core != "unikraft-firecracker" || !slices.Contains(fc, "CONFIG_KVM_VMM_QEMU=y") || !slices.Contains(fc, "CONFIG_LIBUKBOOT_INITALLOC=y") {
		t.Errorf("the paper's Firecracker guest is not a4cf6565 with firecracker.conf as it is: %s %v", paper.Core, fc)
	}
	fc, _ = GuestOf(fig10.Firecracker, "0.13").ConfigLines()
	if GuestOf(fig10.Firecracker, "0.13").Core != "unikraft-0.13.0" || slices.Contains(fc, "CONFIG_KVM_VMM_QEMU=y") || !slices.Contains(fc, "CONFIG_KVM_VMM_FIRECRACKER=y") ||
		slices.Contains(fc, "CONFIG_LIBUKBOOT_INITALLOC=y") || !slices.Contains(fc, "CONFIG_LIBUKBOOT_INITBBUDDY=y") {
		t.Errorf("the Firecracker configuration is not adapted to 0.13: %v", fc)
	}
	if err := CheckSettings(nil, "0.4"); err == nil || !strings.Contains(err.Error(), "FC_GUEST") {
		t.Errorf("FC_GUEST=0.4 accepted: %v", err)
	}
}

// The QEMU and Solo5 guests are the paper's tree: 7fd6797 with the patches of its Dockerfile,
// in its order and with its tools, and app-helloworld with hello-ioport.patch.
func TestThePaperGuestsApplyThePapersPatchesInOrder(t *testing.T) {
	for _, key := range []string{fig10.QEMU, fig10.QEMU1NIC, fig10.Solo5} {
		g := GuestOf(key, "")
		var got []string
		for _, st := range g.Steps {
			got = append(got, st.Kind+" "+path.Base(st.Path))
		}
		want := []string{
			"patch -p1 Minios-devel-1-5-plat-linuxu-Add-fstat-and-open-host-system-calls.diff",
			"patch -p1 Minios-devel-2-5-plat-linuxu-Add-initrd-memory-region.diff",
			"patch -p1 Minios-devel-3-5-lib-cpio-Create-empty-CPIO-extraction-library.diff",
			"patch -p1 Minios-devel-4-5-lib-cpio-Add-CPIO-extraction-functionality.diff",
			"patch -p1 Minios-devel-5-5-lib-vfscore-Add-support-to-mount-initramfs-to-root.diff",
			"git apply registerallocs.patch",
			RecipeStaticIRQs + " .",
			"git apply tracepoints.patch",
			"git apply --ignore-whitespace hello-ioport.patch",
		}
		if key == fig10.Solo5 {
			want = append(want, "append .")
		}
		if !slices.Equal(got, want) || g.Core != "unikraft-7fd6797" || g.App != AppSource || len(g.Edits) != 0 {
			t.Errorf("%s: steps\n%s\nwant\n%s", g.Key, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	fc := Guests[slices.IndexFunc(Guests, func(g Guest) bool { return g.Key == "firecracker" })]
	if len(fc.Steps) != 3 || fc.Steps[2].Kind != unikraft.Replace || fc.Steps[2].Old != "(1500, 1)" || fc.Steps[2].New != "(0x03f0, 123)" {
		t.Errorf("the paper's Firecracker guest does not turn the 1500 write into the boot-timer magic as the paper's sed: %+v", fc.Steps)
	}
}

func TestAnAdaptationOfALineThatIsNotThereFails(t *testing.T) {
	g := GuestOf(fig10.QEMU, "")
	g.Adapt = []ConfigChange{{Remove: "CONFIG_NOT_THERE=y", Why: "test"}}
	if _, err := g.ConfigLines(); err == nil || !strings.Contains(err.Error(), "CONFIG_NOT_THERE") {
		t.Errorf("err = %v", err)
	}
}

// The repository's manifest pins every source the guests need, the Firecracker release by
// sha256.
func TestTheManifestPinsEverySourceOfTheGuests(t *testing.T) {
	m, err := sources.Load(filepath.Join("..", "..", "..", sources.ManifestPath))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range Guests {
		for _, name := range g.Sources() {
			s, ok := m.Source(name)
			if !ok {
				t.Errorf("guest %s: the manifest has no source %s", g.Key, name)
				continue
			}
			if !slices.Contains(s.Figures, "fig_10") {
				t.Errorf("source %s does not list fig_10", name)
			}
		}
		for _, name := range g.Placed {
			if s, _ := m.Source(name); s.Place == nil && (s.Archive == nil || s.Archive.Path == "") {
				t.Errorf("guest %s: %s has no place in a build directory", g.Key, name)
			}
		}
	}
	fc, ok := m.Source(FirecrackerSource)
	if !ok || fc.Archive == nil || len(fc.Archive.SHA256) != 64 || !firecrackerBinary.MatchString(strings.TrimSuffix(fc.Archive.File, ".tgz")) {
		t.Errorf("the Firecracker release is not an archive pinned by sha256: %+v", fc)
	}
	if s, _ := m.Source("unikraft-7fd6797"); s.Git == nil || s.Git.Commit != "7fd6797bd5917acc515ef6ddbfa85621f4aacf5f" {
		t.Errorf("the QEMU guests' tree is not the paper's commit: %+v", s.Git)
	}
}

func TestTheApplicationMarksMainFirst(t *testing.T) {
	app, err := App()
	if err != nil {
		t.Fatal(err)
	}
	main := string(app["main.c"])
	body := main[strings.Index(main, "int main("):]
	first := regexp.MustCompile(`\{\s*([^;]*;)`).FindStringSubmatch(body)
	if first == nil || first[1] != "boottime_outb(1500, 1);" {
		t.Errorf("the first statement of main() is %q, want the port-1500 marker", first)
	}
	if !strings.Contains(body, "boottime_outb(0x3f0, 123)") || !strings.Contains(string(app["Makefile.uk"]), "-DBOOTTIME_FIRECRACKER") {
		t.Error("the Firecracker variant does not write the boot-timer magic")
	}
}

// Solo5 0.4.1's configure.sh rejects gcc >= 10 ("Only 'gcc' 4.x+ is supported on Linux"), and
// plat-solo5 runs it through `make -C <solo5> hvt` when no Makeconf exists. The application's
// Makefile.uk gets a rule (solo5-gcc10.mk, appended) writing that Makeconf first, with a copy of configure.sh whose check accepts gcc
// 11. This runs the real rule with GNU make; the Solo5 tree and the compiler are test doubles
// (stand-ins) reduced to the version check of Solo5 0.4.1's configure.sh and to what gcc 11
// prints for `-dM -E`.
func TestTheSolo5GuestConfiguresSolo5WithGCC11(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("GNU make is not installed (the toolchain image has it)")
	}
	app := map[string][]byte{"Makefile.uk": []byte("$(eval $(call addlib,apphelloworld))\n" + solo5Makeconf)}
	dir := t.TempDir()
	build := filepath.Join(dir, "build")
	solo5 := filepath.Join(build, "libsolo5", "origin", "solo5-0.4.1")
	standinConfigure := `#!/bin/sh
cc_maybe_gcc()
{
    ${CC} -dM -E - </dev/null | grep -Eq '^#define __GNUC__ [4-9]$'
}
CC=${CC:-cc}
cc_maybe_gcc || { echo "configure.sh: ERROR: Only 'gcc' 4.x+ is supported on Linux" 1>&2; exit 1; }
echo "CC=${CC}" > Makeconf
`
	files := map[string]string{
		filepath.Join(dir, "app", "Makefile.uk"):    string(app["Makefile.uk"]),
		filepath.Join(solo5, "configure.sh"):        standinConfigure,
		filepath.Join(build, "libsolo5", ".origin"): "",
		filepath.Join(dir, "gcc11", "cc"):           "#!/bin/sh\necho '#define __GNUC__ 11'\n",
		filepath.Join(dir, "solo5.mk"):              "BUILD_DIR := " + build + "\nCONFIG_PLAT_SOLO5 := y\ninclude " + filepath.Join(dir, "app", "Makefile.uk") + "\n",
		filepath.Join(dir, "qemu.mk"):               "BUILD_DIR := " + build + "\ninclude " + filepath.Join(dir, "app", "Makefile.uk") + "\n",
	}
	for name, body := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func(wd string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = wd
		cmd.Env = []string{"PATH=" + filepath.Join(dir, "gcc11") + ":/usr/local/bin:/usr/bin:/bin", "HOME=" + dir}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// Why: the upstream check fails with gcc 11.
	if out, err := run(solo5, "sh", "configure.sh"); err == nil || !strings.Contains(out, "Only 'gcc' 4.x+") {
		t.Fatalf("the stand-in of Solo5's configure.sh accepted gcc 11: %v %s", err, out)
	}
	// The other guests do not get the rule.
	if out, err := run(dir, "make", "-f", "qemu.mk", filepath.Join(solo5, "Makeconf")); err == nil {
		t.Errorf("without CONFIG_PLAT_SOLO5 the application made Solo5's Makeconf: %s", out)
	}
	// The Solo5 guest: the hvt binding (plat-solo5's SOLO5_HVT_BINDING) needs the Makeconf,
	// which the widened check writes.
	if out, err := run(dir, "make", "-f", "solo5.mk", filepath.Join(solo5, "bindings", "hvt", "solo5_hvt.o")); err != nil {
		t.Fatalf("make: %v\n%s", err, out)
	}
	conf, err := os.ReadFile(filepath.Join(solo5, "Makeconf"))
	if err != nil || string(conf) != "CC=cc\n" {
		t.Errorf("Makeconf = %q, %v; want the one configure.sh writes for cc (gcc 11)", conf, err)
	}
}

// Only the paper's Firecracker guest halts after main() without ending its VM, so only its
// boots are ended by the harness at the end marker; the QEMU and Solo5 guests exit, and
// their boots wait for that exit (a crash after the marker stays a failed boot). Its end
// marker is the boot-timer port, which it writes where the others write port 1500.
func TestOnlyThePapersFirecrackerGuestIsStoppedAtItsEndMarker(t *testing.T) {
	for _, g := range Guests {
		if want := g.Key == "firecracker"; g.HaltsAfterMain != want {
			t.Errorf("%s: HaltsAfterMain %v, want %v", g.Key, g.HaltsAfterMain, want)
		}
	}
	if g := GuestOf(fig10.Firecracker, "paper"); !g.HaltsAfterMain || !slices.ContainsFunc(g.Steps, func(s GuestStep) bool { return s.New == "(0x03f0, 123)" }) {
		t.Errorf("FC_GUEST=paper boots %s (halts after main: %v), not the boot-timer-port guest that halts", g.Key, g.HaltsAfterMain)
	}
	if g := GuestOf(fig10.Firecracker, "0.13"); g.HaltsAfterMain {
		t.Errorf("FC_GUEST=0.13 (%s) resets through the i8042 and ends its VM itself", g.Key)
	}
}
