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

// ResultsFile is the name of the sizes file in a run directory, as in the original artifact.
const ResultsFile = "results.csv"

// Sizes maps each image to its file size in bytes (`du -b` of the stripped KVM image).
type Sizes map[Image]int64

// ParseResults reads the original artifact's results.csv: tab-separated, no header, one
// `<app>_<variant>\t<bytes>` row per image. The name is split at the first `_`, so the
// variant keeps its own underscore (`dce_lto`). name is used in error messages only.
//
// The original opened results.csv in append mode, so every rerun added the 16 rows again
// and its plot silently kept the last value per image. Here each run has its own directory,
// so a repeated image can only come from an edited or concatenated file; it is rejected
// rather than guessed at.
func ParseResults(name string, r io.Reader) (Sizes, error) {
	const want = "expected <app>_<variant><TAB><bytes>"
	s := Sizes{}
	firstSeen := map[Image]int{}
	_, err := figure.ReadLines(name, r, func(n int, line string) error {
		if strings.TrimSpace(line) == "" {
			return figure.Errorf(name, n, "empty line; %s", want)
		}
		f := strings.Split(line, "\t")
		switch {
		case len(f) < 2:
			return figure.Errorf(name, n, "one column %q; %s (the size column is missing)", line, want)
		case len(f) > 2:
			return figure.Errorf(name, n, "%d columns; %s (exactly 2)", len(f), want)
		}
		app, vkey, ok := strings.Cut(f[0], "_")
		if !ok {
			return figure.Errorf(name, n, "image name %q has no '_'; %s, e.g. nginx_dce_lto", f[0], want)
		}
		if !knownApp(app) {
			return figure.Errorf(name, n, "unknown application %q in %q; expected one of %s", app, f[0], strings.Join(Apps, ", "))
		}
		if _, ok := variant(vkey); !ok {
			return figure.Errorf(name, n, "unknown variant %q in %q; expected one of %s", vkey, f[0], strings.Join(variantKeys(), ", "))
		}
		size, err := parseBytes(f[1])
		if err != nil {
			return figure.Errorf(name, n, "size %q of %s: %v", f[1], f[0], err)
		}
		img := Image{app, vkey}
		if first, dup := firstSeen[img]; dup {
			return figure.Errorf(name, n, "%s appears again (first on line %d); expected one row per image. "+
				"The original artifact appended to results.csv on every run and plotted the last row; "+
				"keep the row of the build you mean and delete the other", img.Key(), first)
		}
		firstSeen[img] = n
		s[img] = size
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(s) == 0 {
		return nil, figure.Errorf(name, 0, "no images; %s per image", want)
	}
	return s, nil
}

// parseBytes accepts what `du -b` prints for a built image: a positive decimal integer.
func parseBytes(s string) (int64, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("expected a positive whole number of bytes, as `du -b` prints it")
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("expected a number of bytes that fits in 64 bits")
	}
	if v == 0 {
		return 0, fmt.Errorf("an image of 0 bytes is an empty file, not a build result; rebuild the image")
	}
	return v, nil
}

// WriteResults writes s in the original format, rows sorted by image name like the
// original's `for V in $(ls configs)` loop, so the paper's results.csv round-trips byte for
// byte.
func WriteResults(w io.Writer, s Sizes) error {
	imgs := make([]Image, 0, len(s))
	for img := range s {
		imgs = append(imgs, img)
	}
	slices.SortFunc(imgs, func(a, b Image) int { return strings.Compare(a.Key(), b.Key()) })
	bw := bufio.NewWriter(w)
	for _, img := range imgs {
		fmt.Fprintf(bw, "%s\t%d\n", img.Key(), s[img])
	}
	return bw.Flush()
}
