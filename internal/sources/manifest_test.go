package sources

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The repository's manifest is what users fetch: it must load, and its pins must be the
// original artifact's (spot checks of strong and weaker pins).
func TestRepositoryManifest(t *testing.T) {
	m, err := Load("../../containers/sources.json")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"unikraft-7fd6797":     "7fd6797bd5917acc515ef6ddbfa85621f4aacf5f",
		"unikraft-firecracker": "a4cf6565b4cc9bacddc8628195142d5fcfc4ffeb",
		"unikraft-skuenzer":    "1ed1dc1d1172865dc9316ed0d4455fb991b3ab19",
		"lib-tlsf":             "851522e788424914a1a7763449eb7225d7a12832",
		"eurosys21-artifacts":  "d88853d509c43f4bcd1633e9fec49e4d02241985",
	}
	for name, commit := range want {
		s, ok := m.Source(name)
		if !ok || s.Git == nil || s.Git.Commit != commit {
			t.Errorf("%s: %+v, want commit %s", name, s.Git, commit)
		}
	}
	figs := map[string]int{}
	for _, s := range m.Sources {
		for _, f := range s.Figures {
			figs[f]++
		}
		if s.Archive != nil && s.Archive.SHA256 == "" && !s.Archive.TrustOnFirstUse {
			t.Errorf("%s: no hash and no trust_on_first_use", s.Name)
		}
	}
	for _, f := range knownFigures {
		if figs[f] == 0 {
			t.Errorf("no source for %s", f)
		}
	}
	nl, _ := m.Source("newlib")
	if nl.Archive.Path != "build/libnewlibc/newlib-2.5.0.20170922.tar.gz" || nl.Archive.File != "newlib-2.5.0.20170922.tar.gz" {
		t.Errorf("newlib archive %+v", nl.Archive)
	}
	var fig22 []string
	for _, s := range m.ForFigures("fig_22").Sources {
		fig22 = append(fig22, s.Name)
	}
	if strings.Join(fig22, " ") != "eurosys21-artifacts unikraft-skuenzer lib-shfs lib-tlsf tlsf" {
		t.Errorf("fig_22 sources %v", fig22)
	}
}

func writeManifest(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sources.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadNamesFileLineAndExpectation(t *testing.T) {
	cases := []struct{ body, want string }{
		{"{\n \"sources\": [\n  {\"name\": \"x\",\n   \"figures\": [\"fig_10\"],\n   \"git\": {\"url\": \"https://h/r.git\", \"commit\": \"7fd6797\", \"pin_source\": \"s\"}}]}",
			":3: source \"x\": commit \"7fd6797\": expected a full 40-digit"},
		{"{\n \"sources\": [\n  {\"name\": \"x\", \"figures\": [\"fig_10\"],\n \"archive\": {\"url\": \"https://h/a.tgz\", \"sha256\": \"\", \"sha256_source\": \"s\"}}]}",
			":3: source \"x\": empty sha256: give the hash, or set \"trust_on_first_use\""},
		{"{\n \"sources\": [\n  {\"name\": \"x\", \"figures\": [\"fig_99\"], \"git\": {\"url\": \"https://h/r\", \"ref\": \"main\", \"pin_source\": \"s\"}}]}",
			":3: source \"x\": unknown figure \"fig_99\""},
		{"{\n \"sources\": [\n  {\"name\": \"x\", \"figures\": [\"fig_10\"], \"git\": {\"url\": \"https://h/r\", \"ref\": \"main\", \"pin_source\": \"s\"}}]}",
			"ref \"main\" without a commit is a weaker pin"},
		{"{\n \"sources\": [\n  {\"name\": \"x\",\n \"figurs\": []}]}", ":4: unknown field \"figurs\""},
		{"{\n \"sources\": [\n  {\"name\": \"x\",,}]}", ":3: invalid JSON"},
		{"{\n \"sources\": [\n  {\"name\": \"x\", \"figures\": [\"fig_10\"],\n \"archive\": {\"url\": \"https://h/a.tgz\", \"sha256\": \"" + strings.Repeat("a", 64) + "\", \"sha256_source\": \"s\", \"path\": \"lib/a.tgz\"}}]}",
			"path \"lib/a.tgz\": expected build/<library>/<file>"},
	}
	for _, c := range cases {
		p := writeManifest(t, c.body)
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Load(%s)\n  err  = %v\n  want %q", c.body, err, c.want)
		}
	}
}
