package fig10

import (
	"strings"
	"testing"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/boottime"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

func TestExtendedRowsKeepWhatTheResultFileLeavesOut(t *testing.T) {
	v, g, setup, fw := 9000.5, 85.25, 7000.0, 2000.5
	ftrace := boottime.Sample{Observer: "ftrace", Clock: boottime.Clock, Accel: "kvm", VMMSetupUS: &setup, FirmwareUS: &fw,
		VMMUS: &v, GuestUS: &g, TotalUS: 9085.75, VMMCPUUS: 6100, LifetimeUS: 12000.1234567, ExitCode: 83}
	dc := ftrace
	dc.Observer, dc.VMMSetupUS, dc.FirmwareUS = "debugcon", nil, nil
	fc := &vmm.BootTimer{Wall: 3100 * time.Microsecond, CPU: 1200 * time.Microsecond}
	b, err := FormatExtended([]ExtendedRow{
		NewExtendedRow(QEMUMicroVM, 1, ftrace, true, nil),
		NewExtendedRow(QEMUMicroVM, 1, dc, false, nil),
		NewExtendedRow(Firecracker, 2, ftrace, true, fc),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(ExtendedColumns, "\t") + "\n" +
		"qemumicrovm\t1\tftrace\tyes\tkvm\tCLOCK_MONOTONIC\t7000\t2000.5\t9000.5\t85.25\t9085.75\t6100\t12000.123\t83\t\t\n" +
		"qemumicrovm\t1\tdebugcon\tno\tkvm\tCLOCK_MONOTONIC\t\t\t9000.5\t85.25\t9085.75\t6100\t12000.123\t83\t\t\n" +
		"firecracker\t2\tftrace\tyes\tkvm\tCLOCK_MONOTONIC\t7000\t2000.5\t9000.5\t85.25\t9085.75\t6100\t12000.123\t83\t3100\t1200\n"
	if string(b) != want {
		t.Errorf("extended file:\n%s\nwant:\n%s", b, want)
	}
	bad := ftrace
	bad.Accel = "kvm\tx"
	if _, err := FormatExtended([]ExtendedRow{NewExtendedRow(QEMU, 1, bad, true, nil)}); err == nil {
		t.Error("a tab inside a field was written")
	}
}
