package docker

import (
	"context"
	"fmt"
)

// DefaultGCC is the compiler version the unikraft toolchain image uses unless told otherwise
// (see containers/unikraft/Dockerfile). The paper's gcc 8.3 (Debian 10) is archived; Debian
// 12 has gcc 11 and 12, and Unikraft 0.4 builds with either given two make variables (see
// experiments/fig_08/README.md).
const DefaultGCC = "11"

// GCCEnv returns the environment that selects gcc version v ("11" or "12"; DefaultGCC when
// empty) in the unikraft toolchain image: its /opt/gcc-<v>/bin first on PATH.
func GCCEnv(v string) ([]string, error) {
	if v == "" {
		v = DefaultGCC
	}
	if v != "11" && v != "12" {
		return nil, fmt.Errorf("GCC=%s: the unikraft toolchain has gcc 11 and 12; set GCC=11 or GCC=12", v)
	}
	return []string{"PATH=/opt/gcc-" + v + "/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, nil
}

// Toolchain is the build container a figure's images were made in, as its prepare step
// records it for the run's manifest: the image, the compiler selected in it and the versions
// of the packages that made the images.
type Toolchain struct {
	Ref      string            `json:"ref"`
	ID       string            `json:"id"`
	GCC      string            `json:"gcc"`
	Packages map[string]string `json:"packages"`
}

// UnikraftToolchain builds (or finds, by content) the image of recipe in the containers
// directory, under the machine-wide build lock like every image build of the bundle, and
// returns it with the environment that selects gcc (GCCEnv) and its record, holding the
// versions of pkgs as installed in it.
func (c *Client) UnikraftToolchain(ctx context.Context, containers, recipe, gcc string, pkgs ...string) (Image, []string, Toolchain, error) {
	env, err := GCCEnv(gcc)
	if err != nil {
		return Image{}, nil, Toolchain{}, err
	}
	img, err := c.BuildRecipe(ctx, containers, recipe)
	if err != nil {
		return Image{}, nil, Toolchain{}, err
	}
	if gcc == "" {
		gcc = DefaultGCC
	}
	versions, err := c.PackageVersions(ctx, img.Ref)
	if err != nil {
		return Image{}, nil, Toolchain{}, err
	}
	rec := Toolchain{Ref: img.Ref, ID: img.ID, GCC: gcc, Packages: map[string]string{}}
	for _, p := range pkgs {
		rec.Packages[p] = versions[p]
	}
	return img, env, rec, nil
}
