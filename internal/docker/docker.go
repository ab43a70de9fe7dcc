// Package docker is the bundle's one door to the Docker engine: it connects, provides the
// Debian base image, builds the toolchain images of containers/ by content, runs commands in
// them and copies files out. It is the only package that imports the Docker SDK, so a move to
// another SDK (github.com/moby/moby/client continues this one) touches one place.
//
// Every container and image this package makes carries the label LabelProject, so leftovers of
// a killed process can be found and removed (RemoveLeftovers, called by Connect) without
// touching anything else on the machine.
package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/client"
	"github.com/sirupsen/logrus"
)

// Labels put on everything this package creates.
const (
	// LabelProject marks images and containers of this bundle; its value is ProjectValue.
	LabelProject = "org.unikraft-eurosys21.project"
	ProjectValue = "artifact"
	// LabelImage names the recipe (containers/<name>) an image was built from.
	LabelImage = "org.unikraft-eurosys21.image"
	// LabelContext holds the full content hash of an image's recipe, base and build args.
	LabelContext = "org.unikraft-eurosys21.context"
	// LabelOwner identifies the process that created a container (host/boot/pid/start), so
	// a later process can tell a leftover from a container still in use.
	LabelOwner = "org.unikraft-eurosys21.owner"
)

// Repository is the image repository prefix: images are named Repository/<recipe>:ctx-<hash>.
const Repository = "unikraft-eurosys21"

// pingTimeout bounds how long Connect waits for the daemon to answer.
const pingTimeout = 15 * time.Second

// Client talks to one Docker daemon.
type Client struct {
	api *client.Client
	// Log receives structured log lines (fields step, image, container).
	Log logrus.FieldLogger
	// Progress shows build and run output line by line; see NewProgress.
	Progress Progress
	// LogDir is where build logs are written (one file per image build).
	LogDir string
	// DebootstrapMirror is the Debian mirror of a local base build; "" is debootstrap's.
	DebootstrapMirror string
}

// Options configure Connect.
type Options struct {
	// Verbose shows every output line of builds and runs (mage -v).
	Verbose bool
	// Out is where progress is shown; os.Stderr when nil.
	Out io.Writer
	// Log is the logger; logrus.StandardLogger() when nil.
	Log logrus.FieldLogger
	// LogDir is where build logs go (settings.Settings.LogDir); a temporary folder when empty.
	LogDir string
	// DebootstrapMirror is the Debian mirror debootstrap uses when the base image is built
	// locally (the DEBOOTSTRAP_MIRROR setting); "" is debootstrap's default.
	DebootstrapMirror string
	// KeepLeftovers skips the removal of containers left behind by killed processes.
	KeepLeftovers bool
}

// Connect connects to the daemon named by the environment (DOCKER_HOST, default
// unix:///var/run/docker.sock), negotiating the API version so that old engines (Debian 12's
// 20.10) work. It fails with what to do when the daemon is unreachable or the socket is not
// accessible, then removes leftovers of killed processes.
func Connect(ctx context.Context, opt Options) (*Client, error) {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker: bad client settings (check DOCKER_HOST, DOCKER_CERT_PATH): %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := api.Ping(pctx); err != nil {
		api.Close()
		return nil, explainConnect(api.DaemonHost(), err)
	}
	c := &Client{api: api, Log: opt.Log, LogDir: opt.LogDir, DebootstrapMirror: opt.DebootstrapMirror}
	if c.Log == nil {
		c.Log = logrus.StandardLogger()
	}
	out := opt.Out
	if out == nil {
		out = os.Stderr
	}
	c.Progress = NewProgress(out, opt.Verbose)
	if c.LogDir == "" {
		c.LogDir = defaultLogDir()
	}
	if !opt.KeepLeftovers {
		if err := c.RemoveLeftovers(ctx); err != nil {
			c.api.Close()
			return nil, err
		}
	}
	return c, nil
}

// Ping says whether the daemon still answers: nil, or what is wrong and what to do.
func (c *Client) Ping(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := c.api.Ping(pctx); err != nil {
		return explainConnect(c.api.DaemonHost(), err)
	}
	return nil
}

// Close releases the connection.
func (c *Client) Close() error { return c.api.Close() }

// explainConnect turns a failed ping into a message that says where Connect looked and what
// to do.
func explainConnect(host string, err error) error {
	switch {
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) ||
		strings.Contains(err.Error(), "permission denied"):
		return fmt.Errorf("docker: no permission to use the daemon socket at %s (%v).\n"+
			"  Add your user to the docker group and log in again:  sudo usermod -aG docker $USER\n"+
			"  or run the command as root", host, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("docker: the daemon at %s did not answer within %s.\n"+
			"  Check that it is running and healthy (docker info), then try again", host, pingTimeout)
	default:
		return fmt.Errorf("docker: cannot reach the Docker daemon at %s (%v).\n"+
			"  Start it:  sudo systemctl start docker   (or, as root without systemd: dockerd >/var/log/dockerd.log 2>&1 &)\n"+
			"  or point DOCKER_HOST at a running daemon", host, err)
	}
}

// defaultLogDir is where build logs go when the caller names no folder (tests): the
// targets pass <STATE_DIR>/logs (settings.Settings.LogDir).
func defaultLogDir() string {
	return filepath.Join(os.TempDir(), "unikraft-eurosys21-logs")
}

// entry is the logger with the given fields.
func (c *Client) entry(fields logrus.Fields) *logrus.Entry { return c.Log.WithFields(fields) }
