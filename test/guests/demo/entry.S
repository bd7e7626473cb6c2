/*
 * Multiboot v1 header and entry of the PAE demo guest (loaded at 1 MiB).
 * Built twice: as an ELF32 (demo.elf), and with -DAOUT_KLUDGE as a flat
 * binary (demo.bin) that a loader can only place by the header's address
 * fields (flag 16, the "a.out kludge").
 */
#ifdef AOUT_KLUDGE
#define MB_FLAGS 0x00010003           /* + addresses in the header */
#else
#define MB_FLAGS 0x00000003           /* page-align modules, memory info */
#endif
    .section .multiboot, "a"
    .balign 4
mb_header:
    .long 0x1BADB002
    .long MB_FLAGS
    .long -(0x1BADB002 + MB_FLAGS)
#ifdef AOUT_KLUDGE
    .long mb_header                   /* header_addr */
    .long __load_start                /* load_addr */
    .long __load_end                  /* load_end_addr */
    .long __bss_end                   /* bss_end_addr */
    .long _start                      /* entry_addr */
#endif

    .text
    .globl _start
_start:
    cli
    mov $stack_top, %esp
    /* Our own GDT: the multiboot spec leaves GDTR undefined. */
    lgdt gdtr
    ljmp $0x08, $1f
1:  mov $0x10, %ecx
    mov %ecx, %ds
    mov %ecx, %es
    mov %ecx, %ss
    mov %ecx, %fs
    mov %ecx, %gs
    push %ebx                         /* multiboot info */
    push %eax                         /* magic */
    call demo_main
1:  cli
    hlt
    jmp 1b

/* Timer interrupt (PIC IRQ0 remapped to vector 0x20): count and EOI. */
    .globl timer_stub
timer_stub:
    push %eax
    incl timer_ticks
    mov $0x20, %al
    outb %al, $0x20
    pop %eax
    iret

/* Exception stubs for #UD (no error code) and #GP (error code): demo_trap(frame). */
    .globl ud_stub, gp_stub
ud_stub:
    push $0
    push $6
    jmp trap_common
gp_stub:
    push $13
trap_common:
    pusha
    push %esp
    call demo_trap
    add $4, %esp
    popa
    add $8, %esp
    iret

    .data
    .balign 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff          /* 0x08: flat 32-bit code */
    .quad 0x00cf92000000ffff          /* 0x10: flat data */
gdtr:
    .short gdtr - gdt - 1
    .long gdt

    .bss
    .balign 16
    .skip 16384
stack_top:
