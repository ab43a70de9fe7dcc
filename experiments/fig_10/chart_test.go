package fig10

import (
	"context"
	"html"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/plot"
)

// svg renders the dataset's chart with the bundle's renderer (installing the pinned ECharts
// on a fresh checkout, as the plot step does).
func svg(t *testing.T, d *Dataset, p figure.Provenance) string {
	t.Helper()
	if _, err := plot.EnsureECharts(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := d.Chart(p)
	f.Name = Figure.Plot
	b, err := plot.SVG(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// bar is a bar segment as ECharts' SVG draws it: "M x yBottom l w 0 l 0 -h l -w 0Z".
type bar struct{ bottom, top float64 }

var barPath = regexp.MustCompile(`<path d="M([\d.]+) ([\d.]+)l[\d.]+ 0l0 -([\d.]+)l-[\d.]+ 0Z" fill="(#[0-9a-f]{6})"[^>]*ecmeta_ssr_type="chart"`)

func bars(svg, color string) []bar {
	var out []bar
	for _, m := range barPath.FindAllStringSubmatch(svg, -1) {
		if m[4] != color {
			continue
		}
		y, _ := strconv.ParseFloat(m[2], 64)
		h, _ := strconv.ParseFloat(m[3], 64)
		out = append(out, bar{bottom: y, top: y - h})
	}
	return out
}

func TestChartShowsThePaperFigure(t *testing.T) {
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	s := svg(t, d, figure.Paper)
	for _, want := range []string{
		"QEMU (1NIC)", "QEMU (MicroVM)", "Solo5", "Firecracker", // x labels
		">VMM<", ">Unikraft Guest<", "Total Boot Time (ms)",
		html.EscapeString(figure.Paper.String()), // the provenance subtitle
		">55 µs<", ">1.31 ms<", "26 boots",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG has no %q", want)
		}
	}
	// The original's labels, left to right.
	var labels []string
	for _, m := range regexp.MustCompile(`>([\d.]+ms)</text>`).FindAllStringSubmatch(s, -1) {
		labels = append(labels, m[1])
	}
	if got, want := strings.Join(labels, " "), "38.4ms 42.7ms 9.1ms 3.1ms 3.1ms"; got != want {
		t.Errorf("total labels %q, want %q", got, want)
	}

	guest, vmm := bars(s, guestColor), bars(s, vmmColor)
	if len(guest) != 5 || len(vmm) != 5 {
		t.Fatalf("%d guest and %d VMM segments, want 5 each", len(guest), len(vmm))
	}
	for i := range guest {
		// On a log axis ECharts starts bars at 1 unless told otherwise: the guest segment
		// must stand on the axis floor, the VMM segment on the guest segment.
		if guest[i].bottom != guest[0].bottom || guest[i].top > guest[i].bottom-20 {
			t.Errorf("bar %d: guest segment %+v does not stand visibly on the axis (%v)", i, guest[i], guest[0].bottom)
		}
		if math.Abs(vmm[i].bottom-guest[i].top) > 1 || vmm[i].top >= vmm[i].bottom {
			t.Errorf("bar %d: VMM segment %+v is not stacked on the guest segment %+v", i, vmm[i], guest[i])
		}
	}
	// Heights follow the totals: 1NIC > QEMU > MicroVM > Solo5 ≈ Firecracker (smaller y is higher).
	if !(vmm[1].top < vmm[0].top && vmm[0].top < vmm[2].top && vmm[2].top < vmm[3].top && math.Abs(vmm[3].top-vmm[4].top) < 1) {
		t.Errorf("bar tops %v %v %v %v %v do not follow the totals", vmm[0].top, vmm[1].top, vmm[2].top, vmm[3].top, vmm[4].top)
	}
	// The Firecracker guest part (1.3 ms of 3.1) is above 1 ms, QEMU's (55 µs) below.
	if !(guest[4].top < guest[1].top && guest[1].top < guest[0].top) {
		t.Errorf("guest tops %v (Firecracker) %v (1NIC) %v (QEMU) out of order", guest[4].top, guest[1].top, guest[0].top)
	}
}

func TestChartMarksVMMsNotRun(t *testing.T) {
	d, err := Load(writeRun(t, "tcg", QEMU))
	if err != nil {
		t.Fatal(err)
	}
	s := svg(t, d, d.Provenance)
	if strings.Count(s, "(not run)") != 4 {
		t.Errorf("want 4 VMMs marked (not run)")
	}
	if !strings.Contains(s, "software emulation") {
		t.Errorf("subtitle does not carry the provenance %q", d.Provenance)
	}
	if n := len(bars(s, vmmColor)); n != 1 {
		t.Errorf("%d VMM segments, want 1", n)
	}
}

func TestLogRangeLeavesRoomBelowTheGuestAndAboveTheSlowestBoot(t *testing.T) {
	for _, c := range []struct{ guest, top, lo, hi float64 }{
		{0.055, 49.4, 0.01, 1000}, // the paper
		{0.015, 49.4, 0.001, 1000},
		{0.3, 300, 0.01, 10000}, // a TCG run
	} {
		lo, hi := logRange(c.guest, c.top)
		if math.Abs(lo-c.lo) > c.lo*1e-9 || hi != c.hi {
			t.Errorf("logRange(%v, %v) = %v, %v; want %v, %v", c.guest, c.top, lo, hi, c.lo, c.hi)
		}
	}
}
