/*
 * One frame mapped writable at 20480 virtual addresses, then made a page
 * table (PAE).  A shadow pager must write-protect every writable shadow
 * mapping of a frame the moment it becomes a page table; missing one lets a
 * PTE write reach the table unseen.  The aliases live in 40 page tables
 * (built with paging off at 16 MiB, like stress_ws), all PTEs naming frame X.
 *
 *  1. write through every alias (word a % 1024 gets a), read X back through
 *     a window: the last write to each word is there;
 *  2. link X into the tables as the page table of NEW_VA and use it;
 *  3. through every alias a, write the PTE k = a % 512 of the new table,
 *     INVLPG NEW_VA + k pages and read there: the marker of the new frame
 *     must be seen (the MMU sees writes made through any alias after
 *     INVLPG, as the architecture requires), and X holds the value;
 *  4. after a CR3 reload every entry of the new table maps what was last
 *     written to it.
 */
#include "lib/pt.h"

#define ALIAS_VA 0x40000000u
#define NPT 40u                        /* 40 x 512 = 20480 aliases */
#define NALIAS (NPT * 512u)
#define PT_PA 0x01000000u              /* the alias page tables */
#define X_PA 0x01100000u               /* the aliased frame */
#define X_WIN 0xc0000000u              /* X seen as data */
#define NEW_VA 0x80000000u             /* the 2 MiB X maps once it is a table */
#define NMARK 64u

static uint32_t alias_va(unsigned a) { return ALIAS_VA + (a << 12); }
static unsigned mark_of(unsigned a) { return (a / 512u + a * 7u) % NMARK; }

int guest_main(void)
{
    const uint64_t P = _PAGE_PRESENT, RW = _PAGE_RW;
    if (mb_mem_upper_kb() < 18u * 1024u)
        tap_bail("stress_alias needs 19 MiB of RAM");
    mark_fill(NMARK);
    uint64_t root = pt_new_space(&pm_pae);
    for (unsigned t = 0; t < NPT; t++) {
        uint32_t tpa = PT_PA + t * 4096u;
        uint64_t *pt = (uint64_t *)(uintptr_t)tpa;
        for (unsigned i = 0; i < 512; i++)
            pt[i] = X_PA | P | RW;
        pte_set(&pm_pae, pt_slot(&pm_pae, root, alias_va(t * 512u), 1, true), tpa | P | RW);
    }
    pt_map(&pm_pae, root, X_WIN, X_PA, 4096, P | RW);
    pt_slot(&pm_pae, root, NEW_VA, 1, true);      /* NEW_VA's PD exists */
    paging_enable(&pm_pae, root);
    tap_diag("frame 0x%x mapped writable at %u virtual addresses", X_PA, NALIAS);

    /* 1: write through every alias. */
    for (unsigned a = 0; a < NALIAS; a++)
        ((volatile uint32_t *)(uintptr_t)alias_va(a))[a % 1024u] = a;
    unsigned bad = 0;
    volatile uint32_t *xw = (volatile uint32_t *)(uintptr_t)X_WIN;
    for (unsigned w = 0; w < 1024; w++)
        if (xw[w] != NALIAS - 1024u + w)
            bad++;
    tap_check(!bad, "alias: writes through 20480 aliases land in the frame", "words wrong");

    /* 2: X becomes the page table of NEW_VA (entry 0 first), and is used. */
    for (unsigned w = 0; w < 1024; w++)
        xw[w] = 0;
    ((volatile uint64_t *)xw)[0] = MARK_PA(0) | P | RW;
    pte_set(&pm_pae, pt_slot(&pm_pae, root, NEW_VA, 1, false), X_PA | P | RW);
    write_cr3((ureg_t)root);
    tap_ok(*(volatile uint32_t *)(uintptr_t)NEW_VA == MARK(0),
           "alias: the frame works as a page table once linked");

    /* 3: every alias writes a PTE; after INVLPG the MMU uses it. */
    bad = 0;
    unsigned lost = 0;
    for (unsigned a = 0; a < NALIAS; a++) {
        unsigned k = a % 512u, m = mark_of(a);
        volatile uint32_t *lo = (volatile uint32_t *)(uintptr_t)(alias_va(a) + 8u * k);
        *lo = MARK_PA(m) | (uint32_t)(P | RW);
        if (xw[2 * k] != (MARK_PA(m) | (uint32_t)(P | RW)))
            lost++;
        invlpg(NEW_VA + (k << 12));
        if (*(volatile uint32_t *)(uintptr_t)(NEW_VA + (k << 12)) != MARK(m))
            bad++;
    }
    tap_check(!lost, "alias: PTE writes through every alias land in the table", "writes lost");
    tap_check(!bad, "alias: after INVLPG the MMU sees every alias's PTE write", "stale translations");

    /* 4: a CR3 reload; every entry maps what its last writer put there. */
    write_cr3((ureg_t)root);
    bad = 0;
    for (unsigned k = 0; k < 512; k++)
        if (*(volatile uint32_t *)(uintptr_t)(NEW_VA + (k << 12)) != MARK(mark_of(NALIAS - 512u + k)))
            bad++;
    tap_check(!bad, "alias: after a CR3 reload all 512 entries of the new table hold", "entries wrong");
    return tap_done();
}
