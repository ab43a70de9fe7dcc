package pipeline

import (
	"strings"
	"testing"

	fig10 "github.com/unikraft-eurosys21/artifact/experiments/fig_10"
	"github.com/unikraft-eurosys21/artifact/internal/boottime"
)

func TestObserversFollowTheHost(t *testing.T) {
	for _, c := range []struct {
		vmm       string
		root      bool
		accel     string
		observers []string
		primary   string // "" when not run
		reason    string
	}{
		{fig10.QEMU, false, "kvm", nil, "debugcon", ""},
		{fig10.QEMU, true, "tcg", nil, "debugcon", ""},
		{fig10.Solo5, false, "kvm", nil, "", "needs the ftrace observer (Solo5 and Firecracker have no debug console), but the ftrace observer needs root"},
		{fig10.Firecracker, true, "tcg", nil, "", "sees KVM guests only"},
		{fig10.QEMU, false, "kvm", []string{"ftrace"}, "", "the ftrace observer needs root"},
		{fig10.QEMU, false, "kvm", []string{"ftrace", "debugcon"}, "debugcon", ""},
		{fig10.QEMU, true, "kvm", []string{"debugcon"}, "debugcon", ""},
		{fig10.Solo5, true, "kvm", []string{"debugcon"}, "", "needs the ftrace observer"},
	} {
		r := &runner{o: RunOptions{Accel: c.accel, Observers: c.observers}, root: c.root}
		v, _ := fig10.LookupVMM(c.vmm)
		s := &setup{target: struct{ boottime.Target }{}}
		var st fig10.SeriesStatus
		if err := r.observe(v, s, &st); err != nil {
			t.Fatal(err)
		}
		got := s.primary
		if s.target == nil {
			got = ""
		}
		if got != c.primary || !strings.Contains(st.Reason, c.reason) || (c.primary != "") != (st.Reason == "") {
			t.Errorf("%+v: primary %q, reason %q", c, got, st.Reason)
		}
		if s.obs.Ftrace != nil {
			t.Errorf("%+v: ftrace opened", c)
		}
	}
}
