package fig08

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
)

// ConfigFile is where a run keeps an image's final .config (after olddefconfig and the build).
func ConfigFile(img Image) string { return "raw/" + img.Key() + ".config" }

// Config is a final Kconfig configuration: symbol (with CONFIG_) → value as the file writes
// it; "# CONFIG_X is not set" reads as "n".
type Config map[string]string

// ParseConfig reads a .config file.
func ParseConfig(r io.Reader) (Config, error) {
	c := Config{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "CONFIG_") {
			c[k] = v
		} else if f := strings.Fields(line); len(f) == 5 && f[0] == "#" && strings.HasPrefix(f[1], "CONFIG_") && strings.Join(f[2:], " ") == "is not set" {
			c[f[1]] = "n"
		}
	}
	return c, sc.Err()
}

// value is the symbol's value, "n" when unset or absent (how Kconfig reads both).
func (c Config) value(sym string) string {
	if v, ok := c[sym]; ok {
		return v
	}
	return "n"
}

// readConfigs loads raw/<image>.config of every measured image that has one.
func readConfigs(fsys fs.FS, prefix string, sizes Sizes) (map[Image]Config, error) {
	out := map[Image]Config{}
	for img := range sizes {
		err := readOptional(fsys, ConfigFile(img), func(r io.Reader) error {
			c, err := ParseConfig(r)
			if err != nil {
				return fmt.Errorf("%s%s: %w", prefix, ConfigFile(img), err)
			}
			out[img] = c
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// variantFlags are what the variants are named after; differences in them are expected.
var variantFlags = []string{"CONFIG_OPTIMIZE_LTO", "CONFIG_OPTIMIZE_DEADELIM"}

// configDifferences says how the final configurations of app's variants differ beyond the
// DCE and LTO flags, from the .config files the run kept; "" when fewer than two variants of
// app have one. At most show symbols are spelt out.
func (d *Dataset) configDifferences(app string, show int) string {
	var imgs []Image
	for _, v := range Variants {
		if _, ok := d.Configs[Image{app, v.Key}]; ok {
			imgs = append(imgs, Image{app, v.Key})
		}
	}
	if len(imgs) < 2 {
		return ""
	}
	syms := map[string]bool{}
	for _, img := range imgs {
		for s := range d.Configs[img] {
			syms[s] = true
		}
	}
	var diffs []string
	for _, s := range sortedKeys(syms) {
		if slices.Contains(variantFlags, s) {
			continue
		}
		byValue := map[string][]string{}
		for _, img := range imgs {
			v := d.Configs[img].value(s)
			byValue[v] = append(byValue[v], img.Variant)
		}
		if len(byValue) < 2 {
			continue
		}
		var parts []string
		for _, v := range sortedKeys(byValue) {
			parts = append(parts, v+" in "+strings.Join(byValue[v], ", "))
		}
		diffs = append(diffs, strings.TrimPrefix(s, "CONFIG_")+" ("+strings.Join(parts, "; ")+")")
	}
	var names []string
	for _, img := range imgs {
		names = append(names, img.Variant)
	}
	what := fmt.Sprintf("%s: the final .config files of %s", app, strings.Join(names, ", "))
	if len(diffs) == 0 {
		return what + " differ only in the DCE and LTO flags"
	}
	more := ""
	if len(diffs) > show {
		more = fmt.Sprintf(" and %d more symbols (raw/%s_<variant>.config)", len(diffs)-show, app)
		diffs = diffs[:show]
	}
	return fmt.Sprintf("%s also differ in %s%s", what, strings.Join(diffs, ", "), more)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
