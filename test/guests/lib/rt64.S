/*
 * x86_64 runtime of the long-mode guest kernel.  The image is linked as
 * ELF64 and converted to ELF32 (objcopy), so a multiboot v1 loader starts it
 * at _start in 32-bit protected mode; _start identity-maps the first GiB with
 * 2 MiB pages, enables PAE + EFER.LME + CR0.PG and jumps to 64-bit code.
 *
 * Selectors: 0x08 kernel code64, 0x10 kernel data, 0x1b user code64, 0x23
 * user data, 0x28 TSS (16 bytes), 0x38 code32 (boot only).
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003

    .section .note.GNU-stack, "", @progbits
    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

    .section .text
    .code32
    .globl _start
_start:
    cli
    cld
    mov $boot_stack_top, %esp
    mov %eax, mb_magic
    mov %ebx, mb_info
    lgdt gdt_desc32
    ljmp $0x38, $1f
1:  mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    /* boot_pml4[0] -> boot_pdpt[0] -> boot_pd: 512 x 2 MiB */
    mov $boot_pdpt, %eax
    or $3, %eax
    mov %eax, boot_pml4
    mov $boot_pd, %eax
    or $3, %eax
    mov %eax, boot_pdpt
    mov $boot_pd, %edi
    mov $0x83, %eax
    mov $512, %ecx
2:  mov %eax, (%edi)
    movl $0, 4(%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 2b
    mov %cr4, %eax
    or $0x20, %eax              /* PAE */
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx
    rdmsr
    or $0x100, %eax             /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80010000, %eax        /* PG | WP */
    mov %eax, %cr0
    ljmp $0x08, $long_entry

    .code64
long_entry:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    mov $boot_stack_top, %rsp
    call rt_init
    call guest_main
    mov %eax, %edi
    call guest_exit
3:  cli
    hlt
    jmp 3b

#define PTR .quad
#include "exc-stubs.inc"

exc_common:
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
    mov %rsp, %rbx
    and $-16, %rsp
    call exc_dispatch           /* returns only to resume the interrupted code */
    mov %rbx, %rsp
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

/* int gsetjmp(struct gjmp *): rbx rbp r12 r13 r14 r15 rsp rip rflags */
    .globl gsetjmp
gsetjmp:
    mov %rbx, 0(%rdi)
    mov %rbp, 8(%rdi)
    mov %r12, 16(%rdi)
    mov %r13, 24(%rdi)
    mov %r14, 32(%rdi)
    mov %r15, 40(%rdi)
    lea 8(%rsp), %rax
    mov %rax, 48(%rdi)
    mov (%rsp), %rax
    mov %rax, 56(%rdi)
    pushf
    pop %rax
    mov %rax, 64(%rdi)
    xor %eax, %eax
    ret

    .globl glongjmp
glongjmp:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    mov %esi, %eax
    mov 0(%rdi), %rbx
    mov 8(%rdi), %rbp
    mov 16(%rdi), %r12
    mov 24(%rdi), %r13
    mov 32(%rdi), %r14
    mov 40(%rdi), %r15
    mov 48(%rdi), %rsp
    pushq 64(%rdi)
    popf
    jmp *56(%rdi)

/* void enter_user(ip, sp, a0, a1): iretq to CPL 3, rax = a0, rcx = a1 */
    .globl enter_user
enter_user:
    mov %rdx, %rax
    pushq $0x23
    push %rsi
    pushf
    pushq $0x1b
    push %rdi
    mov $0x23, %dx
    mov %dx, %ds
    mov %dx, %es
    iretq

    .globl probe_r0_read, probe_r0_write, probe_r0_fetch
    .globl probe_r0_read_insn, probe_r0_write_insn
probe_r0_read:
probe_r0_read_insn:
    mov (%rdi), %eax
    ret
probe_r0_write:
probe_r0_write_insn:
    movl $0xC3C3C3C3, (%rdi)
    ret
probe_r0_fetch:
    call *%rdi
    ret

    .section .user, "ax"
    .globl user_probe, user_read_insn, user_write_insn, user_invlpg_insn, user_cr3_insn
user_probe:
    cmp $1, %rcx
    je 1f
    cmp $2, %rcx
    je 2f
    cmp $3, %rcx
    je 3f
    cmp $4, %rcx
    je 4f
user_read_insn:
    mov (%rax), %eax
    int $0x80
1:
user_write_insn:
    movl $0xC3C3C3C3, (%rax)
    int $0x80
2:  call *%rax
    int $0x80
3:
user_invlpg_insn:
    invlpg (%rax)
    int $0x80
4:
user_cr3_insn:
    mov %rax, %cr3
    int $0x80

    .section .user_stack, "aw", @nobits
    .align 4096
    .globl user_stack_top
    .skip 4096
user_stack_top:

    .section .bss
    .align 4096
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
boot_pd:   .skip 4096
    .skip 16384
boot_stack_top:
    .globl trap_stack_top
    .skip 8192
trap_stack_top:
    .globl mb_magic, mb_info
mb_magic: .long 0
mb_info:  .long 0

    .section .data
    .align 16
    .globl gdt
gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08 kernel code64 */
    .quad 0x00cf92000000ffff    /* 0x10 kernel data */
    .quad 0x00affa000000ffff    /* 0x18 user code64 (DPL 3) */
    .quad 0x00cff2000000ffff    /* 0x20 user data (DPL 3) */
    .quad 0, 0                  /* 0x28 TSS, filled by arch_init */
    .quad 0x00cf9a000000ffff    /* 0x38 code32, boot only */
gdt_end:
gdt_desc32:
    .word gdt_end - gdt - 1
    .long gdt
    .globl gdt_desc64
gdt_desc64:
    .word gdt_end - gdt - 1
    .quad gdt
