/*
 * The guest test library: what every guest suite kernel links against.
 *
 * A suite is a freestanding multiboot v1 kernel.  The runtime (rt32.S or
 * rt64.S) sets up flat segments, a TSS, ring-3 segments and an IDT, then
 * calls guest_main(); its return value is the exit status (0 = all passed).
 * The same C library compiles for i386 (2-level, PAE, paging-off suites) and
 * for x86_64 (the long-mode suite); `ureg_t` is the native register width.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>
#include <umbra/x86.h>

typedef unsigned long ureg_t;

/* ---- provided by the suite ---------------------------------------------- */
int guest_main(void);

/* ---- serial, printf, TAP (serial.c, printf.c, tap.c) -------------------- */
void serial_init(void);                         /* COM1 115200 8N1, polled */
void serial_putc(char c);
void serial_drain(void);                        /* wait for LSR.TEMT */
int gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int gvsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int gsnprintf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void *gmemset(void *p, int c, size_t n);

/* TAP: the plan is printed first (tap_plan), or at the end (tap_done) when
 * the count is not known up front.  Each tap_* call prints one result line. */
void tap_plan(unsigned n);
void tap_ok(bool pass, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "not ok N - name # detail" on failure, "ok N - name" on success. */
void tap_check(bool pass, const char *name, const char *detail);
void tap_skip(const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the trailing plan if none was printed; return the exit status:
 * 0 when every test passed, 1 otherwise. */
int tap_done(void);
unsigned tap_failed(void);
void tap_bail(const char *why) __attribute__((noreturn));

/* ---- machine (cpu.c) ----------------------------------------------------- */
static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0,%1" :: "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0,%1" :: "a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1,%0" : "=a"(v) : "Nd"(p)); return v; }
static inline ureg_t read_cr0(void) { ureg_t v; __asm__ volatile("mov %%cr0,%0" : "=r"(v)); return v; }
static inline ureg_t read_cr2(void) { ureg_t v; __asm__ volatile("mov %%cr2,%0" : "=r"(v)); return v; }
static inline ureg_t read_cr3(void) { ureg_t v; __asm__ volatile("mov %%cr3,%0" : "=r"(v)); return v; }
static inline ureg_t read_cr4(void) { ureg_t v; __asm__ volatile("mov %%cr4,%0" : "=r"(v)); return v; }
static inline void write_cr0(ureg_t v) { __asm__ volatile("mov %0,%%cr0" :: "r"(v) : "memory"); }
static inline void write_cr3(ureg_t v) { __asm__ volatile("mov %0,%%cr3" :: "r"(v) : "memory"); }
static inline void write_cr4(ureg_t v) { __asm__ volatile("mov %0,%%cr4" :: "r"(v) : "memory"); }
static inline void invlpg(ureg_t va) { __asm__ volatile("invlpg (%0)" :: "r"(va) : "memory"); }
static inline uint64_t rdmsr(uint32_t m)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(m));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t m, uint64_t v)
{
    __asm__ volatile("wrmsr" :: "c"(m), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline void stac(void) { __asm__ volatile(".byte 0x0f,0x01,0xcb" ::: "memory", "cc"); }
static inline void clac(void) { __asm__ volatile(".byte 0x0f,0x01,0xca" ::: "memory", "cc"); }

struct cpu_features {
    bool nx, smep, smap, pge, pse, pdpe1gb;
};
extern struct cpu_features cpu_has;
void cpu_detect(void);

/* Which machine runs the guest.  Bare QEMU TCG reports the hypervisor leaf
 * "TCGTCGTCGTCG"; Bochs answers 0xE9 when port 0xE9 is read (port_e9_hack);
 * anything else with the hypervisor bit is a hypervisor (Umbra). */
enum emu { EMU_UNKNOWN, EMU_QEMU, EMU_BOCHS };
enum emu emu_detect(void);
bool emu_under_hypervisor(void);     /* hypervisor leaf that is not TCG's */
const char *emu_name(void);
/* True only on the named emulator run bare: the cases where that emulator is
 * known to differ from the AMD manual are skipped there, with a reason. */
bool emu_bare_qemu(void);
/* QEMU 7.2 TCG leaves P out of the error code of a reserved-bit #PF; the APM
 * (8.4.2) wants P=1: a reserved bit is only checked in a present entry. */
#define SKIP_QEMU_RSVD_P "emulator bug: QEMU TCG reports a reserved-bit #PF without the P bit"

bool emu_bare_bochs(void);

/* Status to port 0xF4 (QEMU isa-debug-exit), "Shutdown" to port 0x8900
 * (Bochs), then cli;hlt forever.  Prints "exit status N" first. */
/* Memory above 1 MiB (multiboot mem_upper, KiB), 0 when not given. */
uint32_t mb_mem_upper_kb(void);

void guest_exit(int status) __attribute__((noreturn));

/* ---- exceptions and probes (exc.c, rt32.S/rt64.S) ------------------------ */
struct exc_info {
    unsigned vector;        /* EXC_NONE when nothing was caught */
    ureg_t err, cr2, ip, cs;
};
#define EXC_NONE 0xffu
extern volatile struct exc_info exc_last;

/* OP_INVLPG and OP_CR3 (MOV to CR3 of `va`) are privileged: CPL 3 only. */
enum probe_op { OP_READ, OP_WRITE, OP_FETCH, OP_INVLPG, OP_CR3 };
/* Perform one access to `va` at CPL 0 or 3 and catch any exception.  A write
 * stores PROBE_FILL; a fetch calls `va`, which must hold 0xC3 (RET).
 * Returns the exception vector, or EXC_NONE; details land in exc_last. */
#define PROBE_FILL 0xC3C3C3C3u
unsigned probe(int cpl, enum probe_op op, ureg_t va);
extern volatile ureg_t probe_value;     /* what the last CPL 0 read returned */
/* Address of the instruction that does the access (for the EIP check). */
ureg_t probe_insn(int cpl, enum probe_op op, ureg_t va);
/* Run fn(arg) with faults caught: returns the vector or EXC_NONE. */
unsigned catch_call(void (*fn)(void *), void *arg);


/* Runtime layout symbols (linker script). */
extern char __user_start[], __user_end[];   /* pages mapped user-accessible */
extern char __kernel_end[];

#endif
