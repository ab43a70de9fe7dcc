package host

import (
	"reflect"
	"strings"
	"testing"
)

func TestCPUListFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		cpus []int
		out  string
	}{
		{"0-3,5,8-9\n", []int{0, 1, 2, 3, 5, 8, 9}, "0-3,5,8-9"},
		{"4-7", []int{4, 5, 6, 7}, "4-7"},
		{"1", []int{1}, "1"},
		{"", nil, ""},
		{"(null)\n", nil, ""}, // unset nohz_full
		{"3,1,2", []int{1, 2, 3}, "1-3"},
	} {
		got, err := ParseCPUList(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.cpus) {
			t.Errorf("ParseCPUList(%q) = %v, %v; want %v", tc.in, got, err, tc.cpus)
		}
		if s := FormatCPUList(got); s != tc.out {
			t.Errorf("FormatCPUList(%v) = %q, want %q", got, s, tc.out)
		}
	}
	for _, bad := range []string{"a", "3-1", "1-", "-2"} {
		if _, err := ParseCPUList(bad); err == nil {
			t.Errorf("ParseCPUList(%q): no error", bad)
		}
	}
}

func TestCPUMask(t *testing.T) {
	got, err := parseCPUMask("ff,00000001\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []int{0, 32, 33, 34, 35, 36, 37, 38, 39}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if s := formatCPUMask(got); s != "ff,00000001" {
		t.Errorf("formatCPUMask = %q", s)
	}
	if _, err := parseCPUMask("zz"); err == nil {
		t.Error("bad mask accepted")
	}
}

func TestChooseCPUs(t *testing.T) {
	for _, tc := range []struct {
		root     string
		n        int
		cpus     []int
		isolated bool
		reason   string
	}{
		{"testdata/isolated", 2, []int{4, 5}, true, "isolated CPUs 4-5"},
		{"testdata/isolated", 4, []int{4, 5, 6, 7}, true, "isolated CPUs 4-7"},
		{"testdata/isolated", 6, []int{2, 3, 4, 5, 6, 7}, false, "only 4 isolated CPU(s) (4-7) for 6 needed"},
		{"testdata/noisy", 2, []int{6, 7}, false, "no isolated CPUs: highest-numbered online CPUs other than CPU 0"},
		{"testdata/vm", 1, []int{1}, false, "no isolated CPUs"},
		{"testdata/vm", 2, []int{0, 1}, false, "CPU 0 included because the host has too few CPUs"},
	} {
		c, err := Sys{Root: tc.root}.ChooseCPUs(tc.n)
		if err != nil {
			t.Errorf("%s n=%d: %v", tc.root, tc.n, err)
			continue
		}
		if !reflect.DeepEqual(c.CPUs, tc.cpus) || c.Isolated != tc.isolated || !strings.Contains(c.Reason, tc.reason) {
			t.Errorf("%s n=%d: %+v, want %v isolated=%v reason ~%q", tc.root, tc.n, c, tc.cpus, tc.isolated, tc.reason)
		}
	}
	if _, err := (Sys{Root: "testdata/vm"}).ChooseCPUs(3); err == nil || !strings.Contains(err.Error(), "only 2 online") {
		t.Errorf("3 CPUs of 2: %v", err)
	}
	if _, err := (Sys{Root: "testdata/vm"}).ChooseCPUs(0); err == nil {
		t.Error("0 CPUs accepted")
	}
	if _, err := (Sys{Root: t.TempDir()}).ChooseCPUs(1); err == nil {
		t.Error("no /sys: no error")
	}
}
