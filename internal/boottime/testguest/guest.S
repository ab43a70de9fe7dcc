/*
 * The boot-time test guest: a complete kernel in a few instructions.
 *
 * QEMU enters it in 32-bit protected mode with paging off, through the PVH entry note
 * (microvm) or the multiboot v1 header (pc). It writes one byte to port 1112 (platform
 * entry, as Unikraft's _libkvmplat_entry did in the paper), then to port 1500 (main()),
 * then ends QEMU through isa-debug-exit (port 0x501) with value 41, exit code 83, which
 * is what a Unikraft 0.4/0.5 guest's clean halt gives.
 *
 * Variants for fault tests (assembled with --defsym):
 *   HANG=1        halt forever after port 1112 (never reaches main)
 *   EXIT_EARLY=1  leave through isa-debug-exit with value 1 (exit code 3) after 1112
 *   HALT_AFTER_MAIN=1  halt forever (cli; hlt) after port 1500, never ending the VM: the
 *                 ending of the paper's Firecracker guest, whose main() returns into a
 *                 halted vCPU
 */
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0x00010000	/* a.out kludge: load by the addresses below */

	.section .multiboot, "a"
	.align 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long mb_header			/* header_addr */
	.long _load_start		/* load_addr */
	.long _load_end			/* load_end_addr */
	.long _bss_end			/* bss_end_addr */
	.long _start32			/* entry_addr */

	.section .note.Xen, "a", @note
	.align 4
	.long 4				/* namesz */
	.long 4				/* descsz */
	.long 18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.align 4
	.long _start32

	.set PORT_ENTRY, 1112
	.set PORT_MAIN, 1500
	.set PORT_EXIT, 0x501

	.text
	.code32
	.globl _start32
_start32:
	cli
	movw $PORT_ENTRY, %dx
	movb $1, %al
	outb %al, %dx
.ifdef EXIT_EARLY
	movw $PORT_EXIT, %dx
	movb $1, %al
	outb %al, %dx
.endif
.ifdef HANG
	jmp halt
.endif
	movw $PORT_MAIN, %dx
	movb $1, %al
	outb %al, %dx
.ifdef HALT_AFTER_MAIN
	jmp halt
.endif
	movw $PORT_EXIT, %dx
	movb $41, %al
	outb %al, %dx
halt:					/* without isa-debug-exit, HANG or HALT_AFTER_MAIN: stay halted */
	hlt
	jmp halt
