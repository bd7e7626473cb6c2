/*
 * x86_64 half of the runtime: 64-bit TSS (rsp0 = trap stack) and IDT.
 */
#include "guest.h"
#include "arch.h"

struct tss64 {
    uint32_t rsv0;
    uint64_t rsp0, rsp1, rsp2, rsv1, ist[7], rsv2;
    uint16_t rsv3, iomap;
} __attribute__((packed));

struct gate64 {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, zero;
} __attribute__((packed));

static struct tss64 tss __attribute__((aligned(128)));
static struct gate64 idt[256] __attribute__((aligned(16)));
extern uint64_t gdt[];
extern char trap_stack_top[];
extern void (*const exc_stub_table[32])(void);
extern void exc_stub_128(void);

static void set_gate(unsigned v, void (*fn)(void), unsigned dpl)
{
    uint64_t a = (uint64_t)fn;
    idt[v] = (struct gate64){ (uint16_t)a, 0x08, 0, (uint8_t)(0x8e | (dpl << 5)),
                              (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0 };
}

void arch_init(void)
{
    uint64_t base = (uint64_t)&tss, lim = sizeof(tss) - 1;

    tss.rsp0 = (uint64_t)trap_stack_top;
    tss.iomap = sizeof(tss);
    gdt[5] = (lim & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
             (((base >> 24) & 0xff) << 56);
    gdt[6] = base >> 32;
    __asm__ volatile("ltr %w0" :: "r"(0x28));

    for (unsigned v = 0; v < 32; v++)
        set_gate(v, exc_stub_table[v], 0);
    set_gate(0x80, exc_stub_128, 3);
    struct { uint16_t lim; uint64_t base; } __attribute__((packed)) d = { sizeof(idt) - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" :: "m"(d));
}
