package docker

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// runProcess runs a host command in its own process group with a timeout; cancelling ctx or
// the timeout kills that group (and only it). Output goes to out.
func runProcess(ctx context.Context, timeout time.Duration, out io.Writer, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("%s did not finish within %s", name, timeout)
	}
	return err
}
