package host

import (
	"context"

	"github.com/unikraft-eurosys21/artifact/internal/results"
)

// Record puts this host's fingerprint and isolation report into a run's manifest, so every
// measured number can be traced to the machine and the isolation it was measured under.
func Record(ctx context.Context, m *results.Manifest) {
	m.Host = Describe(ctx)
	m.Isolation = Check()
}
