package fig14

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCSVRoundTrip(t *testing.T) {
	in := Breakdown{19.73, 2.87, 7.58, 2423, 263.08, 17.08, 172.65, 111.72, 48.06}
	var b bytes.Buffer
	if err := WriteCSV(&b, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadCSV("buddy.csv", &b)
	if err != nil || out != in {
		t.Fatalf("read back %v, %v; want %v", out, err, in)
	}
}

// parse.py wrote "%.2f" % round(v, 2) and padded each row to 10 characters.
func TestFormatCSVLikeParsePy(t *testing.T) {
	got := string(FormatCSV(Breakdown{Plat: 1.005, Virtio: 0.125, Alloc: 2423}))
	want := "component\tboottime_us\n" +
		"plat\t1.00 \n" + // 1.005 is 1.00499999… in binary; ljust(10) pads rows of 9 characters
		"virtio\t0.12\n" + // an exact tie rounds half to even, as Python's round does
		"vfscore\t0.00\n" +
		"alloc\t2423.00\n" +
		"ukbus\t0.00\n" +
		"pthreads\t0.00\n" +
		"lwip\t0.00 \n" +
		"rootfs\t0.00\n" +
		"misc\t0.00 \n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	if _, err := ReadCSV("padded.csv", strings.NewReader(got)); err != nil {
		t.Errorf("the padded rows do not read back: %v", err)
	}
}

func TestReadCSVErrors(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"missing-column.csv", "testdata/missing-column.csv:3: 1 tab-separated column(s) in \"virtio\"; expected 2: component, boottime_us"},
		{"non-numeric.csv", `testdata/non-numeric.csv:3: boottime_us of virtio is "abc"; expected a non-negative number of µs`},
		{"unknown-component.csv", `testdata/unknown-component.csv:3: unknown component "network"; expected one of plat, virtio,`},
		{"missing-rows.csv", "testdata/missing-rows.csv: missing component row(s): ukbus, pthreads, lwip, rootfs, misc"},
		{"wrong-header.csv", `testdata/wrong-header.csv:1: header "component,boottime_us"; expected "component\tboottime_us"`},
	} {
		name := filepath.Join("testdata", c.file)
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ReadCSV(name, f)
		f.Close()
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: error %v\nwant prefix %q", c.file, err, c.want)
		}
	}
	for _, c := range []struct{ name, csv, want string }{
		{"empty", "", "empty: empty file"},
		{"dup", "component\tboottime_us\nplat\t1\nplat\t2\n", "dup:3: component plat again (first at line 2)"},
		{"negative", "component\tboottime_us\nplat\t-1\n", `negative:2: boottime_us of plat is "-1"`},
		{"nan", "component\tboottime_us\nplat\tNaN\n", `nan:2: boottime_us of plat is "NaN"`},
	} {
		_, err := ReadCSV(c.name, strings.NewReader(c.csv))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: error %v\nwant prefix %q", c.name, err, c.want)
		}
	}
}
