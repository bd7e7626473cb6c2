/*
 * Working set larger than a shadow pool (PAE).  A shadow pager needs one
 * shadow page table per guest page table in use, so the load is guest page
 * tables, not bytes: each of 3 address spaces maps 1.5 GiB of virtual space
 * with 4 KiB pages -- 768 page tables, 393216 PTEs each, 2304 page tables
 * (9 MiB) in all -- onto the same 32 MiB of data frames (each frame seen
 * through 12 virtual pages per space), and every pass touches every page
 * table of every space.  A pool smaller than 9 MiB cannot keep the shadows
 * resident: passes forward, backward and strided force eviction and rebuild,
 * and every touched page must still hold the right tag.
 *
 * Physical layout (built with paging off): page tables from 16 MiB, data
 * frames at 26..58 MiB; the guest needs 59 MiB of RAM.
 */
#include "lib/pt.h"

#define WS_VA 0x40000000u
#define NPT 768u                       /* page tables: 1.5 GiB of VA */
#define NSPACE 3u
#define PT_PA 0x01000000u               /* NSPACE * NPT tables: 9 MiB */
#define DATA_PA 0x01a00000u
#define NDATA 8192u                    /* 32 MiB of data frames */
#define PT_WIN 0xc0000000u
#define TOUCH 64u                      /* pages touched per page table per pass */

static uint32_t page_va(unsigned pt, unsigned i) { return WS_VA + (pt << 21) + (i << 12); }
static unsigned frame_of(unsigned pt, unsigned i) { return (pt * 512u + i) % NDATA; }

static uint64_t roots[NSPACE];

/* One pass over all page tables of every space, TOUCH pages each; order 0
 * forward, 1 backward, 2 strided.  Returns the number of wrong tags. */
static unsigned pass(unsigned order, uint32_t salt)
{
    unsigned bad = 0;
    for (unsigned k = 0; k < NPT * NSPACE; k++) {
        if (k % NPT == 0)
            write_cr3((ureg_t)roots[(k / NPT + order) % NSPACE]);
        unsigned kk = k % NPT;
        unsigned pt = order == 0 ? kk : order == 1 ? NPT - 1 - kk : (kk * 97u) % NPT;
        for (unsigned t = 0; t < TOUCH; t++) {
            unsigned i = (t * 8u + pt) % 512u;
            volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)page_va(pt, i);
            if (*p != (frame_of(pt, i) ^ salt))
                bad++;
        }
    }
    return bad;
}

int guest_main(void)
{
    const uint64_t P = _PAGE_PRESENT, RW = _PAGE_RW;
    if (mb_mem_upper_kb() < 58u * 1024u)
        tap_bail("stress_ws needs 59 MiB of RAM");
    /* Page tables outside the pool, written while paging is off. */
    for (unsigned sp = 0; sp < NSPACE; sp++) {
        roots[sp] = pt_new_space(&pm_pae);
        for (unsigned pt = 0; pt < NPT; pt++) {
            uint32_t tpa = PT_PA + (sp * NPT + pt) * 4096u;
            uint64_t *t = (uint64_t *)(uintptr_t)tpa;
            for (unsigned i = 0; i < 512; i++)
                t[i] = (DATA_PA + (uint64_t)frame_of(pt, i) * 4096u) | P | RW;
            pte_set(&pm_pae, pt_slot(&pm_pae, roots[sp], page_va(pt, 0), 1, true),
                    tpa | P | RW | _PAGE_USER);
        }
        /* Space 0's last page table is edited later: map it at PT_WIN. */
        pt_map(&pm_pae, roots[sp], PT_WIN, PT_PA + (NPT - 1) * 4096u, 4096, P | RW);
    }
    uint64_t root = roots[0];
    paging_enable(&pm_pae, root);
    tap_diag("working set: %u spaces x %u page tables, %u PTEs over %u data frames", NSPACE, NPT,
             NSPACE * NPT * 512u, NDATA);

    static const char *oname[] = { "forward", "backward", "strided" };
    uint32_t salt = 0;
    for (unsigned round = 0; round < 2; round++) {
        /* Tag every data frame through the first NDATA pages of space 0. */
        salt = salt * 1103515245u + 12345u;
        write_cr3((ureg_t)root);
        for (unsigned j = 0; j < NDATA; j++)
            *(volatile uint32_t *)(uintptr_t)page_va(j / 512u, j % 512u) = j ^ salt;
        for (unsigned o = 0; o < 3; o++) {
            unsigned bad = pass(o, salt);
            char n[64], d[48];
            gsnprintf(n, sizeof(n), "working set: round %u %s pass over 3 x 768 page tables", round,
                      oname[o]);
            gsnprintf(d, sizeof(d), "%u of %u touches wrong", bad, NSPACE * NPT * TOUCH);
            tap_check(!bad, n, d);
        }
        /* Write through far aliases, read through the near ones. */
        write_cr3((ureg_t)root);
        unsigned bad = 0;
        for (unsigned j = 0; j < NDATA; j += 3) {
            unsigned g = j + NDATA * (1 + (j % 11u));          /* same frame, far VA */
            *(volatile uint32_t *)(uintptr_t)(page_va(g / 512u, g % 512u) + 4) = ~j ^ salt;
        }
        for (unsigned j = 0; j < NDATA; j += 3)
            if (*(volatile uint32_t *)(uintptr_t)(page_va(j / 512u, j % 512u) + 4) != (~j ^ salt))
                bad++;
        tap_ok(!bad, "working set: round %u writes through far aliases seen near", round);
        /* Swap PTE pairs in the last page table, flush by CR3 reload. */
        volatile uint64_t *t = (volatile uint64_t *)(uintptr_t)PT_WIN;
        for (unsigned i = 0; i < 512; i += 2) {
            uint64_t x = t[i];
            t[i] = t[i + 1];
            t[i + 1] = x;
        }
        write_cr3((ureg_t)root);
        bad = 0;
        for (unsigned i = 0; i < 512; i++)
            if (*(volatile uint32_t *)(uintptr_t)page_va(NPT - 1, i) != (frame_of(NPT - 1, i ^ 1) ^ salt))
                bad++;
        tap_ok(!bad, "working set: round %u swapped pte pairs take effect", round);
        for (unsigned i = 0; i < 512; i += 2) {
            uint64_t x = t[i];
            t[i] = t[i + 1];
            t[i + 1] = x;
        }
        write_cr3((ureg_t)root);
    }
    return tap_done();
}
