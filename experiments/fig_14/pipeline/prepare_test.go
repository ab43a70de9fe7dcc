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
// unstripped .dbg (symbols for gdb) beside the stripped kernel, the lwip patch (its merged
// form) and the tinyalloc edits are applied — so the final configuration keeps the paper's
// CONFIG_LWIP_POOLS=y —, lib-nginx's -Werror passes, the initrd is recorded with its sha256,
// and a second prepare rebuilds nothing.
func TestFixtureImagesBuildWithTheirDebugImages(t *testing.T) {
	opt, pr, out, err := prepare(t, fixture.Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if pr.Fixture != fixture.Name || len(pr.Images) != len(Images) {
		t.Fatalf("prepared: fixture %q, %d images", pr.Fixture, len(pr.Images))
	}
	for alloc, img := range pr.Images {
		cfg, _ := os.ReadFile(img.Config)
		for _, want := range []string{"CONFIG_LWIP_POOLS=y", "CONFIG_LWIP_NUM_TCPCON=64", "CONFIG_LWIP_NUM_TCPLISTENERS=64"} {
			if !strings.Contains(string(cfg), "\n"+want+"\n") {
				t.Errorf("%s: the final configuration lost the paper's %s (dropped: %v)", alloc, want, img.Dropped)
			}
		}
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
		if b, _ := os.ReadFile(img.StepsLog); !strings.Contains(string(b), "Applied patch Config.uk cleanly") ||
			!strings.Contains(string(b), "lib-lwip: git apply lib-lwip-3c85bd46: diff ") {
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

// Only the tlsf image needs the TLSF archive: a mirror without it builds the other four
// images, then fails naming the image and the source.
func TestAMissingTLSFArchiveStopsOnlyTheTLSFImage(t *testing.T) {
	_, pr, out, err := prepare(t, fixture.Options{Omit: []string{"tlsf"}})
	if err == nil {
		t.Fatalf("prepare succeeded without the TLSF archive: %+v", pr)
	}
	if !strings.Contains(err.Error(), "image tlsf not built: its source(s) tlsf are missing") {
		t.Errorf("the error does not name the image and its source: %v", err)
	}
	for _, alloc := range []string{"tinyalloc", "buddy", "mimalloc", "region"} {
		if !strings.Contains(out, "fig14: image "+alloc) {
			t.Errorf("the %s image was not built:\n%s", alloc, out)
		}
	}
}

// lib-nginx compiles with -Werror, and gcc 11 warns in newlib's headers: without the
// application's -Wno-error flags the build fails naming the warning.
func TestNGINXNeedsTheWarningFlags(t *testing.T) {
	app := NGINX.App
	t.Cleanup(func() { NGINX.App = app })
	NGINX.App = map[string][]byte{"Makefile.uk": bytes.ReplaceAll(app["Makefile.uk"], []byte(NGINXWarnings), nil)}
	_, _, out, err := prepare(t, fixture.Options{})
	if err == nil {
		t.Fatalf("lib-nginx built with -Werror and gcc 11's warnings:\n%s", out)
	}
	for _, want := range []string{"image tinyalloc", "libnginx", "[-Werror=attributes]", "[-Werror=array-parameter=]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the failure does not say %q: %v", want, err)
		}
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
