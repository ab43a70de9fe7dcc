// Package fixturemirror is what the figures' FIXTURE source-mirror generators share: the
// safe, atomic write of a mirror directory with its manifest.json and README.txt, the
// stand-in git repositories (one commit whose id depends only on the content and a fixed
// date), and the mkmirror command's frame. Each figure's fixture package keeps its own
// stand-in trees, names and texts; sources.ManifestFor is what later recognises the mirror
// as a fixture, through the "fixture" name its manifest declares.
package fixturemirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/sources"
)

// Host is the made-up host of the stand-in repositories and archives (.invalid never resolves).
const Host = "fixture.invalid"

// Manifest is a fixture mirror's manifest.json. Fixture must be set: it is what makes
// sources.ManifestFor prefer the mirror's pins, and what lets Write replace the mirror later.
type Manifest struct {
	About   []string         `json:"about"`
	Fixture string           `json:"fixture"`
	Sources []map[string]any `json:"sources"`
}

// Write writes a fixture mirror into dir (created; an earlier fixture mirror there is
// replaced, any other non-empty directory refused). fill writes the repositories and archives
// under out, may use work as scratch space, and returns the manifest and the README.txt text.
// Everything is written in a temporary directory beside dir first, so dir holds the old
// mirror or the complete new one, never a part.
func Write(dir string, fill func(out, work string) (Manifest, string, error)) error {
	if err := checkTarget(dir); err != nil {
		return err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".fixture-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "mirror")
	manifest, readme, err := fill(out, filepath.Join(tmp, "work"))
	if err != nil {
		return err
	}
	if manifest.Fixture == "" {
		return fmt.Errorf("fixture: the manifest of %s declares no fixture name", dir)
	}
	raw, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for name, body := range map[string][]byte{sources.MirrorManifest: append(raw, '\n'), "README.txt": []byte(readme)} {
		if err := os.WriteFile(filepath.Join(out, name), body, 0o644); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(out, dir)
}

// checkTarget refuses to replace anything but an earlier fixture mirror.
func checkTarget(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("fixture: %w", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, sources.MirrorManifest))
	var m struct{ Fixture string }
	if err != nil || json.Unmarshal(raw, &m) != nil || m.Fixture == "" {
		return fmt.Errorf("fixture: %s exists and is not a fixture mirror; choose an empty or new directory", dir)
	}
	return nil
}

// Commit describes the one commit of a stand-in repository. Date is the author and committer
// date: fixed, so that the commit id depends on the content only and mirrors are reproducible.
type Commit struct {
	Message string
	Date    time.Time
	Tag     string // tag put on the commit, "" for none
}

// GitRepo makes a repository in work with one commit c of files (path with '/' → content) and
// a bare clone of it at bare, the form a mirror holds; it returns the commit id.
func GitRepo(ctx context.Context, work, bare string, files map[string][]byte, c Commit) (string, error) {
	for name, body := range files {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			return "", err
		}
	}
	steps := [][]string{
		{"init", "-q", "-b", "main", work},
		{"-C", work, "add", "-A"},
		{"-C", work, "-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", c.Message},
	}
	if c.Tag != "" {
		steps = append(steps, []string{"-C", work, "tag", c.Tag})
	}
	steps = append(steps, []string{"clone", "-q", "--bare", "--no-hardlinks", work, bare})
	date := c.Date.UTC().Format(time.RFC3339)
	for _, args := range steps {
		if _, err := git(ctx, date, args...); err != nil {
			return "", err
		}
	}
	out, err := git(ctx, date, "-C", work, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

// gitTimeout bounds one git command of a generator (all are local and small).
const gitTimeout = 2 * time.Minute

// git runs git with a fixed identity and date and without the user's or system's
// configuration (which could change the commit, e.g. by signing it), in its own process group.
func git(ctx context.Context, date string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=fixture", "GIT_AUTHOR_EMAIL=fixture@"+Host,
		"GIT_COMMITTER_NAME=fixture", "GIT_COMMITTER_EMAIL=fixture@"+Host,
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date,
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Main is the body of a generator's mkmirror command: it takes the mirror directory as its
// only argument (else prints usage, exit 2), runs write until done or interrupted (Ctrl-C
// cancels the git commands), and prints write's summary (or the error, exit 1).
func Main(usage string, write func(ctx context.Context, dir string) (summary string, err error)) {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: "+usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	summary, err := write(ctx, os.Args[1])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Print(summary)
}

// State is one commit of a stand-in history: the whole tree (path with '/' → content).
type State struct {
	Files  map[string][]byte
	Commit Commit
}

// GitHistory makes a repository in work whose main branch is the commits of states, in
// order, each holding exactly its tree, and a bare clone of it at bare; it returns the
// commit ids. Like GitRepo, the ids depend only on the contents, messages and dates.
func GitHistory(ctx context.Context, work, bare string, states []State) ([]string, error) {
	var ids []string
	for i, st := range states {
		date := st.Commit.Date.UTC().Format(time.RFC3339)
		if i == 0 {
			if _, err := git(ctx, date, "init", "-q", "-b", "main", work); err != nil {
				return nil, err
			}
		} else if _, err := git(ctx, date, "-C", work, "rm", "-rq", "--ignore-unmatch", "."); err != nil {
			return nil, err
		}
		for name, body := range st.Files {
			p := filepath.Join(work, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(p, body, 0o644); err != nil {
				return nil, err
			}
		}
		steps := [][]string{
			{"-C", work, "add", "-A"},
			{"-C", work, "-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "--allow-empty", "-m", st.Commit.Message},
		}
		if st.Commit.Tag != "" {
			steps = append(steps, []string{"-C", work, "tag", st.Commit.Tag})
		}
		for _, args := range steps {
			if _, err := git(ctx, date, args...); err != nil {
				return nil, err
			}
		}
		out, err := git(ctx, date, "-C", work, "rev-parse", "HEAD")
		if err != nil {
			return nil, err
		}
		ids = append(ids, strings.TrimSpace(out))
	}
	if bare != "" {
		if _, err := git(ctx, "", "clone", "-q", "--bare", "--no-hardlinks", work, bare); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// Diff is `git diff from to` in the repository dir: patch text, as the stand-in patch files
// are made from stand-in trees.
func Diff(ctx context.Context, dir, from, to string) ([]byte, error) {
	out, err := git(ctx, "", "-C", dir, "diff", "--no-color", "--no-ext-diff", "--no-renames", from, to)
	return []byte(out), err
}
