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

// Environment settings read by OptionsFromEnv.
const (
	EnvCache   = "SOURCES_CACHE"   // cache directory (default: DefaultCache)
	EnvMirror  = "SOURCES_MIRROR"  // directory or archive replacing every upstream
	EnvArchive = "SOURCES_ARCHIVE" // output of `mage sources:archive`
)

// OptionsFromEnv returns fetch options from SOURCES_CACHE and SOURCES_MIRROR, with progress
// lines on progress.
func OptionsFromEnv(progress io.Writer) (Options, error) {
	opt := Options{Cache: os.Getenv(EnvCache), Mirror: os.Getenv(EnvMirror), Progress: progress}
	if opt.Cache == "" {
		d, err := DefaultCache()
		if err != nil {
			return opt, err
		}
		opt.Cache = d
	}
	return opt, nil
}

// FetchAll loads the manifest file (ManifestPath in the magefile) and fetches every source
// (`mage sources:fetch`) with options from the environment, printing a summary line.
func FetchAll(ctx context.Context, manifest string, out io.Writer) (*Set, error) {
	m, err := Load(manifest)
	if err != nil {
		return nil, err
	}
	opt, err := OptionsFromEnv(out)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	set, err := Fetch(ctx, m, opt)
	if err != nil {
		return set, err
	}
	fmt.Fprintln(out, set.Summary(time.Since(start)))
	return set, nil
}

// ArchiveAll fetches every source of the manifest file and writes the archive to
// SOURCES_ARCHIVE, by default sources-archive-<date>.tar in the current directory
// (`mage sources:archive`).
func ArchiveAll(ctx context.Context, manifest string, out io.Writer) (string, error) {
	m, err := Load(manifest)
	if err != nil {
		return "", err
	}
	opt, err := OptionsFromEnv(out)
	if err != nil {
		return "", err
	}
	file := os.Getenv(EnvArchive)
	if file == "" {
		file = "sources-archive-" + time.Now().UTC().Format("20060102") + ".tar"
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
	fmt.Fprintf(out, "%s\nwrote %s (%.1f MB): replay with %s=%s\n", set.Summary(time.Since(start)), file, float64(st.Size())/1e6, EnvMirror, file)
	return file, nil
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
