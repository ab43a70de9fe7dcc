package boottime

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// deadPid is above any pid_max Linux allows (2^22), so no process has it.
const deadPid = 1 << 30

// Instances left by killed harnesses are removed; those of live processes and anything this
// package did not create are kept.
func TestStaleInstancesOfDeadProcessesAreRemoved(t *testing.T) {
	dir := t.TempDir()
	dead := fmt.Sprintf("%s%d-0badf00d", instancePrefix, deadPid)
	live := fmt.Sprintf("%s%d-cafe0001", instancePrefix, os.Getpid())
	for _, name := range []string{dead, live, "someone-elses", instancePrefix + "garbage"} {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	removeStaleInstances(dir)
	for name, want := range map[string]bool{dead: false, live: true, "someone-elses": true, instancePrefix + "garbage": true} {
		if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != want {
			t.Errorf("%s: present = %v, want %v", name, err == nil, want)
		}
	}
}
