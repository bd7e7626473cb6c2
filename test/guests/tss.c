/*
 * Hardware task switches (AMD APM vol. 2, 12.3), in PAE and 2-level paging:
 * two tasks with their own CR3s besides the main one, reached by JMP far to
 * a TSS, CALL far + IRET (NT / back-link), INT n through a task gate, an
 * exception with an error code (#GP) through a task gate, and the faults a
 * bad target raises (#TS for a TSS limit < 0x67, #NP, #GP for a busy TSS).
 * After each switch the suite checks the registers each side saw and saved,
 * CR3 (each task's TVA maps a different marker frame), busy bits, NT,
 * the back-link and CR0.TS.  Under Umbra every one of these switches is an
 * intercepted task switch it emulates (src/svm/taskswitch.c).
 *
 * A fault while loading the new task's segments comes after the switch's
 * commit point: a CALL to a task whose TSS names a DS beyond the GDT gives
 * #TS(DS) in the new task (TR, CR3 and the back-link are already the new
 * task's); the suite then puts the main task back with LTR.
 *
 * Selectors: 0x28 the runtime's TSS (main task), 0x30 task A, 0x38 task G
 * (the gate task), 0x40 a TSS with limit 0x50, 0x48 a TSS not present,
 * 0x50 task X (bad DS).
 */
#include "lib/guest.h"
#include "lib/pt.h"

#define TVA       0x40000000u
#define SEL_MAIN  0x28
#define SEL_A     0x30
#define SEL_G     0x38
#define SEL_BAD   0x40
#define SEL_NP    0x48
#define SEL_X     0x50      /* a task whose TSS names a bad DS */
#define BAD_DS    0x7f8     /* beyond the GDT limit */
#define NGDT      16
#define VEC_INT   0x41
#define EFL_NT    (1u << 14)

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

extern uint64_t gdt[];
static uint64_t gdt2[NGDT] __attribute__((aligned(8)));
static struct tss32 tss_a __attribute__((aligned(128)));
static struct tss32 tss_g __attribute__((aligned(128)));
static struct tss32 tss_bad __attribute__((aligned(128)));
static struct tss32 tss_x __attribute__((aligned(128)));
static struct tss32 *tss_main;
static uint8_t stack_a[4096] __attribute__((aligned(16)));
static uint8_t stack_g[4096] __attribute__((aligned(16)));
static uint8_t stack_x[4096] __attribute__((aligned(16)));

/* What task A saw: its registers at first entry, then per run. */
volatile uint32_t a_regs[8], a_cr3, a_val, a_eflags, a_runs, a_mode;
volatile uint16_t a_tr;
/* What task G saw. */
volatile uint32_t g_cr3, g_val, g_eflags, g_runs, g_has_err, g_err, g_link;
volatile uint16_t g_tr;

static const uint32_t a_init[8] = { 0xa0a0a0a0, 0xa1a1a1a1, 0xa2a2a2a2, 0xa3a3a3a3,
                                    0, 0xa5a5a5a5, 0xa6a6a6a6, 0xa7a7a7a7 };

static inline uint32_t eflags(void)
{
    uint32_t f;
    __asm__ volatile("pushf; pop %0" : "=r"(f));
    return f;
}
static inline uint16_t str(void)
{
    uint16_t s;
    __asm__ volatile("str %0" : "=r"(s));
    return s;
}
static unsigned dtype(unsigned sel) { return (unsigned)(gdt2[sel >> 3] >> 40) & 0xf; }

void task_a_loop(void);
void task_a_loop(void)
{
    for (;;) {
        a_cr3 = (uint32_t)read_cr3();
        a_val = *(volatile uint32_t *)TVA;
        a_eflags = eflags();
        a_tr = str();
        a_runs++;
        if (a_mode)
            __asm__ volatile("iret" ::: "memory");
        else
            __asm__ volatile("ljmp $0x28, $0" ::: "memory");
    }
}

void task_g_body(uint32_t *sp);
void task_g_body(uint32_t *sp)
{
    g_cr3 = (uint32_t)read_cr3();
    g_val = *(volatile uint32_t *)TVA;
    g_eflags = eflags();
    g_tr = str();
    g_link = tss_g.link;
    g_err = g_has_err ? sp[0] : 0;
    if (g_has_err)
        tss_main->eip += 2;          /* skip the faulting `mov %eax, %ds` (8E D8) */
    g_runs++;
}

/* Task entry points: A records its registers; G loops handling one event per entry. */
__asm__(
    "    .text\n"
    "task_a_entry:\n"
    "    mov %eax, a_regs\n    mov %ecx, a_regs+4\n    mov %edx, a_regs+8\n"
    "    mov %ebx, a_regs+12\n    mov %esp, a_regs+16\n    mov %ebp, a_regs+20\n"
    "    mov %esi, a_regs+24\n    mov %edi, a_regs+28\n"
    "    call task_a_loop\n"
    "task_g_entry:\n"
    "1:  push %esp\n"
    "    call task_g_body\n"
    "    add $4, %esp\n"
    "    cmpl $0, g_has_err\n"
    "    je 2f\n"
    "    add $4, %esp\n"
    "2:  iret\n"
    "    jmp 1b\n");
extern char task_a_entry[], task_g_entry[];

static uint64_t tss_desc(const void *base, uint32_t lim, bool present)
{
    uint32_t b = (uint32_t)(uintptr_t)base;
    return (uint64_t)(lim & 0xffff) | ((uint64_t)(b & 0xffffff) << 16) |
           ((present ? 0x89ULL : 0x09ULL) << 40) | ((uint64_t)((lim >> 16) & 0xf) << 48) |
           ((uint64_t)(b >> 24) << 56);
}

static void tss_init(struct tss32 *t, void *entry, uint8_t *stack, uint32_t cr3)
{
    gmemset(t, 0, sizeof(*t));
    t->cr3 = cr3;
    t->eip = (uint32_t)(uintptr_t)entry;
    t->eflags = 0x2;
    t->esp = (uint32_t)(uintptr_t)(stack + 4096);
    t->cs = 0x08;
    t->ss = t->ds = t->es = t->fs = t->gs = 0x10;
    t->iomap = sizeof(*t);
}

static struct gate32 *idt_base(void)
{
    struct { uint16_t lim; uint32_t base; } __attribute__((packed)) d;
    __asm__ volatile("sidt %0" : "=m"(d));
    return (struct gate32 *)(uintptr_t)d.base;
}

/* Saved by the switch away from the main task; what the main task held. */
struct regs_seen { uint32_t si, di, bp_unused; };

/* JMP far to `sel` with ESI/EDI holding known values; the task comes back by JMP to 0x28. */
__attribute__((noinline)) static void jmp_task(uint16_t sel, struct regs_seen *r)
{
    struct { uint32_t off; uint16_t sel; } __attribute__((packed)) fp = { 0, sel };
    uint32_t si = 0x51515151, di = 0xd1d1d1d1;
    __asm__ volatile("ljmp *%2\n.globl after_ljmp\nafter_ljmp:"
                     : "+S"(si), "+D"(di) : "m"(fp) : "memory", "eax", "ecx", "edx");
    r->si = si;
    r->di = di;
}
__attribute__((noinline)) static void call_task(uint16_t sel, struct regs_seen *r)
{
    struct { uint32_t off; uint16_t sel; } __attribute__((packed)) fp = { 0, sel };
    uint32_t si = 0x52525252, di = 0xd2d2d2d2;
    __asm__ volatile("lcall *%2\n.globl after_lcall\nafter_lcall:"
                     : "+S"(si), "+D"(di) : "m"(fp) : "memory", "eax", "ecx", "edx");
    r->si = si;
    r->di = di;
}
extern char after_ljmp[], after_lcall[];

static void bad_jmp(void *arg)
{
    struct { uint32_t off; uint16_t sel; } __attribute__((packed)) fp = { 0, (uint16_t)(uintptr_t)arg };
    __asm__ volatile("ljmp *%0" :: "m"(fp) : "memory");
}

static void bad_call(void *arg)
{
    struct { uint32_t off; uint16_t sel; } __attribute__((packed)) fp = { 0, (uint16_t)(uintptr_t)arg };
    __asm__ volatile("lcall *%0\n.globl after_bad_lcall\nafter_bad_lcall:" :: "m"(fp) : "memory");
}
extern char after_bad_lcall[];

static void clts(void) { __asm__ volatile("clts" ::: "memory"); }

static void run_mode(const struct pmode *m)
{
    const char *n = m->name;
    unsigned failed0 = tap_failed();
    uint64_t r1 = pt_new_space(m), r2 = pt_new_space(m), r3 = pt_new_space(m);
    pt_map(m, r1, TVA, MARK_PA(1), 0x1000, _PAGE_PRESENT | _PAGE_RW);
    pt_map(m, r2, TVA, MARK_PA(2), 0x1000, _PAGE_PRESENT | _PAGE_RW);
    pt_map(m, r3, TVA, MARK_PA(3), 0x1000, _PAGE_PRESENT | _PAGE_RW);
    if (read_cr0() & X86_CR0_PG)
        write_cr0(read_cr0() & ~X86_CR0_PG);
    paging_enable(m, r1);
    tss_main->cr3 = (uint32_t)r1;
    tss_init(&tss_a, task_a_entry, stack_a, (uint32_t)r2);
    tss_a.eax = a_init[0]; tss_a.ecx = a_init[1]; tss_a.edx = a_init[2]; tss_a.ebx = a_init[3];
    tss_a.ebp = a_init[5]; tss_a.esi = a_init[6]; tss_a.edi = a_init[7];
    tss_init(&tss_g, task_g_entry, stack_g, (uint32_t)r3);
    gdt2[SEL_A >> 3] = tss_desc(&tss_a, 0x67, true);
    gdt2[SEL_G >> 3] = tss_desc(&tss_g, 0x67, true);
    a_runs = g_runs = 0;
    clts();

    /* ---- JMP far to a TSS, and JMP back ---- */
    struct regs_seen rs;
    a_mode = 0;
    jmp_task(SEL_A, &rs);
    bool first = a_runs == 1;
    tap_ok(first, "%s jmp: task A ran once", n);
    bool regs_ok = true;
    for (unsigned i = 0; i < 8; i++)
        if (i != 4 && a_regs[i] != a_init[i])
            regs_ok = false;
    tap_ok(regs_ok && a_regs[4] == (uint32_t)(uintptr_t)(stack_a + 4096),
           "%s jmp: task A starts with the GPRs and ESP of its TSS", n);
    tap_ok(a_cr3 == (uint32_t)r2 && a_val == MARK(2), "%s jmp: task A runs on its CR3", n);
    tap_ok(!(a_eflags & EFL_NT) && a_tr == SEL_A, "%s jmp: task A has NT=0 and TR=A", n);
    tap_ok(read_cr3() == r1 && *(volatile uint32_t *)TVA == MARK(1),
           "%s jmp back: main CR3 reloaded from its TSS", n);
    tap_ok(rs.si == 0x51515151 && rs.di == 0xd1d1d1d1, "%s jmp back: main GPRs restored", n);
    tap_ok(tss_main->esi == 0x51515151 && tss_main->edi == 0xd1d1d1d1 &&
           tss_main->eip == (uint32_t)(uintptr_t)after_ljmp,
           "%s jmp: old TSS holds main's ESI/EDI and the EIP after the JMP", n);
    tap_ok(dtype(SEL_A) == 0x9 && dtype(SEL_MAIN) == 0xB && str() == SEL_MAIN,
           "%s jmp back: A available, main busy", n);
    tap_ok(read_cr0() & X86_CR0_TS, "%s jmp: CR0.TS set by the switch", n);
    tap_ok(tss_a.link == 0, "%s jmp: no back-link written", n);
    clts();

    /* ---- CALL far + IRET back (NT, back-link) ---- */
    a_mode = 1;
    call_task(SEL_A, &rs);
    tap_ok(a_runs == 2, "%s call: task A resumed after its JMP", n);
    tap_ok(a_cr3 == (uint32_t)r2 && a_val == MARK(2), "%s call: task A on its CR3", n);
    tap_ok((a_eflags & EFL_NT) && a_tr == SEL_A, "%s call: task A has NT=1", n);
    tap_ok(tss_a.link == SEL_MAIN, "%s call: back-link to main in A's TSS", n);
    tap_ok(!(tss_a.eflags & EFL_NT), "%s iret: saved EFLAGS of A has NT cleared", n);
    tap_ok(!(eflags() & EFL_NT) && str() == SEL_MAIN, "%s iret: main back with NT=0", n);
    tap_ok(read_cr3() == r1 && *(volatile uint32_t *)TVA == MARK(1), "%s iret: main CR3 back", n);
    tap_ok(rs.si == 0x52525252 && rs.di == 0xd2d2d2d2 &&
           tss_main->eip == (uint32_t)(uintptr_t)after_lcall, "%s call: main GPRs and EIP saved", n);
    tap_ok(dtype(SEL_A) == 0x9 && dtype(SEL_MAIN) == 0xB,
           "%s iret: A available again, main still busy", n);
    tap_ok(read_cr0() & X86_CR0_TS, "%s iret: CR0.TS set", n);
    clts();

    /* ---- INT n through a task gate ---- */
    struct gate32 *idt = idt_base();
    struct gate32 save_int = idt[VEC_INT], save_gp = idt[X86_EXC_GP];
    idt[VEC_INT] = (struct gate32){ 0, SEL_G, 0, 0x85, 0 };
    g_has_err = 0;
    __asm__ volatile("int $0x41" ::: "memory");
    tap_ok(g_runs == 1 && g_cr3 == (uint32_t)r3 && g_val == MARK(3),
           "%s int gate: task G ran on its CR3", n);
    tap_ok((g_eflags & EFL_NT) && g_tr == SEL_G && g_link == SEL_MAIN, "%s int gate: NT=1, back-link", n);
    tap_ok(read_cr3() == r1 && str() == SEL_MAIN && dtype(SEL_G) == 0x9,
           "%s int gate: IRET back to main, G available", n);

    /* ---- #GP with an error code through a task gate ---- */
    idt[X86_EXC_GP] = (struct gate32){ 0, SEL_G, 0, 0x85, 0 };
    g_has_err = 1;
    __asm__ volatile("mov %0, %%ds\n\tmov %1, %%ds" :: "a"(0x1230u), "r"(0x10u) : "memory");
    idt[X86_EXC_GP] = save_gp;
    idt[VEC_INT] = save_int;
    tap_ok(g_runs == 2 && g_err == 0x1230, "%s #GP task gate: error code on the new task's stack", n);
    tap_ok(g_cr3 == (uint32_t)r3 && (g_eflags & EFL_NT) && g_link == SEL_MAIN,
           "%s #GP task gate: G on its CR3 with NT=1 and back-link", n);
    tap_ok(read_cr3() == r1 && str() == SEL_MAIN && dtype(SEL_G) == 0x9 && dtype(SEL_MAIN) == 0xB,
           "%s #GP task gate: back in main", n);
    clts();

    /* ---- faults of a bad target: raised in the old task, nothing changed ---- */
    unsigned v = catch_call(bad_jmp, (void *)SEL_BAD);
    tap_ok(v == X86_EXC_TS && exc_last.err == SEL_BAD, "%s jmp to a TSS with limit 0x50: #TS(sel)", n);
    tap_ok(str() == SEL_MAIN && dtype(SEL_BAD) == 0x9 && dtype(SEL_MAIN) == 0xB && read_cr3() == r1 &&
           !(read_cr0() & X86_CR0_TS), "%s #TS: no switch happened", n);
    v = catch_call(bad_jmp, (void *)SEL_NP);
    tap_ok(v == X86_EXC_NP && exc_last.err == SEL_NP, "%s jmp to a not-present TSS: #NP(sel)", n);
    v = catch_call(bad_jmp, (void *)SEL_MAIN);
    tap_ok(v == X86_EXC_GP && exc_last.err == SEL_MAIN, "%s jmp to the busy current TSS: #GP(sel)", n);
    tap_ok(str() == SEL_MAIN && read_cr3() == r1, "%s after the faults: still main", n);

    /* ---- a bad segment in the new TSS: #TS after the commit point ---- */
    tss_init(&tss_x, task_a_entry, stack_x, (uint32_t)r3);
    tss_x.ds = BAD_DS;
    gdt2[SEL_X >> 3] = tss_desc(&tss_x, 0x67, true);
    v = catch_call(bad_call, (void *)SEL_X);
    uint16_t tr_after = str();
    uint32_t cr3_after = (uint32_t)read_cr3();
    tap_ok(v == X86_EXC_TS && exc_last.err == BAD_DS, "%s call to a task with a bad DS: #TS(DS)", n);
    tap_ok(tr_after == SEL_X && cr3_after == (uint32_t)r3, "%s bad DS: raised with the new task's TR and CR3", n);
    /*
     * APM 12.3: past the commit point the fault belongs to the new task, so
     * it reports the new task's EIP (Bochs does).  QEMU 7.2 TCG reports the
     * CALL's EIP; it never intercepts the switch, so under a hypervisor on
     * QEMU the guest sees the same.  Under a hypervisor the guest cannot tell
     * QEMU from hardware: checked bare and under Umbra in Bochs only.
     */
    if (emu_detect() != EMU_BOCHS && (emu_bare_qemu() || emu_under_hypervisor()))
        tap_skip("emulator bug: QEMU TCG reports the old task's EIP for a fault after the commit point",
                 "%s bad DS: the fault's EIP is the new task's", n);
    else
        tap_ok(exc_last.ip == tss_x.eip, "%s bad DS: the fault's EIP is the new task's", n);
    tap_ok(tss_x.link == SEL_MAIN && dtype(SEL_X) == 0xB && dtype(SEL_MAIN) == 0xB,
           "%s bad DS: back-link written, both tasks busy", n);
    tap_ok(tss_main->eip == (uint32_t)(uintptr_t)after_bad_lcall, "%s bad DS: main's EIP saved after the CALL", n);
    if (tap_failed() != failed0)
        tap_diag("%s: bad DS: vector %u err %x ip %x tr %x cr3 %x", n, v, (unsigned)exc_last.err,
                 (unsigned)exc_last.ip, tr_after, cr3_after);
    /* Put the main task back: both descriptors available, LTR marks main busy. */
    gdt2[SEL_X >> 3] &= ~(1ULL << 41);
    gdt2[SEL_MAIN >> 3] &= ~(1ULL << 41);
    __asm__ volatile("ltr %w0" :: "r"(SEL_MAIN) : "memory");
    write_cr3(r1);
    clts();
    tap_ok(str() == SEL_MAIN && read_cr3() == r1 && *(volatile uint32_t *)TVA == MARK(1),
           "%s back in main after LTR", n);
    if (tap_failed() != failed0) {
        tap_diag("%s: roots %x %x %x; A saw cr3=%x val=%x eflags=%x tr=%x runs=%u", n, (unsigned)r1,
                 (unsigned)r2, (unsigned)r3, a_cr3, a_val, a_eflags, a_tr, a_runs);
        tap_diag("%s: G saw cr3=%x val=%x eflags=%x tr=%x link=%x err=%x runs=%u", n, g_cr3, g_val,
                 g_eflags, g_tr, g_link, g_err, g_runs);
        tap_diag("%s: main tss eip=%x esi=%x edi=%x; A link=%x eflags=%x; types main %x A %x G %x",
                 n, tss_main->eip, tss_main->esi, tss_main->edi, tss_a.link, tss_a.eflags,
                 dtype(SEL_MAIN), dtype(SEL_A), dtype(SEL_G));
    }
}

int guest_main(void)
{
    mark_fill(8);
    /* A GDT with room for the test's TSSs: the runtime's six entries first. */
    for (unsigned i = 0; i < 6; i++)
        gdt2[i] = gdt[i];
    gdt2[SEL_BAD >> 3] = tss_desc(&tss_bad, 0x50, true);
    gdt2[SEL_NP >> 3] = tss_desc(&tss_bad, 0x67, false);
    struct { uint16_t lim; uint32_t base; } __attribute__((packed)) d = { sizeof(gdt2) - 1, (uint32_t)gdt2 };
    __asm__ volatile("lgdt %0" :: "m"(d) : "memory");
    uint64_t m = gdt2[SEL_MAIN >> 3];
    tss_main = (struct tss32 *)(uintptr_t)(((m >> 16) & 0xffffff) | ((m >> 32) & 0xff000000));
    tap_diag("tss: main TSS at %p, type %x", (void *)tss_main, dtype(SEL_MAIN));

    run_mode(&pm_pae);
    run_mode(&pm_2level);
    return tap_done();
}
