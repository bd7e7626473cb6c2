/*
 * A multiboot v1 guest linked the way a quick kernel is: `ld -Ttext=0x100000`
 * with the default linker script, no script of its own.  ld then puts the
 * ELF and program headers in a LOAD segment of their own just below .text,
 * at 0xff000 (inside the PC's BIOS area), and the .bss in a segment with
 * filesz 0.  GRUB's `multiboot` boots it; so must Umbra (issue 12, item 6).
 * The header is the first thing in .text, inside the image's first 8 KiB.
 */
    .text
    .balign 4
mb_header:
    .long 0x1BADB002
    .long 0x00000003                  /* page-align modules, memory info */
    .long -(0x1BADB002 + 0x00000003)
    .globl _start
_start:
    cli
    mov $stack_top, %esp
    push %ebx                         /* multiboot info */
    push %eax                         /* loader magic */
    call lowhdr_main
1:  hlt
    jmp 1b

    .bss
    .balign 16
    .space 8192
stack_top:
    .section .note.GNU-stack, "", @progbits
