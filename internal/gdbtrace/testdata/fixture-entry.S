/*
 * FIXTURE guest entry (not Unikraft). QEMU pc loads the ELF64 through the multiboot v1
 * header's a.out kludge (as it loads a Unikraft KVM image) and enters in 32-bit protected
 * mode; this maps the first GiB 1:1, switches to long mode and calls boot_main, so gdb sees
 * the x86-64 target its file describes.
 */
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0x00010000
	.section .multiboot, "a"
	.align 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long mb_header
	.long _load_start
	.long _load_end
	.long _bss_end
	.long _start32

	.text
	.code32
	.globl _start32
_start32:
	cli
	movl $pdpt + 3, pml4
	movl $pd + 3, pdpt
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax			/* present, writable, 2 MiB page */
	movl %eax, pd(,%ecx,8)
	incl %ecx
	cmpl $512, %ecx
	jb 1b
	movl $pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $0xC0000080, %ecx		/* EFER.LME */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax		/* PG, PE */
	movl %eax, %cr0
	lgdt gdt_ptr
	ljmp $8, $start64

	.code64
start64:
	xorl %eax, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movq $stack_top, %rsp
	call boot_main
2:	hlt
	jmp 2b

	.section .rodata
	.align 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 64-bit code */
gdt_ptr:
	.word gdt_ptr - gdt - 1
	.long gdt

	.bss
	.align 4096
pml4:	.space 4096
pdpt:	.space 4096
pd:	.space 4096
	.space 8192
stack_top:

	.section .note.GNU-stack, "", @progbits
