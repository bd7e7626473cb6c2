/*
 * Hostile guest, CPU cases: what a guest can try with the hypercalls and
 * with other CPUs.  Runs with paging off (i386).  Each case must end as a
 * one-CPU machine without a hypervisor would end it:
 *   - VMMCALL from CPL 3 raises #UD (HC_EXIT with status 0x55 and HC_PRINT:
 *     if either were honoured the run would end with status 0x55 or print);
 *   - the ACPI MADT and the MP table list one CPU, with good checksums;
 *   - the local APIC still works for this CPU: a self-IPI by shorthand and
 *     by its own APIC ID, an NMI to itself, the APIC timer, EOIs; a fixed
 *     IPI to APIC ID 1 or to all-but-self reaches no one; HLT sleeps until
 *     the timer's interrupt;
 *   - INIT-SIPI-SIPI (after an NMI) to APIC ID 1 with a real-mode trampoline
 *     whose code would scan memory above the guest's RAM for Umbra's strings
 *     and write into them: the AP never runs (its first instruction would
 *     set a flag).  The same through the x2APIC ICR (MSR 0x830) if the CPU
 *     has x2APIC.
 * Bare it runs on a one-CPU QEMU; under Umbra on -smp 2 (test/e2e/hostile-cpu.sh),
 * where Umbra must make both machines look alike.
 */
#include "lib/guest.h"
#include "lib/arch.h"

#define APIC_MMIO  0xfee00000u
#define VEC_IPI    0x40
#define VEC_TIMER  0x41
#define TRAMP      0x8000u
#define AP_FLAG    (TRAMP + 0xff0)     /* the AP's first store: 1, then 2 if it found Umbra's string */

static inline volatile uint32_t *apic(unsigned off)
{
    return (volatile uint32_t *)(uintptr_t)(APIC_MMIO + off);
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static void spin_tsc(uint64_t cycles)
{
    uint64_t t = rdtsc();
    while (rdtsc() - t < cycles)
        __asm__ volatile("pause");
}

/* ---- ring 3 VMMCALL ----------------------------------------------------------- */

/* eax = function (enter_user's a0), ecx = argument (a1) -> ebx; then back with int $0x80. */
__asm__(".pushsection .user, \"ax\"\n"
        ".globl user_vmmcall\n"
        "user_vmmcall:\n"
        "    mov %ecx, %ebx\n"
        "    mov $8, %ecx\n"
        "    .byte 0x0f, 0x01, 0xd9\n"           /* vmmcall */
        "    int $0x80\n"
        ".popsection\n");
extern char user_vmmcall[];
static const char hc_msg[] = "ring3!!!";

struct user_call { ureg_t a0, a1; };

static void run_user(void *arg)
{
    struct user_call *u = arg;
    enter_user((ureg_t)user_vmmcall, (ureg_t)user_stack_top, u->a0, u->a1);
}

static void vmmcall_cases(void)
{
    struct user_call exit_call = { 1, 0x55 }, print_call = { 0, (ureg_t)hc_msg };
    unsigned v = catch_call(run_user, &exit_call);
    tap_ok(v == X86_EXC_UD, "VMMCALL HC_EXIT from CPL 3 raises #UD (vector %u)", v);
    v = catch_call(run_user, &print_call);
    tap_ok(v == X86_EXC_UD, "VMMCALL HC_PRINT from CPL 3 raises #UD (vector %u)", v);
}

/* ---- firmware tables -------------------------------------------------------------- */

static uint8_t sum8(const uint8_t *p, uint32_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

static uint32_t r32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static const uint8_t *scan(uint32_t lo, uint32_t hi, const char *sig, unsigned siglen, unsigned sumlen)
{
    for (uint32_t a = lo; a + sumlen <= hi; a += 16) {
        const uint8_t *p = (const uint8_t *)(uintptr_t)a;
        bool m = true;
        for (unsigned i = 0; i < siglen; i++)
            m &= p[i] == (uint8_t)sig[i];
        if (m && sum8(p, sumlen) == 0)
            return p;
    }
    return NULL;
}

static uint32_t ebda(void)
{
    uintptr_t bda = 0x40e;
    __asm__("" : "+r"(bda));                     /* a real address, not a null-page constant */
    uint32_t e = (uint32_t)*(volatile uint16_t *)bda << 4;
    return e >= 0x80000 && e < 0xa0000 ? e : 0;
}

/* CPUs in the MADT (enabled or online-capable LAPIC / x2APIC entries); -1 no MADT, -2 bad checksum. */
static int madt_cpus(void)
{
    const uint8_t *r = ebda() ? scan(ebda(), ebda() + 1024, "RSD PTR ", 8, 20) : NULL;
    if (!r)
        r = scan(0xe0000, 0x100000, "RSD PTR ", 8, 20);
    if (!r)
        return -1;
    const uint8_t *rsdt = (const uint8_t *)(uintptr_t)r32(r + 16);
    uint32_t n = (r32(rsdt + 4) - 36) / 4;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *t = (const uint8_t *)(uintptr_t)r32(rsdt + 36 + 4 * i);
        if (t[0] != 'A' || t[1] != 'P' || t[2] != 'I' || t[3] != 'C')
            continue;
        uint32_t len = r32(t + 4);
        if (sum8(t, len))
            return -2;
        int cpus = 0;
        for (uint32_t off = 44; off + 2 <= len && t[off + 1] >= 2; off += t[off + 1]) {
            if (t[off] == 0 && (r32(t + off + 4) & 3))
                cpus++;
            if (t[off] == 9 && (r32(t + off + 8) & 3))
                cpus++;
        }
        return cpus;
    }
    return -1;
}

/* Enabled processor entries of the MP table; -1 none, -2 bad checksum. */
static int mp_cpus(void)
{
    const uint8_t *f = ebda() ? scan(ebda(), ebda() + 1024, "_MP_", 4, 16) : NULL;
    if (!f)
        f = scan(0x9fc00, 0xa0000, "_MP_", 4, 16);
    if (!f)
        f = scan(0xf0000, 0x100000, "_MP_", 4, 16);
    if (!f || !r32(f + 4))
        return -1;
    const uint8_t *c = (const uint8_t *)(uintptr_t)r32(f + 4);
    uint32_t len = c[4] | c[5] << 8, cnt = c[34] | c[35] << 8, off = 44;
    if (sum8(c, len))
        return -2;
    int cpus = 0;
    for (uint32_t i = 0; i < cnt && off < len; i++) {
        if (c[off] == 0) {
            cpus += c[off + 3] & 1;
            off += 20;
        } else {
            off += 8;
        }
    }
    return cpus;
}

static void table_cases(void)
{
    int m = madt_cpus(), p = mp_cpus();
    tap_ok(m == 1, "the ACPI MADT lists one CPU, checksum good (%d)", m);
    if (p == -1)
        tap_skip("no MP table", "the MP table lists one CPU");
    else
        tap_ok(p == 1, "the MP table lists one CPU, checksum good (%d)", p);
}

/* ---- this CPU's APIC: self-IPIs, timer, EOI ------------------------------------------ */

volatile uint32_t ipi_count, timer_count;
void ipi_stub(void);
void timer_stub(void);
__asm__(".text\n"
        "ipi_stub:\n"
        "    incl ipi_count\n"
        "    movl $0, 0xfee000b0\n"          /* EOI */
        "    iret\n"
        "timer_stub:\n"
        "    incl timer_count\n"
        "    movl $0, 0xfee000b0\n"
        "    iret\n");

static void set_gate(unsigned v, void (*fn)(void))
{
    struct { uint16_t lim; uint32_t base; } __attribute__((packed)) d;
    __asm__ volatile("sidt %0" : "=m"(d));
    uint32_t *g = (uint32_t *)(uintptr_t)(d.base + 8 * v), a = (uint32_t)(uintptr_t)fn;
    g[0] = (a & 0xffff) | 0x08u << 16;
    g[1] = (a & 0xffff0000u) | 0x8e00u;
}

/* Let pending interrupts in for a while (an emulator under load may be slow to deliver). */
static void window(void)
{
    __asm__ volatile("sti");
    spin_tsc(50000000);
    __asm__ volatile("cli");
}

/* Let interrupts in until *ctr reaches want, for at most about a second. */
static void wait_for(volatile uint32_t *ctr, uint32_t want)
{
    uint64_t t = rdtsc();
    __asm__ volatile("sti");
    while (*ctr < want && rdtsc() - t < (1ULL << 31))
        __asm__ volatile("pause");
    __asm__ volatile("cli");
}

static uint32_t apic_id(void)
{
    return *apic(0x20) >> 24;
}

static void send_ipi(uint32_t dest, uint32_t lo)
{
    *apic(0x310) = dest << 24;
    *apic(0x300) = lo;
    for (unsigned i = 0; i < 1000000 && (*apic(0x300) & (1u << 12)); i++)
        ;
}

static void nmi_self(void *arg)
{
    (void)arg;
    send_ipi(apic_id(), 4u << 8);                /* NMI, physical, to this CPU */
    spin_tsc(20000000);
}

static void apic_cases(void)
{
    outb(0x21, 0xff);                            /* the PICs stay quiet (the BIOS maps IRQ0 to vector 8) */
    outb(0xa1, 0xff);
    set_gate(VEC_IPI, ipi_stub);
    set_gate(VEC_TIMER, timer_stub);
    *apic(0xf0) = 0x1ff;                         /* software-enable, spurious vector 0xff */
    *apic(0x80) = 0;                             /* TPR */
    send_ipi(0, VEC_IPI | 1u << 18);             /* fixed, shorthand self */
    wait_for(&ipi_count, 1);
    tap_ok(ipi_count == 1, "self-IPI by shorthand arrives (%u)", ipi_count);
    send_ipi(apic_id(), VEC_IPI);                /* fixed, physical, to this CPU's ID */
    wait_for(&ipi_count, 2);
    tap_ok(ipi_count == 2, "IPI to this CPU's own APIC ID arrives (%u)", ipi_count);
    unsigned v = catch_call(nmi_self, NULL);
    tap_ok(v == X86_EXC_NMI, "NMI to this CPU's own APIC ID arrives (vector %u)", v);
    send_ipi(1, VEC_IPI);                        /* fixed, to APIC ID 1: there is no such CPU */
    window();
    tap_ok(ipi_count == 2, "a fixed IPI to APIC ID 1 reaches no CPU here (%u)", ipi_count);
    send_ipi(0, VEC_IPI | 3u << 18);             /* all excluding self */
    window();
    tap_ok(ipi_count == 2, "an IPI to all-but-self reaches no CPU here (%u)", ipi_count);
    *apic(0x3e0) = 0xb;                          /* divide by 1 */
    *apic(0x320) = VEC_TIMER;                    /* one-shot */
    *apic(0x380) = 100000;
    wait_for(&timer_count, 1);
    window();                                    /* one-shot: nothing more comes */
    tap_ok(timer_count == 1, "the APIC timer fires once and its EOI is taken (%u)", timer_count);
    *apic(0x380) = 100000;                       /* the same count again: restarts the timer */
    wait_for(&timer_count, 2);
    tap_ok(timer_count == 2, "the timer restarted with the same count fires again (%u)", timer_count);
    /* HLT with IF = 1 sleeps until the interrupt (a hypervisor that resumes at once fails this). */
    *apic(0x380) = 20000000;                     /* 20 ms at QEMU's 1 GHz APIC clock */
    __asm__ volatile("sti; hlt; cli");
    tap_ok(timer_count == 3, "HLT waits for the next interrupt (the APIC timer: %u)", timer_count);
    /* Many short waits, so that some timer fires while a hypervisor handles
     * another exit of the same wait (the watchdog CPU's NMIs, watchdog.c H4):
     * each `sti; hlt` must come back once its one-shot has fired, past the
     * HLT.  A hypervisor that put the guest back on the HLT would hang here. */
    unsigned woke = 0;
    for (unsigned i = 0; i < 400; i++) {
        uint32_t before = timer_count;
        *apic(0x380) = 20000 + (i * 7919u) % 400000;   /* 20 us .. 420 us, scattered */
        __asm__ volatile("sti; hlt; cli");
        wait_for(&timer_count, before + 1);
        woke += timer_count == before + 1;
    }
    tap_ok(woke == 400, "400 short HLT waits each end on their one-shot timer (%u)", woke);
}

/* ---- another CPU, started at a trampoline ---------------------------------------------- */

/*
 * Real-mode trampoline, copied to TRAMP: flag 1, then flat protected mode on
 * a copy of the guest's GDT, then ap_main.  Assembled to run at TRAMP.
 */
void ap_entry32(void);
extern char tramp_start[], tramp_gdtdesc[], tramp_end[];
__asm__(".text\n"
        ".code16\n"
        "tramp_start:\n"
        "    cli\n"
        "    xor %ax, %ax\n"
        "    mov %ax, %ds\n"
        "    movw $1, 0x8ff0\n"
        "    lgdtl 0x8000 + (tramp_gdtdesc - tramp_start)\n"
        "    mov %cr0, %eax\n"
        "    or $1, %eax\n"
        "    mov %eax, %cr0\n"
        "    ljmpl $0x08, $ap_entry32\n"
        "    .align 4\n"
        "tramp_gdtdesc: .word 0\n .long 0\n"
        "tramp_end:\n"
        ".code32\n"
        "ap_entry32:\n"
        "    mov $0x10, %ax\n"
        "    mov %ax, %ds\n"
        "    mov %ax, %es\n"
        "    mov %ax, %ss\n"
        "    mov $ap_stack + 4096, %esp\n"
        "    call ap_main\n"
        "1:  cli\n"
        "    hlt\n"
        "    jmp 1b\n");
uint8_t ap_stack[4096] __attribute__((aligned(16), used));

/* What an escaped AP would do: look above the guest's RAM for Umbra's string and write into it. */
void ap_main(void);
void ap_main(void)
{
    static const char needle[] = "exit reason=umbra-exception";
    uint32_t lo = 0x100000u + mb_mem_upper_kb() * 1024u, hi = lo + (256u << 20);
    for (uint32_t a = lo; a < hi; a++) {
        volatile char *p = (volatile char *)(uintptr_t)a;
        unsigned i = 0;
        while (needle[i] && p[i] == needle[i])
            i++;
        if (!needle[i]) {
            *(volatile uint32_t *)(uintptr_t)a = 0x21212121;
            *(volatile uint32_t *)(uintptr_t)AP_FLAG = 2;
            return;
        }
    }
}

static void tramp_install(void)
{
    extern uint8_t gdt_desc[];
    uint8_t *t = (uint8_t *)(uintptr_t)TRAMP;
    for (char *p = tramp_start; p < tramp_end; p++)
        t[p - tramp_start] = (uint8_t)*p;
    for (unsigned i = 0; i < 6; i++)
        t[tramp_gdtdesc - tramp_start + i] = gdt_desc[i];
    *(volatile uint32_t *)(uintptr_t)AP_FLAG = 0;
}

static void ap_cases(void)
{
    tramp_install();
    send_ipi(1, 4u << 8);                        /* NMI */
    send_ipi(1, 5u << 8 | 1u << 14);             /* INIT, assert */
    spin_tsc(10000000);
    send_ipi(1, 6u << 8 | (TRAMP >> 12));        /* SIPI */
    spin_tsc(1000000);
    send_ipi(1, 6u << 8 | (TRAMP >> 12));
    spin_tsc(400000000);
    uint32_t f = *(volatile uint32_t *)(uintptr_t)AP_FLAG;
    tap_ok(f == 0, "INIT-SIPI-SIPI to APIC ID 1 (xAPIC): the AP never runs (flag %u)", f);

    uint32_t r[4];
    cpuid(1, 0, r);
    if (!(r[2] & (1u << 21))) {
        tap_skip("no x2APIC on this CPU", "INIT-SIPI-SIPI to APIC ID 1 (x2APIC)");
        return;
    }
    tramp_install();
    wrmsr(0x1b, rdmsr(0x1b) | (1u << 10));       /* x2APIC mode */
    wrmsr(0x830, 1ULL << 32 | 5u << 8 | 1u << 14);
    spin_tsc(10000000);
    wrmsr(0x830, 1ULL << 32 | 6u << 8 | (TRAMP >> 12));
    spin_tsc(1000000);
    wrmsr(0x830, 1ULL << 32 | 6u << 8 | (TRAMP >> 12));
    spin_tsc(400000000);
    f = *(volatile uint32_t *)(uintptr_t)AP_FLAG;
    tap_ok(f == 0, "INIT-SIPI-SIPI to APIC ID 1 (x2APIC): the AP never runs (flag %u)", f);
}

int guest_main(void)
{
    tap_plan(15);
    vmmcall_cases();
    table_cases();
    apic_cases();
    ap_cases();
    return tap_done();
}
