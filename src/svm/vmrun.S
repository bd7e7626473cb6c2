/*
 * void svm_vmrun(struct svm_vcpu *v)
 *
 * One guest entry and exit.  VMRUN saves and restores only RAX and RSP of
 * the guest (in the VMCB); every other GPR is loaded here from v->regs and
 * stored back after #VMEXIT.  VMLOAD/VMSAVE carry the guest's FS, GS, TR,
 * LDTR, KernelGsBase and the SYSCALL/SYSENTER MSRs, which VMRUN does not;
 * Umbra itself never uses those, so they are not saved for the host.
 * GIF is cleared around the sequence so no interrupt can slip in between.
 */
#include "asm-offsets.h"

    .text
    .globl svm_vmrun
svm_vmrun:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    push %rdi                          /* the vCPU, found again after the exit */

    mov VCPU_VMCB_PA(%rdi), %rax
    mov VCPU_RBX(%rdi), %rbx
    mov VCPU_RCX(%rdi), %rcx
    mov VCPU_RDX(%rdi), %rdx
    mov VCPU_RSI(%rdi), %rsi
    mov VCPU_RBP(%rdi), %rbp
    mov VCPU_R8(%rdi), %r8
    mov VCPU_R9(%rdi), %r9
    mov VCPU_R10(%rdi), %r10
    mov VCPU_R11(%rdi), %r11
    mov VCPU_R12(%rdi), %r12
    mov VCPU_R13(%rdi), %r13
    mov VCPU_R14(%rdi), %r14
    mov VCPU_R15(%rdi), %r15
    mov VCPU_RDI(%rdi), %rdi

    clgi
    vmload %rax
    vmrun %rax
    vmsave %rax
    stgi

    xchg %rdi, (%rsp)                  /* rdi = vCPU, stack slot = guest rdi */
    mov %rbx, VCPU_RBX(%rdi)
    mov %rcx, VCPU_RCX(%rdi)
    mov %rdx, VCPU_RDX(%rdi)
    mov %rsi, VCPU_RSI(%rdi)
    mov %rbp, VCPU_RBP(%rdi)
    mov %r8, VCPU_R8(%rdi)
    mov %r9, VCPU_R9(%rdi)
    mov %r10, VCPU_R10(%rdi)
    mov %r11, VCPU_R11(%rdi)
    mov %r12, VCPU_R12(%rdi)
    mov %r13, VCPU_R13(%rdi)
    mov %r14, VCPU_R14(%rdi)
    mov %r15, VCPU_R15(%rdi)
    popq VCPU_RDI(%rdi)

    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret
