/*
 * The hello-world application of Figure 10, written for this bundle (the paper used
 * unikraft/app-helloworld with its hello-ioport.patch).
 *
 * Its first statement marks main() for the boot-time measurement: one byte to I/O port 1500.
 * The host observes that write (ftrace's kvm_pio event, or QEMU's isa-debugcon device);
 * the guest's platform entry wrote port 1112 before it (inserted by the bundle's build step).
 * On Solo5 hvt the write to an unknown port ends the tender, which is why it comes first and
 * why nothing after it is measured.
 */
#include <stdio.h>

static inline void boottime_outb(unsigned short port, unsigned char value)
{
	__asm__ __volatile__("outb %b0, %w1" : : "a"(value), "Nd"(port));
}

int main(int argc __attribute__((unused)), char *argv[] __attribute__((unused)))
{
	boottime_outb(1500, 1); /* main() reached: the end of the guest's boot */
#ifdef BOOTTIME_FIRECRACKER
	/* Firecracker's boot-timer magic on the port the paper's Firecracker (<= 0.22) used
	 * (later releases have the timer on MMIO and ignore this write). */
	boottime_outb(0x3f0, 123);
	/* i8042 reset (0xfe to port 0x64): Firecracker ends the VM, which ends the run. */
	boottime_outb(0x64, 0xfe);
#endif
	printf("Hello world!\n");
	return 0;
}
