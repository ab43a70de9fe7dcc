package pipeline

import (
	"bytes"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	fig08 "github.com/unikraft-eurosys21/artifact/experiments/fig_08"
)

// Kraft is what a paper kraft.yaml (kraft specification 0.5) says about one image: the
// Unikraft version and its CONFIG_ lines, the libraries in order with their versions and
// CONFIG_ lines, and the volumes and networks (which matter only at `kraft run`).
type Kraft struct {
	File     string // where it was read from, for messages
	Name     string // the image name, CONFIG_UK_NAME
	Unikraft Component
	Libs     []Lib
	Volumes  []Volume
	Networks []string
}

// Component is the core or a library at a version, with the CONFIG_ lines kraft.yaml gives it.
type Component struct {
	Version string
	KConfig []string
	Line    int // of the entry in kraft.yaml
}

// Lib is a library entry of kraft.yaml, in file order (kraft passes L= in that order).
type Lib struct {
	Name string
	Component
}

// Volume is a kraft.yaml volume, e.g. fs0 (9pfs, ./fs0) of nginx_default.
type Volume struct {
	Name, Driver, Source string
}

// kconfigLine is a CONFIG_ assignment as kraft writes it into the defconfig.
var kconfigLine = regexp.MustCompile(`^CONFIG_[A-Za-z0-9_]+=(y|n|m|-?[0-9]+|0x[0-9a-fA-F]+|"[^"\\]*")$`)

// ParseKraft reads a kraft.yaml of the fig_08 configurations. Anything this translation does
// not know (another specification, target or field) is an error naming file:line, rather
// than something silently dropped from the build.
func ParseKraft(file string, raw []byte) (*Kraft, error) {
	var doc struct {
		Specification string    `yaml:"specification"`
		Name          string    `yaml:"name"`
		Unikraft      yaml.Node `yaml:"unikraft"`
		Targets       []struct {
			Architecture string `yaml:"architecture"`
			Platform     string `yaml:"platform"`
		} `yaml:"targets"`
		Libraries yaml.Node `yaml:"libraries"`
		Volumes   yaml.Node `yaml:"volumes"`
		Networks  yaml.Node `yaml:"networks"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %v (expected a kraft.yaml of specification 0.5)", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	k := &Kraft{File: file, Name: doc.Name}
	if doc.Specification != "0.5" {
		return nil, fmt.Errorf("%s:1: specification %q; expected '0.5' (kraft of the paper's era)", file, doc.Specification)
	}
	if !regexp.MustCompile(`^[a-z0-9_-]+$`).MatchString(doc.Name) {
		return nil, fmt.Errorf("%s:1: name %q; expected the image name, e.g. app", file, doc.Name)
	}
	if len(doc.Targets) != 1 || doc.Targets[0].Architecture != "x86_64" || doc.Targets[0].Platform != "kvm" {
		return nil, fmt.Errorf("%s: targets %+v; expected exactly one, x86_64 on kvm (Figure 8 measures KVM images)", file, doc.Targets)
	}
	var err error
	if k.Unikraft, err = component(file, &doc.Unikraft, "unikraft"); err != nil {
		return nil, err
	}
	libs, err := mapping(file, &doc.Libraries, "libraries")
	if err != nil {
		return nil, err
	}
	for _, kv := range libs {
		c, err := component(file, kv[1], "library "+kv[0].Value)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(k.Libs, func(l Lib) bool { return l.Name == kv[0].Value }) {
			return nil, fmt.Errorf("%s:%d: library %s listed twice", file, kv[0].Line, kv[0].Value)
		}
		k.Libs = append(k.Libs, Lib{Name: kv[0].Value, Component: c})
	}
	vols, err := mapping(file, &doc.Volumes, "volumes")
	if err != nil {
		return nil, err
	}
	for _, kv := range vols {
		var v struct {
			Driver string `yaml:"driver"`
			Source string `yaml:"source"`
		}
		if err := kv[1].Decode(&v); err != nil || v.Driver == "" || v.Source == "" {
			return nil, fmt.Errorf("%s:%d: volume %s; expected driver and source", file, kv[0].Line, kv[0].Value)
		}
		k.Volumes = append(k.Volumes, Volume{Name: kv[0].Value, Driver: v.Driver, Source: v.Source})
	}
	nets, err := mapping(file, &doc.Networks, "networks")
	if err != nil {
		return nil, err
	}
	for _, kv := range nets {
		k.Networks = append(k.Networks, kv[0].Value)
	}
	return k, nil
}

// mapping returns the key/value pairs of a YAML mapping in file order (empty for an absent
// field or {}).
func mapping(file string, n *yaml.Node, what string) ([][2]*yaml.Node, error) {
	if n.Kind == 0 {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: %s; expected a mapping", file, n.Line, what)
	}
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return out, nil
}

func component(file string, n *yaml.Node, what string) (Component, error) {
	var c struct {
		Version string    `yaml:"version"`
		KConfig yaml.Node `yaml:"kconfig"`
	}
	if n.Kind != yaml.MappingNode {
		return Component{}, fmt.Errorf("%s:%d: %s; expected version and optional kconfig", file, n.Line, what)
	}
	if err := n.Decode(&c); err != nil {
		return Component{}, fmt.Errorf("%s:%d: %s: %v", file, n.Line, what, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if c.Version == "" {
		return Component{}, fmt.Errorf("%s:%d: %s has no version", file, n.Line, what)
	}
	out := Component{Version: c.Version, Line: n.Line}
	if c.KConfig.Kind != 0 && c.KConfig.Kind != yaml.SequenceNode {
		return Component{}, fmt.Errorf("%s:%d: %s: kconfig; expected a list of CONFIG_...=value lines", file, c.KConfig.Line, what)
	}
	for _, l := range c.KConfig.Content {
		if !kconfigLine.MatchString(l.Value) {
			return Component{}, fmt.Errorf("%s:%d: %s: %q; expected CONFIG_<NAME>=y|n|<number>|\"<string>\"", file, l.Line, what, l.Value)
		}
		out.KConfig = append(out.KConfig, l.Value)
	}
	return out, nil
}

// PaperKraft reads configs/<image>/kraft.yaml of the paper's data (embedded in fig08).
func PaperKraft(img fig08.Image) (*Kraft, error) {
	file := "configs/" + img.Key() + "/kraft.yaml"
	raw, err := fs.ReadFile(fig08.PaperFiles(), file)
	if err != nil {
		return nil, fmt.Errorf("fig_08: %s: %w", file, err)
	}
	return ParseKraft("experiments/fig_08/paper/"+file, raw)
}
