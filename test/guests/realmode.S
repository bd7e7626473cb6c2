/*
 * Real-mode round trip for the paging-off suite.  realmode_run() copies the
 * trampoline below to RM_BASE (0x7000), drops from 32-bit protected mode
 * through a 16-bit protected-mode segment to real mode (CR0.PE=0), runs a
 * few real-mode operations whose results land in the RM_DATA block, and
 * comes back to 32-bit protected mode.  Interrupts stay off; the real-mode
 * IVT is never used.
 *
 * RM_DATA (segment 0x0780 = physical 0x7800), written in real mode:
 *   +0x00  0x1234 stored through DS=0x0780
 *   +0x02  0xbeef stored by a near CALL'd routine (stack at 0000:6ff0)
 *   +0x04  MSW (SMSW) read in real mode: PE must be 0
 *   +0x06  0x5678 stored through ES=0x0700, offset 0x806 (same linear byte)
 *   +0x08  CS seen in real mode (0x0700)
 *   +0x0a  a 16-bit sum computed with a LOOP (1+2+..+100 = 5050)
 */
#define RM_BASE 0x7000

    .section .note.GNU-stack, "", @progbits
    .section .text
    .code32
    .globl realmode_run
realmode_run:
    pusha
    mov %esp, rm_saved_esp
    sidt rm_saved_idt
    /* copy the trampoline */
    mov $tramp_start, %esi
    mov $RM_BASE, %edi
    mov $(tramp_end - tramp_start), %ecx
    cld
    rep movsb
    lidt rm_idt
    ljmp $0x30, $(RM_BASE + pm16 - tramp_start)

rm_back32:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    mov rm_saved_esp, %esp
    lidt rm_saved_idt
    popa
    ret

    .code16
tramp_start:
pm16:
    mov $0x38, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %cr0, %eax
    and $0xfffffffe, %eax
    mov %eax, %cr0
    ljmp $(RM_BASE >> 4), $(rm - tramp_start)
rm:
    xor %ax, %ax
    mov %ax, %ss
    mov $0x6ff0, %sp
    mov $0x0780, %ax
    mov %ax, %ds
    movw $0x1234, 0x00
    call rm_sub                 /* relative: fine after the copy */
    smsw 0x04
    mov $0x0700, %ax
    mov %ax, %es
    movw $0x5678, %es:0x806
    mov %cs, %ax
    mov %ax, 0x08
    xor %ax, %ax
    mov $100, %cx
1:  add %cx, %ax
    loop 1b
    mov %ax, 0x0a
    /* back to protected mode */
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    .byte 0x66, 0xea            /* ljmpl $0x08, $rm_back32 */
    .long rm_back32
    .word 0x08
rm_sub:
    movw $0xbeef, 0x02
    ret
tramp_end:

    .code32
    .section .data
    .align 8
rm_idt:
    .word 0x3ff
    .long 0
rm_saved_idt:
    .word 0
    .long 0
rm_saved_esp:
    .long 0
