/*
 * Exception entry stubs: each pushes a dummy error code when the CPU does not
 * push one, then the vector, then every GPR, and calls trap_handler(frame).
 * trap_handler returns only for a fixed-up fault (rdmsr_safe); then the
 * frame is restored and IRETQ resumes at the (possibly changed) RIP.
 */
    .text
.macro ISR_NOERR n
isr\n:
    push $0
    push $\n
    jmp isr_common
.endm
.macro ISR_ERR n
isr\n:
    push $\n
    jmp isr_common
.endm

ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR   8
ISR_NOERR 9
ISR_ERR   10
ISR_ERR   11
ISR_ERR   12
ISR_ERR   13
ISR_ERR   14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR   17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR   21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR   29
ISR_ERR   30
ISR_NOERR 31

isr_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    cld
    call trap_handler
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp
    iretq

    .section .rodata
    .balign 8
    .globl isr_table
isr_table:
.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad isr\n
.endr

/* int rdmsr_safe(uint32_t msr, uint64_t *val): 0, or -1 if RDMSR raised #GP. */
    .text
    .globl rdmsr_safe, rdmsr_safe_insn, rdmsr_safe_fixup
rdmsr_safe:
    mov %edi, %ecx
rdmsr_safe_insn:
    rdmsr
    shl $32, %rdx
    mov %eax, %eax
    or %rdx, %rax
    mov %rax, (%rsi)
    xor %eax, %eax
    ret
rdmsr_safe_fixup:
    mov $-1, %eax
    ret

/* int wrmsr_safe(uint32_t msr, uint64_t val): 0, or -1 if WRMSR raised #GP. */
    .text
    .globl wrmsr_safe, wrmsr_safe_insn, wrmsr_safe_fixup
wrmsr_safe:
    mov %edi, %ecx
    mov %esi, %eax
    mov %rsi, %rdx
    shr $32, %rdx
wrmsr_safe_insn:
    wrmsr
    xor %eax, %eax
    ret
wrmsr_safe_fixup:
    mov $-1, %eax
    ret
