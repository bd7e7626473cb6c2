/*
 * Multiboot2 header and the way from GRUB's 32-bit entry to C in long mode.
 *
 * GRUB enters at _start32 in 32-bit protected mode, paging off, EAX = magic,
 * EBX = physical address of the multiboot2 info, ESP undefined.  Because the
 * image is relocatable, this code runs at an address nobody knew at link
 * time: every memory reference below is "load base + offset into the image"
 * (OFF(sym) is a link-time constant), never an absolute address, until the
 * jump to the high virtual alias.
 *
 * Page tables built here (2 MiB pages):
 *   VA [0, 4 GiB)              -> PA [0, 4 GiB)         the direct map
 *   VA KERNEL_VMA + [0, size)  -> PA load base + [0, size)
 */
#define KERNEL_VMA 0xffffffff80000000
#define OFF(sym) ((sym) - KERNEL_VMA)
#define KERNEL_LMA 0x200000

    .section .multiboot, "a"
    .balign 8
mb2_header:
    .long 0xe85250d6                    /* magic */
    .long 0                             /* architecture: i386 protected mode */
    .long mb2_header_end - mb2_header
    .long 0x100000000 - (0xe85250d6 + (mb2_header_end - mb2_header))
    /*
     * Relocatable image: anywhere in [2 MiB, 1 GiB), 2 MiB aligned, highest
     * first.  Umbra's reserve (pool, staged modules, tables) is carved from
     * the RAM range just below the image, so the image must not sit at the
     * top of a small range: under UEFI the highest free memory below 4 GiB is
     * a few MiB left between the firmware's own ranges (OVMF, 6 GiB: 2.4 MiB,
     * too small to stage a Linux kernel), while below 1 GiB it is one large
     * range.  With less than 1 GiB of RAM nothing changes (top of RAM).
     */
    .balign 8
    .short 10, 0
    .long 24
    .long 0x00200000                    /* min_addr */
    .long 0x40000000                    /* max_addr (end of image) */
    .long 0x00200000                    /* align */
    .long 2                             /* preference: highest */
    .balign 8
    .short 0, 0                         /* end tag */
    .long 8
mb2_header_end:

    .section .boot32, "ax"
    .code32
    .globl _start32
_start32:
    cli
    cld
    mov %eax, %edi                      /* keep magic and info pointer for C */
    mov %ebx, %esi

    /*
     * A stack first (ESP is undefined): take the load base from the info's
     * load-base tag (type 21; absent when GRUB did not relocate us, then we
     * are at KERNEL_LMA).  call/pop below then finds the true base anyway.
     */
    mov $KERNEL_LMA, %ebp
    cmp $0x36d76289, %eax
    jne 3f
    lea 8(%ebx), %ecx
1:  mov (%ecx), %edx
    test %edx, %edx
    jz 3f
    cmp $21, %edx
    je 2f
    mov 4(%ecx), %edx
    add $7, %edx
    and $~7, %edx
    add %edx, %ecx
    jmp 1b
2:  mov 8(%ecx), %ebp
3:  lea OFF(boot_stack_top)(%ebp), %esp
    call 4f
4:  pop %ebp
    sub $OFF(4b), %ebp                  /* ebp = physical address of __kernel_start */

    /* Zero the eight boot page-table pages. */
    push %edi
    lea OFF(boot_pt)(%ebp), %edi
    xor %eax, %eax
    mov $(8 * 4096 / 4), %ecx
    rep stosl
    pop %edi

    lea OFF(boot_pt)(%ebp), %ebx        /* ebx = PML4 */
    /* PML4[0] -> PDPT_lo (+0x1000), PML4[511] -> PDPT_hi (+0x2000) */
    lea 0x1003(%ebx), %eax
    mov %eax, (%ebx)
    lea 0x2003(%ebx), %eax
    mov %eax, 511*8(%ebx)
    /* PDPT_lo[0..3] -> PD_lo[0..3] (+0x4000 .. +0x7000) */
    lea 0x4003(%ebx), %eax
    mov %eax, 0x1000(%ebx)
    add $0x1000, %eax
    mov %eax, 0x1008(%ebx)
    add $0x1000, %eax
    mov %eax, 0x1010(%ebx)
    add $0x1000, %eax
    mov %eax, 0x1018(%ebx)
    /* PD_lo: 2048 entries of 2 MiB, identity, present|rw|ps */
    xor %ecx, %ecx
5:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, 0x4000(%ebx,%ecx,8)
    inc %ecx
    cmp $2048, %ecx
    jne 5b
    /* PDPT_hi[510] -> PD_k (+0x3000); PD_k[i] -> load base + i * 2 MiB */
    lea 0x3003(%ebx), %eax
    mov %eax, 0x2000 + 510*8(%ebx)
    mov $_kernel_size, %ecx
    add $0x1fffff, %ecx
    shr $21, %ecx                       /* number of 2 MiB pages */
    mov %ebp, %eax
    or $0x83, %eax
    xor %edx, %edx
6:  mov %eax, 0x3000(%ebx,%edx,8)
    add $0x200000, %eax
    inc %edx
    cmp %ecx, %edx
    jne 6b

    /* Long mode: PAE, CR3, EFER.LME, paging. */
    mov %cr4, %eax
    or $0x20, %eax
    mov %eax, %cr4
    mov %ebx, %cr3
    mov $0xc0000080, %ecx
    rdmsr
    or $0x100, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80010001, %eax                /* PG | WP | PE */
    mov %eax, %cr0

    /* GDT at its physical address (reachable through the direct map later too). */
    lea OFF(boot_gdt)(%ebp), %eax
    mov %eax, OFF(boot_gdtr) + 2(%ebp)
    movl $0, OFF(boot_gdtr) + 6(%ebp)
    lgdt OFF(boot_gdtr)(%ebp)
    lea OFF(entry64)(%ebp), %eax
    push $0x08
    push %eax
    lret

    .code64
entry64:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    movabs $high64, %rax
    jmp *%rax

    .text
high64:
    movabs $boot_stack_top, %rsp
    mov %ebp, %edx                      /* arg2: physical load base */
    xor %ebp, %ebp
    push $0                             /* fake return address: ends backtraces */
    mov %edi, %edi                      /* arg0: multiboot magic */
    mov %esi, %esi                      /* arg1: info physical address */
    call kmain
7:  cli
    hlt
    jmp 7b

    .data
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff            /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff            /* 0x10: data */
boot_gdt_end:
    .balign 8
    .globl boot_gdtr
boot_gdtr:
    .short boot_gdt_end - boot_gdt - 1
    .quad 0

    .bss
    .balign 4096
    .globl boot_pt
boot_pt:
    .skip 8 * 4096
    .balign 16
boot_stack:
    .skip 16384
    .globl boot_stack_top
boot_stack_top:
