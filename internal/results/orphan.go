package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// A run being written records its owner process in ownerFile, so that a later start can tell
// a run whose process was killed (kill -9, a crash, a power cut) from one still running.
// The pid alone could be reused by another process: the owner is identified by pid, the
// process's start time (in clock ticks since boot, /proc/<pid>/stat) and the boot id.
const ownerFile = ".owner.json"

// OrphanNote is the file a recovered run gets in failed/<id>/, saying why it is there.
const OrphanNote = "ORPHANED.txt"

// Owner identifies the process that writes a run.
type Owner struct {
	Pid       int       `json:"pid"`
	StartTick uint64    `json:"start_ticks"` // field 22 of /proc/<pid>/stat
	BootID    string    `json:"boot_id"`
	Started   time.Time `json:"started"`
	Command   []string  `json:"command,omitempty"`
}

// self describes this process as an owner.
func self() Owner {
	o := Owner{Pid: os.Getpid(), BootID: bootID(), Started: time.Now().UTC(), Command: os.Args}
	o.StartTick, _ = startTicks(o.Pid)
	return o
}

// alive reports whether the owner process still runs: same boot, same pid, same start time.
func (o Owner) alive() bool {
	if o.BootID != bootID() {
		return false
	}
	t, err := startTicks(o.Pid)
	return err == nil && t == o.StartTick
}

func bootID() string {
	b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(b))
}

// startTicks reads the start time of process pid (clock ticks after boot).
func startTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may contain spaces and parentheses: count from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22 overall; f[0] is field 3
}

// unownedAge is how old a run directory without an owner record must be to count as
// orphaned: a run claims its directory and writes the record right after, so only a run
// killed in between (or one written by an older version of the bundle) lacks it.
const unownedAge = 10 * time.Minute

// Orphan is a run recovered by RecoverOrphans.
type Orphan struct {
	ID  string
	Dir string // where it is now: results/<fig>/failed/<id>
	Why string
}

// RecoverOrphans moves the runs of fig under root/<fig>/.incomplete/ whose owner process is
// gone to root/<fig>/failed/<id>/, each with an OrphanNote saying why, and keeps everything
// they hold. Runs whose owner still runs are left alone. Create calls it, so every figure
// recovers the runs of its killed predecessors when it starts.
func RecoverOrphans(root, fig string) ([]Orphan, error) {
	incomplete := filepath.Join(root, fig, ".incomplete")
	entries, err := os.ReadDir(incomplete)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recover orphaned runs: %w", err)
	}
	var out []Orphan
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(incomplete, e.Name())
		why, orphan := orphaned(dir)
		if !orphan {
			continue
		}
		dst := filepath.Join(root, fig, "failed", e.Name())
		if exists(dst) {
			dst = filepath.Join(root, fig, "failed", e.Name()+"-orphan")
		}
		note := fmt.Sprintf("This run was never completed: %s.\nIt was found under %s and moved here on %s by pid %d (%s).\nEverything it had written is kept as it was.\n",
			why, dir, time.Now().UTC().Format(time.RFC3339), os.Getpid(), strings.Join(os.Args, " "))
		if err := WriteFileAtomic(filepath.Join(dir, OrphanNote), []byte(note), 0o644); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Rename(dir, dst); err != nil {
			// Another starting process may have recovered it at the same moment.
			if !exists(dir) {
				continue
			}
			errs = append(errs, fmt.Errorf("recover orphaned run: %w", err))
			continue
		}
		out = append(out, Orphan{ID: e.Name(), Dir: dst, Why: why})
	}
	_ = os.Remove(incomplete) // only when empty
	return out, errors.Join(errs...)
}

// orphaned says whether the run in dir has lost its owner, and how.
func orphaned(dir string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		st, serr := os.Stat(dir)
		if serr != nil || time.Since(st.ModTime()) < unownedAge {
			return "", false
		}
		return fmt.Sprintf("it has no owner record (%s) and was last changed %s", ownerFile, st.ModTime().UTC().Format(time.RFC3339)), true
	}
	var o Owner
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Sprintf("its owner record is unreadable (%v)", err), true
	}
	if o.alive() {
		return "", false
	}
	return fmt.Sprintf("its process (pid %d, started %s: %s) is gone — killed or crashed", o.Pid,
		o.Started.Format(time.RFC3339), strings.Join(o.Command, " ")), true
}

// logOrphans says in one line what RecoverOrphans did.
func logOrphans(fig string, orphans []Orphan) {
	if len(orphans) == 0 {
		return
	}
	var ids []string
	for _, o := range orphans {
		ids = append(ids, o.ID)
	}
	logrus.WithFields(logrus.Fields{"figure": fig, "step": "recover"}).Warnf(
		"moved %d run(s) left by a killed process to %s: %s (%s says why)",
		len(orphans), filepath.Dir(orphans[0].Dir), strings.Join(ids, ", "), OrphanNote)
}
