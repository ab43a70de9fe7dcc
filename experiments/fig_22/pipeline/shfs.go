package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	fig22 "github.com/unikraft-eurosys21/artifact/experiments/fig_22"
	"github.com/unikraft-eurosys21/artifact/internal/docker"
	"github.com/unikraft-eurosys21/artifact/internal/files"
	"github.com/unikraft-eurosys21/artifact/internal/results"
	"github.com/unikraft-eurosys21/artifact/internal/unikraft"
)

// The SHFS tools lib-shfs/tools builds (its Makefile's `all`).
var SHFSTools = []string{"shfs_mkfs", "shfs_admin"}

// The volume, as the paper's fig_22 made it: a 16 MiB file formatted with 4096-byte chunks,
// holding rnd4k under its SHA-256.
const (
	VolumeFile  = "fsbench.shfs"
	VolumeName  = "fsbench"
	VolumeBytes = 16 << 20
	VolumeChunk = 4096
	// RND4KFile is the test file in paper/ (src/rnd4k) and its name in the volume.
	RND4KFile = "src/rnd4k"
	RND4KName = "rnd4k"
	RND4KMIME = "application/octet-stream"
)

// shfsVersion changes when the way the tools or the volume are made changes.
const shfsVersion = "fig22-shfs-1"

// shfsRun is what the SHFS steps need: a connected client, the toolchain image and its
// compiler selection, and the cache folder.
type shfsRun struct {
	dc  *docker.Client
	tc  docker.Image
	env []string
	dir string // Figure 22's folder in the image cache
	log logrus.FieldLogger
}

// shfsTools are the built tools (cached in shfs-tools-<key>/ by the lib-shfs tree, the
// toolchain image and the compiler).
type shfsTools struct {
	Dir    string            `json:"dir"`
	SHA256 map[string]string `json:"sha256"` // tool → sha256
	Log    string            `json:"log"`    // the build's output
	Built  bool              `json:"-"`
}

// buildTools builds lib-shfs's SHFS tools (`make -C tools all`, which links -luuid
// -lmhash) in the toolchain container, in a copy of the lib-shfs tree (the build writes
// its objects there), unless the same tree was already built in the same toolchain.
func (r shfsRun) buildTools(ctx context.Context, shfs unikraft.Tree) (*shfsTools, error) {
	key := shfsKey(shfsVersion, "tools", r.tc.ID, shfs.Name, shfs.ID, strings.Join(r.env, " "))
	dir := filepath.Join(r.dir, "shfs-tools-"+key[:12])
	var t shfsTools
	if shfsReadJSON(filepath.Join(dir, "tools.json"), &t) == nil && t.check() == nil {
		return &t, nil
	}
	work := dir + ".work"
	if err := unikraft.RemoveAll(work); err != nil {
		return nil, fmt.Errorf("fig22: SHFS tools: remove the previous work directory: %w", err)
	}
	if err := unikraft.CopyTree(shfs.Dir, filepath.Join(work, "lib-shfs")); err != nil {
		return nil, fmt.Errorf("fig22: SHFS tools: copy %s: %w", shfs.Name, err)
	}
	logPath := work + ".log"
	r.log.WithFields(logrus.Fields{"tree": shfs.Name, "commit": shfs.ID, "work": work}).Info("building the SHFS tools")
	err := r.dc.Run(ctx, docker.RunSpec{
		Image: r.tc.Ref, Env: r.env, WorkDir: "/work",
		Cmd: []string{"bash", "-c", "set -euo pipefail\ngcc --version | head -n 1\necho '+ make -C lib-shfs/tools all'\nmake -C lib-shfs/tools all\n" +
			"ls -l lib-shfs/tools/shfs_mkfs lib-shfs/tools/shfs_admin\n"},
		Mounts:  []docker.Mount{{Source: work, Target: "/work"}},
		LogPath: logPath, Timeout: 20 * time.Minute, Name: "fig22 SHFS tools",
	})
	if err != nil {
		return nil, fmt.Errorf("fig22: building the SHFS tools from %s (make -C tools all) failed; its output is in %s (work directory kept: %s): %w", shfs.Name, logPath, work, err)
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	t = shfsTools{Dir: dir, SHA256: map[string]string{}, Log: filepath.Join(dir, "build.log")}
	for _, name := range SHFSTools {
		if err := files.Copy(filepath.Join(work, "lib-shfs", "tools", name), filepath.Join(tmp, name), 0o755); err != nil {
			return nil, fmt.Errorf("fig22: make -C tools all of %s succeeded but made no %s (log %s): %w", shfs.Name, name, logPath, err)
		}
		sum, err := files.SHA256(filepath.Join(tmp, name))
		if err != nil {
			return nil, err
		}
		t.SHA256[name] = sum
	}
	if err := files.Copy(logPath, filepath.Join(tmp, "build.log"), 0o644); err != nil {
		return nil, err
	}
	if err := results.WriteJSONAtomic(filepath.Join(tmp, "tools.json"), t); err != nil {
		return nil, err
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	unikraft.RemoveAll(work)
	os.Remove(logPath)
	t.Built = true
	return &t, nil
}

// check says whether the cached tools are all there and unchanged.
func (t *shfsTools) check() error {
	for _, name := range SHFSTools {
		sum, err := files.SHA256(filepath.Join(t.Dir, name))
		if err != nil || sum != t.SHA256[name] {
			return fmt.Errorf("%s missing or changed", name)
		}
	}
	return nil
}

// makeVolume makes the SHFS volume with the tools in the toolchain container (they link
// Debian's libuuid and libmhash): a 16 MiB file of zeros, `shfs_mkfs -n fsbench -s 4096 -f`,
// `shfs_admin -a rnd4k -n rnd4k -m application/octet-stream`, then `shfs_admin -l`, whose
// listing must show rnd4k under its SHA-256. Cached by the tools and rnd4k: the tools stamp
// a fresh UUID and date into every volume, so an identical remake would not be identical.
func (r shfsRun) makeVolume(ctx context.Context, t *shfsTools) (Volume, bool, error) {
	rnd4k, err := paperRND4K()
	if err != nil {
		return Volume{}, false, err
	}
	sum := sha256.Sum256(rnd4k)
	key := shfsKey(shfsVersion, "volume", r.tc.ID, t.SHA256["shfs_mkfs"], t.SHA256["shfs_admin"], hex.EncodeToString(sum[:]),
		fmt.Sprint(VolumeBytes, VolumeChunk, VolumeName, RND4KName, RND4KMIME))
	dir := filepath.Join(r.dir, "shfs-volume-"+key[:12])
	var v Volume
	if shfsReadJSON(filepath.Join(dir, "volume.json"), &v) == nil {
		if f, err := FileOf(v.Path); err == nil && f.SHA256 == v.SHA256 {
			return v, false, nil
		}
	}
	tmp := dir + ".tmp"
	if err := unikraft.RemoveAll(tmp); err != nil {
		return Volume{}, false, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return Volume{}, false, err
	}
	if err := os.WriteFile(filepath.Join(tmp, RND4KName), rnd4k, 0o644); err != nil {
		return Volume{}, false, err
	}
	vol := filepath.Join(tmp, VolumeFile)
	if err := os.WriteFile(vol, nil, 0o644); err != nil {
		return Volume{}, false, err
	}
	if err := os.Truncate(vol, VolumeBytes); err != nil {
		return Volume{}, false, err
	}
	script := fmt.Sprintf(`set -euo pipefail
cd /work
echo '+ shfs_mkfs -n %[1]s -s %[2]d -f %[3]s'
/tools/shfs_mkfs -n %[1]s -s %[2]d -f %[3]s
echo '+ shfs_admin -a %[4]s -n %[4]s -m %[5]s %[3]s'
/tools/shfs_admin -a %[4]s -n %[4]s -m %[5]s %[3]s
echo '+ shfs_admin -l %[3]s'
/tools/shfs_admin -l %[3]s > listing.txt
cat listing.txt
`, VolumeName, VolumeChunk, VolumeFile, RND4KName, RND4KMIME)
	logPath := filepath.Join(tmp, "volume.log")
	r.log.WithField("work", tmp).Info("making the SHFS volume")
	err = r.dc.Run(ctx, docker.RunSpec{
		Image: r.tc.Ref, Env: r.env, WorkDir: "/work", Cmd: []string{"bash", "-c", script},
		Mounts:  []docker.Mount{{Source: tmp, Target: "/work"}, {Source: t.Dir, Target: "/tools", ReadOnly: true}},
		LogPath: logPath, Timeout: 10 * time.Minute, Name: "fig22 SHFS volume",
	})
	if err != nil {
		return Volume{}, false, fmt.Errorf("fig22: making the SHFS volume failed; the tools' output is in %s: %w", logPath, err)
	}
	listing, err := os.ReadFile(filepath.Join(tmp, "listing.txt"))
	if err != nil {
		return Volume{}, false, fmt.Errorf("fig22: shfs_admin -l left no listing (log %s): %w", logPath, err)
	}
	if err := CheckListing(string(listing)); err != nil {
		return Volume{}, false, fmt.Errorf("fig22: the SHFS volume made in %s: %w (log %s)", tmp, err, logPath)
	}
	os.Remove(filepath.Join(tmp, RND4KName))
	f, err := FileOf(vol)
	if err != nil {
		return Volume{}, false, err
	}
	f.Path = filepath.Join(dir, VolumeFile) // where it is once the folder is in place
	v = Volume{File: f, Tools: t.SHA256, ToolsLog: t.Log, Listing: string(listing), Log: filepath.Join(dir, "volume.log")}
	if err := results.WriteJSONAtomic(filepath.Join(tmp, "volume.json"), v); err != nil {
		return Volume{}, false, err
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return Volume{}, false, err
	}
	return v, true, nil
}

// CheckListing checks `shfs_admin -l` of the volume: a line whose first field is rnd4k's
// SHA-256 (fig22.RND4KHash) and whose last is its name. The benchmark opens "?<hash>":
// a volume that holds the file under another hash would make every open fail.
func CheckListing(listing string) error {
	for _, line := range strings.Split(listing, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == fig22.RND4KHash && f[len(f)-1] == RND4KName {
			return nil
		}
	}
	return fmt.Errorf("shfs_admin -l does not list %s under its SHA-256 %s (does lib-shfs's tool hash with SHA-256?); it listed:\n%s",
		RND4KName, fig22.RND4KHash, strings.TrimSpace(listing))
}

// paperRND4K reads the paper's rnd4k and checks it is the file the benchmark names.
func paperRND4K() ([]byte, error) {
	b, err := shfsPaperFile(RND4KFile)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != fig22.RND4KHash {
		return nil, fmt.Errorf("fig22: paper/%s has sha256 %s, not %s, the name the benchmark opens: the bundle's copy is damaged", RND4KFile, got, fig22.RND4KHash)
	}
	return b, nil
}

func shfsPaperFile(name string) ([]byte, error) {
	b, err := fs.ReadFile(fig22.PaperFiles(), name)
	if err != nil {
		return nil, fmt.Errorf("fig22: the paper's paper/%s is missing from the build: %w", name, err)
	}
	return b, nil
}

// shfsKey is the sha256 of the parts, one a line.
func shfsKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintln(h, p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func shfsReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errors.New(path + ": " + err.Error())
	}
	return nil
}
