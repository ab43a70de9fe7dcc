package fig08

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
)

// The paper's ELF layouts confirm the quantisation: every file is its 64 KiB-aligned
// interrupt stacks' offset + 128 KiB + a tail of about 1 KiB.
func TestPaperLayoutExplainsTheSizeSteps(t *testing.T) {
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Layout) != 16 {
		t.Fatalf("got %d layouts, want 16", len(d.Layout))
	}
	for img, l := range d.Layout {
		b := d.Sizes[img]
		if l.IntrStackOffset%LayoutStep != 0 {
			t.Errorf("%s: .intrstack at %d, not 64 KiB aligned", img.Key(), l.IntrStackOffset)
		}
		if Steps(b) != l.IntrStackOffset/LayoutStep+2 {
			t.Errorf("%s: %d steps, want intrstack offset/64 KiB + 2 = %d", img.Key(), Steps(b), l.IntrStackOffset/LayoutStep+2)
		}
		if tail := b % LayoutStep; tail >= 2048 {
			t.Errorf("%s: tail %d B, want about 1 KiB", img.Key(), tail)
		}
		if l.LoadBytes > l.IntrStackOffset {
			t.Errorf("%s: content %d B beyond the stacks at %d", img.Key(), l.LoadBytes, l.IntrStackOffset)
		}
	}
	// Same file size, different content: nginx and sqlite are not copies.
	n, s := d.Layout[Image{"nginx", "default"}], d.Layout[Image{"sqlite", "default"}]
	if d.Sizes[Image{"nginx", "default"}] != d.Sizes[Image{"sqlite", "default"}] || n.LoadBytes == s.LoadBytes {
		t.Errorf("nginx/sqlite default: sizes %d/%d, content %d/%d; want equal sizes, different content",
			d.Sizes[Image{"nginx", "default"}], d.Sizes[Image{"sqlite", "default"}], n.LoadBytes, s.LoadBytes)
	}
}

func TestParseLayoutRejectsMalformedInput(t *testing.T) {
	sizes := Sizes{{"helloworld", "dce"}: 197280}
	for _, tc := range []struct {
		file, want string
		line       int
	}{
		{"layout-header.tsv", `header "image\tdu_bytes\tsection_count"; expected image<TAB>du_bytes`, 1},
		{"layout-mismatch.tsv", "du_bytes 197288 of helloworld_dce differs from 197280 in results.csv", 2},
	} {
		name := filepath.Join("testdata", tc.file)
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ParseLayout(name, f, sizes)
		f.Close()
		var pe *figure.ParseError
		if !errors.As(err, &pe) || pe.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v; want line %d and %q", tc.file, err, tc.line, tc.want)
		}
	}
	_, err := ParseLayout("l.tsv", strings.NewReader(strings.Join(layoutHeader, "\t")+"\nredis_dce\t1\t2\t3\t4\n"), sizes)
	if err == nil || !strings.Contains(err.Error(), "l.tsv:2: redis_dce has no size in results.csv") {
		t.Errorf("layout of an unmeasured image: error %v", err)
	}
}
