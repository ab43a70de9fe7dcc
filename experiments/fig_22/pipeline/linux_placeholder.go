package pipeline

import (
	"context"
	"errors"
)

// PrepareLinux is a PLACEHOLDER on this branch only (the Linux side is another branch's
// linux.go): the lead drops this file at merge.
func PrepareLinux(ctx context.Context, o LinuxOptions) (Linux, error) {
	return Linux{}, errors.New("fig22: linux side not merged yet")
}
