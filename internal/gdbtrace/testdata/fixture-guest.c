/*
 * FIXTURE guest for the gdbtrace tests: NOT Unikraft. A few functions of C that record boot
 * tracepoints into a trace buffer, then call main() and idle forever after it, as a Unikraft
 * NGINX does (it never reaches ukplat_terminate), so that the capture (QEMU paused with its
 * gdb stub, gdb's hbreak main, continue, the stand-in uk-gdb.py's `uk trace`) runs for real.
 * As in Unikraft, main has two locations: a weak one here (ukboot's) and the application's
 * in fixture-main.c, so gdb stops with "Breakpoint 1.N, main (…)". Some function names are Unikraft's so that
 * fig14's parser puts their time into its buckets; the times are TSC ticks of an emulated
 * CPU, not a measurement of anything.
 *
 * Layout (ours, read by the stand-in Unikraft tree's support/scripts/uk-gdb.py,
 *   experiments/fig_10/fixture; the stand-in tree's lib/ukdebug/trace.c writes the same):
 *   .uk_tracepoints_list: struct tp_def per tracepoint, the cookie being its own address;
 *   uk_trace_buffer: records "TRhd", u32 size, u64 time, u64 cookie, then u64 arguments;
 *   uk_trace_buffer_writep: where the next record goes.
 *
 * Variants (-D): HANG halts before main() (it is never reached);
 * NO_BOOT_END leaves out trace_boot_end.
 */
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

struct tp_def {
	char magic[4];
	u32 args_nr;
	u64 cookie;
	char name[48];
	char fmt[16];
} __attribute__((aligned(32)));

#define TP(var, nm, nargs, f)                                                   \
	static struct tp_def var                                                \
	__attribute__((used, section(".uk_tracepoints_list"))) = {              \
		{'T', 'P', 'd', 'e'}, nargs, (u64)&var, nm, f}

TP(tp_time_init, "trace_boot_time_init", 0, "");
TP(tp_plat_init, "trace_boot_plat_init", 0, "");
TP(tp_ctor_beg, "trace_boot_ctor_beg", 1, "%p()");
TP(tp_ctor_end, "trace_boot_ctor_end", 1, "%p()");
TP(tp_alloc_beg, "trace_boot_alloc_beg", 0, "");
TP(tp_alloc_end, "trace_boot_alloc_end", 0, "");
TP(tp_inittab_beg, "trace_boot_inittab_beg", 1, "%p()");
TP(tp_inittab_end, "trace_boot_inittab_end", 1, "%p()");
TP(tp_end, "trace_boot_end", 0, "");

__asm__(".pushsection .uk_trace_keyvals, \"\"\n"
	".asciz \"format_version = 1\"\n"
	".popsection\n");

u8 uk_trace_buffer[4096] __attribute__((aligned(8)));
u8 *uk_trace_buffer_writep;

static u64 tsc0;

static u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static void put(const void *p, u32 n)
{
	const u8 *s = p;
	while (n--)
		*uk_trace_buffer_writep++ = *s++;
}

static void trace(struct tp_def *tp, void (*fn)(void))
{
	u32 size = tp->args_nr * 8;
	u64 t = rdtsc() - tsc0, cookie = tp->cookie, arg = (u64)fn;
	if (!uk_trace_buffer_writep)
		uk_trace_buffer_writep = uk_trace_buffer;
	put("TRhd", 4);
	put(&size, 4);
	put(&t, 8);
	put(&cookie, 8);
	if (tp->args_nr)
		put(&arg, 8);
}

static volatile u32 sink;
static void work(u32 n)
{
	while (n--)
		sink += n;
}

void libkvmpci_uk_bus_register(void) { work(100); }
void fdtable_init(void) { work(300); }
static void fixture_local_ctor(void) { work(50); }
void vfscore_init(void) { work(200); }
/* Unikraft 7fd6797's ukbus inittab entry is the static uk_bus_lib_init (lib/ukbus/bus.c). */
static void uk_bus_lib_init(void) { work(400); }
void liblwip_init(void) { work(500); }

static void (*const ctors[])(void) = {libkvmpci_uk_bus_register, fdtable_init, fixture_local_ctor, vfscore_init};
static void (*const inittab[])(void) = {uk_bus_lib_init, liblwip_init};

/* As Unikraft's lib/ukboot: a weak main the application's replaces (its code and debug
 * information stay in the image: gdb's second location of main). */
__attribute__((weak, noinline)) int main(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	sink = 0;
	return -1;
}

void boot_main(void)
{
	unsigned i;
	tsc0 = rdtsc();
	trace(&tp_time_init, 0);
	work(100);
	trace(&tp_plat_init, 0);
	for (i = 0; i < sizeof(ctors) / sizeof(ctors[0]); i++) {
		trace(&tp_ctor_beg, ctors[i]);
		ctors[i]();
		trace(&tp_ctor_end, ctors[i]);
	}
	trace(&tp_alloc_beg, 0);
	work(1000);
	trace(&tp_alloc_end, 0);
	for (i = 0; i < sizeof(inittab) / sizeof(inittab[0]); i++) {
		trace(&tp_inittab_beg, inittab[i]);
		inittab[i]();
		trace(&tp_inittab_end, inittab[i]);
	}
#ifndef NO_BOOT_END
	trace(&tp_end, 0);
#endif
#ifdef HANG
	for (;;)
		__asm__ volatile("cli; hlt");
#endif
	static char name[] = "fixture";
	char *argv[] = {name, 0};
	sink = main(1, argv);
	/* As a serving NGINX: idle forever, never reaching ukplat_terminate. */
	for (;;)
		__asm__ volatile("hlt");
}
