package sources

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// ManifestPath is the source manifest, relative to the repository root.
const ManifestPath = "containers/sources.json"

// The settings of the source targets (package settings parses them).
const (
	EnvCache   = "SOURCES_CACHE"   // cache directory
	EnvMirror  = "SOURCES_MIRROR"  // directory or archive replacing every upstream
	EnvArchive = "SOURCES_ARCHIVE" // output of `mage sources:archive`
)

// FetchAll loads the manifest file (ManifestPath in the magefile) and fetches every source
// (`mage sources:fetch`), printing a summary line to opt.Progress.
func FetchAll(ctx context.Context, manifest string, opt Options) (*Set, error) {
	m, err := Load(manifest)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	set, err := Fetch(ctx, m, opt)
	if err != nil {
		return set, err
	}
	fmt.Fprintln(progress(opt), set.Summary(time.Since(start)))
	return set, nil
}

// ArchiveAll fetches every source of the manifest file and writes the archive to file (the
// SOURCES_ARCHIVE setting; `mage sources:archive`).
func ArchiveAll(ctx context.Context, manifest string, opt Options, file string) (string, error) {
	m, err := Load(manifest)
	if err != nil {
		return "", err
	}
	start := time.Now()
	set, err := Archive(ctx, m, opt, file)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(file)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(progress(opt), "%s\nwrote %s (%.1f MB): replay with %s=%s\n", set.Summary(time.Since(start)), file, float64(st.Size())/1e6, EnvMirror, file)
	return file, nil
}

func progress(opt Options) io.Writer {
	if opt.Progress == nil {
		return io.Discard
	}
	return opt.Progress
}

// Summary is one line: how many sources, how many on weaker pins, where.
func (s *Set) Summary(took time.Duration) string {
	weak := 0
	for _, r := range s.Sources {
		if strings.Contains(r.Pin, "trusted on first use") {
			weak++
		}
	}
	return fmt.Sprintf("sources: %d verified in %s (%d on weaker pins trusted on first use, see pins.json) in %.1f s",
		len(s.Sources), s.Cache, weak, took.Seconds())
}
