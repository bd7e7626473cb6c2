/*
 * Umbra's kernel library (src/kern): console, logging, panic, the physical
 * frame allocator, the command-line options and the few machine helpers the
 * other rooms share.  The pure parts (options, allocator, multiboot parsing in
 * mb.h) compile hosted too; the rest is freestanding only.
 */
#ifndef UMBRA_KERN_H
#define UMBRA_KERN_H

#include <umbra/types.h>

/* ---- options (src/kern/cmdline.c, pure) ------------------------------- */

enum console_kind { CONSOLE_COM1, CONSOLE_E9, CONSOLE_NONE };
enum gdb_port { GDB_NONE, GDB_COM1, GDB_COM2 };
enum paging_kind { PAGING_NPT, PAGING_SHADOW };

struct umbra_opts {
    enum console_kind console;   /* console=com1|e9|none (default com1) */
    uint64_t shadow_pool;        /* shadow_pool=SIZE in bytes (default 8M) */
    enum gdb_port gdb;           /* gdb=com1|com2|none (default none) */
    bool gdb_wait;               /* gdb_wait */
    unsigned gdb_baud;           /* gdb_baud=N: the stub's UART rate, 115200/D (default 115200) */
    bool trace;                  /* trace: the shadow trace ring on from boot (monitor trace) */
    unsigned trace_ring;         /* trace_ring=N: the ring's size in events, OPTS_TRACE_RING_MIN..MAX (default 1024) */
    bool summary_full;           /* summary=full: every shadow counter at exit, one a line (default summary=short) */
    enum paging_kind paging;     /* paging=shadow|npt (default shadow) */
    bool iommu_require;          /* iommu=require: refuse to start without an IOMMU (default iommu=auto) */
    unsigned watchdog_secs;      /* watchdog=SECONDS: stop a guest that spins that long with IF=0 (0 = off) */
    bool oos;                    /* oos=on|off: out-of-sync L1 shadows (docs/shadow.md; default on) */
    unsigned prefetch;           /* prefetch=0|8|16|32|all: PTEs a shadow fault fills (OPTS_PREFETCH_ALL = all) */
};

#define OPTS_PREFETCH_ALL 0xffffffffu   /* = SHADOW_PREFETCH_ALL (include/umbra/shadow.h) */
#define OPTS_PREFETCH_DEFAULT OPTS_PREFETCH_ALL

/* watchdog=SECONDS takes 1 .. OPTS_WATCHDOG_MAX. */
#define OPTS_WATCHDOG_MAX 3600

#define OPTS_DEFAULT_SHADOW_POOL (8ULL << 20)
/* trace_ring=N bounds (events; src/shadow/trace.h's SH_TRACE_MIN/MAX/DEFAULT are these). */
#define OPTS_TRACE_RING_MIN 16u
#define OPTS_TRACE_RING_MAX 65536u
#define OPTS_TRACE_RING_DEFAULT 1024u
#define UMBRA_TRACE_EV_BYTES 64u   /* sizeof(struct sh_trace_ev), asserted in src/svm/shadow_paging.c */
/* The longest command line Umbra takes (bytes, without the NUL); a longer one is refused, never cut. */
#define OPTS_CMDLINE_MAX 4096

/* Set every option to its default. */
void opts_default(struct umbra_opts *o);

/*
 * Parse a space-separated command line into o (which holds the defaults).
 * Returns 0, or -1 with a message "unknown option 'NAME'" / "bad value for
 * NAME: 'VALUE'" / "... longer than Umbra's limit of OPTS_CMDLINE_MAX" in
 * err[errlen].  Stops at the first bad word; a line over the limit is
 * refused whole, before any word is taken.
 */
int opts_parse(struct umbra_opts *o, const char *cmdline, char *err, size_t errlen);

/* Parse "4M", "512K", "1G", "4096" into bytes; -1 on syntax error or overflow. */
int parse_size(const char *s, size_t len, uint64_t *out);

/* ---- physical frame allocator (src/kern/frame.c, pure) ----------------- */

/*
 * Carves frames downward from `top` (the start of Umbra's image) inside one
 * RAM region [floor, top).  Frames inside an avoid range (the multiboot info,
 * the modules not yet copied) are skipped.  The reserve is then
 * [lowest allocated, image end): everything in it is hidden from the guest.
 */
#define FRAME_MAX_AVOID 16
struct frame_alloc {
    paddr_t floor, top;        /* the RAM region carved, top = first byte NOT available */
    paddr_t cur;               /* lowest allocated address so far (== top when empty) */
    unsigned navoid;
    struct { paddr_t lo, hi; } avoid[FRAME_MAX_AVOID];
    unsigned long frames;      /* frames handed out (counted, for the log) */
    bool sealed;               /* after frame_seal() no more allocation */
};

void frame_init(struct frame_alloc *fa, paddr_t floor, paddr_t top);
/* Never hand out [lo, hi).  Returns -1 when the table is full. */
int frame_avoid(struct frame_alloc *fa, paddr_t lo, paddr_t hi);
/* n contiguous frames, returns the physical address of the lowest, 0 on failure. */
paddr_t frame_alloc_n(struct frame_alloc *fa, unsigned long n);
/* Close the reserve: returns its low bound; later allocations fail. */
paddr_t frame_seal(struct frame_alloc *fa);

/* ---- console and logging (src/kern/console.c) --------------------------- */

void console_init(enum console_kind k);
void console_write(const char *s, size_t n);
/* Wait until COM1 has sent every byte (LSR.TEMT), so nothing is lost at exit. */
void console_drain(void);

/* One line "umbra: <fmt>\n" on the console. */
void ulog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "umbra: panic: <fmt>" and stop the machine (never returns). */
void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * End the run: drain COM1, write `status` to port 0xF4 (QEMU isa-debug-exit
 * exits with (status << 1) | 1), write "Shutdown" to port 0x8900 (Bochs
 * exits), then halt forever.
 */
void machine_exit(unsigned status) __attribute__((noreturn));

/* ---- port I/O, MSRs, CPUID (freestanding only) ------------------------- */
#ifdef UMBRA_HYPERVISOR
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
/* RDMSR that survives a #GP (Bochs refuses unknown MSRs): 0 ok, -1 faulted. */
int rdmsr_safe(uint32_t msr, uint64_t *val);
/* WRMSR that survives a #GP (an invalid value or transition): 0 ok, -1 faulted. */
int wrmsr_safe(uint32_t msr, uint64_t val);
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
#endif

/* ---- the running kernel (src/kern/main.c, src/boot) -------------------- */

/* Kernel virtual base: the image is linked here and mapped onto wherever GRUB put it. */
#define KERNEL_VMA 0xffffffff80000000ULL

/* Physical placement of Umbra, filled in at boot. */
struct umbra_layout {
    paddr_t image_lo, image_hi;   /* where GRUB loaded umbra.elf (incl. bss) */
    paddr_t reserve_lo;           /* lowest frame Umbra took (after sealing) */
    paddr_t reserve_hi;           /* == image_hi */
    paddr_t shadow_pool;          /* paging=shadow: the pool's first frame (inside the reserve) */
    unsigned long shadow_pool_frames;
    paddr_t trace_ring;           /* paging=shadow: the trace ring's first frame (inside the reserve) */
    unsigned long trace_ring_frames;
};
extern struct umbra_layout umbra_layout;
extern struct umbra_opts umbra_opts;

/* Physical memory is direct-mapped 1:1 below 4 GiB: VA == PA. */
#define DIRECT_MAP_LIMIT (4ULL << 30)
static inline void *phys_to_virt(paddr_t pa) { return (void *)(uintptr_t)pa; }
/* Physical address of a kernel-image object (link address minus the image's virtual base). */
paddr_t kva_to_pa(const void *p);

/* Boot-time exception tables (src/boot/trap.c). */
void trap_init(void);

#endif
