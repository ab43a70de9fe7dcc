package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	fig22 "github.com/unikraft-eurosys21/artifact/experiments/fig_22"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

// PrepareOptions configure Prepare.
type PrepareOptions struct {
	Manifest   string // the repository's source manifest (containers/sources.json)
	Sources    sources.Options
	Containers string // the containers/ directory
	Images     string // image cache root (IMAGES_CACHE)
	GCC        string // "11" (default) or "12"
	// LinuxKernel is LINUX_KERNEL: a kernel image to boot instead of Debian's pinned one.
	LinuxKernel string
	Docker      docker.Options
	Log         logrus.FieldLogger
	Out         io.Writer // progress and the summary; os.Stderr when nil
}

// UKInitrdFile is the Unikraft image's initrd in Figure 22's folder of the image cache.
const UKInitrdFile = "unikraft-initrd.cpio"

// Prepare fetches the pinned sources, builds the toolchain image, the benchmark's Unikraft
// image, the SHFS tools, the SHFS volume and the Unikraft initrd, then the Linux side
// (PrepareLinux), and records it all for the run step (prepared[-<fixture>].json). Each
// piece is cached by its inputs: a second prepare builds nothing.
func Prepare(ctx context.Context, o PrepareOptions) (*Prepared, error) {
	start := time.Now()
	st, err := prepareUnikraft(ctx, o)
	if err != nil {
		return nil, err
	}
	defer st.dc.Close()
	pr := st.pr
	lx, err := PrepareLinux(ctx, LinuxOptions{Docker: st.dc, Toolchain: st.tc, Env: st.env, Dir: Dir(o.Images), Kernel: o.LinuxKernel, Log: o.Log, Out: st.out})
	if err != nil {
		return nil, st.interrupted("preparing the Linux side", err)
	}
	pr.Linux = lx
	if err := results.WriteJSONAtomic(figure.PreparedPath(Dir(o.Images), pr.Fixture), pr); err != nil {
		return nil, err
	}
	fmt.Fprintf(st.out, "fig22: prepared the Unikraft image, the SHFS volume, both initrds and the Linux kernel in %.1f s (toolchain %s, gcc %s)\n",
		time.Since(start).Seconds(), st.tc.Ref, pr.Toolchain.GCC)
	return pr, nil
}

// ukPrepared is the Unikraft side done, with the Docker connection the Linux side uses.
type ukPrepared struct {
	pr  *Prepared
	dc  *docker.Client
	tc  docker.Image
	env []string
	out io.Writer
	ctx context.Context
}

// interrupted tells a build that failed on its own (err) from one stopped by Ctrl-C or by
// the Docker daemon going away.
func (st *ukPrepared) interrupted(what string, err error) error {
	if st.ctx.Err() != nil {
		return fmt.Errorf("fig22: prepare interrupted while %s: %w", what, context.Cause(st.ctx))
	}
	if st.dc.Ping(context.WithoutCancel(st.ctx)) != nil {
		return fmt.Errorf("fig22: %s: %w", what, unikraft.ErrDockerLost)
	}
	return err
}

// prepareUnikraft is the Unikraft side of Prepare: sources, toolchain, image, SHFS tools and
// volume, initrd. The caller closes the returned Docker client.
func prepareUnikraft(ctx context.Context, o PrepareOptions) (_ *ukPrepared, err error) {
	out := o.Out
	if out == nil {
		out = os.Stderr
	}
	log := o.Log
	if log == nil {
		log = logrus.StandardLogger()
	}
	log = log.WithFields(logrus.Fields{"figure": fig22.Figure.Dir, "step": "prepare"})
	m, err := sources.ManifestFor(o.Manifest, o.Sources.Mirror)
	if err != nil {
		return nil, err
	}
	pr := &Prepared{Fixture: m.Fixture, Mirror: o.Sources.Mirror, Time: time.Now().UTC()}
	if m.Fixture != "" {
		fmt.Fprintf(out, "fig22: FIXTURE %s from %s — a stand-in for the upstream sources; nothing built from it is Unikraft or lib-shfs\n", m.Fixture, o.Sources.Mirror)
	}
	// Every source is needed by the one image: all that are missing are named at once.
	var miss []string
	for _, n := range UKSources {
		if _, ok := m.Source(n); !ok {
			miss = append(miss, n)
		}
	}
	if len(miss) > 0 {
		return nil, fmt.Errorf("fig22: %s has no source %s, which the Unikraft image needs; add it there (or use a mirror that has it) and run `go tool mage fig22:prepare` again",
			prepareSourcesName(o.Manifest, m), strings.Join(miss, ", "))
	}
	sub, err := m.Only(UKSources...)
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
	if err != nil {
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
	st := &ukPrepared{dc: dc, out: out, ctx: ctx}
	defer func() {
		if err != nil {
			dc.Close()
		}
	}()
	tc, env, rec, err := dc.UnikraftToolchain(ctx, o.Containers, ToolchainRecipe, o.GCC, "gcc-11", "gcc-12", "binutils", "make", "uuid-dev", "libmhash-dev")
	if err != nil {
		return nil, err
	}
	pr.Toolchain = rec
	dir := Dir(o.Images)
	// The Unikraft image.
	spec, err := UKSpec(set, env)
	if err != nil {
		return nil, err
	}
	builder := &unikraft.Builder{Docker: dc, Toolchain: tc, Cache: dir, Log: o.Log}
	fmt.Fprintf(out, "fig22: Unikraft image %s (%s + %s)\n", UKKernel, UKCore, strings.Join(UKLibs, ":"))
	img, err := builder.Build(ctx, spec)
	if err != nil {
		return nil, st.interrupted("building the Unikraft image", fmt.Errorf("fig22: Unikraft image: %w", err))
	}
	state := "up to date"
	if img.Built {
		state = fmt.Sprintf("built in %.1f s", img.Seconds)
	}
	fmt.Fprintf(out, "fig22: Unikraft image %s  %s (sha256 %s)\n", state, img.Kernel, img.KernelSHA256[:12])
	ukReportDropped(out, log, m.Fixture, img)
	pr.Unikraft = img

	// The SHFS tools and volume.
	core, err := unikraft.TreeOf(set, LibSHFS)
	if err != nil {
		return nil, fmt.Errorf("fig22: %w", err)
	}
	sr := shfsRun{dc: dc, tc: tc, env: env, dir: dir, log: log.WithField("step", "shfs")}
	tools, err := sr.buildTools(ctx, core)
	if err != nil {
		return nil, st.interrupted("building the SHFS tools", err)
	}
	vol, made, err := sr.makeVolume(ctx, tools)
	if err != nil {
		return nil, st.interrupted("making the SHFS volume", err)
	}
	vol.Built = tools.Built || made
	pr.SHFS = vol
	state = "up to date"
	if vol.Built {
		state = "made"
	}
	fmt.Fprintf(out, "fig22: SHFS tools %s and volume %s  %s (sha256 %s; %s listed under %s)\n",
		strings.Join(SHFSTools, ", "), state, vol.Path, vol.SHA256[:12], RND4KName, fig22.RND4KHash[:12])

	// The Unikraft initrd: /<sha256 of rnd4k>, for the VFS series.
	if pr.UKInitrd, err = writeUKInitrd(dir); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "fig22: Unikraft initrd %s (newc, /%s; sha256 %s)\n", pr.UKInitrd.Path, fig22.RND4KHash[:12]+"…", pr.UKInitrd.SHA256[:12])

	st.pr, st.tc, st.env = pr, tc, env
	return st, nil
}

// ukReportDropped says which of the paper's configuration lines olddefconfig dropped: a
// warning for a real tree (the image differs from the paper's there), one FIXTURE line for
// the stand-in, which declares only the symbols it uses.
func ukReportDropped(out io.Writer, log logrus.FieldLogger, fixture string, img *unikraft.Image) {
	for _, d := range img.Dropped {
		if fixture != "" {
			log.Debugf("olddefconfig of the FIXTURE tree dropped the paper's config line %s", d)
		} else {
			log.Warnf("olddefconfig dropped the paper's config line %s: the tree does not declare it", d)
		}
	}
	if fixture != "" && len(img.Dropped) > 0 {
		fmt.Fprintf(out, "fig22: FIXTURE: olddefconfig of the stand-in tree dropped %d of the paper's config lines, which it does not declare (prepared.json lists them)\n", len(img.Dropped))
	}
}

// writeUKInitrd writes the Unikraft image's initrd (plain newc holding /<RND4KHash>) into
// dir, unless the same bytes are there already.
func writeUKInitrd(dir string) (File, error) {
	rnd4k, err := paperRND4K()
	if err != nil {
		return File{}, err
	}
	p := filepath.Join(dir, UKInitrdFile)
	tmp := p + ".new"
	if err := WriteInitrd(tmp, []Entry{{Name: fig22.RND4KHash, Data: rnd4k, Mode: 0o444}}, false); err != nil {
		return File{}, fmt.Errorf("fig22: the Unikraft initrd: %w", err)
	}
	nb, _ := os.ReadFile(tmp)
	if ob, err := os.ReadFile(p); err == nil && bytes.Equal(ob, nb) {
		os.Remove(tmp)
	} else if err := os.Rename(tmp, p); err != nil {
		return File{}, err
	}
	return FileOf(p)
}

// Clean removes Figure 22's images, SHFS tools and volumes, initrds and prepared indexes from
// the image cache. Sources, toolchain images and results are kept.
func Clean(images string, out io.Writer) error {
	return unikraft.Clean(Dir(images), "fig22", "the images, SHFS volume, initrds and Linux kernel", out)
}

func prepareSourcesName(path string, m *sources.Manifest) string {
	if m.Fixture != "" {
		return "the FIXTURE manifest " + m.Fixture
	}
	return path
}
