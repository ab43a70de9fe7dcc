package docker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/sirupsen/logrus"
)

// Timeouts of container runs.
const (
	defaultRunTimeout = 2 * time.Hour
	cleanupTimeout    = 30 * time.Second
)

// Mount binds a host path into a container.
type Mount struct {
	Source   string // absolute host path; must exist
	Target   string // absolute path in the container
	ReadOnly bool
}

// CopyOut copies a path out of the container after a successful run.
type CopyOut struct {
	From string // path in the container (file or directory)
	To   string // host directory it is copied into
}

// RunSpec describes one command run in a container.
type RunSpec struct {
	Image   string   // image reference or id
	Cmd     []string // command and arguments
	Env     []string // KEY=value
	WorkDir string
	Mounts  []Mount
	// Network attaches the default bridge network; without it the container has none.
	Network bool
	// User is uid:gid to run as; the invoking user's when empty, so outputs are not root's.
	User string
	// LogPath receives the raw output (stdout and stderr as they arrive); none when empty.
	LogPath string
	// Stdout also receives the command's standard output (e.g. to parse it).
	Stdout io.Writer
	// CopyOut is done after the command exits with status 0, before the container is removed.
	CopyOut []CopyOut
	// Timeout bounds the run; 2 hours when zero.
	Timeout time.Duration
	// Name is shown in progress and logs; the image reference when empty.
	Name string
}

// ExitError reports a command that ran and exited with a non-zero status.
type ExitError struct {
	Name    string
	Status  int64
	Tail    string
	LogPath string
}

func (e *ExitError) Error() string {
	s := fmt.Sprintf("%s exited with status %d", e.Name, e.Status)
	if e.Tail != "" {
		s += "; last lines:\n" + e.Tail
	}
	if e.LogPath != "" {
		s += "  full log: " + e.LogPath
	}
	return s
}

// Run runs spec's command in a new container and waits for it. Output is streamed line by line
// to the raw log and the progress display. The container is removed afterwards in every case,
// also when ctx is cancelled (Ctrl-C); a process killed outright leaves it for
// RemoveLeftovers. A non-zero exit status is returned as *ExitError.
func (c *Client) Run(ctx context.Context, spec RunSpec) (err error) {
	if spec.Name == "" {
		spec.Name = spec.Image
	}
	if len(spec.Cmd) == 0 {
		return fmt.Errorf("docker: run %s: no command given", spec.Name)
	}
	if spec.Timeout == 0 {
		spec.Timeout = defaultRunTimeout
	}
	if spec.User == "" {
		spec.User = fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	}
	var mounts []mount.Mount
	for _, m := range spec.Mounts {
		if !filepath.IsAbs(m.Source) || !filepath.IsAbs(m.Target) {
			return fmt.Errorf("docker: run %s: mount %s -> %s: both paths must be absolute", spec.Name, m.Source, m.Target)
		}
		if _, err := os.Stat(m.Source); err != nil {
			return fmt.Errorf("docker: run %s: mount source %s: %w", spec.Name, m.Source, err)
		}
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	netMode := container.NetworkMode("none")
	if spec.Network {
		netMode = "default"
	}
	env := append([]string{"HOME=/tmp"}, spec.Env...)

	var logf io.Writer = io.Discard
	if spec.LogPath != "" {
		if err := os.MkdirAll(filepath.Dir(spec.LogPath), 0o755); err != nil {
			return err
		}
		f, err := os.Create(spec.LogPath)
		if err != nil {
			return err
		}
		defer f.Close()
		logf = f
	}

	ctx, cancel := context.WithTimeout(ctx, spec.Timeout)
	defer cancel()
	created, err := c.api.ContainerCreate(ctx,
		&container.Config{
			Image:      spec.Image,
			Cmd:        spec.Cmd,
			Env:        env,
			WorkingDir: spec.WorkDir,
			User:       spec.User,
			Labels:     map[string]string{LabelProject: ProjectValue, LabelOwner: ownerID()},
		},
		&container.HostConfig{
			Mounts:      mounts,
			NetworkMode: netMode,
			SecurityOpt: []string{"no-new-privileges"},
		}, nil, nil, containerName(spec.Name))
	if err != nil {
		return fmt.Errorf("docker: create container for %s: %w", spec.Name, err)
	}
	id := created.ID
	log := c.entry(logrus.Fields{"step": "run", "image": spec.Image, "container": id[:12]})
	defer func() {
		if rerr := c.removeContainer(id); rerr != nil && err == nil {
			err = rerr
		}
	}()

	att, err := c.api.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return fmt.Errorf("docker: attach to %s: %w", spec.Name, err)
	}
	defer att.Close()
	waitC, waitErr := c.api.ContainerWait(ctx, id, container.WaitConditionNextExit)
	if err := c.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("docker: start %s: %w", spec.Name, err)
	}
	log.WithField("cmd", strings.Join(spec.Cmd, " ")).Debug("container started")

	tail := &tailLines{n: 25}
	lw := &lineWriter{fn: func(l string) { tail.add(l); c.Progress.Line(spec.Name, l) }}
	raw := io.MultiWriter(logf, lw)
	stdout := raw
	if spec.Stdout != nil {
		stdout = io.MultiWriter(raw, spec.Stdout)
	}
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(stdout, raw, att.Reader)
		copied <- err
	}()

	var status int64
	select {
	case w := <-waitC:
		if w.Error != nil {
			return fmt.Errorf("docker: wait for %s: %s", spec.Name, w.Error.Message)
		}
		status = w.StatusCode
	case err := <-waitErr:
		if ctx.Err() != nil {
			return c.interrupted(ctx, spec)
		}
		return fmt.Errorf("docker: wait for %s: %w", spec.Name, err)
	case <-ctx.Done():
		return c.interrupted(ctx, spec)
	}
	// The output stream ends when the container's does; bound the wait for stragglers.
	select {
	case <-copied:
	case <-time.After(cleanupTimeout):
		log.Warn("output stream did not close after the container exited")
	}
	lw.Flush()
	c.Progress.Done()
	if status != 0 {
		return &ExitError{Name: spec.Name, Status: status, Tail: tail.String(), LogPath: spec.LogPath}
	}
	for _, cp := range spec.CopyOut {
		if err := c.copyFrom(ctx, id, cp); err != nil {
			return fmt.Errorf("docker: %s: %w", spec.Name, err)
		}
	}
	log.Debug("container finished")
	return nil
}

func (c *Client) interrupted(ctx context.Context, spec RunSpec) error {
	c.Progress.Done()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("docker: %s did not finish within %s (stopped and removed)", spec.Name, spec.Timeout)
	}
	return fmt.Errorf("docker: %s interrupted (container removed): %w", spec.Name, ctx.Err())
}

// removeContainer force-removes a container, with its own timeout so that it also runs after
// the caller's context was cancelled.
func (c *Client) removeContainer(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	err := c.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !strings.Contains(err.Error(), "No such container") && !strings.Contains(err.Error(), "is already in progress") {
		return fmt.Errorf("docker: remove container %s: %w", id[:12], err)
	}
	return nil
}

func (c *Client) copyFrom(ctx context.Context, id string, cp CopyOut) error {
	if err := os.MkdirAll(cp.To, 0o755); err != nil {
		return err
	}
	rc, _, err := c.api.CopyFromContainer(ctx, id, cp.From)
	if err != nil {
		return fmt.Errorf("copy %s out: %w", cp.From, err)
	}
	defer rc.Close()
	if _, err := extractTar(rc, cp.To); err != nil {
		return fmt.Errorf("copy %s out to %s: %w", cp.From, cp.To, err)
	}
	return nil
}

// PackageVersions lists the Debian packages installed in an image (dpkg-query -W), package
// name to version, for the run manifest.
func (c *Client) PackageVersions(ctx context.Context, ref string) (map[string]string, error) {
	var out bytes.Buffer
	err := c.Run(ctx, RunSpec{
		Image:   ref,
		Cmd:     []string{"dpkg-query", "-W", "-f", "${Package}\t${Version}\n"},
		Stdout:  &out,
		Timeout: 2 * time.Minute,
		Name:    "dpkg-query",
	})
	if err != nil {
		return nil, err
	}
	pkgs := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		name, version, ok := strings.Cut(line, "\t")
		if ok && name != "" {
			pkgs[name] = version
		}
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("docker: dpkg-query in %s listed no packages", ref)
	}
	return pkgs, nil
}

// containerName is a readable unique container name.
func containerName(what string) string {
	var b [4]byte
	rand.Read(b[:])
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, what)
	if len(clean) > 40 {
		clean = clean[len(clean)-40:]
	}
	return "ukeu21-" + strings.Trim(clean, "-.") + "-" + hex.EncodeToString(b[:])
}

// ownerID identifies this process for LabelOwner: host name, boot id, pid and process start
// time (pids are reused; the start time tells a reused pid apart).
func ownerID() string {
	host, _ := os.Hostname()
	return strings.Join([]string{host, bootID(), strconv.Itoa(os.Getpid()), procStart(os.Getpid())}, "/")
}

func bootID() string {
	b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(b))
}

// procStart is field 22 of /proc/<pid>/stat (start time in clock ticks after boot), "" if
// the process does not exist.
func procStart(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command name (field 2) may contain spaces; fields are counted after its ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}
