package docker

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/sirupsen/logrus"
)

// RemoveLeftovers removes containers of this bundle that no live process owns: those of a
// process that was killed (kill -9, a closed terminal, a CI timeout) before it could clean up,
// and stopped containers of interrupted image builds. Containers of other bundle processes
// still running on this machine, and of other machines sharing the daemon, are left alone.
func (c *Client) RemoveLeftovers(ctx context.Context) error {
	list, err := c.api.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelProject+"="+ProjectValue)),
	})
	if err != nil {
		return fmt.Errorf("docker: list containers: %w", err)
	}
	building := -1 // whether an image build runs on this machine: -1 not asked yet, 0 no, 1 yes
	for _, ct := range list {
		owner, owned := ct.Labels[LabelOwner]
		if !owned && building < 0 {
			building = 0
			if buildsRunning() {
				building = 1
			}
		}
		switch {
		case owned && ownerAlive(owner):
			continue
		case !owned && (ct.State == "running" || building == 1):
			// A build step of another process: the daemon removes it when that build ends.
			// Between its exit and the commit of its layer it is stopped but still in use,
			// so none is touched while any process holds the build lock.
			continue
		}
		name := strings.TrimPrefix(strings.Join(ct.Names, ","), "/")
		if err := c.removeContainer(ct.ID); err != nil {
			return err
		}
		c.entry(logrus.Fields{"step": "cleanup", "container": ct.ID[:12], "image": ct.Image}).
			Infof("removed leftover container %s", name)
	}
	return nil
}

// ownerAlive reports whether the process named by a LabelOwner value still runs. Owners on
// other hosts count as alive: this machine cannot tell.
func ownerAlive(owner string) bool {
	parts := strings.Split(owner, "/")
	if len(parts) != 4 {
		return false
	}
	host, _ := os.Hostname()
	if parts[0] != host {
		return true
	}
	if parts[1] != bootID() {
		return false
	}
	pid, err := strconv.Atoi(parts[2])
	if err != nil {
		return false
	}
	return procStart(pid) == parts[3] && parts[3] != ""
}
