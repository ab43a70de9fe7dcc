// Package unikraft builds Unikraft images the way Unikraft itself builds them (plain make,
// no kraft tool) inside the bundle's toolchain container, from trees of the source cache:
// the tree is copied, edited (Edit: boot markers inserted into named functions; Step: patches
// from pinned sources applied with patch or git apply, text replacements), configured
// from CONFIG_ lines completed with `make olddefconfig`, and built with
// `make -C <unikraft> A=<app> L=<libs> O=<build>`. Images are cached by the content hash of
// everything that goes into them, so an unchanged guest is never rebuilt.
package unikraft
