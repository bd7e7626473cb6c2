/*
 * i386 half of the runtime: TSS and IDT.  The TSS only supplies the ring-0
 * stack a CPL 3 fault or `int $0x80` switches to (trap_stack, never the stack
 * the probing code runs on, so the handler can jump back into it).
 */
#include "guest.h"
#include "arch.h"
#include "pt.h"

struct tss32 {
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap;
} __attribute__((packed));

struct gate32 {
    uint16_t off_lo, sel;
    uint8_t zero, type;
    uint16_t off_hi;
} __attribute__((packed));

static struct tss32 tss __attribute__((aligned(128)));
static struct gate32 idt[256] __attribute__((aligned(8)));
extern uint64_t gdt[];
extern char trap_stack_top[];
extern void (*const exc_stub_table[32])(void);
extern void exc_stub_128(void);

static void set_gate(unsigned v, void (*fn)(void), unsigned dpl)
{
    uint32_t a = (uint32_t)fn;
    idt[v] = (struct gate32){ a & 0xffff, 0x08, 0, (uint8_t)(0x8e | (dpl << 5)), a >> 16 };
}

void arch_init(void)
{
    uint32_t base = (uint32_t)&tss, lim = sizeof(tss) - 1;

    tss.esp0 = (uint32_t)trap_stack_top;
    tss.ss0 = 0x10;
    tss.iomap = sizeof(tss);
    gdt[5] = (uint64_t)(lim & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
             (0x89ULL << 40) | ((uint64_t)(base >> 24) << 56);
    __asm__ volatile("ltr %w0" :: "r"(0x28));

    for (unsigned v = 0; v < 32; v++)
        set_gate(v, exc_stub_table[v], 0);
    set_gate(0x80, exc_stub_128, 3);
    struct { uint16_t lim; uint32_t base; } __attribute__((packed)) d = { sizeof(idt) - 1, (uint32_t)idt };
    __asm__ volatile("lidt %0" :: "m"(d));
}

void paging_enable(const struct pmode *m, uint64_t root)
{
    ureg_t cr4 = read_cr4() & ~(X86_CR4_PAE | X86_CR4_PSE);
    cr4 |= m->levels == 3 ? X86_CR4_PAE : X86_CR4_PSE;
    write_cr4(cr4);
    write_cr3((ureg_t)root);
    write_cr0(read_cr0() | X86_CR0_PG | X86_CR0_WP);
}
