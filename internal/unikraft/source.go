package unikraft

import (
	"fmt"

	"github.com/unikraft-eurosys21/artifact/internal/sources"
)

// TreeOf is the fetched git source name of set as a Tree (named name).
func TreeOf(set *sources.Set, name string) (Tree, error) {
	r, ok := set.Get(name)
	if !ok || r.Dir == "" {
		return Tree{}, fmt.Errorf("source %s is not a fetched git tree", name)
	}
	return Tree{Name: name, Dir: r.Dir, ID: r.Commit}, nil
}

// PlacedOf is the fetched source name of set as the archive a library's build would
// download, placed where it looks first.
func PlacedOf(set *sources.Set, name string) (Placed, error) {
	r, ok := set.Get(name)
	if !ok || r.Place == "" {
		return Placed{}, fmt.Errorf("source %s has no place in a build directory", name)
	}
	id := r.SHA256
	if id == "" {
		id = r.Commit
	}
	return Placed{Path: r.Place, File: r.File, ID: id}, nil
}
