package pipeline

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/cavaliergopher/cpio"

	"github.com/unikraft-eurosys21/artifact/internal/results"
)

var osStat = os.Stat

// Entry is one file of an initrd: its path in the guest (without the leading "/"), its
// content and its permission bits.
type Entry struct {
	Name string
	Data []byte
	Mode os.FileMode
}

// WriteInitrd writes the entries as a newc ("070701") cpio archive to path, gzip'd when
// compress is set, atomically. Entries are written in name order with fixed owner (0:0),
// times (the epoch) and inode numbers, so that the same entries give the same bytes and
// the initrd's sha256 identifies its content.
func WriteInitrd(path string, entries []Entry, compress bool) error {
	sorted := append([]Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var archive bytes.Buffer
	w := cpio.NewWriter(&archive)
	for i, e := range sorted {
		mode := e.Mode.Perm()
		if mode == 0 {
			mode = 0o644
		}
		h := &cpio.Header{Name: e.Name, Mode: cpio.TypeReg | cpio.FileMode(mode), Size: int64(len(e.Data)),
			Links: 1, ModTime: time.Unix(0, 0), Inode: int64(i + 1)}
		if err := w.WriteHeader(h); err != nil {
			return fmt.Errorf("initrd %s: %s: %w", path, e.Name, err)
		}
		if _, err := w.Write(e.Data); err != nil {
			return fmt.Errorf("initrd %s: %s: %w", path, e.Name, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("initrd %s: %w", path, err)
	}
	data := archive.Bytes()
	if compress {
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		zw.Write(data) // writes to a bytes.Buffer do not fail
		if err := zw.Close(); err != nil {
			return fmt.Errorf("initrd %s: %w", path, err)
		}
		data = z.Bytes()
	}
	return results.WriteFileAtomic(path, data, 0o644)
}
