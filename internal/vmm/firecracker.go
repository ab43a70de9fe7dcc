package vmm

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Firecracker configures one Firecracker microVM, started from a configuration file in the
// current schema (log_path, metrics_path, smt; the paper's log_fifo, metrics_fifo and
// ht_enabled are rejected by Firecracker ≥ 1.0). The API socket, configuration, log and
// metrics live in a private temporary directory removed after the run.
type Firecracker struct {
	// Binary is firecracker; empty means $FIRECRACKER, else firecracker on PATH.
	Binary    string
	Kernel    string
	BootArgs  string
	VCPUs     int  // 0 means 1 (the paper's value)
	MemoryMiB int  // 0 means 2 (the paper's value)
	SMT       bool // the paper's ht_enabled=false
	// LogLevel is the logger level; empty means "Debug" (the paper's value).
	LogLevel string
	// StopOnBootTimer ends the run once Firecracker's boot timer logged Guest-boot-time:
	// a halted guest does not end Firecracker (the original killed it after 4 s).
	StopOnBootTimer bool
	// CPUs pins Firecracker (all its threads) to these host CPUs; nil leaves affinity alone.
	CPUs []int
}

// FirecrackerBinary resolves the firecracker binary: explicit (the FIRECRACKER setting), or on PATH.
func FirecrackerBinary(explicit string) (string, error) {
	return lookBinary("firecracker", explicit, "FIRECRACKER", "firecracker",
		"Firecracker is not a Debian package: build or download a release at the pinned version and set FIRECRACKER=/path/to/firecracker")
}

// Config renders the configuration file for the given log and metrics paths.
func (f *Firecracker) Config(logPath, metricsPath string) ([]byte, error) {
	if f.Kernel == "" {
		return nil, fmt.Errorf("firecracker: no kernel given")
	}
	type obj = map[string]any
	cfg := obj{
		"boot-source": obj{"kernel_image_path": f.Kernel, "boot_args": f.BootArgs},
		"drives":      []any{},
		"machine-config": obj{
			"vcpu_count":   max(f.VCPUs, 1),
			"mem_size_mib": or(f.MemoryMiB, 2),
			"smt":          f.SMT,
		},
		"logger": obj{
			"log_path":        logPath,
			"level":           or(f.LogLevel, "Debug"),
			"show_level":      true,
			"show_log_origin": true,
		},
		"metrics": obj{"metrics_path": metricsPath},
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// Args renders the command line for a private directory dir.
func (f *Firecracker) Args(dir string) []string {
	return []string{"--api-sock", filepath.Join(dir, "api.sock"), "--config-file", filepath.Join(dir, "config.json"), "--boot-timer"}
}

// New checks the configuration and returns a VM ready to start. Firecracker's log is
// copied into the console (after its stdout and stderr) as it is written.
func (f Firecracker) New() (*Process, error) {
	bin, err := FirecrackerBinary(f.Binary)
	if err != nil {
		return nil, err
	}
	if _, err := f.Config("", ""); err != nil {
		return nil, err
	}
	if _, err := os.Stat(f.Kernel); err != nil {
		return nil, fmt.Errorf("firecracker: kernel: %w", err)
	}
	p := &Process{Name: "firecracker", Path: bin, CPUs: f.CPUs}
	p.prepare = func(p *Process) error {
		dir, err := os.MkdirTemp("", "firecracker-")
		if err != nil {
			return fmt.Errorf("firecracker: private directory: %w", err)
		}
		p.OnExit(func() error { return os.RemoveAll(dir) })
		logPath, metricsPath := filepath.Join(dir, "log.fifo"), filepath.Join(dir, "metrics.json")
		cfg, _ := f.Config(logPath, metricsPath)
		if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o600); err != nil {
			return fmt.Errorf("firecracker: %w", err)
		}
		// Firecracker opens but never creates its log and metrics files.
		if err := os.WriteFile(metricsPath, nil, 0o600); err != nil {
			return fmt.Errorf("firecracker: %w", err)
		}
		if err := unix.Mkfifo(logPath, 0o600); err != nil {
			return fmt.Errorf("firecracker: mkfifo %s: %w", logPath, err)
		}
		// O_RDWR: the open does not wait for a writer and Firecracker's non-blocking open
		// for writing finds a reader. Closing it at exit ends the copy below.
		log, err := os.OpenFile(logPath, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("firecracker: open log: %w", err)
		}
		copied := make(chan struct{})
		p.OnExit(func() error {
			// Firecracker is gone; everything it wrote precedes our end marker in the FIFO.
			if _, err := log.Write([]byte(logEnd + "\n")); err != nil {
				log.Close()
				return fmt.Errorf("firecracker: end log copy: %w", err)
			}
			select {
			case <-copied:
			case <-time.After(stopGrace):
			}
			return log.Close()
		})
		go func() {
			defer close(copied)
			sc := bufio.NewScanner(log)
			for sc.Scan() {
				line := sc.Text()
				if line == logEnd {
					return
				}
				p.console.Write([]byte(line + "\n"))
				if f.StopOnBootTimer && strings.Contains(line, "Guest-boot-time") {
					p.kill(nil) // the run is complete
				}
			}
		}()
		p.Args = f.Args(dir)
		return nil
	}
	return p, nil
}

// logEnd marks the end of Firecracker's log in the FIFO (written by the harness).
const logEnd = "\x00harness: end of log"

// BootTimer is Firecracker's own measurement, logged by --boot-timer when the guest writes
// 123 to the boot-timer device: wall and CPU time since VM construction began.
type BootTimer struct {
	Wall time.Duration `json:"wall_ns"`
	CPU  time.Duration `json:"cpu_ns"`
}

var bootTimerRE = regexp.MustCompile(`Guest-boot-time\s*=\s*(\d+)\s*us\s+\d+\s*ms,\s*(\d+)\s*CPU us`)

// ParseBootTimer finds the Guest-boot-time line in a Firecracker log.
func ParseBootTimer(log []byte) (BootTimer, bool) {
	m := bootTimerRE.FindSubmatch(log)
	if m == nil {
		return BootTimer{}, false
	}
	wall, _ := strconv.ParseInt(string(m[1]), 10, 64)
	cpu, _ := strconv.ParseInt(string(m[2]), 10, 64)
	return BootTimer{Wall: time.Duration(wall) * time.Microsecond, CPU: time.Duration(cpu) * time.Microsecond}, true
}
