package vmm

import (
	"fmt"
	"os"
	"strconv"
)

// Solo5 configures one run of a Solo5 hvt tender (solo5-hvt) with a unikernel. The tender
// exits on its own: an unknown I/O port write (the boot markers) is a fatal guest error for
// hvt, so the marker at main() ends the run.
type Solo5 struct {
	// Binary is the hvt tender; empty means $SOLO5_HVT, else solo5-hvt on PATH.
	Binary    string
	MemoryMiB int      // --mem; 0 means 2 (the paper's value)
	Kernel    string   // the unikernel
	Tender    []string // further tender options (e.g. --net:service=tap0), before the kernel
	Args      []string // arguments given to the unikernel, after the kernel
	// CPUs pins the tender (all its threads) to these host CPUs; nil leaves affinity alone.
	CPUs []int
}

// Solo5Binary resolves the tender: explicit (the SOLO5_HVT setting), or solo5-hvt on PATH.
func Solo5Binary(explicit string) (string, error) {
	return lookBinary("solo5-hvt", explicit, "SOLO5_HVT", "solo5-hvt",
		"Solo5 is not a Debian package: build the tender from Solo5's sources at the pinned version and set SOLO5_HVT=/path/to/solo5-hvt")
}

// CommandArgs renders the tender's command line (without the binary).
func (s *Solo5) CommandArgs() ([]string, error) {
	if s.Kernel == "" {
		return nil, fmt.Errorf("solo5-hvt: no kernel given")
	}
	args := []string{"--mem=" + strconv.Itoa(or(s.MemoryMiB, 2))}
	args = append(args, s.Tender...)
	args = append(args, s.Kernel)
	return append(args, s.Args...), nil
}

// New checks the configuration and returns a VM ready to start.
func (s Solo5) New() (*Process, error) {
	bin, err := Solo5Binary(s.Binary)
	if err != nil {
		return nil, err
	}
	args, err := s.CommandArgs()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(s.Kernel); err != nil {
		return nil, fmt.Errorf("solo5-hvt: kernel: %w", err)
	}
	return &Process{Name: "solo5-hvt", Path: bin, Args: args, CPUs: s.CPUs}, nil
}
