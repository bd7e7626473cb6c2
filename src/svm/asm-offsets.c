/*
 * Offsets for src/svm/vmrun.S.  Compiled to assembly only; the Makefile
 * turns each "->NAME VALUE" marker into "#define NAME VALUE" in
 * kobj/asm-offsets.h, so the VMRUN stub never hand-counts an offset.
 */
#include <umbra/svm.h>

#define DEFINE(sym, val) __asm__ volatile("\n.ascii \"->" #sym " %c0\"" :: "i"(val))
#define REG(r, R) DEFINE(VCPU_##R, offsetof(struct svm_vcpu, regs.r))

void asm_offsets(void);
void asm_offsets(void)
{
    REG(rbx, RBX); REG(rcx, RCX); REG(rdx, RDX); REG(rsi, RSI); REG(rdi, RDI); REG(rbp, RBP);
    REG(r8, R8); REG(r9, R9); REG(r10, R10); REG(r11, R11);
    REG(r12, R12); REG(r13, R13); REG(r14, R14); REG(r15, R15);
    DEFINE(VCPU_VMCB_PA, offsetof(struct svm_vcpu, vmcb_pa));
}
