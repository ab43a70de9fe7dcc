package fig10

import (
	"strings"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/figure"
	"github.com/unikraft-eurosys21/artifact/internal/verify"
)

func verified(t *testing.T, d *Dataset) *verify.Report {
	t.Helper()
	r := verify.New("fig10", d.Provenance.String())
	d.Verify(r)
	return r
}

func row(t *testing.T, r *verify.Report, series string) verify.Row {
	t.Helper()
	for _, row := range r.Rows {
		if row.Series == series {
			return row
		}
	}
	t.Fatalf("no row %q", series)
	return verify.Row{}
}

func TestPaperVerifiesAgainstItself(t *testing.T) {
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	r := verified(t, d)
	if err := r.Err(true); err != nil {
		var b strings.Builder
		r.WriteTable(&b)
		t.Fatalf("%v\n%s", err, b.String())
	}
	if got, want := r.Count(verify.OK), len(VMMs)+len(Claims); got != want {
		t.Errorf("%d OK rows, want %d (one per VMM and per claim)", got, want)
	}
	notes := strings.Join(r.Notes, "\n")
	for _, want := range []string{"split Firecracker: VMM 1.753 ms + guest 1.309 ms", "not comparable", "not comparable across VMMs"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes do not say %q:\n%s", want, notes)
		}
	}
}

// paperWith returns the paper's data with one VMM's boots changed by f.
func paperWith(t *testing.T, key string, f func(BootTime) BootTime) *Dataset {
	t.Helper()
	d, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	d.Provenance = figure.Provenance{Source: "run", RunID: "edited"}
	for i := range d.Series {
		if d.Series[i].Key == key {
			for j, s := range d.Series[i].Boots {
				d.Series[i].Boots[j] = f(s)
			}
		}
	}
	return d
}

func TestMicroVMSlowerThanPCFailsTheClaim(t *testing.T) {
	d := paperWith(t, QEMUMicroVM, func(s BootTime) BootTime { s.VMMus += 40000; return s })
	r := verified(t, d)
	if v := row(t, r, "QEMU (MicroVM) boots faster than QEMU (pc)").Verdict; v != verify.Fail {
		t.Errorf("claim verdict %s, want FAIL", v)
	}
	if v := row(t, r, "QEMU (MicroVM) total").Verdict; v != verify.Warn {
		t.Errorf("49 ms against the paper's 9.1 ms: %s, want WARN", v)
	}
	if r.Err(false) == nil {
		t.Error("report passes with a failed claim")
	}
}

func TestSlowGuestFailsTheGuestClaims(t *testing.T) {
	d := paperWith(t, QEMU, func(s BootTime) BootTime { s.GuestUs = 2000; return s })
	r := verified(t, d)
	for _, c := range []string{"the guest part on QEMU is below 1 ms", "the NIC's set-up shows in QEMU's guest part"} {
		if v := row(t, r, c).Verdict; v != verify.Fail {
			t.Errorf("%s: %s, want FAIL", c, v)
		}
	}
	if v := row(t, r, "the VMM dominates the boot on QEMU").Verdict; v != verify.OK {
		t.Errorf("VMM still dominates: %s", v)
	}
}

func TestTotalsWithinToleranceAreOK(t *testing.T) {
	// 40% slower everywhere: a slower host, not a different result.
	d, _ := Paper()
	for i := range d.Series {
		for j := range d.Series[i].Boots {
			d.Series[i].Boots[j].VMMus *= 1.4
			d.Series[i].Boots[j].GuestUs *= 1.4
		}
	}
	r := verified(t, d)
	if err := r.Err(true); err != nil {
		t.Error(err)
	}
}

func TestVMMsNotRunAreSkippedWithTheReason(t *testing.T) {
	d, err := Load(writeRun(t, "kvm", QEMU, QEMUMicroVM))
	if err != nil {
		t.Fatal(err)
	}
	r := verified(t, d)
	if row := row(t, r, "Solo5 total"); row.Verdict != verify.Skip || row.Note != NotRun {
		t.Errorf("Solo5: %+v", row)
	}
	if row := row(t, r, "Solo5 boots faster than QEMU (MicroVM)"); row.Verdict != verify.Skip || row.Note != "needs Solo5 (not run)" {
		t.Errorf("claim needing Solo5: %+v", row)
	}
	if v := row(t, r, "QEMU (MicroVM) boots faster than QEMU (pc)").Verdict; v != verify.OK {
		t.Errorf("claim on two VMMs that ran: %s", v)
	}
	if r.Err(false) != nil || r.Err(true) == nil {
		t.Errorf("not run must pass, and fail only under STRICT: %v / %v", r.Err(false), r.Err(true))
	}
}

func TestSoftwareEmulationIsShownNotJudged(t *testing.T) {
	d, err := Load(writeRun(t, "tcg", QEMU, QEMUMicroVM))
	if err != nil {
		t.Fatal(err)
	}
	// Under TCG even a reversed ordering is information, not a failure.
	for i := range d.Series {
		if d.Series[i].Key == QEMUMicroVM {
			for j := range d.Series[i].Boots {
				d.Series[i].Boots[j].VMMus += 100000
			}
		}
	}
	r := verified(t, d)
	if r.Count(verify.OK)+r.Count(verify.Warn)+r.Count(verify.Fail) != 0 {
		var b strings.Builder
		r.WriteTable(&b)
		t.Errorf("tcg rows were judged:\n%s", b.String())
	}
	c := row(t, r, "QEMU (MicroVM) boots faster than QEMU (pc)")
	if c.Measured == "" || !strings.Contains(c.Note, "holds: false") || !strings.Contains(c.Note, "software emulation") {
		t.Errorf("tcg claim row %+v", c)
	}
	if s := row(t, r, "QEMU total"); s.Measured != "38.4 ms" {
		t.Errorf("tcg series row keeps the measurement: %+v", s)
	}
	if r.Err(false) != nil {
		t.Error(r.Err(false))
	}
}
