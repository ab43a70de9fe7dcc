package fig10

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

func TestEveryVMMHasAGuestBuiltFromThePapersConfiguration(t *testing.T) {
	for _, v := range VMMs {
		g := GuestOf(v.Key)
		lines, err := g.ConfigLines()
		if err != nil {
			t.Fatalf("%s: %v", v.Key, err)
		}
		for _, l := range lines {
			k, _, _ := strings.Cut(l, "=")
			if slices.Contains(environmentSymbols, k) || strings.Contains(l, "/root/workspace") {
				t.Errorf("%s: machine-specific line %q kept", g.Key, l)
			}
		}
		for _, want := range []string{"CONFIG_ARCH_X86_64=y", "CONFIG_LIBNOLIBC=y", "CONFIG_OPTIMIZE_PERF=y"} {
			if !slices.Contains(lines, want) {
				t.Errorf("%s: no %s in %v", g.Key, want, lines)
			}
		}
		if g.Deviation == "" {
			t.Errorf("%s: the guest does not say how it differs from the paper's", g.Key)
		}
	}
	stat, _ := GuestOf(QEMU).ConfigLines()
	nic, _ := GuestOf(QEMU1NIC).ConfigLines()
	if GuestOf(QEMUMicroVM).Key != "stat" || !slices.Contains(stat, "CONFIG_LIBUKALLOCREGION=y") || slices.Contains(stat, "CONFIG_VIRTIO_NET=y") {
		t.Errorf("the QEMU guest is not the paper's stat.conf: %v", stat)
	}
	if !slices.Contains(nic, "CONFIG_VIRTIO_NET=y") || !slices.Contains(nic, "CONFIG_VIRTIO_PCI=y") {
		t.Errorf("the 1NIC guest has no virtio-net: %v", nic)
	}
	solo5, _ := GuestOf(Solo5).ConfigLines()
	if !slices.Contains(solo5, "CONFIG_PLAT_SOLO5=y") || len(GuestOf(Solo5).Edits) != 0 {
		t.Errorf("the Solo5 guest must be plat-solo5 without an entry marker (an unknown port ends the tender)")
	}
	fc, _ := GuestOf(Firecracker).ConfigLines()
	if slices.Contains(fc, "CONFIG_KVM_VMM_QEMU=y") || !slices.Contains(fc, "CONFIG_KVM_VMM_FIRECRACKER=y") ||
		slices.Contains(fc, "CONFIG_LIBUKBOOT_INITALLOC=y") || !slices.Contains(fc, "CONFIG_LIBUKBOOT_INITBBUDDY=y") {
		t.Errorf("the Firecracker configuration is not adapted to 0.13: %v", fc)
	}
}

func TestAnAdaptationOfALineThatIsNotThereFails(t *testing.T) {
	g := GuestOf(QEMU)
	g.Adapt = []ConfigChange{{Remove: "CONFIG_NOT_THERE=y", Why: "test"}}
	if _, err := g.ConfigLines(); err == nil || !strings.Contains(err.Error(), "CONFIG_NOT_THERE") {
		t.Errorf("err = %v", err)
	}
}

// The repository's manifest pins every source the guests need, the Firecracker release by
// sha256.
func TestTheManifestPinsEverySourceOfTheGuests(t *testing.T) {
	m, err := sources.Load(filepath.Join("..", "..", sources.ManifestPath))
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

// The stand-in tree of the fixture has the entry function where the QEMU guests' marker goes.
func TestTheEntryMarkerFitsTheFixtureTree(t *testing.T) {
	dir := filepath.Join("fixture", "standin", "unikraft")
	for _, e := range GuestOf(QEMU).Edits {
		src, err := os.ReadFile(filepath.Join(dir, e.File))
		if err != nil {
			t.Fatal(err)
		}
		out, n, err := unikraft.InsertFirstStatement(src, e.Function, e.Statement)
		if err != nil || n != 1 || !strings.Contains(string(out), "{ "+e.Statement) {
			t.Errorf("%s: n = %d, err = %v", e.File, n, err)
		}
	}
}
