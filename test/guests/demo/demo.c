/*
 * The PAE demo guest: a multiboot v1 kernel that turns on PAE paging with a
 * few mappings (4 KiB identity pages, a 2 MiB page, a 4 KiB alias of a data
 * page), touches them, and reports each step as a TAP line on COM1.  It
 * runs bare (QEMU -kernel, Bochs through GRUB) and under Umbra and prints
 * the same results; only the "# hypervisor" comment differs.
 * Ends with "exit status N", port 0xF4 <- N (QEMU), "Shutdown" -> 0x8900 (Bochs).
 *
 * Command-line words (after the image name) select extra behaviour for
 * Umbra's end-to-end tests:
 *   triple-fault   load an empty IDT and raise #BP: a triple fault
 *   touch-above    read the first byte above the RAM the memory info gives
 *                  (Umbra's reserve under Umbra: a nested page fault)
 *   hypercall      print through Umbra's HC_PRINT and exit via HC_EXIT (status 3)
 *   pt-setcc       write a live page table with SETcc, an instruction Umbra's
 *                  emulator does not know (it must neither drop nor misplace
 *                  the write), then use the table
 *   tick-churn     with the PIT ticking and interrupts on, read one word in
 *                  each 2 MiB page from 2 to 96 MiB, pass after pass, until
 *                  200 ticks have come: under a small shadow_pool each pass
 *                  tears the shadows down, so ticks arrive with the IDT
 *                  unshadowed (their delivery faults); an exception during
 *                  the passes (#UD, #GP) ends them
 */
#include <stdint.h>
#include <stdbool.h>

#define COM1 0x3f8

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
    for (; *s; s++) {
        if (*s == '\n')
            putc_('\r');
        putc_(*s);
    }
}

static void putu(uint32_t v, unsigned base)
{
    char b[12];
    int n = 0;
    do {
        b[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        putc_(b[--n]);
}

static unsigned tests, failures;

/* ---- exceptions: #UD and #GP are caught, recorded and skipped ---- */
struct trap_frame {
    uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
    uint32_t vector, error, eip, cs, eflags;
};
static volatile uint32_t trap_vector = 0xff, trap_error, trap_skip;

void demo_trap(struct trap_frame *f);
void demo_trap(struct trap_frame *f)
{
    trap_vector = f->vector;
    trap_error = f->error;
    f->eip += trap_skip;          /* the length of the faulting instruction */
}

struct idt_gate { uint16_t off_lo, sel; uint8_t zero, type; uint16_t off_hi; };
static struct idt_gate idt[0x21];
extern char ud_stub[], gp_stub[], timer_stub[];
volatile uint32_t timer_ticks;

static void set_gate(unsigned v, void *fn)
{
    uint32_t a = (uint32_t)fn;
    idt[v] = (struct idt_gate){ a & 0xffff, 0x08, 0, 0x8e, a >> 16 };
}

static void idt_init(void)
{
    set_gate(6, ud_stub);
    set_gate(13, gp_stub);
    set_gate(0x20, timer_stub);
    struct __attribute__((packed)) { uint16_t limit; uint32_t base; } idtr = { sizeof(idt) - 1, (uint32_t)idt };
    __asm__ volatile("lidt %0" :: "m"(idtr));
}

/* True if the NUL-terminated command line has `word` as a whole word. */
static bool has_word(const char *cmd, const char *word)
{
    while (*cmd) {
        while (*cmd == ' ')
            cmd++;
        const char *w = word;
        while (*w && *cmd == *w)
            cmd++, w++;
        if (!*w && (*cmd == ' ' || !*cmd))
            return true;
        while (*cmd && *cmd != ' ')
            cmd++;
    }
    return false;
}

static void ok(bool cond, const char *name)
{
    tests++;
    if (!cond)
        failures++;
    puts_(cond ? "ok " : "not ok ");
    putu(tests, 10);
    puts_(" - ");
    puts_(name);
    puts_("\n");
}

static void demo_exit(unsigned status)
{
    puts_("exit status ");
    putu(status, 10);
    puts_("\n");
    while (!(inb(COM1 + 5) & 0x40))
        ;
    outb(0xf4, (uint8_t)status);
    for (const char *p = "Shutdown"; *p; p++)
        __asm__ volatile("outb %0, %1" :: "a"(*p), "d"((uint16_t)0x8900));
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* PAE tables: PDPT (32-byte aligned), one PD for 0-1 GiB, one PT for 0-2 MiB, one PD for 3-4 GiB. */
static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pd0[512] __attribute__((aligned(4096)));
static uint64_t pd3[512] __attribute__((aligned(4096)));
static uint64_t pt0[512] __attribute__((aligned(4096)));
static volatile uint32_t data_page[1024] __attribute__((aligned(4096)));

#define P   1ULL
#define RW  2ULL
#define PS  0x80ULL

#define BIG_VA   0xC0000000u     /* 2 MiB page -> physical 0 */

void demo_main(uint32_t magic, uint32_t info);
void demo_main(uint32_t magic, uint32_t info)
{
    outb(COM1 + 1, 0);
    outb(COM1 + 3, 0x80);
    outb(COM1 + 0, 1);
    outb(COM1 + 1, 0);
    outb(COM1 + 3, 0x03);
    outb(COM1 + 2, 0x07);

    puts_("demo: PAE demo guest\n");
    uint32_t r[4];
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(0x40000000), "c"(0));
    char vendor[13];
    for (int i = 0; i < 4; i++) {
        vendor[i] = (char)(r[1] >> (8 * i));
        vendor[4 + i] = (char)(r[2] >> (8 * i));
        vendor[8 + i] = (char)(r[3] >> (8 * i));
    }
    vendor[12] = 0;
    bool umbra = vendor[0] == 'U' && vendor[1] == 'm';
    puts_(umbra ? "# hypervisor: UmbraUmbraUm\n" : "# hypervisor: none\n");
    puts_("1..10\n");
    ok(magic == 0x2BADB002, "multiboot magic");
    const uint32_t *mbi = (const uint32_t *)info;
    ok((mbi[0] & 1) && mbi[2] >= 1024, "multiboot memory info");

    /* Identity map 0-2 MiB with 4 KiB pages, 2-1024 MiB with 2 MiB pages. */
    for (unsigned i = 0; i < 512; i++)
        pt0[i] = ((uint64_t)i << 12) | P | RW;
    pd0[0] = (uint32_t)pt0 | P | RW;
    for (unsigned i = 1; i < 512; i++)
        pd0[i] = ((uint64_t)i << 21) | P | RW | PS;
    /* 3-4 GiB: a 2 MiB page onto physical 0, then a 4 KiB alias of data_page. */
    static uint64_t pt3[512] __attribute__((aligned(4096)));
    pt3[0] = (uint32_t)data_page | P | RW;
    pd3[0] = 0 | P | RW | PS;                         /* BIG_VA -> physical 0, 2 MiB page */
    pd3[1] = (uint32_t)pt3 | P | RW;                  /* BIG_VA + 2 MiB -> data_page */
    pdpt[0] = (uint32_t)pd0 | P;
    pdpt[3] = (uint32_t)pd3 | P;

    uint32_t cr0, cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    cr4 |= 0x20;                                      /* PAE */
    __asm__ volatile("mov %0, %%cr4" :: "r"(cr4));
    __asm__ volatile("mov %0, %%cr3" :: "r"((uint32_t)pdpt));
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    cr0 |= 0x80000000u;                               /* PG */
    __asm__ volatile("mov %0, %%cr0" :: "r"(cr0) : "memory");
    __asm__ volatile("mov %%cr0, %0; mov %%cr4, %1" : "=r"(cr0), "=r"(cr4));
    ok((cr0 & 0x80000000u) && (cr4 & 0x20), "PAE paging enabled");
    puts_("demo: guest paging mode: PAE (CR0.PG=1 CR4.PAE=1)\n");

    volatile uint32_t *alias = (volatile uint32_t *)(BIG_VA + 0x200000u);
    alias[5] = 0xC0FFEE01u;
    ok(data_page[5] == 0xC0FFEE01u, "write through 4 KiB alias lands in the data page");
    data_page[7] = 0x5EED0002u;
    ok(alias[7] == 0x5EED0002u, "read through 4 KiB alias sees the data page");
    const volatile uint32_t *big = (const volatile uint32_t *)(BIG_VA + (uint32_t)data_page);
    ok(big[5] == 0xC0FFEE01u, "2 MiB page at 0xC0000000 maps physical 0");

    /* What the guest sees of the machine: identical bare and under Umbra. */
    idt_init();
    trap_vector = 0xff;
    trap_skip = 3;
    /* 0F 01 D8 with an aligned rAX (QEMU checks rAX, raising #GP, before the intercept). */
    __asm__ volatile("vmrun" :: "a"(0) : "memory");
    ok(trap_vector == 6, "vmrun raises #UD (no SVM for the guest)");
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xC0000080u));
    ok(!(lo & (1u << 12)), "EFER.SVME reads as 0");
    trap_vector = 0xff;
    trap_skip = 2;
    __asm__ volatile("wrmsr" :: "c"(0xC0000080u), "a"(lo | (1u << 2)), "d"(hi) : "memory");
    /* The CPU raises #GP(0) (Bochs, Umbra); QEMU TCG ignores the bit: check the effect only. */
    puts_(trap_vector == 13 && trap_error == 0 ? "# wrmsr EFER reserved bit: #GP(0)\n" :
          trap_vector == 0xff ? "# wrmsr EFER reserved bit: no fault\n" : "# wrmsr EFER reserved bit: other fault\n");
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xC0000080u));
    ok(!(lo & (1u << 2)), "EFER reserved bit 2 stays clear after wrmsr");
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(0x80000001u), "c"(0));
    puts_((r[2] & 4) ? "# cpuid: SVM visible\n" : "# cpuid: SVM hidden\n");
    puts_((r[2] & (1u << 29)) ? "# cpuid: MONITORX visible\n" : "# cpuid: MONITORX hidden\n");

    /*
     * Devices and interrupts are the guest's: remap the PIC to 0x20, run the
     * PIT at ~1 kHz, wait in HLT with interrupts on.  Under Umbra the timer
     * interrupt goes straight to the guest (INTR is not intercepted).
     */
    outb(0x20, 0x11); outb(0xa0, 0x11);          /* ICW1: init, ICW4 follows */
    outb(0x21, 0x20); outb(0xa1, 0x28);          /* ICW2: vector bases */
    outb(0x21, 0x04); outb(0xa1, 0x02);          /* ICW3: cascade on IRQ2 */
    outb(0x21, 0x01); outb(0xa1, 0x01);          /* ICW4: 8086 mode */
    outb(0x21, 0xfe); outb(0xa1, 0xff);          /* only IRQ0 */
    outb(0x43, 0x34);                            /* PIT ch0, rate generator */
    outb(0x40, 1193 & 0xff); outb(0x40, 1193 >> 8);
    uint32_t halts = 0;
    __asm__ volatile("sti");
    while (timer_ticks < 5 && halts < 100000) {
        __asm__ volatile("hlt");
        halts++;
    }
    __asm__ volatile("cli");
    outb(0x21, 0xff);
    ok(timer_ticks >= 5, "PIT timer interrupts reach the guest in HLT");

    const char *cmd = (mbi[0] & 4) ? (const char *)mbi[4] : "";
    puts_("# cmdline: ");
    puts_(cmd);
    puts_("\n");
    if (mbi[0] & 8) {
        const uint32_t *mods = (const uint32_t *)mbi[6];
        for (uint32_t i = 0; i < mbi[5]; i++) {
            puts_("# module ");
            putu(i, 10);
            puts_(": ");
            puts_((const char *)mods[4 * i + 2]);
            puts_(", ");
            putu(mods[4 * i + 1] - mods[4 * i], 10);
            puts_(" bytes, starts with '");
            putc_(*(const char *)mods[4 * i]);
            puts_("'\n");
        }
    }
    if (has_word(cmd, "pt-setcc")) {
        /* Byte 2 of pt3[1] (not present) becomes 1: the entry reads 0x10000. */
        volatile uint8_t *b = (volatile uint8_t *)&pt3[1] + 2;
        __asm__ volatile("cmp %%eax, %%eax; sete %0" : "=m"(*b) :: "eax", "cc", "memory");
        puts_(pt3[1] == 0x10000u ? "demo: setcc wrote the page table\n" : "demo: setcc lost\n");
        alias[9] = 0xABCD0003u;
        puts_(data_page[9] == 0xABCD0003u ? "demo: table still maps the alias\n"
                                          : "demo: alias broken after setcc\n");
    }
    if (has_word(cmd, "tick-churn")) {
        uint32_t t0 = timer_ticks, passes = 0, sum = 0;
        trap_vector = 0xff;                      /* an exception here is a wrong event */
        trap_skip = 0;
        outb(0x21, 0xfe);                        /* IRQ0 again; the PIT still runs */
        __asm__ volatile("sti");
        while (timer_ticks - t0 < 200 && trap_vector == 0xff && passes < 200000) {
            for (uint32_t a = 2u << 20; a < (96u << 20); a += 2u << 20)
                sum += *(volatile uint32_t *)a;
            passes++;
        }
        __asm__ volatile("cli");
        outb(0x21, 0xff);
        (void)sum;
        if (trap_vector != 0xff) {
            puts_("demo: tick-churn: unexpected exception ");
            putu(trap_vector, 10);
        } else {
            puts_(timer_ticks - t0 >= 200 ? "demo: tick-churn: 200 ticks during " : "demo: tick-churn: ticks lost after ");
            putu(passes, 10);
            puts_(" passes");
        }
        puts_("\n");
    }
    if (has_word(cmd, "touch-above")) {
        uint32_t above = 0x100000u + mbi[2] * 1024u;
        puts_("demo: reading above RAM at 0x");
        putu(above, 16);
        puts_("\n");
        volatile uint8_t *p = (volatile uint8_t *)above;
        putu(*p, 16);
        puts_("\n");
    }
    if (has_word(cmd, "hypercall")) {
        static const char msg[] = "hello from the demo guest";
        uint32_t ret;
        __asm__ volatile("vmmcall" : "=a"(ret) : "a"(0), "b"((uint32_t)msg), "c"(sizeof(msg) - 1) : "memory");
        puts_(ret == 0 ? "demo: hypercall print returned 0\n" : "demo: hypercall print failed\n");
        __asm__ volatile("vmmcall" :: "a"(1), "b"(3));
        puts_("demo: still running after HC_EXIT\n");
    }
    if (has_word(cmd, "triple-fault")) {
        static const struct __attribute__((packed)) { uint16_t limit; uint32_t base; } empty = { 0, 0 };
        puts_("demo: triple fault now\n");
        __asm__ volatile("lidt %0; int3" :: "m"(empty));
    }
    demo_exit(failures ? 1 : 0);
}
