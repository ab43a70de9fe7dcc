package results

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sirupsen/logrus"
)

// Setup is what every measuring run records before its first boot, the same for all
// figures: how it was asked for (settings), what it runs on (accelerator, QEMU) and whether
// it measures stand-ins (fixture).
type Setup struct {
	Accel   string // "kvm" or "tcg"
	Fixture string // the fixture the images were prepared from ("" for real sources)
	QEMU    string // the QEMU binary the run uses, whose version the fingerprint shows
	// Settings and SettingsFrom are settings.Settings.Record's two maps.
	Settings, SettingsFrom map[string]string
	// Toolchain is the build container's image (ref and id) and the versions of the
	// packages in it that made the images (name → version).
	ToolchainRef, ToolchainID string
	ToolchainPackages         map[string]string
}

// Start begins a measuring run of figure fig under root: the run directory (Create: runs
// left by killed processes are moved to failed/ first) and its manifest, holding the setup
// and this host's fingerprint and isolation report. Defer run.Keep so that an early return
// keeps what was measured.
func Start(ctx context.Context, root, fig string, s Setup) (*Run, *Manifest, error) {
	run, err := Create(root, fig)
	if err != nil {
		return nil, nil, err
	}
	m := NewManifest(run)
	m.Accel, m.Fixture, m.Settings, m.SettingsFrom = s.Accel, s.Fixture, s.Settings, s.SettingsFrom
	m.RecordHost(ctx, s.QEMU)
	m.Tools, m.Images, m.Machines = map[string]string{}, map[string]string{}, map[string]string{}
	if s.ToolchainRef != "" {
		m.Images["toolchain "+s.ToolchainRef] = s.ToolchainID
	}
	for k, v := range s.ToolchainPackages {
		m.Tools["toolchain "+k] = v
	}
	return run, m, nil
}

// Announce prints, before any number, what makes the run's numbers not the paper's kind:
// a FIXTURE (stand-ins is what they are, e.g. "the guests are the stand-in test kernel,
// not Unikraft") and software emulation.
func (s Setup) Announce(w io.Writer, id, standins string) {
	if s.Fixture != "" {
		fmt.Fprintf(w, "%s: FIXTURE %s — %s\n", id, s.Fixture, standins)
	}
	if s.Accel == "tcg" {
		fmt.Fprintf(w, "%s: ACCEL=tcg — software emulation, not comparable with the paper\n", id)
	}
}

// Keep is for a deferred call right after Start or Create: a run that was neither committed
// nor aborted when its step returns (an early error return, a panic unwinding) is kept in
// failed/ with everything it measured, and log says where.
func (r *Run) Keep(log logrus.FieldLogger) {
	if r.done {
		return
	}
	dir := r.Abort()
	log.Warnf("run incomplete; what was measured is kept in %s", dir)
}

// Stop ends a run that cannot go on (an interrupt, a disk that is full): the manifest m
// gets its end time and why, both are written as far as the disk allows, and the run is
// kept in failed/ with everything measured. It returns err as the one message for the user,
// with the run's paths where they are now. Write the run's own records (series.json) first.
func (r *Run) Stop(m *Manifest, err error) error {
	m.Ended = time.Now().UTC()
	m.Notes = append(m.Notes, "incomplete: "+Moved(err, r.Dir(), ".").Error())
	_ = r.WriteJSON("manifest.json", m) // best effort: the disk may be what failed
	from := r.Dir()
	to := r.Abort()
	return fmt.Errorf("run stopped: %w; what was measured is kept in %s", Moved(err, from, to), to)
}
