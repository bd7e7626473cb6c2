/*
 * i386 runtime of the guest test kernels: multiboot v1 header, entry, flat
 * GDT with ring-3 segments and a TSS, exception stubs, the non-local jump the
 * fault handler uses to resume a probe, and the CPL 0 / CPL 3 probe stubs.
 *
 * Selectors: 0x08 kernel code, 0x10 kernel data, 0x1b user code, 0x23 user
 * data, 0x28 TSS.  Interrupts stay disabled for the whole run.
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
    lgdt gdt_desc
    ljmp $0x08, $1f
1:  mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    call rt_init
    call guest_main
    push %eax
    call guest_exit
2:  cli
    hlt
    jmp 2b

#define PTR .long
#include "exc-stubs.inc"

exc_common:
    pusha
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    push %esp
    call exc_dispatch       /* returns only to resume the interrupted code */
    add $4, %esp
    popa
    add $8, %esp
    iret

/* int gsetjmp(struct gjmp *) : ebx esi edi ebp esp eip eflags */
    .globl gsetjmp
gsetjmp:
    mov 4(%esp), %eax
    mov %ebx, 0(%eax)
    mov %esi, 4(%eax)
    mov %edi, 8(%eax)
    mov %ebp, 12(%eax)
    lea 4(%esp), %ecx
    mov %ecx, 16(%eax)
    mov (%esp), %ecx
    mov %ecx, 20(%eax)
    pushf
    pop %ecx
    mov %ecx, 24(%eax)
    xor %eax, %eax
    ret

/* void glongjmp(struct gjmp *, int) : back to ring 0 flat segments */
    .globl glongjmp
glongjmp:
    mov 4(%esp), %edx
    mov 8(%esp), %eax
    mov $0x10, %cx
    mov %cx, %ds
    mov %cx, %es
    mov %cx, %fs
    mov %cx, %gs
    mov %cx, %ss
    mov 0(%edx), %ebx
    mov 4(%edx), %esi
    mov 8(%edx), %edi
    mov 12(%edx), %ebp
    mov 16(%edx), %esp
    pushl 24(%edx)
    popf
    jmp *20(%edx)

/* void enter_user(ureg_t ip, ureg_t sp, ureg_t a0, ureg_t a1): iret to CPL 3
 * with eax = a0, ecx = a1.  Never returns: the user code ends with int $0x80
 * or a fault, and the handler jumps back through gsetjmp's buffer. */
    .globl enter_user
enter_user:
    mov 4(%esp), %esi
    mov 8(%esp), %edi
    mov 12(%esp), %eax
    mov 16(%esp), %ecx
    pushl $0x23
    push %edi
    pushf
    pushl $0x1b
    push %esi
    mov $0x23, %dx
    mov %dx, %ds
    mov %dx, %es
    mov %dx, %fs
    mov %dx, %gs
    iret

/* CPL 0 probes: one access each; the labelled instruction is the one that
 * may fault. */
    .globl probe_r0_read, probe_r0_write, probe_r0_fetch
    .globl probe_r0_read_insn, probe_r0_write_insn
probe_r0_read:
    mov 4(%esp), %eax
probe_r0_read_insn:
    mov (%eax), %eax
    ret
probe_r0_write:
    mov 4(%esp), %eax
probe_r0_write_insn:
    movl $0xC3C3C3C3, (%eax)
    ret
probe_r0_fetch:
    mov 4(%esp), %eax
    call *%eax
    ret

/* CPL 3 probe, in the user-accessible pages: eax = address, ecx = op. */
    .section .user, "ax"
    .globl user_probe, user_read_insn, user_write_insn, user_invlpg_insn, user_cr3_insn
user_probe:
    cmp $1, %ecx
    je 1f
    cmp $2, %ecx
    je 2f
    cmp $3, %ecx
    je 3f
    cmp $4, %ecx
    je 4f
user_read_insn:
    mov (%eax), %eax
    int $0x80
1:
user_write_insn:
    movl $0xC3C3C3C3, (%eax)
    int $0x80
2:  call *%eax
    int $0x80
3:
user_invlpg_insn:
    invlpg (%eax)
    int $0x80
4:
user_cr3_insn:
    mov %eax, %cr3
    int $0x80

    .section .user_stack, "aw", @nobits
    .align 4096
    .globl user_stack_top
    .skip 4096
user_stack_top:

    .section .bss
    .align 4096
    .skip 16384
boot_stack_top:
    .globl trap_stack_top
    .skip 8192
trap_stack_top:
    .globl mb_magic, mb_info
mb_magic: .long 0
mb_info:  .long 0

    .section .data
    .align 8
    .globl gdt, gdt_desc
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    /* 0x08 kernel code */
    .quad 0x00cf92000000ffff    /* 0x10 kernel data */
    .quad 0x00cffa000000ffff    /* 0x18 user code (DPL 3) */
    .quad 0x00cff2000000ffff    /* 0x20 user data (DPL 3) */
    .quad 0                     /* 0x28 TSS, filled by arch_init */
    .quad 0x00009a000000ffff    /* 0x30 code16, base 0, limit 64 KiB */
    .quad 0x000092000000ffff    /* 0x38 data16, base 0, limit 64 KiB */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt
