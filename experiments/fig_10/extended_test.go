package fig10

import (
	"bytes"
	"os"
	"path/filepath"
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
		extendedRow(QEMUMicroVM, 1, ftrace, true, nil),
		extendedRow(QEMUMicroVM, 1, dc, false, nil),
		extendedRow(Firecracker, 2, ftrace, true, fc),
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
	if _, err := FormatExtended([]ExtendedRow{extendedRow(QEMU, 1, bad, true, nil)}); err == nil {
		t.Error("a tab inside a field was written")
	}
}

func TestCleanRemovesOnlyTheGuests(t *testing.T) {
	images := t.TempDir()
	os.MkdirAll(filepath.Join(Dir(images), "stat-abc"), 0o755)
	os.MkdirAll(filepath.Join(images, "fig_08"), 0o755)
	var out bytes.Buffer
	if err := Clean(images, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(Dir(images)); !os.IsNotExist(err) {
		t.Error("the guests are still there")
	}
	if _, err := os.Stat(filepath.Join(images, "fig_08")); err != nil {
		t.Error("clean removed another figure's directory")
	}
	out.Reset()
	if err := Clean(images, &out); err != nil || !strings.Contains(out.String(), "nothing to clean") {
		t.Errorf("second clean: %v, %q", err, out.String())
	}
}
