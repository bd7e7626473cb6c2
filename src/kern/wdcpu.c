/*
 * The watchdog CPU (include/umbra/watchdog.h): one AP started on Umbra's
 * own code, which sends the boot CPU an NMI every WD_PERIOD_MS.
 *
 * Start (boot CPU, before the guest exists): smp_init() has parked every AP
 * with INIT.  The first one gets two STARTUP IPIs at a trampoline
 * (wdtramp.S) in a free page below 1 MiB (a STARTUP vector names a page
 * there, and Umbra's reserve is above 1 MiB).  The page is Umbra's only
 * while the AP starts: its bytes are saved first and put back once the AP
 * says it runs in the image, so the guest's memory is what it was and no
 * low page is taken from it (nothing to hide from its map, its tables or
 * DMA).  If the AP does not come in time it gets INIT again before the
 * page is given back, so it can never run guest bytes.
 *
 * The AP then runs only here, on the boot CPU's page tables and GDT, its
 * own stack and IDT, with interrupts off except inside HLT:
 *   W1  its APIC timer, calibrated against the PIT's channel 2 before the
 *       guest runs (the boot CPU waits; the guest owns the PIT later; the
 *       least of five 10 ms tries),
 *       fires every WD_PERIOD_MS; it halts between ticks (no busy spin);
 *   W2  per tick: wd_ticks++ (the watchdog's clock); then, only if the boot
 *       CPU has judged the last NMI sent (wd_acked == wd_sent), wd_sent++,
 *       a fence, and one NMI IPI to the boot CPU.  So at most one watchdog
 *       NMI is ever in flight, and its count is visible before it can
 *       arrive (isr.S relies on both); a tick whose NMI would have found the
 *       last one still pending is folded into it (wd_ticks - wd_sent);
 *   W3  any other interrupt is acknowledged and ignored (a guest can aim its
 *       I/O APIC or an MSI at this CPU: fixed vectors and NMIs do nothing
 *       here; an INIT parks it again, which only stops the watchdog, and no
 *       STARTUP can follow: the guest's ICR writes are filtered, apic.c);
 *   W4  an exception (vector < 16 but 2: an Umbra bug) halts it for good,
 *       with the vector in wd_ap_state, which the boot CPU reports.
 * The AP never writes anything but wd_ticks, wd_sent, wd_ap_state, its own ap_*
 * variables and stack, and its own APIC.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>
#include <umbra/x86.h>
#include <umbra/mb.h>
#include <umbra/smp.h>
#include <umbra/watchdog.h>

struct wd_info wd_info;
volatile uint32_t wd_sent __attribute__((aligned(64)));     /* its own cache line */
volatile uint32_t wd_ticks;
volatile uint32_t wd_acked __attribute__((aligned(64)));
volatile uint64_t nmi_host_wd, nmi_host_guest;
volatile uint8_t nmi_host_for_guest;

/* wd_ap_state: the AP's progress, read by the boot CPU. */
enum { AP_NONE, AP_IN_IMAGE, AP_TICKING, AP_NO_TIMER, AP_FAULT = 0x100 };
static volatile uint32_t wd_ap_state;

struct wd_tramp_params {
    uint32_t jmp_off;
    uint16_t jmp_sel, pad0;
    uint16_t gdt_limit;
    uint32_t gdt_base;
    uint16_t pad1;
    uint32_t cr3, efer;
    uint64_t stack, entry;
} __attribute__((packed));
_Static_assert(sizeof(struct wd_tramp_params) == 40, "the layout of wdtramp.S's block");

extern const char wd_tramp_start[], wd_tramp_end[], wd_tramp_params[], wd_tramp64[];
extern const char wd_ap_stubs[];

#define APIC_EOI       0x0B0u
#define APIC_TPR       0x080u
#define APIC_SVR       0x0F0u
#define APIC_LVT_TIMER 0x320u
#define APIC_TMR_INIT  0x380u
#define APIC_TMR_CUR   0x390u
#define APIC_TMR_DIV   0x3E0u
#define WD_VEC_TIMER   0x20u
#define WD_VEC_SPUR    0xFFu
#define PIT_HZ         1193182u

static uint8_t ap_stack[8192] __attribute__((aligned(16)));
static struct { uint16_t lo, sel; uint8_t ist, type; uint16_t mid; uint32_t hi, zero; } ap_idt[256]
    __attribute__((aligned(16)));
static paddr_t ap_apic;            /* xAPIC MMIO base, or 0: x2APIC (MSRs) */
static uint32_t ap_boot_id;        /* the boot CPU: the NMIs' destination */
static volatile uint64_t ap_ticks; /* timer interrupts taken */
static volatile uint32_t ap_count; /* the calibrated timer count for WD_PERIOD_MS */

/* ---- the AP ------------------------------------------------------------------ */

static uint32_t ap_rd(unsigned off)
{
    if (!ap_apic)
        return (uint32_t)rdmsr(0x800 + (off >> 4));
    return *(volatile uint32_t *)phys_to_virt(ap_apic + off);
}

static void ap_wr(unsigned off, uint32_t v)
{
    if (!ap_apic)
        wrmsr(0x800 + (off >> 4), v);
    else
        *(volatile uint32_t *)phys_to_virt(ap_apic + off) = v;
}

void wd_ap_irq(uint64_t vec);
void wd_ap_irq(uint64_t vec)
{
    if (vec == 2 || vec == WD_VEC_SPUR)
        return;                                   /* W3: an NMI or a spurious vector: nothing to do */
    if (vec < 16) {
        wd_ap_state = AP_FAULT | (uint32_t)vec;   /* W4 */
        for (;;)
            __asm__ volatile("cli; hlt");
    }
    if (vec == WD_VEC_TIMER)
        ap_ticks++;
    ap_wr(APIC_EOI, 0);                           /* W3: every other vector is acknowledged */
}

/*
 * APIC timer counts (divide by 16) in 10 ms of PIT channel 2, or 0 if the
 * PIT never ran out.  The end is seen late if this CPU is held up between
 * the PIT's end and the read (an emulator's vCPU scheduling, an SMI), never
 * early, so the least of five tries is taken.
 */
static uint32_t ap_calibrate_once(void)
{
    const uint16_t pit = PIT_HZ / 100;           /* 10 ms */
    uint8_t p61 = inb(0x61);
    outb(0x61, (uint8_t)((p61 & ~0x02) | 0x01)); /* gate 2 on, speaker off */
    outb(0x43, 0xb0);                            /* channel 2, lobyte/hibyte, mode 0 */
    outb(0x42, pit & 0xff);
    ap_wr(APIC_TMR_DIV, 3);                      /* divide by 16 */
    ap_wr(APIC_LVT_TIMER, (1u << 16) | WD_VEC_TIMER);   /* masked: count only */
    outb(0x42, pit >> 8);                        /* the count starts here */
    ap_wr(APIC_TMR_INIT, 0xffffffffu);
    unsigned long n = 0;
    while (!(inb(0x61) & 0x20) && ++n < 100000000ul)
        ;
    uint32_t cur = ap_rd(APIC_TMR_CUR);
    ap_wr(APIC_TMR_INIT, 0);
    outb(0x61, p61);
    if (n >= 100000000ul || cur == 0)
        return 0;
    return 0xffffffffu - cur;
}

static uint32_t ap_calibrate(void)
{
    uint32_t best = 0;
    for (unsigned i = 0; i < 5; i++) {
        uint32_t c = ap_calibrate_once();
        if (!c)
            return 0;
        if (!best || c < best)
            best = c;
    }
    return best;
}

static void ap_send_nmi(void)
{
    const uint32_t nmi = (4u << 8) | (1u << 14);  /* NMI, assert, physical destination */
    __asm__ volatile("mfence" ::: "memory");      /* W2: wd_sent first (x2APIC WRMSR is not ordered) */
    if (!ap_apic) {
        wrmsr(MSR_X2APIC_ICR, (uint64_t)ap_boot_id << 32 | nmi);
        return;
    }
    while (ap_rd(APIC_ICR_LO) & (1u << 12))      /* the previous one still pending */
        __asm__ volatile("pause");
    ap_wr(APIC_ICR_HI, ap_boot_id << 24);
    ap_wr(APIC_ICR_LO, nmi);
}

void wd_ap_entry(void) __attribute__((noreturn));
void wd_ap_entry(void)
{
    wd_ap_state = AP_IN_IMAGE;                    /* the low page is no longer used */
    for (unsigned i = 0; i < 256; i++) {
        uint64_t a = (uint64_t)(wd_ap_stubs + 16 * i);
        ap_idt[i].lo = a & 0xffff;
        ap_idt[i].sel = 0x08;
        ap_idt[i].type = 0x8e;
        ap_idt[i].mid = (a >> 16) & 0xffff;
        ap_idt[i].hi = (uint32_t)(a >> 32);
    }
    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idtr = { sizeof(ap_idt) - 1,
                                                                               (uint64_t)ap_idt };
    __asm__ volatile("lidt %0" :: "m"(idtr));

    uint64_t base = rdmsr(MSR_APIC_BASE);
    if (!(base & APIC_BASE_ENABLE))
        wrmsr(MSR_APIC_BASE, base |= APIC_BASE_ENABLE);
    ap_apic = (base & APIC_BASE_X2APIC) ? 0 : base & 0xffffff000ULL;
    ap_wr(APIC_SVR, 0x100 | WD_VEC_SPUR);         /* software-enabled (INIT left it off) */
    ap_wr(APIC_TPR, 0);
    uint32_t count = ap_calibrate();
    if (!count) {
        wd_ap_state = AP_NO_TIMER;
        for (;;)
            __asm__ volatile("cli; hlt");
    }
    ap_count = count;
    ap_wr(APIC_LVT_TIMER, (1u << 17) | WD_VEC_TIMER);   /* periodic, W1 */
    ap_wr(APIC_TMR_INIT, count);
    wd_ap_state = AP_TICKING;
    for (;;) {
        uint64_t t = ap_ticks;
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        if (ap_ticks == t)
            continue;                             /* W3: woken by something else */
        wd_ticks = wd_ticks + 1;                  /* W2 */
        if (wd_acked != wd_sent)
            continue;                             /* the last NMI is not judged yet: folded */
        wd_sent = wd_sent + 1;
        ap_send_nmi();
    }
}

/* ---- the boot CPU ----------------------------------------------------------------- */

/* A free page below 1 MiB for the trampoline (not page 0: the real-mode IVT and BIOS data), or 0. */
static paddr_t low_page(const struct mb2_info *mbi, paddr_t info_pa)
{
    for (paddr_t p = 0x9f000; p >= 0x1000; p -= PAGE_SIZE) {
        if (!mmap_is_ram(mbi->mmap, mbi->nmmap, p, p + PAGE_SIZE))
            continue;
        bool used = p < info_pa + mbi->total_size && info_pa < p + PAGE_SIZE;
        for (unsigned i = 0; i < mbi->nmod && !used; i++)
            used = p < mbi->mod[i].end && mbi->mod[i].start < p + PAGE_SIZE;
        if (!used)
            return p;
    }
    return 0;
}

/* Wait up to ms milliseconds for wd_ap_state to leave `from`. */
static uint32_t wait_state(uint32_t from, unsigned ms)
{
    for (unsigned i = 0; i < ms * 10 && wd_ap_state == from; i++)
        smp_delay_us(100);
    return wd_ap_state;
}

/* Why there is no watchdog CPU, once, in the words of what the user asked for. */
static void cant(const char *why)
{
    if (umbra_opts.watchdog_secs)
        ulog("watchdog: watchdog=%u cannot work: %s; the guest runs without it", umbra_opts.watchdog_secs, why);
    else
        ulog("watchdog: %s: GDB's Ctrl-C cannot stop a guest that spins with interrupts off", why);
}

void wdcpu_start(const struct mb2_info *mbi, paddr_t info_pa)
{
    static uint8_t saved[PAGE_SIZE];
    wd_info.wanted = umbra_opts.gdb != GDB_NONE || umbra_opts.watchdog_secs;
    if (!wd_info.wanted)
        return;                                   /* no AP started, nothing changes */
    if (!smp_info.have_ap) {
        cant("no second CPU to run the watchdog on (one CPU)");
        return;
    }
    paddr_t p = low_page(mbi, info_pa);
    if (!p) {
        cant("no free page below 1 MiB to start the watchdog CPU from");
        return;
    }
    uint8_t *page = phys_to_virt(p);
    size_t len = (size_t)(wd_tramp_end - wd_tramp_start);
    memcpy(saved, page, PAGE_SIZE);
    memcpy(page, wd_tramp_start, len);
    struct wd_tramp_params *tp = (void *)(page + (wd_tramp_params - wd_tramp_start));
    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } gdtr;
    uint64_t cr3;
    __asm__ volatile("sgdt %0; mov %%cr3, %1" : "=m"(gdtr), "=r"(cr3));
    tp->jmp_off = (uint32_t)(p + (wd_tramp64 - wd_tramp_start));
    tp->jmp_sel = 0x08;
    tp->gdt_limit = gdtr.limit;
    tp->gdt_base = (uint32_t)gdtr.base;           /* head.S: the GDT's physical address, < 4 GiB */
    tp->cr3 = (uint32_t)cr3;
    tp->efer = (uint32_t)(rdmsr(MSR_EFER) & (EFER_LME | EFER_NXE)) | EFER_LME;
    tp->stack = (uint64_t)(ap_stack + sizeof(ap_stack));
    tp->entry = (uint64_t)wd_ap_entry;
    ap_boot_id = smp_info.boot_id;
    wd_info.apic_id = smp_info.first_ap;
    wd_info.tramp = p;

    /* INIT (again: the AP may have been parked long ago), then STARTUP twice (MP spec timing). */
    smp_send_init(wd_info.apic_id);
    smp_delay_us(10000);
    smp_send_startup(wd_info.apic_id, (uint8_t)(p >> PAGE_SHIFT));
    smp_delay_us(200);
    if (wd_ap_state == AP_NONE)
        smp_send_startup(wd_info.apic_id, (uint8_t)(p >> PAGE_SHIFT));
    uint32_t st = wait_state(AP_NONE, 1000);
    if (st == AP_NONE)
        smp_send_init(wd_info.apic_id);           /* it must never run the page once it is the guest's */
    memcpy(page, saved, PAGE_SIZE);
    if (st == AP_NONE) {
        cant("the AP did not start (no STARTUP taken in 1 s)");
        return;
    }
    st = wait_state(AP_IN_IMAGE, 2000);
    if (st != AP_TICKING) {
        smp_send_init(wd_info.apic_id);
        cant(st == AP_NO_TIMER ? "the watchdog CPU's APIC timer could not be calibrated (PIT channel 2 silent)" :
             st & AP_FAULT ? "the watchdog CPU took an exception" : "the watchdog CPU did not finish its start");
        return;
    }
    wd_info.timer_count = ap_count;
    wd_info.running = true;
    ulog("watchdog: APIC ID %u is Umbra's watchdog CPU (started from %#lx, the page given back): "
         "an NMI to the boot CPU every %u ms (APIC timer: %u counts at /16)", wd_info.apic_id, p,
         WD_PERIOD_MS, wd_info.timer_count);
}

uint32_t wd_ap_fault(void)
{
    return wd_ap_state & AP_FAULT ? wd_ap_state & 0xff : ~0u;
}
