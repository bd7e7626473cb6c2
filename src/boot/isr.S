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

/*
 * NMI (vector 2; trap.c points the IDT there, not at isr2).  Umbra's NMIs
 * come from the watchdog CPU (src/kern/wdcpu.c) or are the guest's (a
 * platform NMI, taken while Umbra ran or drained by STGI after an NMI
 * #VMEXIT, src/svm/watchdog.c).  The rule, one NMI at a time (NMIs are
 * blocked until the IRETQ): it is the watchdog's if the AP's wd_sent moved
 * since the last NMI judged the watchdog's (wd_acked) -- the AP raises
 * wd_sent before it sends, and sends again only once wd_acked caught up, so
 * a watchdog NMI always finds it moved and no other finds it moved unless
 * it overtook the watchdog's (src/svm/watchdog.c: "Merged NMIs") -- else
 * the guest's, counted for nmi.c to deliver (nmi_host_for_guest).  Touches no register
 * but RAX (saved) and the flags (IRETQ restores them).
 */
    .globl isr_nmi
isr_nmi:
    push %rax
    mov wd_sent(%rip), %eax
    cmp wd_acked(%rip), %eax
    je 1f
    mov %eax, wd_acked(%rip)
    incq nmi_host_wd(%rip)
    pop %rax
    iretq
1:  incq nmi_host_guest(%rip)
    movb $1, nmi_host_for_guest(%rip)
    pop %rax
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
