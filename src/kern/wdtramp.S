/*
 * The watchdog CPU's code that is not C (src/kern/wdcpu.c has the rest).
 *
 * wd_tramp_start .. wd_tramp_end: copied to a low page P (P < 1 MiB) and
 * entered by the STARTUP IPI in real mode at P:0 (CS = P >> 4, IP = 0).  It
 * goes straight to long mode on the boot CPU's own tables and leaves the
 * page for good: PAE, CR3 and EFER from the parameter block (wdcpu.c fills
 * it), PG|PE at once, a far jump into 64-bit code, then an absolute jump to
 * wd_ap_entry in Umbra's image.  Everything it still uses after that (GDT,
 * stack, IDT, code) is in the image, inside the reserve.  Position
 * independent: real-mode data by offset from the page start (DS = CS), the
 * 64-bit part RIP-relative.  The block's layout is struct wd_tramp_params.
 */
    .section .rodata
    .balign 16
    .globl wd_tramp_start, wd_tramp_end, wd_tramp_params, wd_tramp64
    .code16
wd_tramp_start:
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    lgdtl tp_gdtr - wd_tramp_start
    mov %cr4, %eax
    or $0x20, %eax                          /* PAE */
    mov %eax, %cr4
    mov tp_cr3 - wd_tramp_start, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx                   /* EFER: LME (and NXE as the boot CPU has it) */
    mov tp_efer - wd_tramp_start, %eax
    xor %edx, %edx
    wrmsr
    mov %cr0, %eax
    and $0x9fffffff, %eax                   /* CD, NW off: INIT leaves the caches disabled */
    or $0x80010001, %eax                    /* PG | WP | PE */
    mov %eax, %cr0
    ljmpl *(tp_jmp - wd_tramp_start)

    .code64
wd_tramp64:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    mov tp_stack(%rip), %rsp
    mov tp_entry(%rip), %rax
    jmp *%rax

    .balign 8
wd_tramp_params:
tp_jmp:   .long 0                           /* +0  P + (wd_tramp64 - wd_tramp_start) */
          .short 0x08                       /* +4  64-bit code selector */
          .short 0
tp_gdtr:  .short 0                          /* +8  the boot CPU's GDTR (limit, 32-bit base) */
          .long 0
          .short 0
tp_cr3:   .long 0                           /* +16 */
tp_efer:  .long 0                           /* +20 */
tp_stack: .quad 0                           /* +24 */
tp_entry: .quad 0                           /* +32 */
wd_tramp_end:

/*
 * The watchdog CPU's IDT entries: 256 stubs of 16 bytes, stub n pushes n and
 * calls wd_ap_irq(n) with the caller-saved registers kept, then IRETQ.  (A
 * fault with an error code leaves the frame one word off; wd_ap_irq never
 * returns from a fault.)
 */
    .text
    .balign 16
    .globl wd_ap_stubs
wd_ap_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    pushq $vec
    jmp wd_ap_common
    .set vec, vec + 1
    .endr

wd_ap_common:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    mov 72(%rsp), %rdi                      /* the vector */
    sub $8, %rsp                            /* 16-byte alignment at the call */
    cld
    call wd_ap_irq
    add $8, %rsp
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    add $8, %rsp
    iretq
