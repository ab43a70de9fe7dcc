package pipeline

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	fig10 "github.com/unikraft-eurosys21/artifact/experiments/fig_10"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/progress"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// FirecrackerSource is the manifest name of the pinned Firecracker release archive.
const FirecrackerSource = "firecracker"

// ToolchainRecipe is the containers/ recipe the guests are built in.
const ToolchainRecipe = "unikraft"

// PrepareOptions configure Prepare.
type PrepareOptions struct {
	VMMs []string // the VMMs whose guests are built (all when empty)
	// Accel is the accelerator the run will use ("kvm" when empty): under tcg the VMMs
	// that need KVM are not prepared.
	Accel      string
	Manifest   string // the repository's source manifest (containers/sources.json)
	Sources    sources.Options
	Containers string // the containers/ directory
	Images     string // image cache root (IMAGES_CACHE)
	GCC        string // "11" (default) or "12"
	FCGuest    string // the Firecracker guest (FC_GUEST): "paper" (default) or "0.13"
	Binaries   Binaries
	Docker     docker.Options
	Log        logrus.FieldLogger
	Out        io.Writer // progress and the summary; os.Stderr when nil
	// Progress shows the guest builds as they go; plain lines on Out when nil.
	Progress *progress.Display
}

// Prepared is what the prepare step leaves for the run step (prepared[-<fixture>].json in
// the image cache): the guests, the tools and every pin they came from.
type Prepared struct {
	Fixture string    `json:"fixture,omitempty"`
	Mirror  string    `json:"mirror,omitempty"`
	Time    time.Time `json:"time"`
	// Toolchain is the image the guests were built in, with its compiler versions.
	Toolchain Toolchain          `json:"toolchain"`
	Sources   []sources.Resolved `json:"sources"`
	// Guests by key (stat, qemu1nic, solo5, firecracker); Missing says why one is not there.
	Guests  map[string]*unikraft.Image `json:"guests"`
	Missing map[string]string          `json:"missing,omitempty"`
	// NotRun lists, by VMM key, the selected VMMs that cannot run on this host (KVM, tap
	// permission, VMM binary) and for which nothing was prepared, with the reason.
	NotRun map[string]string `json:"not_run,omitempty"`
	// Firecracker is the pinned release's binary, extracted from its archive.
	Firecracker string `json:"firecracker,omitempty"`
}

// Toolchain describes the build container.
type Toolchain = docker.Toolchain

// Dir is Figure 10's directory in the image cache.
func Dir(images string) string { return filepath.Join(images, "fig_10") }

// preparedPath is the index of prepare for a fixture name ("" for the real sources).
func preparedPath(images, fixture string) string { return figure.PreparedPath(Dir(images), fixture) }

// ReadPrepared reads what prepare left for the given fixture ("" for real sources).
func ReadPrepared(images, fixture string) (*Prepared, error) {
	var pr Prepared
	if err := figure.ReadPrepared(Dir(images), fixture, "fig10", "guests", &pr); err != nil {
		return nil, err
	}
	return &pr, nil
}

// Prepare fetches the pinned sources, builds the toolchain image and the guests of the
// selected VMMs (each cached by content, so an unchanged guest is not rebuilt), extracts
// the pinned Firecracker release, and records it all for the run step.
func Prepare(ctx context.Context, o PrepareOptions) (*Prepared, error) {
	start := time.Now()
	out := o.Out
	if out == nil {
		out = os.Stderr
	}
	log := o.Log
	if log == nil {
		log = logrus.StandardLogger()
	}
	log = log.WithFields(logrus.Fields{"figure": fig10.Figure.Dir, "step": "prepare"})
	vmms, err := selectVMMs(o.VMMs)
	if err == nil {
		_, err = firecrackerGuest(o.FCGuest)
	}
	if err != nil {
		return nil, err
	}
	m, err := sources.ManifestFor(o.Manifest, o.Sources.Mirror)
	if err != nil {
		return nil, err
	}
	pr := &Prepared{Fixture: m.Fixture, Mirror: o.Sources.Mirror, Time: time.Now().UTC(),
		Guests: map[string]*unikraft.Image{}, Missing: map[string]string{}, NotRun: map[string]string{}}
	if m.Fixture != "" {
		fmt.Fprintf(out, "fig10: FIXTURE %s from %s — a stand-in for the upstream sources; nothing built from it is Unikraft\n", m.Fixture, o.Sources.Mirror)
	}

	// First what each VMM needs of the host: nothing is fetched or built for one that
	// cannot run here.
	accel := or(o.Accel, vmm.KVM)
	var feasible []fig10.VMM
	for _, v := range vmms {
		if why := hostNeeds(ctx, v, accel, o.Binaries); why != "" {
			pr.NotRun[v.Key] = why
			fmt.Fprintf(out, "fig10: %s will not run: %s\n", v.Label, why)
			continue
		}
		feasible = append(feasible, v)
	}

	// Which guests, and which sources they need. A fixture may stand in for some only.
	var guests []Guest
	var names []string
	for _, v := range feasible {
		g := GuestOf(v.Key, o.FCGuest)
		if slices.ContainsFunc(guests, func(x Guest) bool { return x.Key == g.Key }) {
			continue
		}
		need := g.Sources()
		if v.Key == fig10.Firecracker {
			need = append(need, FirecrackerSource)
		}
		if miss := missingSources(m, need); len(miss) > 0 {
			if m.Fixture == "" {
				return nil, fmt.Errorf("fig10: %s has no source %s, which the %s guest needs", o.Manifest, strings.Join(miss, ", "), g.Key)
			}
			pr.Missing[g.Key] = fmt.Sprintf("the FIXTURE %s provides no %s (it stands in for the QEMU guests only)", m.Fixture, strings.Join(miss, ", "))
			continue
		}
		guests = append(guests, g)
		for _, n := range need {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	noGuest := func() error {
		return fmt.Errorf("fig10: no guest of VMMS=%s can be prepared: %s", keys(vmms), strings.Join(slices.Concat(values(pr.NotRun), values(pr.Missing)), "; "))
	}
	if len(guests) == 0 {
		return nil, noGuest()
	}
	sub, err := m.Only(names...)
	if err != nil {
		return nil, err
	}
	sopt := o.Sources
	if sopt.Log == nil {
		sopt.Log = o.Log
	}
	if sopt.Progress == nil {
		sopt.Progress = out
	}
	set, err := sources.Fetch(ctx, sub, sopt)
	if _, mismatch := sources.Failed(err); err != nil && mismatch {
		return nil, err // a source that fails verification stops everything, as it always did
	} else if fe := (*sources.FetchError)(nil); errors.As(err, &fe) {
		// Missing sources: the guests that need them are not prepared, the others are.
		fmt.Fprintf(out, "fig10: %v\n", err)
		guests = slices.DeleteFunc(guests, func(g Guest) bool {
			need := g.Sources()
			if g.Key == GuestOf(fig10.Firecracker, o.FCGuest).Key {
				need = append(need, FirecrackerSource)
			}
			why := sourcesReason(fe, need)
			if why != "" {
				pr.Missing[g.Key] = why
			}
			return why != ""
		})
		if len(guests) == 0 {
			return nil, noGuest()
		}
	} else if err != nil {
		return nil, err
	}
	pr.Sources = set.Pins()

	dopt := o.Docker
	if dopt.Log == nil {
		dopt.Log = o.Log
	}
	if dopt.Out == nil {
		dopt.Out = out
	}
	dc, err := docker.Connect(ctx, dopt)
	if err != nil {
		return nil, err
	}
	defer dc.Close()
	tc, env, rec, err := dc.UnikraftToolchain(ctx, o.Containers, ToolchainRecipe, o.GCC, "gcc-11", "gcc-12", "binutils", "make")
	if err != nil {
		return nil, err
	}
	pr.Toolchain = rec

	b := &unikraft.Builder{Docker: dc, Toolchain: tc, Cache: Dir(o.Images), Log: o.Log}
	display := o.Progress
	if display == nil {
		display = progress.New(out)
	}
	task := display.Start("fig10 guests", len(guests), "guests")
	defer task.Done()
	var specs []unikraft.Spec
	for _, g := range guests {
		spec, err := g.spec(ctx, set, env)
		if err != nil {
			return nil, err
		}
		specs = append(specs, spec)
	}
	// The guests are built at once, one container each, the CPUs shared among them (the
	// builder gives each make its share): on a many-core host prepare takes as long as the
	// longest guest.
	built, err := b.BuildAll(ctx, specs, min(len(specs), runtime.NumCPU()), func(r unikraft.Result) {
		task.Step(r.Err == nil && r.Image != nil)
		if r.Image == nil {
			return
		}
		img := r.Image
		state := "up to date"
		if img.Built {
			state = fmt.Sprintf("built in %.1f s", img.Seconds)
		}
		fmt.Fprintf(out, "fig10: guest %-11s %s  %s (sha256 %s)\n", r.Spec.Name, state, img.Kernel, img.KernelSHA256[:12])
		for _, d := range img.Dropped {
			log.WithField("guest", r.Spec.Name).Debugf("config line dropped by olddefconfig: %s", d)
		}
		pr.Guests[r.Spec.Name] = img
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("fig10: prepare interrupted while building the guests: %w", context.Cause(ctx))
	case err != nil:
		return nil, fmt.Errorf("fig10: %w", err)
	}
	for _, r := range built {
		if r.Err != nil {
			// The other guests are built and cached; the first failure is the message.
			return nil, fmt.Errorf("fig10: guest %s: %w", r.Spec.Name, r.Err)
		}
	}
	task.Done()
	if _, ok := pr.Guests[GuestOf(fig10.Firecracker, o.FCGuest).Key]; ok {
		r, _ := set.Get(FirecrackerSource)
		if pr.Firecracker, err = extractFirecracker(r, Dir(o.Images)); err != nil {
			return nil, err
		}
	}
	for _, gw := range values(pr.Missing) {
		fmt.Fprintf(out, "fig10: guest %s\n", strings.Replace(gw, ": ", " not prepared: ", 1))
	}
	if err := os.MkdirAll(Dir(o.Images), 0o755); err != nil {
		return nil, err
	}
	if err := results.WriteJSONAtomic(preparedPath(o.Images, pr.Fixture), pr); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "fig10: prepared %d guest(s) in %.1f s (toolchain %s, gcc %s)\n", len(pr.Guests), time.Since(start).Seconds(), tc.Ref, pr.Toolchain.GCC)
	return pr, nil
}

// spec is the build of guest g from the fetched sources: its patch steps are resolved here
// into patch texts of the pinned sources (files of the artifact, diffs of pinned commits).
func (g Guest) spec(ctx context.Context, set *sources.Set, env []string) (unikraft.Spec, error) {
	tree := func(name string) (unikraft.Tree, error) {
		t, err := unikraft.TreeOf(set, name)
		if err != nil {
			return t, fmt.Errorf("fig10: guest %s: %w", g.Key, err)
		}
		return t, nil
	}
	core, err := tree(g.Core)
	if err != nil {
		return unikraft.Spec{}, err
	}
	cfg, err := g.ConfigLines()
	if err != nil {
		return unikraft.Spec{}, err
	}
	var app map[string][]byte
	if g.App == "" {
		app, err = App()
	} else {
		var t unikraft.Tree
		if t, err = tree(g.App); err == nil {
			app, err = treeFiles(t.Dir)
		}
	}
	if err != nil {
		return unikraft.Spec{}, fmt.Errorf("fig10: guest %s: the application: %w", g.Key, err)
	}
	s := unikraft.Spec{Name: g.Key, Core: core, App: app, Config: cfg, Edits: g.Edits, Kernel: g.Kernel, Extras: g.Extras, Env: env}
	for _, st := range g.Steps {
		steps, err := st.Resolve(ctx, set, core)
		if err != nil {
			return s, fmt.Errorf("fig10: guest %s: %w", g.Key, err)
		}
		s.Steps = append(s.Steps, steps...)
	}
	for _, l := range g.Libs {
		t, err := tree(l)
		if err != nil {
			return s, err
		}
		s.Libs = append(s.Libs, t)
	}
	for _, p := range g.Placed {
		a, err := unikraft.PlacedOf(set, p)
		if err != nil {
			return s, fmt.Errorf("fig10: guest %s: %w", g.Key, err)
		}
		s.Archives = append(s.Archives, a)
	}
	return s, nil
}

// treeFiles reads the files of a source tree (an application), leaving out dot files.
func treeFiles(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	return files, err
}

func missingSources(m *sources.Manifest, names []string) []string {
	var miss []string
	for _, n := range names {
		if _, ok := m.Source(n); !ok {
			miss = append(miss, n)
		}
	}
	return miss
}

// firecrackerBinary matches the binary's name inside a release archive.
var firecrackerBinary = regexp.MustCompile(`^firecracker-v[0-9][0-9.]*-x86_64$`)

// extractFirecracker takes the firecracker binary out of the verified release archive, into
// a directory named by the archive's hash.
func extractFirecracker(r sources.Resolved, dir string) (string, error) {
	if r.File == "" || r.SHA256 == "" {
		return "", fmt.Errorf("fig10: the Firecracker release is not a verified archive in the source cache")
	}
	dst := filepath.Join(dir, "firecracker-"+r.SHA256[:12], "firecracker")
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() {
		return dst, nil
	}
	f, err := os.Open(r.File)
	if err != nil {
		return "", err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "", fmt.Errorf("fig10: %s: %w", r.File, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("fig10: %s holds no firecracker-v*-x86_64 binary", r.File)
		}
		if err != nil {
			return "", fmt.Errorf("fig10: %s: %w", r.File, err)
		}
		if h.Typeflag != tar.TypeReg || !firecrackerBinary.MatchString(filepath.Base(h.Name)) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		tmp := dst + ".tmp"
		out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(out, tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp)
			return "", err
		}
		return dst, os.Rename(tmp, dst)
	}
}

// Clean removes Figure 10's guest images, work directories and prepared indexes from the
// image cache. Sources, toolchain images and results are kept.
func Clean(images string, out io.Writer) error {
	return unikraft.Clean(Dir(images), "fig10", "the guest images", out)
}

func keys(vs []fig10.VMM) string {
	var k []string
	for _, v := range vs {
		k = append(k, v.Key)
	}
	return strings.Join(k, ",")
}

func values(m map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+": "+m[k])
	}
	return out
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
