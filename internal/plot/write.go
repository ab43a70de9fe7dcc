package plot

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"

	"github.com/unikraft-eurosys21/artifact/internal/results"
)

// Write renders each figure to <dir>/<Name>.svg and <dir>/<Name>.html and puts the ECharts
// build the pages load, with its licence texts, in <dir>/assets/. All figures are rendered
// before anything is written, and every file is replaced atomically, so a failure leaves
// the previous files (or none), never a part. It installs ECharts if EnsureECharts was not
// called first; call EnsureECharts(ctx) beforehand to make that step cancellable.
func Write(dir string, figs ...Figure) error {
	type output struct {
		name, ext string
		data      []byte
	}
	var outs []output
	seen := map[string]bool{}
	for _, f := range figs {
		p, err := prepare(f)
		if err != nil {
			return err
		}
		if seen[f.Name] {
			return fmt.Errorf("plot %s: two figures with this Name in one Write", f.Name)
		}
		seen[f.Name] = true
		svg, err := renderSVG(p)
		if err != nil {
			return err
		}
		html, err := renderHTML(p, f)
		if err != nil {
			return err
		}
		outs = append(outs, output{f.Name, ".svg", svg}, output{f.Name, ".html", html})
	}
	js, err := echartsJS()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, AssetsDir), 0o755); err != nil {
		return err
	}
	modules := filepath.Dir(filepath.Dir(filepath.Dir(js))) // node_modules/echarts/dist/echarts.min.js
	for _, a := range assetFiles {
		data, err := os.ReadFile(filepath.Join(modules, filepath.FromSlash(a.src)))
		if err != nil {
			return fmt.Errorf("copy ECharts assets: %w (reinstall: remove %s and rerun)", err, modules)
		}
		if err := writeIfChanged(filepath.Join(dir, AssetsDir, a.dst), data); err != nil {
			return err
		}
	}
	for _, o := range outs {
		path := filepath.Join(dir, o.name+o.ext)
		if err := results.WriteFileAtomic(path, o.data, 0o644); err != nil {
			return err
		}
		logrus.WithFields(logrus.Fields{"step": "plot", "file": path}).Debug("wrote")
	}
	return nil
}

// writeIfChanged leaves an identical file alone (the assets are the same on every run).
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return results.WriteFileAtomic(path, data, 0o644)
}
