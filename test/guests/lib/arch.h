/*
 * Internal seam between the architecture-neutral library (exc.c) and the
 * per-architecture runtime (rt32.S + arch32.c, rt64.S + arch64.c).
 */
#ifndef GUEST_ARCH_H
#define GUEST_ARCH_H

#include "guest.h"

/* Registers gsetjmp saves; glongjmp restores them and the flat ring-0
 * segments, then returns from gsetjmp with `val`. */
struct gjmp { ureg_t regs[10]; };
int gsetjmp(struct gjmp *jb) __attribute__((returns_twice));
void glongjmp(struct gjmp *jb, int val) __attribute__((noreturn));

/* Exception frame built by exc_common. */
#ifdef __x86_64__
struct exc_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, err, ip, cs, flags, sp, ss;
};
#else
struct exc_frame {
    uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;
    uint32_t vector, err, ip, cs, flags;
};
#endif

void arch_init(void);
void enter_user(ureg_t ip, ureg_t sp, ureg_t a0, ureg_t a1) __attribute__((noreturn));

ureg_t probe_r0_read(ureg_t va);
void probe_r0_write(ureg_t va);
void probe_r0_fetch(ureg_t va);
extern char probe_r0_read_insn[], probe_r0_write_insn[];
extern char user_probe[], user_read_insn[], user_write_insn[], user_stack_top[];
extern char user_invlpg_insn[], user_cr3_insn[];

#endif
