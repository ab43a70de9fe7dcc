package host

import (
	"strings"
	"testing"
)

// The frequency verdict of the three fake hosts: the paper's testbed fixed it, a desktop
// as installed did not (and the warning names what), a VM cannot tell.
func TestFrequencyFixed(t *testing.T) {
	for _, tc := range []struct {
		host, fixed string
		warning     []string
	}{
		{"isolated", "yes", nil},
		{"noisy", "no", []string{"NOT fixed", "turbo: no_turbo=0", "frequency governor", "frequency limits"}},
		{"vm", "unknown", []string{"not under this kernel's control", "unknown"}},
	} {
		f := fakeHost(t, tc.host).Check().Frequency
		if f.Fixed != tc.fixed {
			t.Errorf("%s: fixed %q (%s), want %q", tc.host, f.Fixed, f.Why, tc.fixed)
		}
		w := f.Warning()
		if (w == "") != (tc.warning == nil) {
			t.Errorf("%s: warning %q", tc.host, w)
		}
		for _, want := range tc.warning {
			if !strings.Contains(w, want) {
				t.Errorf("%s: warning %q lacks %q", tc.host, w, want)
			}
		}
	}
}
