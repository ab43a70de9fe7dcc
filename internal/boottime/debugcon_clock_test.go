package boottime

import (
	"strings"
	"testing"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// fakeClockOffsets makes every reading of the clocks' offset return the next of offsets,
// as a reader thread preempted inside its bracket does: each reading is off by a different
// amount, within the uncertainty it reports.
func fakeClockOffsets(t *testing.T, offsets ...clockOffset) *int {
	t.Helper()
	real := readClockOffset
	t.Cleanup(func() { readClockOffset = real })
	calls := 0
	readClockOffset = func() clockOffset {
		base := real()
		o := offsets[min(calls, len(offsets)-1)]
		calls++
		return clockOffset{Offset: base.Offset + o.Offset, Err: o.Err}
	}
	return &calls
}

// sendMarkers attaches the observer to a QEMU that never runs and writes the markers into
// QEMU's ends of the sockets, 1112 then 1500, as a guest's port writes would arrive.
func sendMarkers(t *testing.T) (*debugcon, time.Duration) {
	t.Helper()
	var q vmm.QEMU
	d, err := attachDebugcon(&q, QEMUMarkers)
	if err != nil {
		t.Fatal(err)
	}
	exec := vmm.Monotonic()
	for _, f := range q.Files { // fds in port order: 1112, 1500
		if _, err := f.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return d, exec
}

// The cause of "port 1112 (entry) at 123.9ms is not between exec and port 1500" (1 boot in
// ~300 under TCG): each marker was converted from the socket's CLOCK_REALTIME timestamp
// with its own reading of the clocks' offset, and a reading taken by a preempted thread is
// off by up to half the preemption. Here every reading is off by 1 ms more than the one
// before; the markers, microseconds apart in the kernel, came out in the wrong order when
// each had its own reading. With one offset per boot their order and distance are the
// kernel's.
func TestDebugconKeepsTheKernelsMarkerOrderWhenOffsetReadingsJitter(t *testing.T) {
	calls := fakeClockOffsets(t,
		clockOffset{0, time.Millisecond}, clockOffset{time.Millisecond, time.Millisecond},
		clockOffset{2 * time.Millisecond, time.Millisecond}, clockOffset{3 * time.Millisecond, time.Millisecond})
	d, exec := sendMarkers(t)
	tl, raw, err := d.finish(exec)
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	// (Both sit up to 1 ms before exec: the reading used is off by that much, for both.)
	entry, main := tl.Ports[PortEntry], tl.Ports[PortMain]
	if entry == 0 || main == 0 || entry > main || main-entry > 100*time.Millisecond {
		t.Fatalf("entry %v, main %v after exec: not the kernel's order\n%s", entry-exec, main-exec, raw)
	}
	if *calls != 2 {
		t.Errorf("the offset was read %d times; want twice per boot (before, after)", *calls)
	}
}

// A wall-clock step during the boot moves the socket timestamps but not CLOCK_MONOTONIC:
// the boot fails and says why, instead of reporting shifted times.
func TestDebugconFailsABootDuringWhichTheWallClockWasStepped(t *testing.T) {
	fakeClockOffsets(t, clockOffset{0, time.Microsecond}, clockOffset{-50 * time.Millisecond, time.Microsecond})
	d, exec := sendMarkers(t)
	if _, _, err := d.finish(exec); err == nil || !strings.Contains(err.Error(), "wall clock") {
		t.Errorf("err = %v; want the wall-clock step named", err)
	}
}
