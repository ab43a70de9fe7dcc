package docker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/sirupsen/logrus"
)

// buildTimeout bounds one image build.
const buildTimeout = 60 * time.Minute

// Recipe is a folder containers/<name>/ holding a Dockerfile and its build context.
type Recipe struct {
	Name string
	Dir  string
	// Args are build arguments besides BASE (which is always the base image).
	Args map[string]string
}

var recipeName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// Recipes lists the recipes under dir (every subfolder with a Dockerfile), sorted by name.
func Recipes(dir string) ([]Recipe, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("docker: read recipes: %w", err)
	}
	var rs []Recipe
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(p, "Dockerfile")); err != nil {
			continue
		}
		if !recipeName.MatchString(e.Name()) {
			return nil, fmt.Errorf("%s: a recipe folder name must be lower case letters, digits, '.', '_' or '-' (it names the image)", p)
		}
		rs = append(rs, Recipe{Name: e.Name(), Dir: p})
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("docker: no recipes (folders with a Dockerfile) in %s", dir)
	}
	return rs, nil
}

// fromBase matches the FROM line every recipe must have, so that the base image is the one
// this package provides (a plain FROM debian:… would make the daemon ask a registry).
var fromBase = regexp.MustCompile(`(?i)^\s*FROM\s+\$\{?BASE\}?(\s|$)`)

// checkDockerfile checks that a recipe builds on the provided base.
func checkDockerfile(r Recipe) error {
	p := filepath.Join(r.Dir, "Dockerfile")
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(strings.ToUpper(line), "FROM") {
			continue
		}
		if !fromBase.MatchString(line) {
			return fmt.Errorf("%s:%d: expected `FROM ${BASE}` (after `ARG BASE`), found %q: the base image is provided by the bundle", p, n, line)
		}
		return nil
	}
	return fmt.Errorf("%s:1: no FROM line; expected `ARG BASE` and `FROM ${BASE}`", p)
}

// Hash is the content hash of recipe r on base: the deterministic tar of its folder, the base
// image id and the build arguments. Equal hashes mean equal inputs, so the image is reused.
func Hash(r Recipe, base Image) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "recipe %s\nbase %s\n", r.Name, base.ID)
	keys := make([]string, 0, len(r.Args))
	for k := range r.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "arg %s=%s\n", k, r.Args[k])
	}
	io.WriteString(h, "context\n")
	if err := contextTar(r.Dir, h); err != nil {
		return "", fmt.Errorf("docker: hash recipe %s: %w", r.Name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Tag is the image reference of recipe name with content hash.
func Tag(name, hash string) string { return Repository + "/" + name + ":ctx-" + hash[:12] }

// Build builds recipe r on base unless an image with the same content hash exists.
func (c *Client) Build(ctx context.Context, base Image, r Recipe) (Image, error) {
	if err := checkDockerfile(r); err != nil {
		return Image{}, err
	}
	hash, err := Hash(r, base)
	if err != nil {
		return Image{}, err
	}
	tag := Tag(r.Name, hash)
	img := Image{Name: r.Name, Ref: tag, Hash: hash}
	ii, err := c.api.ImageInspect(ctx, tag)
	if err == nil && ii.Config != nil && ii.Config.Labels[LabelContext] == hash {
		img.ID = ii.ID
		return img, nil
	}

	log := c.entry(logrus.Fields{"step": "build", "image": tag})
	if err := os.MkdirAll(c.LogDir, 0o755); err != nil {
		return img, err
	}
	logPath := filepath.Join(c.LogDir, fmt.Sprintf("build-%s-%s.log", r.Name, hash[:12]))
	logf, err := os.Create(logPath)
	if err != nil {
		return img, err
	}
	defer logf.Close()
	log.WithField("log", logPath).Info("building image")
	c.Progress.Step(r.Name, "building "+tag)
	start := time.Now()

	var ctxTar bytes.Buffer
	if err := contextTar(r.Dir, &ctxTar); err != nil {
		return img, err
	}
	args := map[string]*string{"BASE": ptr(base.Ref)}
	for k, v := range r.Args {
		args[k] = ptr(v)
	}
	bctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	resp, err := c.api.ImageBuild(bctx, &ctxTar, build.ImageBuildOptions{
		Tags:        []string{tag},
		Remove:      true,
		ForceRemove: true,
		Dockerfile:  "Dockerfile",
		BuildArgs:   args,
		Labels:      map[string]string{LabelProject: ProjectValue, LabelImage: r.Name, LabelContext: hash},
		Version:     build.BuilderV1,
	})
	if err != nil {
		return img, fmt.Errorf("docker: build %s: %w", tag, err)
	}
	defer resp.Body.Close()
	tail := &tailLines{n: 25}
	lw := &lineWriter{fn: func(l string) {
		tail.add(l)
		if strings.HasPrefix(l, "Step ") {
			c.Progress.Step(r.Name, l)
		} else {
			c.Progress.Line(r.Name, l)
		}
	}}
	out := io.MultiWriter(logf, lw)
	err = readMessages(resp.Body, func(m message) {
		if m.Stream != "" {
			io.WriteString(out, m.Stream)
		}
		if len(m.Aux) > 0 {
			var aux struct{ ID string }
			if json.Unmarshal(m.Aux, &aux) == nil && aux.ID != "" {
				img.ID = aux.ID
			}
		}
	})
	lw.Flush()
	c.Progress.Done()
	if err == nil && bctx.Err() != nil {
		err = bctx.Err()
	}
	if err != nil {
		fmt.Fprintf(logf, "\nERROR: %v\n", err)
		if ctx.Err() != nil {
			return img, fmt.Errorf("docker: build of %s interrupted: %w", tag, ctx.Err())
		}
		return img, fmt.Errorf("docker: build of %s failed: %v\n  last lines:\n%s  full log: %s", tag, err, tail, logPath)
	}
	id, ok, err := c.imageID(ctx, tag)
	if err != nil {
		return img, err
	}
	if !ok {
		return img, fmt.Errorf("docker: build of %s reported success but the image is missing; full log: %s", tag, logPath)
	}
	img.ID, img.Built = id, true
	log.WithFields(logrus.Fields{"id": id, "seconds": time.Since(start).Seconds()}).Info("image built")
	return img, nil
}

// BuildAll builds every recipe under dir (on the base image, made first if needed) and
// returns the images in recipe order, the base first.
func (c *Client) BuildAll(ctx context.Context, dir string) ([]Image, error) {
	rs, err := Recipes(dir)
	if err != nil {
		return nil, err
	}
	unlock, err := lockBuilds(ctx, func() { c.Progress.Step("containers", "waiting for another process building the images") })
	if err != nil {
		return nil, err
	}
	defer unlock()
	base, err := c.Base(ctx)
	if err != nil {
		return nil, err
	}
	imgs := []Image{base}
	for _, r := range rs {
		img, err := c.Build(ctx, base, r)
		if err != nil {
			return imgs, err
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}

// BuildRecipe returns the image of the one recipe dir/name, built on the base image (made
// first if needed) unless it is up to date. Like BuildAll it waits for any other process
// building images on this machine, so that two figures prepared at the same time (or test
// packages run in parallel) do not debootstrap and build the same images twice, which would
// also leave each with a different base and so a different toolchain hash.
func (c *Client) BuildRecipe(ctx context.Context, dir, name string) (Image, error) {
	rs, err := Recipes(dir)
	if err != nil {
		return Image{}, err
	}
	i := slices.IndexFunc(rs, func(r Recipe) bool { return r.Name == name })
	if i < 0 {
		return Image{}, fmt.Errorf("docker: no recipe %q in %s (expected %s)", name, dir, filepath.Join(dir, name, "Dockerfile"))
	}
	unlock, err := lockBuilds(ctx, func() { c.Progress.Step(name, "waiting for another process building the images") })
	if err != nil {
		return Image{}, err
	}
	defer unlock()
	base, err := c.Base(ctx)
	if err != nil {
		return Image{}, err
	}
	return c.Build(ctx, base, rs[i])
}

// Prune removes images of this bundle that no recipe under dir would use now: older content
// hashes of a recipe, images of recipes that are gone, and untagged leftovers of interrupted
// builds. The base image is kept. It returns what was removed. It waits for image builds of
// other processes, whose intermediate images are untagged too.
func (c *Client) Prune(ctx context.Context, dir string) ([]string, error) {
	rs, err := Recipes(dir)
	if err != nil {
		return nil, err
	}
	unlock, err := lockBuilds(ctx, func() { c.Progress.Step("prune", "waiting for another process building the images") })
	if err != nil {
		return nil, err
	}
	defer unlock()
	keep := map[string]bool{} // current content hashes
	base, err := c.currentBase(ctx)
	if err != nil {
		return nil, err
	}
	if base.ID != "" {
		for _, r := range rs {
			h, err := Hash(r, base)
			if err != nil {
				return nil, err
			}
			keep[h] = true
		}
	}
	list, err := c.api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelProject+"="+ProjectValue))})
	if err != nil {
		return nil, fmt.Errorf("docker: list images: %w", err)
	}
	var removed []string
	for _, im := range list {
		hash, isRecipe := im.Labels[LabelContext]
		stale := isRecipe && !keep[hash]
		dangling := len(im.RepoTags) == 0 || (len(im.RepoTags) == 1 && im.RepoTags[0] == "<none>:<none>")
		if !stale && !(dangling && !isRecipe) {
			continue
		}
		name := im.ID
		if len(im.RepoTags) > 0 && !dangling {
			name = strings.Join(im.RepoTags, ", ")
		}
		if _, err := c.api.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: len(im.RepoTags) > 1, PruneChildren: true}); err != nil {
			return removed, fmt.Errorf("docker: remove stale image %s: %w", name, err)
		}
		c.entry(logrus.Fields{"step": "prune", "image": name}).Info("removed stale image")
		removed = append(removed, name)
	}
	return removed, nil
}

// currentBase is the base image Base would return, without making one.
func (c *Client) currentBase(ctx context.Context) (Image, error) {
	for _, ref := range []string{BaseRef, LocalBaseRef} {
		id, ok, err := c.imageID(ctx, ref)
		if err != nil || ok {
			return Image{Name: "base", Ref: ref, ID: id}, err
		}
	}
	return Image{}, nil
}

func ptr[T any](v T) *T { return &v }
