package pipeline

import (
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"

	fig10 "github.com/unikraft-eurosys21/artifact/experiments/fig_10"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

// appFS is the bundle's own hello-world application, for trees the paper's patches do not
// apply to (the Unikraft 0.13.0 Firecracker guest): main() writes the markers itself.
//
//go:embed app
var appFS embed.FS

// solo5Makeconf is appended to the paper's application's Makefile.uk for the Solo5 guest
// (see the file).
//
//go:embed solo5-gcc10.mk
var solo5Makeconf string

// Guest is one guest image: which Unikraft tree, application, patches, libraries and
// configuration it is built from. The paper built four; the bundle builds them, and keeps a
// Unikraft 0.13.0 Firecracker guest beside the paper's (FC_GUEST).
type Guest struct {
	Key string // "stat", "qemu1nic", "solo5", "firecracker", "firecracker-0.13"
	// Config is the paper's configuration file (paper/support-configs/…), the source of the
	// CONFIG_ lines; Adapt changes it where the tree differs from the paper's.
	Config string
	Adapt  []ConfigChange
	Core   string // source name of the Unikraft tree
	// App is the source name of the application tree; "" for the bundle's own (app/).
	App    string
	Libs   []string // source names of external libraries and platforms (L=)
	Placed []string // source names of archives a library would download
	// Steps patch the copies of the tree and application, in order, as the paper did.
	Steps []GuestStep
	// Edits insert the platform-entry marker where no patch of the paper does.
	Edits  []unikraft.Edit
	Kernel []string // the image's possible names in the build directory
	Extras []string // further build outputs kept (the Solo5 tender)
	// Deviation says how this guest differs from the paper's, for the README and manifest.
	Deviation string
	// HaltsAfterMain marks a guest that halts its vCPU after main() without ending its VM
	// (no exit device, no reset): its boots end when the observers have seen the end marker,
	// and the harness stops the VMM (boottime.Options.StopAfterMain). The other guests end
	// their VM, and their boots wait for that exit, so a crash after the marker is caught.
	HaltsAfterMain bool
}

// ConfigChange removes a line of the paper's configuration and adds others, for a reason.
type ConfigChange struct {
	Remove string   `json:"remove,omitempty"`
	Add    []string `json:"add,omitempty"`
	Why    string   `json:"why"`
}

// GuestStep is a build step of a guest (see unikraft.SourceStep).
type GuestStep = unikraft.SourceStep

// RecipeStaticIRQs is the statically-alloc-irqs change (unikraft.StaticIRQs).
const RecipeStaticIRQs = unikraft.RecipeStaticIRQs

// Sources of the paper's patches and of the statically-alloc-irqs change.
const (
	ArtifactSource = unikraft.ArtifactSource
	IRQsSource     = unikraft.IRQsSource
	AppSource      = "app-helloworld"
	patchDir       = unikraft.PaperPatchDir
)

// helloIOPort is the paper's application patch: outb(1500, 1) first in main(). Its tabs were
// turned into spaces when it was published, hence --ignore-whitespace (as the paper).
var helloIOPort = GuestStep{Tree: unikraft.TreeApp, Kind: unikraft.GitApplyIgnoreWhitespace, Source: ArtifactSource,
	Path: patchDir + "hello-ioport.patch", Why: "port 1500 first in main()"}

// entryMarker is the statement the build step inserts first into the platform entry of a
// tree without tracepoints.patch.
var entryMarker = unikraft.OutbStatement(1112, 1, "boot-time marker: platform entry (inserted by the bundle's build step)")

// Guests are the images of Figure 10.
var Guests = []Guest{
	{
		Key: "stat", Config: "helloworld/stat.conf", Core: "unikraft-7fd6797", App: AppSource,
		Steps:  append(unikraft.PaperCore(), helloIOPort),
		Kernel: []string{"app-helloworld_kvm-x86_64"},
	},
	{
		Key: "qemu1nic", Config: "helloworld/qemu1nic.conf", Core: "unikraft-7fd6797", App: AppSource,
		Steps:  append(unikraft.PaperCore(), helloIOPort),
		Kernel: []string{"app-helloworld_kvm-x86_64"},
	},
	{
		Key: "solo5", Config: "helloworld/solo5.conf", Core: "unikraft-7fd6797", App: AppSource,
		Steps: append(unikraft.PaperCore(), helloIOPort,
			GuestStep{Tree: unikraft.TreeApp, Kind: unikraft.Append, File: "Makefile.uk", New: solo5Makeconf,
				Why: "configure Solo5 0.4.1 under gcc 11/12 (its configure.sh rejects gcc >= 10)"}),
		Libs: []string{"plat-solo5"}, Placed: []string{"solo5"},
		Kernel: []string{"app-helloworld_solo5-x86_64"}, Extras: []string{"solo5-hvt"},
		Deviation: "plat-solo5 51213c68 with the upstream Solo5 v0.4.1 it downloads, instead of the instrumented fork " +
			"(hlef/solo5 v0.4.1-instvmm): timing is taken on the host. No port-1112 marker (tracepoints.patch writes it in " +
			"plat/kvm, which this platform does not use; Solo5 hvt would end the run at it): the guest starts at the first " +
			"KVM_RUN and ends at port 1500 (as the paper's instrumented tender counted). Solo5 0.4.1's configure.sh rejects " +
			"gcc >= 10, so the application's Makefile.uk gets a rule configuring Solo5 with a copy whose version check " +
			"also accepts gcc 11/12 (Solo5's own later fix)",
	},
	{
		Key: "firecracker", Config: "helloworld-boottime-fc/firecracker.conf", Core: "unikraft-firecracker", App: AppSource,
		Steps: []GuestStep{
			{Tree: unikraft.TreeCore, Kind: unikraft.GitApply, Source: ArtifactSource, Path: patchDir + "firecrackersupport.patch",
				Why: "the paper's Firecracker support (boot_params, E820, KVM_VMM_FIRECRACKER)"},
			helloIOPort,
			{Tree: unikraft.TreeApp, Kind: unikraft.Replace, File: "main.c", Old: "(1500, 1)", New: "(0x03f0, 123)",
				Why: "Firecracker's boot-timer magic instead of port 1500, as the paper's sed"},
		},
		// firecrackersupport.patch splits plat/kvm into a QEMU (kvmq) and a Firecracker (kvmfc)
		// platform; firecracker.conf selects both, and Firecracker boots the kvmfc image.
		Kernel: []string{"app-helloworld-boottime-fc_kvmfc-x86_64"},
		// main() returns into the 0.4-era tree's halt (cli; hlt); the original artifact
		// killed Firecracker after `sleep 4`.
		HaltsAfterMain: true,
		Deviation: "the paper's guest (a4cf6565 + firecrackersupport.patch, app-helloworld + hello-ioport.patch with the " +
			"1500 write turned into Firecracker's boot-timer magic 123 to port 0x3f0) on the pinned current Firecracker; " +
			"no port-1112 marker",
	},
	{
		Key: "firecracker-0.13", Config: "helloworld-boottime-fc/firecracker.conf", Core: "unikraft-0.13.0",
		Adapt: []ConfigChange{
			{Remove: "CONFIG_KVM_VMM_QEMU=y", Why: "in 0.13 the VMM is a choice: Firecracker only"},
			{Remove: "CONFIG_LIBUKBOOT_INITALLOC=y", Add: []string{"CONFIG_LIBUKBOOT_INITBBUDDY=y"},
				Why: "the paper's binary buddy allocator under its 0.13 name"},
		},
		Edits: []unikraft.Edit{{File: "plat/kvm/x86/lxboot.c", Function: "lxboot_entry", Statement: entryMarker,
			Why: "port 1112 at the first C function of the Linux boot protocol entry Firecracker uses"}},
		Kernel: []string{"app-helloworld-boottime-fc_fc-x86_64", "app-helloworld-boottime-fc_firecracker-x86_64",
			"app-helloworld-boottime-fc_kvm-x86_64"},
		Deviation: "FC_GUEST=0.13: Unikraft RELEASE-0.13.0 (the first upstream release that boots on Firecracker) instead of the " +
			"paper's a4cf6565 + firecrackersupport.patch, with the paper's firecracker.conf (binary buddy allocator) " +
			"adapted to 0.13 and the bundle's own application; the port-1112 marker goes into lxboot_entry(), and main() writes " +
			"port 1500, Firecracker's boot-timer magic and an i8042 reset that ends the VM",
	},
}

// EnvFCGuest is the setting that selects the Firecracker guest: "paper" (default) or "0.13".
const EnvFCGuest = "FC_GUEST"

// firecrackerGuest is the key of the Firecracker guest fc (the FC_GUEST setting) selects.
func firecrackerGuest(fc string) (string, error) {
	switch v := fc; v {
	case "", "paper":
		return "firecracker", nil
	case "0.13":
		return "firecracker-0.13", nil
	default:
		return "", fmt.Errorf("%s=%q: expected paper (a4cf6565 + the paper's firecrackersupport.patch) or 0.13 (Unikraft RELEASE-0.13.0)", EnvFCGuest, v)
	}
}

// GuestOf returns the guest a VMM boots (for Firecracker, the one fcGuest, the FC_GUEST
// setting, selects: "paper" or "" for the paper's, "0.13"; an invalid one is refused earlier,
// by CheckSettings, Prepare and Run).
func GuestOf(vmmKey, fcGuest string) Guest {
	fc, err := firecrackerGuest(fcGuest)
	if err != nil {
		fc = "firecracker"
	}
	key := map[string]string{fig10.QEMU: "stat", fig10.QEMUMicroVM: "stat", fig10.QEMU1NIC: "qemu1nic", fig10.Solo5: "solo5", fig10.Firecracker: fc}[vmmKey]
	for _, g := range Guests {
		if g.Key == key {
			return g
		}
	}
	panic("fig10: no guest for VMM " + vmmKey)
}

// Sources are the source names the guest needs.
func (g Guest) Sources() []string {
	out := slices.Concat([]string{g.Core}, g.Libs, g.Placed)
	if g.App != "" {
		out = append(out, g.App)
	}
	for _, st := range g.Steps {
		if st.Source != "" && !slices.Contains(out, st.Source) {
			out = append(out, st.Source)
		}
	}
	return out
}

// App returns the bundle's own application's files.
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

// ConfigLines returns the guest's CONFIG_ lines: the paper's configuration file without the
// machine-specific lines, with the guest's adaptations applied.
func (g Guest) ConfigLines() ([]string, error) {
	name := path.Join("paper", "support-configs", g.Config)
	f, err := fig10.PaperFiles().Open(path.Join("support-configs", g.Config))
	if err != nil {
		return nil, fmt.Errorf("fig10: the paper's configuration %s is missing from the build: %w", name, err)
	}
	defer f.Close()
	lines, err := unikraft.ConfigLines(f)
	if err != nil {
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

// guestNote is a one-line record of how a guest image was built, for the run's manifest.
func guestNote(key string, img *unikraft.Image) string {
	var steps []string
	for _, st := range img.Spec.Steps {
		steps = append(steps, st.Kind+" "+st.Name)
	}
	for _, e := range img.Spec.Edits {
		steps = append(steps, "marker inserted into "+e.Function+"() of "+e.File)
	}
	if len(steps) == 0 {
		steps = []string{"none"}
	}
	return fmt.Sprintf("guest %s: %s@%.12s, build steps: %s", key, img.Spec.Core.Name, img.Spec.Core.ID, strings.Join(steps, "; "))
}
