package sources

import (
	"context"
	"fmt"
	"strings"
)

// Diff returns the diff between commits from and to of the git source name's repository,
// limited to paths when any are given: patch text for `git apply`, made from pinned history
// (commit ids are content hashes), so nothing of it needs to be stored anywhere else.
func (s *Set) Diff(ctx context.Context, name, from, to string, paths ...string) ([]byte, error) {
	r, ok := s.Get(name)
	if !ok || r.Repo == "" {
		return nil, fmt.Errorf("sources: %s is not a fetched git source", name)
	}
	args := []string{"-c", "core.quotePath=false", "diff", "--no-color", "--no-ext-diff", "--no-renames", "--full-index", from, to}
	if len(paths) > 0 {
		args = append(append(args, "--"), paths...)
	}
	out, err := git(ctx, r.Repo, args...)
	if err != nil {
		return nil, fmt.Errorf("sources: %s: diff %s..%s: %w (the pinned history must hold both commits)", name, from, to, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("sources: %s: the diff %s..%s of %s is empty", name, short(from), short(to), strings.Join(paths, ", "))
	}
	return out, nil
}

// Parent returns the first parent of commit in the git source name's repository.
func (s *Set) Parent(ctx context.Context, name, commit string) (string, error) {
	r, ok := s.Get(name)
	if !ok || r.Repo == "" {
		return "", fmt.Errorf("sources: %s is not a fetched git source", name)
	}
	out, err := git(ctx, r.Repo, "rev-parse", "--verify", commit+"^1^{commit}")
	if err != nil {
		return "", fmt.Errorf("sources: %s: the parent of %s: %w", name, commit, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func short(c string) string { return c[:min(len(c), 12)] }
