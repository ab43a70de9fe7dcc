package plot

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/unikraft-eurosys21/artifact/internal/flock"
)

// modulePath identifies the bundle's checkout when walking up from the working directory.
const modulePath = "github.com/unikraft-eurosys21/artifact"

// echartsRel is the folder, relative to the module root, holding the npm lockfile that pins
// the ECharts build. The ECHARTS_DIR setting overrides the whole path (EnsureEChartsIn).
const echartsRel = "internal/plot/echarts"

// stampName records, inside node_modules, the hash of the lockfile that npm ci installed, so
// a changed lockfile triggers a reinstall and an unchanged one costs no npm call at all.
const stampName = ".artifact-lockfile.sha256"

// npmTimeout bounds an install when the caller's context has no deadline.
const npmTimeout = 5 * time.Minute

var ensured struct {
	sync.Mutex
	jsPath string
}

// EnsureECharts makes the pinned ECharts build available and returns the path of its
// dist/echarts.min.js. The folder is internal/plot/echarts of the bundle's checkout (found by
// walking up from the working directory). When node_modules is missing or
// was installed from another lockfile, it runs `npm ci --ignore-scripts` there (a few
// seconds, needs the npm registry); otherwise it touches nothing. Safe to call from several
// goroutines and processes at once.
func EnsureECharts(ctx context.Context) (jsPath string, err error) { return EnsureEChartsIn(ctx, "") }

// EnsureEChartsIn is EnsureECharts with the folder holding the lockfile given (the
// ECHARTS_DIR setting, for running outside the checkout); "" is the checkout's. The first
// call of the process decides: later calls return what it found.
func EnsureEChartsIn(ctx context.Context, echartsDir string) (jsPath string, err error) {
	ensured.Lock()
	defer ensured.Unlock()
	if ensured.jsPath != "" {
		return ensured.jsPath, nil
	}
	dir, err := findEChartsDir(echartsDir)
	if err != nil {
		return "", err
	}
	js, err := install(ctx, dir)
	if err != nil {
		return "", err
	}
	ensured.jsPath = js
	return js, nil
}

// findEChartsDir finds the folder holding package-lock.json: d when given, else the checkout's.
func findEChartsDir(d string) (string, error) {
	if d != "" {
		abs, err := filepath.Abs(d)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(filepath.Join(abs, "package-lock.json")); err != nil {
			return "", fmt.Errorf("ECHARTS_DIR=%s: no package-lock.json there: point it at a copy of %s of the bundle", d, echartsRel)
		}
		return abs, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, err := moduleRoot(wd)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, filepath.FromSlash(echartsRel)), nil
}

// moduleRoot walks up from dir to the go.mod that declares the bundle's module.
func moduleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && declaresModule(b, modulePath) {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("cannot find the bundle's checkout (a go.mod of module %s) in %s or above: run from inside the repository, or set ECHARTS_DIR to its %s folder", modulePath, dir, echartsRel)
		}
		d = parent
	}
}

func declaresModule(gomod []byte, path string) bool {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == path
		}
	}
	return false
}

// install runs npm ci in dir unless node_modules already matches the lockfile.
func install(ctx context.Context, dir string) (string, error) {
	log := logrus.WithField("step", "echarts")
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return "", fmt.Errorf("read the ECharts lockfile: %w", err)
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	js := filepath.Join(dir, "node_modules", "echarts", "dist", "echarts.min.js")
	stamp := filepath.Join(dir, "node_modules", stampName)
	upToDate := func() bool {
		got, err := os.ReadFile(stamp)
		if err != nil || strings.TrimSpace(string(got)) != want {
			return false
		}
		_, err = os.Stat(js)
		return err == nil
	}
	if upToDate() {
		log.WithField("dir", dir).Debug("ECharts is installed")
		return js, nil
	}

	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("ECharts (pinned in %s) is not installed and npm is not on PATH: "+
			"install Node.js >= 18 with npm (Debian/Ubuntu: apt-get install nodejs npm), then rerun; "+
			"npm ci fetches the pinned ECharts once and checks its integrity hash",
			filepath.Join(dir, "package-lock.json"))
	}
	if _, hasDeadline := ctx.Deadline(); !hasDeadline {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, npmTimeout)
		defer cancel()
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, ".npm-ci.lock"))
	if err != nil {
		return "", fmt.Errorf("wait for another ECharts install in %s: %w", dir, err)
	}
	defer unlock()
	if upToDate() { // another process installed it while we waited
		return js, nil
	}

	log.WithField("dir", dir).Info("installing the pinned ECharts with npm ci")
	start := time.Now()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return "", fmt.Errorf("npm ci in %s failed: %v\n%s\ncheck that the npm registry is reachable (npm config get registry) and Node.js is >= 18",
			dir, err, tail(out.String(), 20))
	}
	if _, err := os.Stat(js); err != nil {
		return "", fmt.Errorf("npm ci in %s succeeded but %s is missing: is package-lock.json pinning echarts?", dir, js)
	}
	if err := os.WriteFile(stamp, []byte(want+"\n"), 0o644); err != nil {
		return "", err
	}
	log.WithFields(logrus.Fields{"dir": dir, "took": time.Since(start).Round(time.Millisecond)}).Info("ECharts installed")
	return js, nil
}

// lockFile takes an exclusive flock on path, polling so that ctx bounds the wait.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	return flock.Lock(ctx, f, 0, nil)
}

// tail returns the last n lines of s, for error messages.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// assetFiles are copied next to the HTML pages: the ECharts build they load, and the licence
// texts that must travel with it (Apache-2.0 requires the NOTICE; the build bundles zrender,
// BSD-3-Clause, and parts of d3, BSD-3-Clause). Paths are relative to node_modules.
var assetFiles = []struct{ src, dst string }{
	{"echarts/dist/echarts.min.js", "echarts.min.js"},
	{"echarts/LICENSE", "LICENSE"},
	{"echarts/NOTICE", "NOTICE"},
	{"echarts/licenses/LICENSE-d3", "LICENSE-d3"},
	{"zrender/LICENSE", "LICENSE-zrender"},
}
