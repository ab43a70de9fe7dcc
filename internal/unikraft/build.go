package unikraft

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/files"
)

// Tree is a source tree of the cache: read-only, identified by its commit.
type Tree struct {
	Name string `json:"name"` // source name, e.g. "unikraft-7fd6797"; names the lib directory
	Dir  string `json:"-"`    // the tree
	ID   string `json:"id"`   // commit (any id that changes whenever the content does)
}

// Placed is an archive a library's build would download, put where it looks first.
type Placed struct {
	Path string `json:"path"` // build/<library>/<file>, relative to the application
	File string `json:"-"`    // the archive in the source cache
	ID   string `json:"id"`   // its sha256 or commit
}

// Spec is everything an image is built from. Its content hash (with the toolchain image's id)
// names the image in the cache.
type Spec struct {
	Name   string            `json:"name"` // e.g. "fig10-stat"; file-name safe
	Core   Tree              `json:"core"` // the Unikraft tree (make -C)
	Libs   []Tree            `json:"libs"` // external libraries and platforms (L=), in order
	App    map[string][]byte `json:"-"`    // the application directory's files (A=)
	Config []string          `json:"config"`
	Edits  []Edit            `json:"edits,omitempty"` // applied to the copy of Core
	// Steps are applied after Edits, in order, to the copies of Core and the application.
	Steps    []Step   `json:"steps,omitempty"`
	Archives []Placed `json:"archives,omitempty"`
	// Kernel lists the names the image may have in the build directory (they differ between
	// Unikraft versions); the first that exists is the kernel.
	Kernel []string `json:"kernel"`
	// Extras are further build outputs to keep (e.g. the solo5-hvt tender plat-solo5 builds).
	Extras []string `json:"extras,omitempty"`
	Env    []string `json:"env,omitempty"` // container environment, e.g. the compiler selection
	// InPlace mounts Core and Libs read-only where they are in the source cache (at
	// /src/unikraft and /src/libs/<name>) instead of copying them: for trees built as
	// fetched (no Edits, no Steps), so that nothing is copied and the paths the compiler
	// sees are those of Figure 8's builds since the start.
	InPlace bool `json:"in_place,omitempty"`
}

// Image is a built image in the cache.
type Image struct {
	Name         string            `json:"name"`
	Hash         string            `json:"hash"`
	Dir          string            `json:"dir"`
	Kernel       string            `json:"kernel"` // path of the kernel
	KernelSHA256 string            `json:"kernel_sha256"`
	Extras       map[string]string `json:"extras,omitempty"` // name → path
	// Config is the final .config (after olddefconfig); Dropped lists requested lines it
	// does not contain as requested (symbols the tree does not have, or overridden ones).
	Config    string   `json:"config"`
	Dropped   []string `json:"dropped,omitempty"`
	Toolchain string   `json:"toolchain"`          // image id the build ran in
	Compiler  string   `json:"compiler,omitempty"` // first line of gcc --version in the build
	Log       string   `json:"log"`
	StepsLog  string   `json:"steps_log,omitempty"` // output of the patch steps (Spec.Steps)
	Seconds   float64  `json:"build_seconds"`
	Built     bool     `json:"-"` // built by this call rather than found in the cache
	Spec      Spec     `json:"spec"`
	AppFiles  []string `json:"app_files"` // name and sha256 of each application file
}

// Builder builds images in the toolchain container and caches them.
type Builder struct {
	Docker    Docker
	Toolchain docker.Image // the unikraft toolchain image
	Cache     string       // image cache directory
	// Jobs is make's -j in each build. When 0, Build uses the number of CPUs and BuildAll
	// shares them among the images it builds at once.
	Jobs    int
	Timeout time.Duration
	Log     logrus.FieldLogger
	// NoFetchPrepare is for tests only: it runs make -jN straight after olddefconfig,
	// without the serial fetch and prepare steps, to show the race those steps prevent.
	NoFetchPrepare bool
}

// Docker is what the builder needs of a Docker client (*docker.Client): run a container,
// and tell a build that failed from a daemon that is gone.
type Docker interface {
	Run(ctx context.Context, spec docker.RunSpec) error
	// Ping says whether the daemon still answers (nil) or what is wrong with it.
	Ping(ctx context.Context) error
}

// version changes when the build procedure changes in a way that changes images.
const version = "unikraft-build-1"

var safeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`)

// Hash is the content hash of spec built in the toolchain image with the given id.
func (s Spec) Hash(toolchainID string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\ntoolchain %s\nname %s\ncore %s %s\n", version, toolchainID, s.Name, s.Core.Name, s.Core.ID)
	for _, l := range s.Libs {
		fmt.Fprintf(h, "lib %s %s\n", l.Name, l.ID)
	}
	for _, f := range s.appFiles() {
		fmt.Fprintf(h, "app %s\n", f)
	}
	for _, c := range s.Config {
		fmt.Fprintf(h, "config %s\n", c)
	}
	for _, e := range s.Edits {
		fmt.Fprintf(h, "edit %s %s %s\n", e.File, e.Function, e.Statement)
	}
	for _, st := range s.Steps {
		fmt.Fprintln(h, st.hashLine())
	}
	for _, a := range s.Archives {
		fmt.Fprintf(h, "archive %s %s\n", a.Path, a.ID)
	}
	fmt.Fprintf(h, "kernel %q\nextras %q\nenv %q\n", s.Kernel, s.Extras, s.Env)
	if s.InPlace { // only then, so that the hashes of copied trees stay what they were
		fmt.Fprintln(h, "in place")
	}
	return hex.EncodeToString(h.Sum(nil))
}

// appFiles lists "name sha256" of the application's files, sorted.
func (s Spec) appFiles() []string {
	var out []string
	for name, b := range s.App {
		sum := sha256.Sum256(b)
		out = append(out, name+" "+hex.EncodeToString(sum[:]))
	}
	sort.Strings(out)
	return out
}

func (s Spec) check() error {
	if !safeName.MatchString(s.Name) {
		return fmt.Errorf("unikraft: image name %q: expected letters, digits, '.', '_' or '-'", s.Name)
	}
	if s.Core.Dir == "" || s.Core.ID == "" {
		return fmt.Errorf("unikraft: %s: no Unikraft tree", s.Name)
	}
	for _, l := range s.Libs {
		if !safeName.MatchString(l.Name) || l.Dir == "" || l.ID == "" {
			return fmt.Errorf("unikraft: %s: library %q: needs a safe name, a tree and an id", s.Name, l.Name)
		}
	}
	if len(s.App) == 0 || s.App["Makefile.uk"] == nil {
		return fmt.Errorf("unikraft: %s: the application has no Makefile.uk", s.Name)
	}
	for name := range s.App {
		if !fs.ValidPath(name) || strings.HasPrefix(name, ".") {
			return fmt.Errorf("unikraft: %s: application file name %q", s.Name, name)
		}
	}
	for _, c := range s.Config {
		if !configLine.MatchString(c) {
			return fmt.Errorf("unikraft: %s: config line %q: expected CONFIG_<NAME>=<value>", s.Name, c)
		}
	}
	for _, st := range s.Steps {
		if err := st.check(s.Libs); err != nil {
			return fmt.Errorf("unikraft: %s: %w", s.Name, err)
		}
	}
	if s.InPlace && (len(s.Edits) > 0 || len(s.Steps) > 0) {
		return fmt.Errorf("unikraft: %s: edits and patch steps need a copy of the trees; InPlace mounts them read-only", s.Name)
	}
	if len(s.Kernel) == 0 {
		return fmt.Errorf("unikraft: %s: no kernel name given", s.Name)
	}
	for _, n := range append(slices.Clone(s.Kernel), s.Extras...) {
		if !safeName.MatchString(n) {
			return fmt.Errorf("unikraft: %s: output name %q", s.Name, n)
		}
	}
	return nil
}

var configLine = regexp.MustCompile(`^CONFIG_[A-Za-z0-9_]+=.*$`)

// Paths inside the container.
const (
	workMount = "/work"
	coreDir   = "unikraft"
	appDir    = "app"
	buildDir  = "build"
	libsDir   = "libs"
	srcMount  = "/src" // InPlace: the trees of the source cache, read-only
)

// BuildError is a build that was tried and failed: its log and the .config it reached are
// kept (empty when the build did not get that far).
type BuildError struct {
	Name   string
	Log    string // the build's output
	Config string // the .config of the failed build
	Work   string // the work directory, kept for a look
	Err    error
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("unikraft: build of %s failed (work directory kept: %s): %v", e.Name, e.Work, e.Err)
}

func (e *BuildError) Unwrap() error { return e.Err }

// Build returns the image for spec: from the cache when an image with the same content hash
// is there, else built in the toolchain container. A failed build keeps its log and work
// directory and says where they are (*BuildError once the container ran).
func (b *Builder) Build(ctx context.Context, s Spec) (*Image, error) {
	return b.build(ctx, s, b.Jobs)
}

func (b *Builder) build(ctx context.Context, s Spec, jobs int) (*Image, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	hash := s.Hash(b.Toolchain.ID)
	dir := filepath.Join(b.Cache, s.Name+"-"+hash[:12])
	if img, err := readImage(dir); err == nil {
		return img, nil
	}
	log := b.log().WithFields(logrus.Fields{"step": "build", "image": s.Name})
	start := time.Now()
	work := filepath.Join(b.Cache, ".work", s.Name+"-"+hash[:12])
	logPath := filepath.Join(b.Cache, ".work", s.Name+"-"+hash[:12]+".log")
	if err := RemoveAll(work); err != nil {
		return nil, fmt.Errorf("unikraft: %s: remove the previous work directory: %w", s.Name, err)
	}
	if err := b.stage(s, work); err != nil {
		return nil, err
	}
	stepsLog := filepath.Join(b.Cache, ".work", s.Name+"-"+hash[:12]+".steps.log")
	if err := b.applySteps(ctx, s, work, stepsLog); err != nil {
		return nil, err
	}
	log.WithField("work", work).Info("building")
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	mounts := []docker.Mount{{Source: work, Target: workMount}}
	core := path.Join(workMount, coreDir)
	var libs []string
	for _, l := range s.Libs {
		libs = append(libs, path.Join(workMount, libsDir, l.Name))
	}
	if s.InPlace {
		core = path.Join(srcMount, coreDir)
		mounts = append(mounts, docker.Mount{Source: s.Core.Dir, Target: core, ReadOnly: true})
		for i, l := range s.Libs {
			libs[i] = path.Join(srcMount, libsDir, l.Name)
			mounts = append(mounts, docker.Mount{Source: l.Dir, Target: libs[i], ReadOnly: true})
		}
	}
	timeout := b.Timeout
	if timeout == 0 {
		timeout = 45 * time.Minute
	}
	err := b.Docker.Run(ctx, docker.RunSpec{
		Image:   b.Toolchain.Ref,
		Cmd:     []string{"bash", "-c", script(core, libs, jobs, !b.NoFetchPrepare)},
		Env:     s.Env,
		WorkDir: workMount,
		Mounts:  mounts,
		LogPath: logPath,
		Timeout: timeout,
		Name:    "build " + s.Name,
	})
	if err != nil {
		be := &BuildError{Name: s.Name, Log: logPath, Work: work, Err: err}
		if _, serr := os.Stat(filepath.Join(work, appDir, ".config")); serr == nil {
			be.Config = filepath.Join(work, appDir, ".config")
		}
		return nil, be
	}
	img, err := b.collect(s, hash, work, dir, logPath)
	if err != nil {
		os.RemoveAll(dir + ".tmp") // the half-collected image; the work directory is kept
		return nil, fmt.Errorf("unikraft: %s (work directory kept: %s, log %s): %w", s.Name, work, logPath, err)
	}
	if len(s.Steps) > 0 {
		// What each patch did (offsets, fuzz) stays with the image.
		img.StepsLog = filepath.Join(dir, "steps.log")
		if err := files.Copy(stepsLog, img.StepsLog, 0o644); err != nil {
			return nil, fmt.Errorf("unikraft: %s: keep the log of the patch steps: %w", s.Name, err)
		}
		os.Remove(stepsLog)
	}
	img.Seconds = time.Since(start).Seconds()
	img.Built = true
	if err := writeImage(dir, img); err != nil {
		return nil, err
	}
	RemoveAll(work)
	log.WithFields(logrus.Fields{"kernel": img.Kernel, "seconds": img.Seconds}).Info("built")
	return img, nil
}

// script is the build in the toolchain container, each command echoed into the log: the
// compiler recorded, the .config completed, then `make fetch` and `make prepare` serially
// before the parallel build, as kraft ran them. Unikraft 0.4 does not make the sources
// inside a library's archive depend on the archive, so `make -jN` on a fresh build directory
// looks for them while the archive is still being unpacked ("No rule to make target
// …/origin/newlib-2.5.0.20170922/…/argz_add.c").
func script(core string, libs []string, jobs int, serial bool) string {
	mk := fmt.Sprintf("make -C %s A=%s", core, path.Join(workMount, appDir))
	if len(libs) > 0 {
		mk += " L=" + strings.Join(libs, ":")
	}
	mk += " O=" + path.Join(workMount, buildDir)
	var b strings.Builder
	b.WriteString("set -euo pipefail\n")
	fmt.Fprintf(&b, "gcc --version | head -n 1 > %s\necho \"+ $(cat %[1]s)\"\n", path.Join(workMount, compilerFile))
	steps := []string{"olddefconfig"}
	if serial {
		steps = append(steps, "fetch", "prepare")
	}
	for _, st := range append(steps, fmt.Sprintf("-j%d", jobs)) {
		fmt.Fprintf(&b, "echo '+ %s %s'\n%s %s\n", mk, st, mk, st)
	}
	return b.String()
}

// compilerFile is where the build records its compiler, in the work directory.
const compilerFile = "compiler.txt"

func (b *Builder) log() logrus.FieldLogger {
	if b.Log != nil {
		return b.Log
	}
	return logrus.StandardLogger()
}

// stage lays out the work directory: the edited copy of the core, copies of the libraries,
// the application with its .config, and the placed archives.
func (b *Builder) stage(s Spec, work string) error {
	fail := func(err error) error { return fmt.Errorf("unikraft: %s: %w", s.Name, err) }
	if !s.InPlace {
		if err := CopyTree(s.Core.Dir, filepath.Join(work, coreDir)); err != nil {
			return fail(err)
		}
		for _, e := range s.Edits {
			if err := e.Apply(filepath.Join(work, coreDir)); err != nil {
				return fail(fmt.Errorf("%s at %s: %w", s.Core.Name, s.Core.ID, err))
			}
		}
		for _, l := range s.Libs {
			if err := CopyTree(l.Dir, filepath.Join(work, libsDir, l.Name)); err != nil {
				return fail(err)
			}
		}
	}
	app := filepath.Join(work, appDir)
	for name, data := range s.App {
		p := filepath.Join(app, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fail(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fail(err)
		}
	}
	if err := os.WriteFile(filepath.Join(app, ".config"), []byte(strings.Join(s.Config, "\n")+"\n"), 0o644); err != nil {
		return fail(err)
	}
	for _, a := range s.Archives {
		dst := filepath.Join(work, buildDir, filepath.FromSlash(strings.TrimPrefix(a.Path, "build/")))
		if err := files.Copy(a.File, dst, 0o644); err != nil {
			return fail(fmt.Errorf("place %s: %w", a.Path, err))
		}
	}
	return nil
}

// collect moves the outputs of a successful build into the image directory.
func (b *Builder) collect(s Spec, hash, work, dir, logPath string) (*Image, error) {
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	img := &Image{Name: s.Name, Hash: hash, Dir: dir, Extras: map[string]string{}, Toolchain: b.Toolchain.ID, Spec: s, AppFiles: s.appFiles()}
	found := ""
	for _, k := range s.Kernel {
		if st, err := os.Stat(filepath.Join(work, buildDir, k)); err == nil && st.Mode().IsRegular() {
			found = k
			break
		}
	}
	if found == "" {
		return nil, fmt.Errorf("the build succeeded but produced none of %s in its build directory (%s)", strings.Join(s.Kernel, ", "), listDir(filepath.Join(work, buildDir)))
	}
	if err := files.Copy(filepath.Join(work, buildDir, found), filepath.Join(tmp, found), 0o755); err != nil {
		return nil, err
	}
	img.Kernel = filepath.Join(dir, found)
	for _, x := range s.Extras {
		if err := files.Copy(filepath.Join(work, buildDir, x), filepath.Join(tmp, x), 0o755); err != nil {
			return nil, fmt.Errorf("expected build output %s: %w", x, err)
		}
		img.Extras[x] = filepath.Join(dir, x)
	}
	cfg := filepath.Join(work, appDir, ".config")
	final, err := os.ReadFile(cfg)
	if err != nil {
		return nil, fmt.Errorf("the final configuration: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "config"), final, 0o644); err != nil {
		return nil, err
	}
	img.Config = filepath.Join(dir, "config")
	img.Dropped = Dropped(s.Config, final)
	if c, err := os.ReadFile(filepath.Join(work, compilerFile)); err == nil {
		img.Compiler = strings.TrimSpace(string(c))
	}
	if err := files.Copy(logPath, filepath.Join(tmp, "build.log"), 0o644); err != nil {
		return nil, err
	}
	img.Log = filepath.Join(dir, "build.log")
	sum, err := files.SHA256(filepath.Join(tmp, found))
	if err != nil {
		return nil, err
	}
	img.KernelSHA256 = sum
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	os.Remove(logPath)
	return img, nil
}

// Dropped lists the requested config lines that the final configuration does not hold as
// requested, each with what it holds instead ("CONFIG_X=8 (not in the final configuration)").
// A line "CONFIG_X=n" is honoured by "# CONFIG_X is not set" or by the symbol's absence.
func Dropped(requested []string, final []byte) []string {
	have := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(final)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "CONFIG_") {
			have[k] = v
		} else if strings.HasPrefix(line, "# CONFIG_") && strings.HasSuffix(line, " is not set") {
			have[strings.Fields(line)[1]] = "n"
		}
	}
	var out []string
	for _, r := range requested {
		k, v, _ := strings.Cut(r, "=")
		got, ok := have[k]
		switch {
		case ok && got == v, !ok && v == "n":
		case !ok:
			out = append(out, r+" (not in the final configuration)")
		default:
			out = append(out, fmt.Sprintf("%s (final: %s=%s)", r, k, got))
		}
	}
	return out
}

func readImage(dir string) (*Image, error) {
	b, err := os.ReadFile(filepath.Join(dir, "image.json"))
	if err != nil {
		return nil, err
	}
	var img Image
	if err := json.Unmarshal(b, &img); err != nil {
		return nil, err
	}
	// The kernel must still be there and unchanged (a cache is not a trusted place).
	sum, err := files.SHA256(img.Kernel)
	if err != nil || sum != img.KernelSHA256 {
		return nil, errors.New("kernel missing or changed")
	}
	return &img, nil
}

func writeImage(dir string, img *Image) error {
	b, err := json.MarshalIndent(img, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "image.json"), append(b, '\n'), 0o644)
}

func listDir(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err.Error()
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) == 0 {
		return "it is empty"
	}
	return "it holds " + strings.Join(names, ", ")
}
