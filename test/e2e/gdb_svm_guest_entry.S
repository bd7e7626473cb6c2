/*
 * Multiboot v1 header and entry of the GDB test guest (gdb_svm_guest.c),
 * loaded at 1 MiB: own GDT, a stack, then guest_main(magic, info).
 */
    .section .multiboot, "a"
    .balign 4
    .long 0x1BADB002
    .long 0x00000003
    .long -(0x1BADB002 + 0x00000003)

    .text
    .globl _start
_start:
    cli
    mov $stack_top, %esp
    lgdt gdtr
    ljmp $0x08, $1f
1:  mov $0x10, %ecx
    mov %ecx, %ds
    mov %ecx, %es
    mov %ecx, %ss
    mov %ecx, %fs
    mov %ecx, %gs
    push %ebx
    push %eax
    call guest_main
1:  cli
    hlt
    jmp 1b

/* PIT interrupt (PIC IRQ0 remapped to vector 0x20): count and EOI. */
    .globl timer_stub
timer_stub:
    push %eax
    incl timer_ticks
    mov $0x20, %al
    outb %al, $0x20
    pop %eax
    iret

    .data
    .balign 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff
    .quad 0x00cf92000000ffff
gdtr:
    .short gdtr - gdt - 1
    .long gdt

    .bss
    .balign 16
    .skip 8192
stack_top:
