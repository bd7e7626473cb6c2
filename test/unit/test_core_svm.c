/*
 * The VMCB layout (include/umbra/svm_hw.h, whose _Static_asserts compile
 * here too) and the offsets generated for vmrun.S (kobj/asm-offsets.h)
 * against the C struct they were generated from.  Every check is a
 * _Static_assert: a wrong offset does not build, so this program fails in
 * make check by not existing; run, it only says how much it checked.
 */
#include <stdio.h>
#include <umbra/svm.h>
#include "asm-offsets.h"

_Static_assert(VCPU_RBX == offsetof(struct svm_vcpu, regs.rbx), "VCPU_RBX");
_Static_assert(VCPU_RCX == offsetof(struct svm_vcpu, regs.rcx), "VCPU_RCX");
_Static_assert(VCPU_RDX == offsetof(struct svm_vcpu, regs.rdx), "VCPU_RDX");
_Static_assert(VCPU_RSI == offsetof(struct svm_vcpu, regs.rsi), "VCPU_RSI");
_Static_assert(VCPU_RDI == offsetof(struct svm_vcpu, regs.rdi), "VCPU_RDI");
_Static_assert(VCPU_RBP == offsetof(struct svm_vcpu, regs.rbp), "VCPU_RBP");
_Static_assert(VCPU_R8 == offsetof(struct svm_vcpu, regs.r8), "VCPU_R8");
_Static_assert(VCPU_R9 == offsetof(struct svm_vcpu, regs.r9), "VCPU_R9");
_Static_assert(VCPU_R10 == offsetof(struct svm_vcpu, regs.r10), "VCPU_R10");
_Static_assert(VCPU_R11 == offsetof(struct svm_vcpu, regs.r11), "VCPU_R11");
_Static_assert(VCPU_R12 == offsetof(struct svm_vcpu, regs.r12), "VCPU_R12");
_Static_assert(VCPU_R13 == offsetof(struct svm_vcpu, regs.r13), "VCPU_R13");
_Static_assert(VCPU_R14 == offsetof(struct svm_vcpu, regs.r14), "VCPU_R14");
_Static_assert(VCPU_R15 == offsetof(struct svm_vcpu, regs.r15), "VCPU_R15");
_Static_assert(VCPU_VMCB_PA == offsetof(struct svm_vcpu, vmcb_pa), "VCPU_VMCB_PA");

int main(void)
{
    printf("ok: VMCB layout (svm_hw.h) and vmrun.S offsets (asm-offsets.h) checked at compile time\n");
    return 0;
}
