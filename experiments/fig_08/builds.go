package fig08

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// BuildsFile lists how each image of a run was built (optional in a run directory; the
// original artifact had no such file).
const BuildsFile = "builds.tsv"

// Build statuses.
const (
	Built  = "built"  // compiled in this run
	Reused = "reused" // inputs unchanged since an earlier build, which was measured again
	Failed = "failed" // the build failed; the image is not in results.csv
)

var buildsHeader = []string{"image", "status", "build_seconds", "compiler", "log"}

// Build is one image's build in a run.
type Build struct {
	Status string `json:"status"`
	// Seconds is the wall time of the build's container; for a reused build, that of the
	// build that made the image.
	Seconds float64 `json:"build_seconds"`
	// Compiler is the first line of `gcc --version` in the build's container.
	Compiler string `json:"compiler"`
	// Log is the build log, relative to the run directory (raw/<image>.log).
	Log string `json:"log"`
}

// WriteBuilds writes builds.tsv, sorted by image name.
func WriteBuilds(w io.Writer, builds map[Image]Build) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, strings.Join(buildsHeader, "\t"))
	for _, img := range sortedImages(builds) {
		b := builds[img]
		for _, f := range []string{b.Status, b.Compiler, b.Log} {
			if strings.ContainsAny(f, "\t\n") {
				return fmt.Errorf("%s: field %q contains a tab or newline", img.Key(), f)
			}
		}
		fmt.Fprintf(bw, "%s\t%s\t%.3f\t%s\t%s\n", img.Key(), b.Status, b.Seconds, b.Compiler, b.Log)
	}
	return bw.Flush()
}

// ParseBuilds reads builds.tsv; name is used in error messages only. A built or reused image
// must have a size in sizes, a failed one must not.
func ParseBuilds(name string, r io.Reader, sizes Sizes) (map[Image]Build, error) {
	want := "expected " + strings.Join(buildsHeader, "<TAB>")
	out := map[Image]Build{}
	n, err := figure.ReadLines(name, r, func(n int, text string) error {
		f := strings.Split(text, "\t")
		if n == 1 {
			if text != strings.Join(buildsHeader, "\t") {
				return figure.Errorf(name, n, "header %q; %s", text, want)
			}
			return nil
		}
		if len(f) != len(buildsHeader) {
			return figure.Errorf(name, n, "%d columns; %s", len(f), want)
		}
		app, vkey, _ := strings.Cut(f[0], "_")
		img := Image{app, vkey}
		if _, ok := variant(vkey); !ok || !knownApp(app) {
			return figure.Errorf(name, n, "unknown image %q; expected <app>_<variant>", f[0])
		}
		if _, dup := out[img]; dup {
			return figure.Errorf(name, n, "%s appears again; expected one row per image", f[0])
		}
		secs, err := strconv.ParseFloat(f[2], 64)
		if err != nil || secs < 0 {
			return figure.Errorf(name, n, "build_seconds %q of %s; expected a non-negative number", f[2], f[0])
		}
		_, measured := sizes[img]
		switch f[1] {
		case Built, Reused:
			if !measured {
				return figure.Errorf(name, n, "%s is %s but has no size in %s", f[0], f[1], ResultsFile)
			}
		case Failed:
			if measured {
				return figure.Errorf(name, n, "%s failed but has a size in %s", f[0], ResultsFile)
			}
		default:
			return figure.Errorf(name, n, "status %q of %s; expected %s, %s or %s", f[1], f[0], Built, Reused, Failed)
		}
		out[img] = Build{Status: f[1], Seconds: secs, Compiler: f[3], Log: f[4]}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, figure.Errorf(name, 0, "empty file; %s", want)
	}
	return out, nil
}

func sortedImages[V any](m map[Image]V) []Image {
	var imgs []Image
	for img := range m {
		imgs = append(imgs, img)
	}
	slices.SortFunc(imgs, func(a, b Image) int { return strings.Compare(a.Key(), b.Key()) })
	return imgs
}
