package fig08

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// LayoutStep is the granularity of a Unikraft KVM image's file size: 64 KiB.
//
// The image ends with `.intrstack`, the interrupt and trap stacks (2 × 64 KiB of zeros stored
// in the file), aligned to their own size. So the file is
// align_up(text + rodata + data, 64 KiB) + 128 KiB + a tail of about 1 KiB (section
// headers, their names and `.comment`; 0.7–1.2 KiB in the paper's images). Two builds whose contents differ by up to 64 KiB can
// therefore have the same size, and one byte more can add a whole step. That is why the
// paper's sqlite sizes equal its nginx sizes in every variant, and why its helloworld LTO
// equals default.
const LayoutStep = 64 << 10

// Steps counts the whole 64 KiB layout steps of an image of the given size. The remainder
// (size % LayoutStep) is the tail after the stacks; floor, not rounding, is the definition
// that stays right whatever the tail's size. Steps = intrstack offset / 64 KiB + 2.
func Steps(bytes int64) int64 { return bytes / LayoutStep }

// LayoutFile is the name of the optional ELF-layout table next to results.csv.
const LayoutFile = "elf-layout.tsv"

// layoutHeader is the header of elf-layout.tsv, as in the paper's copy.
var layoutHeader = []string{"image", "du_bytes", "load0_filesz_bytes", "intrstack_file_offset", "section_count"}

// Layout is what an image's ELF headers say about its size: the content that is really
// there, as opposed to the quantised file size.
type Layout struct {
	// LoadBytes is the FileSiz of the first PT_LOAD segment: text, rodata and data.
	LoadBytes int64 `json:"load0_filesz_bytes"`
	// IntrStackOffset is the file offset of .intrstack, a multiple of 64 KiB.
	IntrStackOffset int64 `json:"intrstack_file_offset"`
	Sections        int   `json:"section_count"`
}

// ParseLayout reads elf-layout.tsv (header `image du_bytes load0_filesz_bytes
// intrstack_file_offset section_count`, tab-separated) and checks each row's du_bytes
// against sizes, so a layout can never describe a different build than the sizes it sits
// next to. name is used in error messages only.
func ParseLayout(name string, r io.Reader, sizes Sizes) (map[Image]Layout, error) {
	want := "expected " + strings.Join(layoutHeader, "<TAB>")
	out := map[Image]Layout{}
	firstSeen := map[Image]int{}
	n, err := figure.ReadLines(name, r, func(n int, text string) error {
		f := strings.Split(text, "\t")
		if n == 1 {
			if strings.Join(f, "\t") != strings.Join(layoutHeader, "\t") {
				return figure.Errorf(name, n, "header %q; %s", text, want)
			}
			return nil
		}
		if len(f) != len(layoutHeader) {
			return figure.Errorf(name, n, "%d columns; %s", len(f), want)
		}
		app, vkey, _ := strings.Cut(f[0], "_")
		img := Image{app, vkey}
		if _, ok := variant(vkey); !ok || !knownApp(app) {
			return figure.Errorf(name, n, "unknown image %q; expected <app>_<variant> with app one of %s and variant one of %s",
				f[0], strings.Join(Apps, ", "), strings.Join(variantKeys(), ", "))
		}
		if first, dup := firstSeen[img]; dup {
			return figure.Errorf(name, n, "%s appears again (first on line %d); expected one row per image", f[0], first)
		}
		firstSeen[img] = n
		var v [4]int64
		for i := range v {
			x, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil || x < 0 {
				return figure.Errorf(name, n, "%s %q of %s; expected a non-negative integer", layoutHeader[i+1], f[i+1], f[0])
			}
			v[i] = x
		}
		size, ok := sizes[img]
		switch {
		case !ok:
			return figure.Errorf(name, n, "%s has no size in %s; expected a layout only for the images measured", f[0], ResultsFile)
		case v[0] != size:
			return figure.Errorf(name, n, "du_bytes %d of %s differs from %d in %s; expected both from the same build", v[0], f[0], size, ResultsFile)
		}
		out[img] = Layout{LoadBytes: v[1], IntrStackOffset: v[2], Sections: int(v[3])}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, figure.Errorf(name, 0, "empty file; %s and one row per image", want)
	}
	return out, nil
}

// WriteLayout writes elf-layout.tsv for the images of sizes that have a layout, sorted by
// name, in the format of the paper's copy (ParseLayout reads it back).
func WriteLayout(w io.Writer, sizes Sizes, layouts map[Image]Layout) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, strings.Join(layoutHeader, "\t"))
	for _, img := range sortedImages(layouts) {
		l := layouts[img]
		size, ok := sizes[img]
		if !ok {
			return fmt.Errorf("%s: a layout without a size in %s", img.Key(), ResultsFile)
		}
		fmt.Fprintf(bw, "%s\t%d\t%d\t%d\t%d\n", img.Key(), size, l.LoadBytes, l.IntrStackOffset, l.Sections)
	}
	return bw.Flush()
}
