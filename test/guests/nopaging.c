/*
 * Paging-off suite: flat protected mode with CR0.PG=0.  Linear = physical,
 * no page protection (CPL 3 may read, write and execute anything the
 * segments allow; CR0.WP and EFER.NXE change nothing), and switching paging
 * on and off changes what an address means.  Under Umbra this runs on the
 * identity shadow of "paged protected mode".
 */
#include "lib/pt.h"

#define LOW_MB 8
#define HIGH_MB 56       /* what a guest under Umbra on a 128 MiB machine keeps */

static void sweep(void)
{
    /* Every MiB from 8 to 56: a CPL 0 and a CPL 3 write and read. */
    for (unsigned mb = LOW_MB; mb < HIGH_MB; mb += 1) {
        uint32_t pa = mb << 20 | (mb & 0xff) << 4;
        volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)pa;
        *p = 0x11110000u | mb;
        bool ok = probe(0, OP_READ, pa) == EXC_NONE && (uint32_t)probe_value == (0x11110000u | mb);
        tap_ok(ok, "nopaging cpl0 read %u MiB", mb);
        ok = probe(3, OP_WRITE, pa) == EXC_NONE && *p == PROBE_FILL;
        tap_ok(ok, "nopaging cpl3 write %u MiB", mb);
        ok = probe(3, OP_READ, pa) == EXC_NONE;
        tap_ok(ok, "nopaging cpl3 read %u MiB", mb);
    }
}

/*
 * Identity everywhere: a distinct word every 128 KiB from 8 to 56 MiB
 * (at a different offset in each page), all written first, then each read
 * back (the value at CPL 0, the access at CPL 3 too).  A misrouted or aliased frame -- under Umbra, a
 * physical-mode shadow entry pointing at the wrong host frame -- shows up as
 * a wrong value somewhere in the second pass.
 */
#define ID_STEP (128u << 10)
static uint32_t id_word(uint32_t pa) { return 0x1d000000u ^ (pa >> 7) ^ (pa << 13); }
static uint32_t id_addr(uint32_t base) { return base + ((base >> 17) % 1023u) * 4u; }

static void identity(void)
{
    for (uint32_t b = LOW_MB << 20; b < (uint32_t)HIGH_MB << 20; b += ID_STEP)
        *(volatile uint32_t *)(uintptr_t)id_addr(b) = id_word(id_addr(b));
    for (uint32_t b = LOW_MB << 20; b < (uint32_t)HIGH_MB << 20; b += ID_STEP) {
        uint32_t pa = id_addr(b);
        bool ok = probe(0, OP_READ, pa) == EXC_NONE && (uint32_t)probe_value == id_word(pa) &&
                  probe(3, OP_READ, pa) == EXC_NONE;
        tap_ok(ok, "nopaging identity: the word at 0x%x reads back (cpl 0 value, cpl 3 access)", pa);
    }
}

static void no_protection(void)
{
    target_fill();
    for (int wp = 0; wp <= 1; wp++) {
        write_cr0(wp ? read_cr0() | X86_CR0_WP : read_cr0() & ~X86_CR0_WP);
        for (int cpl = 0; cpl <= 3; cpl += 3)
            for (int op = 0; op < 3; op++) {
                unsigned v = probe(cpl, op, TARGET_PA);
                tap_ok(v == EXC_NONE, "nopaging no protection: cpl%d %c wp%d at %x", cpl,
                       "RWX"[op], wp, TARGET_PA);
            }
    }
    /* The runtime's own kernel data is not protected from CPL 3 either. */
    extern char __kernel_end[];
    unsigned v = probe(3, OP_READ, (ureg_t)__kernel_end - 64);
    tap_ok(v == EXC_NONE, "nopaging cpl3 reads kernel memory");
    if (cpu_has.nx) {
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
        v = probe(0, OP_FETCH, TARGET_PA);
        tap_ok(v == EXC_NONE, "nopaging efer.nxe=1 without paging: fetch works");
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_NXE);
    }
}

/* Paging on with VA 6 MiB remapped to another frame, then off again. */
static void toggles(void)
{
    static const struct pmode *modes[] = { &pm_2level, &pm_pae };
    mark_fill(8);
    for (unsigned i = 0; i < 2; i++) {
        const struct pmode *m = modes[i];
        for (int round = 0; round < 4; round++) {
            uint64_t root = pt_new_space(m);
            /* MARK_PA(0) is inside the identity map: point it at MARK_PA(1+round). */
            pte_set(m, pt_slot(m, root, MARK_PA(0), 0, true), MARK_PA(1 + round) | _PAGE_PRESENT);
            paging_enable(m, root);
            uint32_t v = 0;
            bool ok = peek(MARK_PA(0), &v) && v == MARK(1 + round);
            write_cr0(read_cr0() & ~X86_CR0_PG);
            write_cr4(read_cr4() & ~(X86_CR4_PAE | X86_CR4_PSE));
            uint32_t w = 0;
            bool ok2 = peek(MARK_PA(0), &w) && w == MARK(0);
            tap_ok(ok, "nopaging toggle %s round %d: paging on remaps", m->name, round);
            tap_ok(ok2, "nopaging toggle %s round %d: paging off is physical again", m->name, round);
            pt_free_space(m, root);
        }
    }
}

void realmode_run(void);

/* Protected -> real -> protected, with checks on what real mode did. */
static void realmode(int round)
{
    volatile uint16_t *d = (volatile uint16_t *)0x7800;
    for (int i = 0; i < 8; i++)
        d[i] = 0;
    realmode_run();
    tap_ok(d[0] == 0x1234, "realmode %d: store through a real-mode segment (ds=0x780)", round);
    tap_ok(d[1] == 0xbeef, "realmode %d: near call and return on a real-mode stack", round);
    tap_ok(!(d[2] & 1), "realmode %d: cr0.pe reads 0 in real mode", round);
    tap_ok(d[3] == 0x5678, "realmode %d: es=0x700:0x806 is the same linear byte", round);
    tap_ok(d[4] == 0x0700, "realmode %d: cs=0x700 after the far jump", round);
    tap_ok(d[5] == 5050, "realmode %d: loop arithmetic", round);
    tap_ok((read_cr0() & X86_CR0_PE) != 0, "realmode %d: back in protected mode", round);
}

int guest_main(void)
{
    if (mb_mem_upper_kb() < (HIGH_MB - 1) * 1024u)
        tap_bail("nopaging needs 56 MiB of RAM");
    tap_diag("nopaging: cr0 %lx", (unsigned long)read_cr0());
    tap_ok(!(read_cr0() & X86_CR0_PG) && (read_cr0() & X86_CR0_PE), "nopaging: protected mode, paging off");
    sweep();
    identity();
    no_protection();
    toggles();
    for (int i = 0; i < 3; i++)
        realmode(i);
    unsigned v = probe(3, OP_INVLPG, 0x1000);
    tap_ok(v == X86_EXC_GP && exc_last.err == 0, "nopaging priv: invlpg at cpl3 -> #GP(0)");
    v = probe(3, OP_CR3, read_cr3());
    tap_ok(v == X86_EXC_GP && exc_last.err == 0, "nopaging priv: mov to cr3 at cpl3 -> #GP(0)");
    return tap_done();
}
