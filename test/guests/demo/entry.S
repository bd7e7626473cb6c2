/* Multiboot v1 header and entry of the PAE demo guest (ELF32, loaded at 1 MiB). */
    .section .multiboot, "a"
    .balign 4
    .long 0x1BADB002
    .long 0x00000003                  /* page-align modules, memory info */
    .long -(0x1BADB002 + 0x00000003)

    .text
    .globl _start
_start:
    cli
    mov $stack_top, %esp
    push %ebx                         /* multiboot info */
    push %eax                         /* magic */
    call demo_main
1:  cli
    hlt
    jmp 1b

    .bss
    .balign 16
    .skip 16384
stack_top:
