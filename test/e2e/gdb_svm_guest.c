/*
 * The guest GDB drives in the in-emulator tests (gdb_svm_qemu.sh,
 * gdb_svm_bochs.sh): a multiboot v1 kernel that turns on PAE paging, maps
 * its data page a second time at ALIAS_VA (a virtual address whose physical
 * frame differs: PDPT[2] -> pd2 -> pt2[0] -> data_page), starts the PIT with
 * interrupts on and spins calling gdb_tick() until GDB writes MAILBOX_MAGIC
 * into alias[1] (by virtual address).  It then prints what it saw on COM1
 * and leaves the emulator (port 0xF4 for QEMU, 0x8900 for Bochs).
 * Symbols (gdb_tick, gdb_mark, counter, dr7_seen, alias_va) are what the GDB script
 * uses; built -O1 so they stay where the script expects them.
 */
#include <stdint.h>
#include <stdbool.h>

#define COM1 0x3f8
#define ALIAS_VA 0x80000000u
#define MAILBOX_MAGIC 0x600DF00Du

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }

static void putc_(char c)
{
    while (!(inb(COM1 + 5) & 0x20))
        ;
    outb(COM1, (uint8_t)c);
}

static void puts_(const char *s)
{
    for (; *s; s++)
        putc_(*s);
}

static void putx(uint32_t v)
{
    puts_("0x");
    for (int i = 28; i >= 0; i -= 4)
        putc_("0123456789abcdef"[(v >> i) & 15]);
}

static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pd0[512] __attribute__((aligned(4096)));
static uint64_t pd2[512] __attribute__((aligned(4096)));
static uint64_t pt0[512] __attribute__((aligned(4096)));
static uint64_t pt2[512] __attribute__((aligned(4096)));
static uint32_t data_page[1024] __attribute__((aligned(4096)));

volatile uint32_t counter;          /* gdb_tick() increments it: a watchpoint target */
volatile uint32_t timer_ticks;      /* timer_stub increments it */
volatile uint32_t *const alias_va = (volatile uint32_t *)ALIAS_VA;
uint32_t data_page_pa;              /* for the script: the frame behind ALIAS_VA */

struct idt_gate { uint16_t off_lo, sel; uint8_t zero, type; uint16_t off_hi; };
static struct idt_gate idt[0x21];
extern char timer_stub[];

volatile uint32_t dr7_seen;       /* what MOV from DR7 gave the guest (its own 0x400 even
                                   * while GDB's watchpoint is armed) */

void __attribute__((noinline)) gdb_tick(void)
{
    uint32_t d;
    __asm__ volatile("mov %%dr7, %0" : "=r"(d));
    dr7_seen = d;
    counter++;
}

void __attribute__((noinline)) gdb_mark(void)
{
    __asm__ volatile("nop");
}

void guest_main(uint32_t magic, uint32_t info);
void guest_main(uint32_t magic, uint32_t info)
{
    (void)info;
    outb(COM1 + 1, 0);
    outb(COM1 + 3, 0x80);
    outb(COM1 + 0, 1);
    outb(COM1 + 1, 0);
    outb(COM1 + 3, 0x03);
    outb(COM1 + 2, 0x07);
    puts_("gdbguest: start, magic ");
    putx(magic);
    puts_("\n");

    for (unsigned i = 0; i < 512; i++)
        pt0[i] = ((uint64_t)i << 12) | 3;
    pd0[0] = (uint32_t)pt0 | 3;
    for (unsigned i = 1; i < 512; i++)
        pd0[i] = ((uint64_t)i << 21) | 3 | 0x80;
    pt2[0] = (uint32_t)data_page | 3;
    pd2[0] = (uint32_t)pt2 | 3;
    pdpt[0] = (uint32_t)pd0 | 1;
    pdpt[2] = (uint32_t)pd2 | 1;
    data_page_pa = (uint32_t)data_page;
    uint32_t cr;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr));
    __asm__ volatile("mov %0, %%cr4" :: "r"(cr | 0x20));
    __asm__ volatile("mov %0, %%cr3" :: "r"((uint32_t)pdpt));
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr));
    __asm__ volatile("mov %0, %%cr0" :: "r"(cr | 0x80000000u) : "memory");
    alias_va[0] = 0x1234abcdu;
    puts_("gdbguest: PAE paging on, data page ");
    putx(data_page_pa);
    puts_(" at ");
    putx(ALIAS_VA);
    puts_("\n");

    uint32_t a = (uint32_t)timer_stub;
    idt[0x20] = (struct idt_gate){ a & 0xffff, 0x08, 0, 0x8e, a >> 16 };
    struct __attribute__((packed)) { uint16_t limit; uint32_t base; } idtr = { sizeof(idt) - 1, (uint32_t)idt };
    __asm__ volatile("lidt %0" :: "m"(idtr));
    outb(0x20, 0x11); outb(0xa0, 0x11);
    outb(0x21, 0x20); outb(0xa1, 0x28);
    outb(0x21, 0x04); outb(0xa1, 0x02);
    outb(0x21, 0x01); outb(0xa1, 0x01);
    outb(0x21, 0xfe); outb(0xa1, 0xff);
    outb(0x43, 0x34);
    outb(0x40, 1193 & 0xff); outb(0x40, 1193 >> 8);   /* ~1 kHz */
    __asm__ volatile("sti");

    gdb_mark();
    while (alias_va[1] != MAILBOX_MAGIC)
        gdb_tick();
    __asm__ volatile("cli");
    puts_("gdbguest: mailbox ");
    putx(data_page[1]);
    puts_(" seen after ");
    putx(counter);
    puts_(" ticks, timer ");
    putx(timer_ticks);
    puts_("\ngdbguest: done\n");
    while (!(inb(COM1 + 5) & 0x40))
        ;
    outb(0xf4, 0);
    for (const char *p = "Shutdown"; *p; p++)
        outb(0x8900, (uint8_t)*p);
    for (;;)
        __asm__ volatile("cli; hlt");
}
