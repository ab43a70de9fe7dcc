package fig22

import (
	"embed"
	"io/fs"
)

// benchFS is the bundle's benchmark program (bench/main.c) with the Unikraft application
// files around it (Config.uk, Makefile.uk): one C source, built as the Unikraft application
// and as the static-PIE Linux /init.
//
//go:embed bench
var benchFS embed.FS

// BenchSource is the file name of the benchmark's C source in BenchApp.
const BenchSource = "main.c"

// BenchApp returns the benchmark's application directory: file name → content.
func BenchApp() map[string][]byte {
	app := map[string][]byte{}
	entries, err := fs.ReadDir(benchFS, "bench")
	if err != nil {
		panic(err) // embedded at build time
	}
	for _, e := range entries {
		b, err := fs.ReadFile(benchFS, "bench/"+e.Name())
		if err != nil {
			panic(err)
		}
		app[e.Name()] = b
	}
	return app
}

// PaperFiles holds the paper's files for the run: src/config.app-fsbench (the Unikraft
// image's configuration) and src/rnd4k (the 4 KiB test file, sha256 RND4KHash).
func PaperFiles() fs.FS {
	sub, err := fs.Sub(paperFS, "paper")
	if err != nil {
		panic(err)
	}
	return sub
}

// RND4KHash is the SHA-256 of paper/src/rnd4k: the test file's name in both initrds and its
// hash in the SHFS volume.
const RND4KHash = rnd4kHash
