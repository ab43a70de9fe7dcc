package sources

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// gitTimeout bounds one git command (a first clone of a large repository included).
const gitTimeout = 30 * time.Minute

// git runs a git command in its own process group with a timeout; cancelling ctx kills the
// group. It never prompts for credentials. Standard output is returned; errors carry stderr.
func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/false", "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return nil, fmt.Errorf("git %s: no answer within %s", strings.Join(args, " "), gitTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// gitStream runs git and passes its standard output to consume.
func gitStream(ctx context.Context, dir string, consume func(io.Reader) error, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	cerr := consume(out)
	io.Copy(io.Discard, out)
	werr := cmd.Wait()
	if werr != nil {
		return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), werr, strings.TrimSpace(stderr.String()))
	}
	return cerr
}

// initBare creates a bare repository at dir unless it exists.
func initBare(ctx context.Context, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".init-")
	if err != nil {
		return err
	}
	if _, err := git(ctx, tmp, "init", "--bare", "--quiet", tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return nil
}

// hasCommit reports whether repo holds commit.
func hasCommit(ctx context.Context, repo, commit string) bool {
	_, err := git(ctx, repo, "cat-file", "-e", commit+"^{commit}")
	return err == nil
}

// fsckConfig makes git check every object it receives, except for one cosmetic check:
// zeroPaddedFilemode flags trees written long ago by tools that spelt a directory mode
// "040000" instead of git's "40000". Such trees are real history (redis's, reachable from
// 5.0.6, holds one), and integrity does not rest on that check: an object's id is the hash of
// its bytes, padding included, so a pinned commit names exactly one tree either way.
var fsckConfig = []string{
	"-c", "transfer.fsckObjects=true",
	"-c", "fetch.fsck.zeroPaddedFilemode=ignore",
}

// fetch fetches refspecs from remote into repo, checking every received object.
func fetch(ctx context.Context, repo, remote string, refspecs ...string) error {
	args := append(append(append([]string{}, fsckConfig...), "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote), refspecs...)
	_, err := git(ctx, repo, args...)
	return err
}

// fetchCommit gets commit from remote: by id first (what servers allow for reachable
// commits), then every branch and tag when that is refused. It fails when the remote cannot be
// read, or does not have the commit.
func fetchCommit(ctx context.Context, repo, remote, commit string) error {
	if hasCommit(ctx, repo, commit) {
		return nil
	}
	byID := fetch(ctx, repo, remote, commit)
	if hasCommit(ctx, repo, commit) {
		return nil
	}
	all := fetch(ctx, repo, remote, "+refs/heads/*:refs/upstream/heads/*", "+refs/tags/*:refs/upstream/tags/*", "+refs/pins/*:refs/pins/*")
	if hasCommit(ctx, repo, commit) {
		return nil
	}
	if all != nil {
		return fmt.Errorf("cannot fetch commit %s from %s: %v\n  (fetch by id: %v)\n  "+
			"Without internet, set SOURCES_MIRROR to a directory or archive holding the repository", commit, remote, all, byID)
	}
	return fmt.Errorf("commit %s is not in %s (searched every branch and tag): the pin is wrong, the history was rewritten, or the mirror is incomplete: %w", commit, remote, errNotInRemote)
}

// errNotInRemote marks a remote that was read and does not have the commit.
var errNotInRemote = errors.New("commit not found")

// resolveRef fetches ref (a branch or tag name) from remote and returns the commit it names.
func resolveRef(ctx context.Context, repo, remote, ref string) (string, error) {
	local := "refs/upstream/resolved/" + ref
	if err := fetch(ctx, repo, remote, "+"+ref+":"+local); err != nil {
		return "", fmt.Errorf("ref %s of %s: %w", ref, remote, err)
	}
	out, err := git(ctx, repo, "rev-parse", "--verify", "--quiet", local+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("ref %s of %s does not name a commit: %w", ref, remote, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// resolvePrefix fetches every branch and tag of remote and expands an abbreviated commit id.
func resolvePrefix(ctx context.Context, repo, remote, prefix string) (string, error) {
	if err := fetch(ctx, repo, remote, "+refs/heads/*:refs/upstream/heads/*", "+refs/tags/*:refs/upstream/tags/*", "+refs/pins/*:refs/pins/*"); err != nil {
		return "", err
	}
	out, err := git(ctx, repo, "rev-parse", "--verify", "--quiet", prefix+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("abbreviated commit %s is not (or not uniquely) in %s: %w", prefix, remote, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// pin keeps commit reachable in repo (and visible to anyone fetching from it) as refs/pins/<commit>.
func pin(ctx context.Context, repo, commit string) error {
	_, err := git(ctx, repo, "update-ref", "refs/pins/"+commit, commit)
	return err
}

// exportTree writes the tree of commit into dir (created; must not exist) with files made
// read-only, through a temporary directory so that dir appears complete or not at all.
func exportTree(ctx context.Context, repo, commit, dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".export-")
	if err != nil {
		return err
	}
	err = gitStream(ctx, repo, func(r io.Reader) error { return untar(ctx, r, tmp, true) }, "archive", "--format=tar", commit)
	if err == nil {
		err = os.Rename(tmp, dir)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("export tree of %s: %w", commit, err)
	}
	return nil
}

// writeZip makes a zip of commit's tree with every path under prefix, as GitHub's archive of
// a commit has it. Entry times are the commit time, so the bytes depend only on the commit.
func writeZip(ctx context.Context, repo, commit, prefix, file string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".zip-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	zw := zip.NewWriter(tmp)
	err = gitStream(ctx, repo, func(r io.Reader) error {
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if h.Typeflag == tar.TypeXGlobalHeader {
				continue
			}
			fh := &zip.FileHeader{Name: prefix + strings.TrimPrefix(h.Name, "./"), Method: zip.Deflate, Modified: h.ModTime.UTC()}
			switch h.Typeflag {
			case tar.TypeDir:
				fh.Name = strings.TrimSuffix(fh.Name, "/") + "/"
				fh.Method = zip.Store
				fh.SetMode(fs.ModeDir | 0o755)
			case tar.TypeSymlink:
				fh.SetMode(fs.ModeSymlink | 0o777)
			default:
				fh.SetMode(fs.FileMode(h.Mode).Perm())
			}
			w, err := zw.CreateHeader(fh)
			if err != nil {
				return err
			}
			switch h.Typeflag {
			case tar.TypeSymlink:
				_, err = io.WriteString(w, h.Linkname)
			case tar.TypeReg:
				_, err = io.Copy(w, tr)
			}
			if err != nil {
				return err
			}
		}
	}, "archive", "--format=tar", commit)
	if err == nil {
		err = zw.Close()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("make %s: %w", filepath.Base(file), err)
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}
