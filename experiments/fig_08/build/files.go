package build

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/unikraft-eurosys21/artifact/internal/flock"
)

// lockTimeout bounds the wait for another run using the same build cache.
const lockTimeout = 3 * time.Hour

// lockDir takes an exclusive lock on dir, so two runs never build into the same directories.
func lockDir(ctx context.Context, dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("fig08: lock %s: %w", dir, err)
	}
	release, err := flock.Lock(ctx, f, lockTimeout, nil)
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("fig08: another fig08 run holds the build cache %s (%v); wait for it or set %s to another directory", dir, err, EnvBuildCache)
	}
	return release, err
}

// removeAll removes path, first making directories writable where an unpacked archive left
// them read-only.
func removeAll(path string) error {
	if err := os.RemoveAll(path); err == nil {
		return nil
	}
	filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(path)
}

func writeFile(name string, body []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, body, 0o644)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyIfExists copies src when it exists (a build that failed early may not have made it).
func copyIfExists(src, dst string) {
	if _, err := os.Stat(src); err == nil {
		copyFile(src, dst)
	}
}

// readLine returns the first line of a file, "" when it cannot be read.
func readLine(name string) string {
	f, err := os.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	return strings.TrimSpace(sc.Text())
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// numCPU is the CPUs shared among the builds.
func numCPU() int { return runtime.NumCPU() }

// lastLines returns the last n non-empty lines of s.
func lastLines(s string, n int) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out[max(0, len(out)-n):]
}

func indent(lines []string) string { return "    " + strings.Join(lines, "\n    ") }
