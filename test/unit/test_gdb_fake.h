/*
 * A fake target for the GDB stub tests: simulated physical memory with real
 * PAE / long-mode page tables in it, a second set of "shadow" tables that
 * mirror them, two vCPUs and a toy interpreter for a handful of x86
 * instructions, so that breakpoints, single-step, watchpoints and the monitor
 * commands can be exercised end to end against the real stub.
 */
#ifndef TEST_GDB_FAKE_H
#define TEST_GDB_FAKE_H

#include <umbra/gdbstub.h>

#define FAKE_MEM_SIZE   (1u << 20)          /* 1 MiB of "physical" memory */
#define FAKE_NCPUS      2

/* Guest virtual layout (the fake's page tables map these). */
#define FAKE_CODE_VA    0x400000ULL         /* toy program, gpa 0x10000 */
#define FAKE_DATA_VA    0x401000ULL         /* data page, gpa 0x11000 */
#define FAKE_DATA2_VA   0x402000ULL         /* data page, gpa 0x12000 */
#define FAKE_HOLE_VA    0x403000ULL         /* not present */
#define FAKE_RO_VA      0x404000ULL         /* read-only data, gpa 0x14000 */
#define FAKE_LOOP_VA    0x400005ULL         /* first instruction of the loop */
#define FAKE_STORE_VA   0x400007ULL         /* mov [FAKE_DATA_VA], eax */
#define FAKE_IDLE_VA    0x400010ULL         /* vCPU 1 spins here (jmp $) */

struct fake_hw { bool used; enum gdb_bp_type type; uint64_t addr; unsigned len; };

struct fake {
    uint8_t mem[FAKE_MEM_SIZE];
    struct gdb_regs regs[FAKE_NCPUS];
    enum guest_paging mode;
    enum gdb_run run[FAKE_NCPUS];
    bool fresh[FAKE_NCPUS];         /* first instruction after resume: no hw-bp check */
    struct fake_hw hw[4];
    struct gdb_stub *stub;          /* for gdb_stub_swbp_at() */
    unsigned nshadows;              /* 0 after `monitor blow` until the next resume */
    bool detached, killed;
    uint64_t steps, insns, reads, writes, resumes, audit_breaks;
};

extern const struct gdb_target_ops fake_ops;

/* Build memory, tables, program and registers; mode PAE or LONG. */
void fake_init(struct fake *f, enum guest_paging mode);

/* Run the vCPUs as resume() said for at most budget instructions.  Returns
 * true and fills *why if a vCPU stopped (breakpoint, step, watchpoint, bad
 * opcode). */
bool fake_run(struct fake *f, unsigned budget, struct gdb_stop *why);

/* Translate va through the guest (shadow = false) or shadow tables. */
bool fake_translate(struct fake *f, uint64_t va, bool shadow, uint64_t *pa);

#endif
