package pipeline

import (
	"fmt"

	fig22 "github.com/unikraft-eurosys21/artifact/experiments/fig_22"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

// Source names of what the Unikraft image is built from (containers/sources.json).
const (
	// UKCore is skuenzer's Unikraft branch the paper's fig_22 cloned (skuenzer/eurosys21).
	UKCore  = "unikraft-skuenzer"
	LibSHFS = "lib-shfs"
	LibTLSF = "lib-tlsf"
	// TLSFArchive is TLSF-2.4.6.tbz2, which lib-tlsf downloads into build/libtlsf/.
	TLSFArchive = "tlsf"
)

// UKLibs are the image's libraries in the order of the paper's Makefile's LIBS
// (lib-shfs:lib-tlsf).
var UKLibs = []string{LibSHFS, LibTLSF}

// UKSources are the source names the Unikraft side needs: the trees and the archive.
var UKSources = []string{UKCore, LibSHFS, LibTLSF, TLSFArchive}

// ConfigFile is the paper's configuration of the image in paper/ (src/config.app-fsbench).
const ConfigFile = "src/config.app-fsbench"

// UKName is CONFIG_UK_NAME of the paper's configuration: the kernel is <UKName>_kvm-x86_64,
// with its unstripped <UKName>_kvm-x86_64.dbg beside it.
const UKName = "fsbench-tlsf"

// UKKernel and UKDebug are the build outputs kept: the image QEMU boots and the unstripped
// one (symbols for a look with gdb or nm).
const (
	UKKernel = UKName + "_kvm-x86_64"
	UKDebug  = UKKernel + ".dbg"
)

// UKConfig is the image's configuration: the CONFIG_ lines of the paper's
// config.app-fsbench without the lines that describe the machine it was saved on
// (CONFIG_UK_BASE and CONFIG_UK_APP name the original's /root/workspace/… paths, which
// olddefconfig would rewrite anyway).
func UKConfig() ([]string, error) {
	f, err := fig22.PaperFiles().Open(ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("fig22: the paper's configuration paper/%s is missing from the build: %w", ConfigFile, err)
	}
	defer f.Close()
	return unikraft.ConfigLines(f)
}

// UKSpec is the build of the benchmark's Unikraft image from the fetched sources: the
// bundle's benchmark (fig22.BenchApp) as the application, lib-shfs and lib-tlsf in L=, the
// paper's configuration, and the TLSF archive placed where lib-tlsf looks before it
// downloads (build/libtlsf/TLSF-2.4.6.tbz2).
func UKSpec(set *sources.Set, env []string) (unikraft.Spec, error) {
	fail := func(err error) (unikraft.Spec, error) {
		return unikraft.Spec{}, fmt.Errorf("fig22: Unikraft image: %w", err)
	}
	core, err := unikraft.TreeOf(set, UKCore)
	if err != nil {
		return fail(err)
	}
	cfg, err := UKConfig()
	if err != nil {
		return unikraft.Spec{}, err
	}
	s := unikraft.Spec{Name: "fig22-" + UKName, Core: core, App: fig22.BenchApp(), Config: cfg,
		Kernel: []string{UKKernel}, Extras: []string{UKDebug}, Env: env}
	for _, l := range UKLibs {
		t, err := unikraft.TreeOf(set, l)
		if err != nil {
			return fail(err)
		}
		s.Libs = append(s.Libs, t)
	}
	a, err := unikraft.PlacedOf(set, TLSFArchive)
	if err != nil {
		return fail(err)
	}
	s.Archives = append(s.Archives, a)
	return s, nil
}
