package docker

import "fmt"

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
