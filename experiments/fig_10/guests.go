package fig10

import (
	"bufio"
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

// appFS is the hello-world application (ours: the paper's app-helloworld plus its
// hello-ioport.patch are replaced by a main() that writes the markers itself).
//
//go:embed app
var appFS embed.FS

// Guest is one guest image: which Unikraft tree, libraries and configuration it is built
// from and where its boot marker goes. The paper built four; so does this bundle.
type Guest struct {
	Key string // "stat", "qemu1nic", "solo5", "firecracker"
	// Config is the paper's configuration file (paper/support-configs/…), the source of the
	// CONFIG_ lines; Adapt changes it where the tree differs from the paper's.
	Config string
	Adapt  []ConfigChange
	Core   string   // source name of the Unikraft tree
	Libs   []string // source names of external libraries and platforms (L=)
	Placed []string // source names of archives a library would download
	// Edits insert the platform-entry marker (none where the VMM ends at an unknown port).
	Edits  []unikraft.Edit
	Kernel []string // the image's possible names in the build directory
	Extras []string // further build outputs kept (the Solo5 tender)
	// Deviation says how this guest differs from the paper's, for the README and manifest.
	Deviation string
}

// ConfigChange removes a line of the paper's configuration and adds others, for a reason.
type ConfigChange struct {
	Remove string   `json:"remove,omitempty"`
	Add    []string `json:"add,omitempty"`
	Why    string   `json:"why"`
}

// entryMarker is the statement the build step inserts first into the platform entry.
var entryMarker = unikraft.OutbStatement(1112, 1, "boot-time marker: platform entry (inserted by the bundle's build step)")

// Guests are the images of Figure 10.
var Guests = []Guest{
	{
		Key: "stat", Config: "helloworld/stat.conf", Core: "unikraft-7fd6797",
		Edits: []unikraft.Edit{{File: "plat/kvm/x86/setup.c", Function: "_libkvmplat_entry", Statement: entryMarker,
			Why: "port 1112 at platform entry, as the paper's tracepoints.patch"}},
		Kernel: []string{"app-helloworld_kvm-x86_64"},
		Deviation: "Unikraft 7fd6797 as the paper, without its patches (cpio series, registerallocs, statically-alloc-irqs, " +
			"tracepoints): the port-1112 marker is inserted by the build step instead, and the symbols only those patches " +
			"declare (e.g. KVM_MAX_IRQ_HANDLER_ENTRIES) are dropped by olddefconfig",
	},
	{
		Key: "qemu1nic", Config: "helloworld/qemu1nic.conf", Core: "unikraft-7fd6797",
		Edits: []unikraft.Edit{{File: "plat/kvm/x86/setup.c", Function: "_libkvmplat_entry", Statement: entryMarker,
			Why: "port 1112 at platform entry, as the paper's tracepoints.patch"}},
		Kernel:    []string{"app-helloworld_kvm-x86_64"},
		Deviation: "as the QEMU guest, with the paper's qemu1nic.conf (PCI, virtio-net)",
	},
	{
		Key: "solo5", Config: "helloworld/solo5.conf", Core: "unikraft-7fd6797",
		Libs: []string{"plat-solo5"}, Placed: []string{"solo5"},
		Kernel: []string{"app-helloworld_solo5-x86_64"}, Extras: []string{"solo5-hvt"},
		Deviation: "plat-solo5 51213c68 with the upstream Solo5 v0.4.1 it downloads, instead of the instrumented fork " +
			"(hlef/solo5 v0.4.1-instvmm): timing is taken on the host. No port-1112 marker: Solo5 hvt ends the run at " +
			"the first unknown port write, so the guest starts at the first KVM_RUN and ends at port 1500 (as the paper's " +
			"instrumented tender counted). Solo5 0.4.1's configure.sh rejects gcc >= 10, so the application's Makefile.uk " +
			"configures Solo5 with a copy whose version check also accepts gcc 11/12 (Solo5's own later fix)",
	},
	{
		Key: "firecracker", Config: "helloworld-boottime-fc/firecracker.conf", Core: "unikraft-0.13.0",
		Adapt: []ConfigChange{
			{Remove: "CONFIG_KVM_VMM_QEMU=y", Why: "in 0.13 the VMM is a choice: Firecracker only"},
			{Remove: "CONFIG_LIBUKBOOT_INITALLOC=y", Add: []string{"CONFIG_LIBUKBOOT_INITBBUDDY=y"},
				Why: "the paper's binary buddy allocator under its 0.13 name"},
		},
		Edits: []unikraft.Edit{{File: "plat/kvm/x86/lxboot.c", Function: "lxboot_entry", Statement: entryMarker,
			Why: "port 1112 at the first C function of the Linux boot protocol entry Firecracker uses"}},
		Kernel: []string{"app-helloworld-boottime-fc_fc-x86_64", "app-helloworld-boottime-fc_firecracker-x86_64",
			"app-helloworld-boottime-fc_kvm-x86_64"},
		Deviation: "Unikraft RELEASE-0.13.0 (the first upstream release that boots on Firecracker) instead of the " +
			"paper's unpublished Firecracker patch on the 0.4-era tree a4cf6565, with the paper's firecracker.conf " +
			"(binary buddy allocator) adapted to 0.13; the port-1112 marker goes into lxboot_entry(), and main() writes " +
			"port 1500, Firecracker's boot-timer magic and an i8042 reset that ends the VM",
	},
}

// GuestOf returns the guest a VMM boots.
func GuestOf(vmmKey string) Guest {
	key := map[string]string{QEMU: "stat", QEMUMicroVM: "stat", QEMU1NIC: "qemu1nic", Solo5: "solo5", Firecracker: "firecracker"}[vmmKey]
	for _, g := range Guests {
		if g.Key == key {
			return g
		}
	}
	panic("fig10: no guest for VMM " + vmmKey)
}

// Sources are the source names the guest needs.
func (g Guest) Sources() []string {
	return slices.Concat([]string{g.Core}, g.Libs, g.Placed)
}

// App returns the application's files.
func App() (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, name := range []string{"Makefile.uk", "Config.uk", "main.c"} {
		b, err := appFS.ReadFile(path.Join("app", name))
		if err != nil {
			return nil, err
		}
		files[name] = b
	}
	return files, nil
}

// environmentSymbols are lines of a saved .config that describe the machine it was made on,
// not the image: kconfig derives them again.
var environmentSymbols = []string{"CONFIG_UK_FULLVERSION", "CONFIG_UK_CODENAME", "CONFIG_UK_BASE", "CONFIG_UK_APP", "CONFIG_UK_DEFNAME"}

// ConfigLines returns the guest's CONFIG_ lines: the paper's configuration file without the
// machine-specific lines, with the guest's adaptations applied.
func (g Guest) ConfigLines() ([]string, error) {
	name := path.Join("paper", "support-configs", g.Config)
	f, err := paperFS.Open(name)
	if err != nil {
		return nil, fmt.Errorf("fig10: the paper's configuration %s is missing from the build: %w", name, err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, _, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "CONFIG_") || slices.Contains(environmentSymbols, k) {
			continue
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, c := range g.Adapt {
		if c.Remove != "" {
			i := slices.Index(lines, c.Remove)
			if i < 0 {
				return nil, fmt.Errorf("fig10: %s: %s has no line %q to adapt (%s)", g.Key, g.Config, c.Remove, c.Why)
			}
			lines = slices.Delete(lines, i, i+1)
		}
		lines = append(lines, c.Add...)
	}
	return lines, nil
}
