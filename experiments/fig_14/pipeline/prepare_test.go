package pipeline

import (
	"bytes"
	"context"
	"debug/elf"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/unikraft-eurosys21/artifact/experiments/fig_14/fixture"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/files"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
)

func quiet() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// prepare writes a variant of the FIXTURE mirror and prepares its images into a fresh cache
// (skipped without a Docker daemon outside CI).
func prepare(t *testing.T, fo fixture.Options) (PrepareOptions, *Prepared, string, error) {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	m, err := fixture.WriteMirrorWith(ctx, filepath.Join(root, "mirror"), fo)
	if err != nil {
		t.Fatal(err)
	}
	out := &bytes.Buffer{}
	opt := PrepareOptions{Manifest: filepath.Join("..", "..", "..", sources.ManifestPath),
		Sources:    sources.Options{Cache: filepath.Join(root, "sources"), Mirror: m.Dir, Log: quiet()},
		Containers: filepath.Join("..", "..", "..", "containers"), Images: filepath.Join(root, "images"),
		Docker: docker.Options{Log: quiet(), Out: io.Discard, LogDir: filepath.Join(root, "logs")}, Log: quiet(), Out: out}
	pr, err := Prepare(ctx, opt)
	if err != nil && strings.Contains(err.Error(), "cannot reach the Docker daemon") && os.Getenv("CI") == "" {
		t.Skipf("no Docker daemon: %v", err)
	}
	return opt, pr, out.String(), err
}

// The FIXTURE images build for real in the toolchain container: every image keeps its
// unstripped .dbg (symbols for gdb) beside the stripped kernel, the lwip patch and the
// tinyalloc edits are applied, the initrd is recorded with its sha256, and a second prepare
// rebuilds nothing.
func TestFixtureImagesBuildWithTheirDebugImages(t *testing.T) {
	opt, pr, out, err := prepare(t, fixture.Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if pr.Fixture != fixture.Name || len(pr.Images) != len(Images) || len(pr.Skipped) != 0 {
		t.Fatalf("prepared: fixture %q, %d images, skipped %v", pr.Fixture, len(pr.Images), pr.Skipped)
	}
	for _, alloc := range []string{"tinyalloc", "buddy"} {
		img := pr.Images[alloc]
		dbg := Debug(img)
		if dbg == "" {
			t.Fatalf("%s: no .dbg kept: %v", alloc, img.Extras)
		}
		if syms := symbols(t, dbg); !syms["main"] || !syms["_libkvmplat_entry"] {
			t.Errorf("%s: the .dbg lacks main or _libkvmplat_entry", alloc)
		}
		if syms := symbols(t, img.Kernel); len(syms) != 0 {
			t.Errorf("%s: the kernel QEMU boots is not stripped", alloc)
		}
		if b, _ := os.ReadFile(img.StepsLog); !strings.Contains(string(b), "Applied patch README.FIXTURE cleanly") {
			t.Errorf("%s: the lwip patch was not applied:\n%s", alloc, b)
		}
	}
	// The boot allocator of each configuration is what its image was built with.
	if b, _ := os.ReadFile(pr.Images["tinyalloc"].Kernel); !bytes.Contains(b, []byte("TINYALLOC")) {
		t.Error("the tinyalloc image does not carry its boot allocator")
	}
	sum, _ := files.SHA256(pr.Initrd.Path)
	if pr.Initrd.Bytes != 27648 || sum != pr.Initrd.SHA256 {
		t.Errorf("initrd %+v (file sha256 %s)", pr.Initrd, sum)
	}
	read, err := ReadPrepared(opt.Images, fixture.Name)
	if err != nil || read.Images["region"].KernelSHA256 != pr.Images["region"].KernelSHA256 || Debug(read.Images["region"]) == "" {
		t.Errorf("prepared.json: %v", err)
	}
	var again bytes.Buffer
	opt.Out = &again
	if _, err := Prepare(context.Background(), opt); err != nil || strings.Contains(again.String(), "built in") {
		t.Errorf("the second prepare (%v) rebuilt an image:\n%s", err, again.String())
	}
}

// A mirror without the lwip patchwork patch (patchwork gone) still builds the images, and
// prepared.json says which step was left out.
func TestFixtureWithoutTheLwipPatchSaysSo(t *testing.T) {
	_, pr, out, err := prepare(t, fixture.Options{NoLwipPatch: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(pr.Skipped) != 1 || !strings.Contains(pr.Skipped[0], "patchwork-737737") || !strings.Contains(out, "not applied") {
		t.Errorf("skipped %v, output:\n%s", pr.Skipped, out)
	}
}

// A lib-tinyalloc whose glue.c lacks the text the paper's sed changed stops the build,
// naming the library, the file and the text.
func TestTinyallocEditFailsLoudlyWhenItsTextIsMissing(t *testing.T) {
	_, _, out, err := prepare(t, fixture.Options{TinyallocGlue: "/* FIXTURE: a glue.c without the paper's texts */\n#include <uk/tinyalloc.h>\n"})
	if err == nil {
		t.Fatalf("the build succeeded:\n%s", out)
	}
	for _, want := range []string{"image tinyalloc", "the library lib-tinyalloc", "glue.c", "text not found", "ta_alloc(b, size)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
}

func symbols(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, _ := f.Symbols()
	out := map[string]bool{}
	for _, s := range syms {
		out[s.Name] = true
	}
	return out
}
