/*
 * Multiboot v1 entry for the GDB-over-16550 test kernel (QEMU -kernel).
 * 32-bit protected mode, flat segments from the loader: set a stack, call C.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .text
    .globl _start
_start:
    mov $stack_top, %esp
    call kmain
1:  hlt
    jmp 1b

    .bss
    .align 16
    .skip 65536
stack_top:

    .section .note.GNU-stack, "", @progbits
