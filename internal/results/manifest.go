package results

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/host"
)

// Manifest is a run's provenance, written to manifest.json. Sections that a figure does not
// use stay empty. Host and isolation reports are filled by RecordHost; tool
// versions and source pins by the steps that use them.
type Manifest struct {
	Figure  string    `json:"figure"`
	RunID   string    `json:"run_id"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"`
	Command []string  `json:"command"`
	Bundle  string    `json:"bundle_commit,omitempty"` // git describe of this bundle
	// Accel is the accelerator the VMs ran with ("kvm" or "tcg"); empty for build-only figures.
	Accel string `json:"accel,omitempty"`
	// Fixture names the stand-in used instead of real upstream sources (tests of the
	// pipeline on machines that cannot fetch them); empty for real runs.
	Fixture string `json:"fixture,omitempty"`
	// Settings are the environment settings the run was made with: every variable of
	// package settings by name (settings.Settings.Record), "" for unset.
	Settings map[string]string `json:"settings,omitempty"`
	// SettingsFrom says where each of Settings came from: "environment" or "default".
	SettingsFrom map[string]string `json:"settings_from,omitempty"`
	Host         *host.Fingerprint `json:"host,omitempty"`      // see RecordHost
	Isolation    *host.Report      `json:"isolation,omitempty"` // see RecordHost
	Tools        map[string]string `json:"tools,omitempty"`     // tool → version
	Images       map[string]string `json:"images,omitempty"`    // container image → id
	Sources      any               `json:"sources,omitempty"`   // source pins used
	// Machines are the VMs' machine options per series (QEMU's -machine), which may
	// follow the accelerator.
	Machines map[string]string `json:"machines,omitempty"`
	Notes    []string          `json:"notes,omitempty"`
}

// NewManifest starts a manifest for a run, recording the command line and bundle commit.
func NewManifest(r *Run) *Manifest {
	return &Manifest{Figure: r.Fig, RunID: r.ID, Started: time.Now().UTC(), Command: os.Args, Bundle: BundleCommit()}
}

// RecordHost puts this host's fingerprint and isolation report into the manifest, so every
// measured number can be traced to the machine and the isolation it was measured under. qemu
// is the QEMU binary the run uses (the QEMU setting; "" for qemu-system-x86_64 on PATH),
// whose version the fingerprint shows.
func (m *Manifest) RecordHost(ctx context.Context, qemu string) {
	fp, iso := host.Describe(ctx, qemu), host.Check()
	m.Host, m.Isolation = &fp, &iso
}

// gitTimeout bounds `git describe`: a hung git (a lock, a network file system) must not
// hang the run that asks for its provenance.
const gitTimeout = 10 * time.Second

// BundleCommit describes the checked-out commit of this bundle ("" outside a git checkout,
// or when git does not answer within gitTimeout); "-dirty" marks uncommitted changes, which
// a reviewer should know about.
func BundleCommit() string {
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty", "--abbrev=40")
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
