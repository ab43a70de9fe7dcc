// Package unikraft builds every Unikraft image of the bundle (Figure 8's sixteen, Figure 10's
// guests) the way Unikraft itself builds them (plain make, no kraft tool) inside the bundle's
// toolchain container, from trees of the source cache. A Spec names the tree, the libraries,
// the CONFIG_ lines, the application and the archives to place; the trees are either copied
// and edited (Edit: boot markers inserted into named functions; Step: patches from pinned
// sources applied with patch or git apply, text replacements) or, unchanged, mounted
// read-only (InPlace). The .config is completed with `make olddefconfig`, `make fetch` and
// `make prepare` run serially, then `make -C <unikraft> A=<app> L=<libs> O=<build> -jN`.
// Images are cached by the content hash of everything that goes into them, so an unchanged
// image is never rebuilt; BuildAll builds many at once and stops them all when the Docker
// daemon goes away.
package unikraft
