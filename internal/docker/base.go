package docker

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/sirupsen/logrus"
)

// BaseRef is the Debian release every toolchain image starts from.
const BaseRef = "debian:bookworm"

// LocalBaseRef names the base image built here with debootstrap when BaseRef cannot be pulled
// (no registry reachable). It is built once and reused.
const LocalBaseRef = Repository + "/debian:bookworm-debootstrap"

// Timeouts of the base image steps.
const (
	pullTimeout        = 10 * time.Minute
	debootstrapTimeout = 30 * time.Minute
	importTimeout      = 10 * time.Minute
)

// Image is an image this package provides.
type Image struct {
	Name  string // recipe name ("unikraft"), or "base"
	Ref   string // repository:tag
	ID    string // image id (sha256:…)
	Hash  string // content hash of recipe, base and build args (recipes only)
	Built bool   // made by this call rather than found
}

// Base returns the Debian base image: BaseRef if present or pullable, else LocalBaseRef,
// built with debootstrap on first use. An image that exists is always preferred, so the base
// (and with it every content hash) does not change between runs.
func (c *Client) Base(ctx context.Context) (Image, error) {
	for _, ref := range []string{BaseRef, LocalBaseRef} {
		if id, ok, err := c.imageID(ctx, ref); err != nil {
			return Image{}, err
		} else if ok {
			return Image{Name: "base", Ref: ref, ID: id}, nil
		}
	}
	log := c.entry(logrus.Fields{"step": "base", "image": BaseRef})
	if err := c.pull(ctx, BaseRef); err == nil {
		id, _, err := c.imageID(ctx, BaseRef)
		return Image{Name: "base", Ref: BaseRef, ID: id, Built: true}, err
	} else if ctx.Err() != nil {
		return Image{}, ctx.Err()
	} else {
		log.WithError(err).Info("cannot pull the base image; building it locally with debootstrap")
	}
	id, err := c.buildLocalBase(ctx)
	if err != nil {
		return Image{}, err
	}
	return Image{Name: "base", Ref: LocalBaseRef, ID: id, Built: true}, nil
}

// imageID returns the id of ref and whether it exists.
func (c *Client) imageID(ctx context.Context, ref string) (string, bool, error) {
	ii, err := c.api.ImageInspect(ctx, ref)
	if client.IsErrNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("docker: inspect image %s: %w", ref, err)
	}
	return ii.ID, true, nil
}

func (c *Client) pull(ctx context.Context, ref string) error {
	ctx, cancel := context.WithTimeout(ctx, pullTimeout)
	defer cancel()
	rc, err := c.api.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	return readMessages(rc, func(m message) {
		if m.Status != "" {
			c.Progress.Line(ref, strings.TrimSpace(m.ID+" "+m.Status))
		}
	})
}

// buildLocalBase makes LocalBaseRef: debootstrap a minimal bookworm into a temporary
// directory, import it as an image, remove the directory.
func (c *Client) buildLocalBase(ctx context.Context) (string, error) {
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("docker: %s cannot be pulled here and building the base image locally needs root "+
			"(debootstrap creates device nodes and runs chroot).\n"+
			"  Run this command once as root (e.g. sudo go tool mage containers), or make %s available to the daemon "+
			"(docker pull %s, or docker load from a saved image)", BaseRef, BaseRef, BaseRef)
	}
	bin, err := exec.LookPath("debootstrap")
	if err != nil {
		return "", fmt.Errorf("docker: %s cannot be pulled here and debootstrap is not installed to build it locally.\n"+
			"  Install it (apt-get install debootstrap) or make %s available to the daemon", BaseRef, BaseRef)
	}
	if err := os.MkdirAll(c.LogDir, 0o755); err != nil {
		return "", err
	}
	logPath := filepath.Join(c.LogDir, "base-debootstrap.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logf.Close()

	root, err := os.MkdirTemp("", "unikraft-eurosys21-rootfs-")
	if err != nil {
		return "", err
	}
	defer removeRootfs(root, c.entry(logrus.Fields{"step": "base"}))

	args := []string{"--variant=minbase", "bookworm", root}
	if c.DebootstrapMirror != "" {
		args = append(args, c.DebootstrapMirror)
	}
	log := c.entry(logrus.Fields{"step": "base", "image": LocalBaseRef})
	log.WithField("log", logPath).Info("debootstrap of Debian bookworm (minbase)")
	c.Progress.Step("base", "debootstrap --variant=minbase bookworm (once per machine; it took 3 min on 2 cores, longer with a slow DEBOOTSTRAP_MIRROR)")
	tail := &tailLines{n: 20}
	lw := &lineWriter{fn: func(l string) { tail.add(l); c.Progress.Line("debootstrap", l) }}
	if err := runProcess(ctx, debootstrapTimeout, io.MultiWriter(logf, lw), bin, args...); err != nil {
		lw.Flush()
		c.Progress.Done()
		return "", fmt.Errorf("docker: debootstrap of the base image failed: %w\n  last lines:\n%s  full log: %s", err, tail, logPath)
	}
	lw.Flush()

	c.Progress.Step("base", "importing the root file system as "+LocalBaseRef)
	ictx, cancel := context.WithTimeout(ctx, importTimeout)
	defer cancel()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(rootfsTar(root, pw)) }()
	rc, err := c.api.ImageImport(ictx, image.ImportSource{Source: pr, SourceName: "-"}, LocalBaseRef, image.ImportOptions{
		Changes: []string{
			"LABEL " + LabelProject + "=" + ProjectValue,
			`ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
			`CMD ["/bin/bash"]`,
		},
	})
	if err != nil {
		pr.CloseWithError(err)
		return "", fmt.Errorf("docker: import of the base image: %w", err)
	}
	err = readMessages(rc, func(message) {})
	rc.Close()
	pr.Close()
	if err != nil {
		return "", fmt.Errorf("docker: import of the base image: %w", err)
	}
	id, ok, err := c.imageID(ctx, LocalBaseRef)
	if err == nil && !ok {
		err = fmt.Errorf("docker: %s is missing right after its import", LocalBaseRef)
	}
	c.Progress.Done()
	log.WithField("id", id).Info("base image ready")
	return id, err
}

// rootfsTar writes the tree at root as a tar with numeric owners, devices and symlinks kept,
// in lexical order.
func rootfsTar(root string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode()&fs.ModeSocket != 0 {
			return nil
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		h.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname = "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, h.Size)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// removeRootfs deletes a debootstrap tree, first detaching anything still mounted in it (an
// interrupted debootstrap can leave /proc or /sys mounted); it deletes nothing if a mount
// cannot be detached.
func removeRootfs(root string, log *logrus.Entry) {
	mounts, err := mountsUnder(root)
	if err != nil {
		log.WithError(err).Warnf("cannot read the mount table; leaving %s in place", root)
		return
	}
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			log.WithError(err).Warnf("cannot unmount %s; leaving %s in place", m, root)
			return
		}
	}
	if err := os.RemoveAll(root); err != nil {
		log.WithError(err).Warnf("cannot remove %s", root)
	}
}

// mountsUnder lists mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, sc.Err()
}

// unescapeMount decodes the octal escapes (\040 for space) of /proc/self/mountinfo.
func unescapeMount(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// message is one JSON message of the daemon's build, pull and import streams.
type message struct {
	Stream      string                    `json:"stream"`
	Status      string                    `json:"status"`
	ID          string                    `json:"id"`
	Error       string                    `json:"error"`
	ErrorDetail *struct{ Message string } `json:"errorDetail"`
	Aux         json.RawMessage           `json:"aux"`
}

// readMessages decodes the stream, calls fn for each message and returns the first error the
// daemon reported in it.
func readMessages(r io.Reader, fn func(message)) error {
	dec := json.NewDecoder(r)
	for {
		var m message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the daemon's answer: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
		fn(m)
	}
}
