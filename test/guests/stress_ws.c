/*
 * Working set larger than a shadow pool (PAE): 96 MiB of 4 KiB mappings
 * (24576 pages, 48 page tables) onto distinct frames from 16 MiB, plus an
 * alias window over the first 8 MiB.  Every pass touches every page and
 * checks the tag in it; passes go forward, backward and strided so that a
 * pager with fewer shadow tables than the guest has must evict and rebuild.
 */
#include "lib/pt.h"

#define WS_VA 0x40000000u
#define WS_PA 0x01000000u
#define WS_PAGES (96u * 256u)
#define ALIAS_VA 0x80000000u
#define ALIAS_PAGES (8u * 256u)

static unsigned pass(unsigned order, bool write, uint32_t salt)
{
    unsigned bad = 0;
    for (unsigned k = 0; k < WS_PAGES; k++) {
        unsigned i = order == 0 ? k : order == 1 ? WS_PAGES - 1 - k : (k * 4099u) % WS_PAGES;
        volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)(WS_VA + i * 0x1000u + (i % 1000u) * 4u);
        if (write)
            *p = (i * 0x9e3779b1u) ^ salt;
        else if (*p != ((i * 0x9e3779b1u) ^ salt))
            bad++;
    }
    return bad;
}

int guest_main(void)
{
    const uint64_t P = _PAGE_PRESENT, RW = _PAGE_RW;
    uint64_t root = pt_new_space(&pm_pae);
    pt_map(&pm_pae, root, WS_VA, WS_PA, (uint64_t)WS_PAGES * 0x1000u, P | RW);
    pt_map(&pm_pae, root, ALIAS_VA, WS_PA, (uint64_t)ALIAS_PAGES * 0x1000u, P | RW);
    paging_enable(&pm_pae, root);
    tap_diag("working set: %u pages, %u page-table frames in use", WS_PAGES, 448 - pt_free_count());

    static const char *oname[] = { "forward", "backward", "strided" };
    uint32_t salt = 0x1234;
    for (unsigned round = 0; round < 3; round++) {
        salt = salt * 1103515245u + 12345u;
        tap_ok(pass(round, true, salt) == 0, "working set: write pass %u (%s)", round, oname[round]);
        for (unsigned o = 0; o < 3; o++) {
            unsigned bad = pass(o, false, salt);
            char n[64], d[48];
            gsnprintf(n, sizeof(n), "working set: round %u read pass %s", round, oname[o]);
            gsnprintf(d, sizeof(d), "%u of %u pages wrong", bad, WS_PAGES);
            tap_check(!bad, n, d);
        }
        /* Through the alias: write there, read in the main window. */
        unsigned bad = 0;
        for (unsigned i = 0; i < ALIAS_PAGES; i++)
            *(volatile uint32_t *)(uintptr_t)(ALIAS_VA + i * 0x1000u + 0xffc) = i ^ salt;
        for (unsigned i = 0; i < ALIAS_PAGES; i++)
            if (*(volatile uint32_t *)(uintptr_t)(WS_VA + i * 0x1000u + 0xffc) != (i ^ salt))
                bad++;
        tap_ok(!bad, "working set: round %u alias window writes seen in the main window", round);
        /* Change a few hundred mappings under the working set, then check. */
        for (unsigned i = 0; i < 512; i += 2) {
            uint64_t *a = pt_slot(&pm_pae, root, WS_VA + i * 0x1000u, 0, false);
            uint64_t *b = pt_slot(&pm_pae, root, WS_VA + (i + 1) * 0x1000u, 0, false);
            uint64_t t = *a;
            *a = *b;
            *b = t;
        }
        write_cr3((ureg_t)root);
        bad = 0;
        for (unsigned i = 0; i < 512; i++) {
            unsigned src = i ^ 1;
            uint32_t want = (src * 0x9e3779b1u) ^ salt;
            if (*(volatile uint32_t *)(uintptr_t)(WS_VA + i * 0x1000u + (src % 1000u) * 4u) != want)
                bad++;
        }
        tap_ok(!bad, "working set: round %u swapped pte pairs take effect", round);
        for (unsigned i = 0; i < 512; i += 2) {      /* swap back */
            uint64_t *a = pt_slot(&pm_pae, root, WS_VA + i * 0x1000u, 0, false);
            uint64_t *b = pt_slot(&pm_pae, root, WS_VA + (i + 1) * 0x1000u, 0, false);
            uint64_t t = *a;
            *a = *b;
            *b = t;
        }
        write_cr3((ureg_t)root);
    }
    return tap_done();
}
