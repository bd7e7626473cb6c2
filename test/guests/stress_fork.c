/*
 * Fork/exit storm (PAE): a parent address space with a 64-page image is
 * "forked" 600 times -- each child gets its own PDPT/PD/PT copies mapping
 * the image read-only (as copy-on-write would) plus a private page -- with
 * up to 8 children alive at once, each run (switched to), checked and
 * destroyed.  What a shadow pager sees: hundreds of address spaces built,
 * switched to once or twice and torn down.
 */
#include "lib/pt.h"

#define IMG_VA 0x40000000u
#define IMG_PAGES 64
#define PRIV_VA (IMG_VA + IMG_PAGES * 0x1000u)
#define FORKS 600
#define LIVE 8

static const uint64_t P = _PAGE_PRESENT, RW = _PAGE_RW, US = _PAGE_USER;

static uint64_t fork_space(unsigned child)
{
    uint64_t r = pt_new_space(&pm_pae);
    pt_map(&pm_pae, r, IMG_VA, MARK_PA(0), IMG_PAGES * 0x1000u, P | US);      /* read-only */
    pt_map(&pm_pae, r, PRIV_VA, MARK_PA(IMG_PAGES + child % LIVE), 0x1000, P | RW | US);
    return r;
}

/* Run the child: read its image, write its private page, take the COW
 * fault on an image write.  Returns the number of failed checks. */
static unsigned run_child(uint64_t r, unsigned child)
{
    unsigned bad = 0;
    write_cr3((ureg_t)r);
    for (unsigned i = 0; i < IMG_PAGES; i += 7) {
        uint32_t v;
        if (!peek(IMG_VA + i * 0x1000u, &v) || v != MARK(i))
            bad++;
    }
    volatile uint32_t *priv = (volatile uint32_t *)(uintptr_t)(PRIV_VA + 8);
    *priv = 0xc0de0000u | child;
    if (*(volatile uint32_t *)(uintptr_t)(MARK_PA(IMG_PAGES + child % LIVE) + 8) != (0xc0de0000u | child))
        bad++;
    unsigned v = probe(3, OP_WRITE, IMG_VA + (child % IMG_PAGES) * 0x1000u);
    if (v != X86_EXC_PF || exc_last.err != (PFEC_PRESENT | PFEC_WRITE | PFEC_USER))
        bad++;
    return bad;
}

int guest_main(void)
{
    static uint64_t live[LIVE];
    static unsigned live_id[LIVE];
    mark_fill(IMG_PAGES + LIVE);
    uint64_t parent = pt_new_space(&pm_pae);
    pt_map(&pm_pae, parent, IMG_VA, MARK_PA(0), IMG_PAGES * 0x1000u, P | RW | US);
    paging_enable(&pm_pae, parent);
    if (cpu_has.nx)
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    unsigned free0 = pt_free_count(), bad = 0, made = 0, destroyed = 0;

    for (unsigned f = 0; f < FORKS; f++) {
        unsigned slot = f % LIVE;
        if (live[slot]) {
            /* The old child runs once more, then exits. */
            bad += run_child(live[slot], live_id[slot]);
            write_cr3((ureg_t)parent);
            pt_free_space(&pm_pae, live[slot]);
            destroyed++;
        }
        live[slot] = fork_space(f);
        live_id[slot] = f;
        made++;
        bad += run_child(live[slot], f);
        write_cr3((ureg_t)parent);
        /* The parent keeps writing its image between forks. */
        uint32_t v;
        if (!peek(IMG_VA + (f % IMG_PAGES) * 0x1000u, &v) || v != MARK(f % IMG_PAGES))
            bad++;
        if ((f + 1) % 50 == 0) {
            char d[48];
            gsnprintf(d, sizeof(d), "%u failed checks", bad);
            char n[64];
            gsnprintf(n, sizeof(n), "fork storm: forks %u-%u run and checked", f - 49, f);
            tap_check(!bad, n, d);
            bad = 0;
        }
    }
    for (unsigned s = 0; s < LIVE; s++) {
        bad += run_child(live[s], live_id[s]);
        write_cr3((ureg_t)parent);
        pt_free_space(&pm_pae, live[s]);
        destroyed++;
    }
    tap_ok(!bad, "fork storm: last children run and exit");
    tap_ok(made == FORKS && destroyed == FORKS, "fork storm: %u spaces made, %u destroyed", made, destroyed);
    tap_ok(pt_free_count() == free0, "fork storm: every table frame returned (%u free)", pt_free_count());
    uint32_t v;
    tap_ok(peek(IMG_VA, &v) && v == MARK(0), "fork storm: parent image intact");
    return tap_done();
}
