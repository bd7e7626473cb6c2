/*
 * The access test kernel, built twice: access_pae.elf (-DACCESS_PAE=1) and
 * access_2level.elf (-DACCESS_PAE=0, CR4.PSE=1).  See access.h for what a
 * case is and access_run.c for how the cases are enumerated.
 *
 * PAE shapes: "4k" (PDPTE x PDE x PTE) and "2m" (PDPTE x 2 MiB PDE); the
 * PDPTE takes P=1, P=0 and P=0 with reserved junk (a present PDPTE with a
 * reserved bit is a MOV CR3 #GP, tested in pae_extra.c).  2-level shapes:
 * "4k" (PDE x PTE) and "4m" (4 MiB PDE); no NX.  The reserved bit of a
 * 4 KiB-level entry is the first address bit at MAXPHYADDR (8-byte entries
 * only), of a 2 MiB PDE bit 13, of a 4 MiB PDE bit 21.
 */
#include "access.h"

#ifndef ACCESS_PAE
#error "build with -DACCESS_PAE=0 or 1"
#endif

#define TVA 0x40000000u      /* PAE: PDPTE 1; 2-level: PDE 256: nothing else there */

int guest_main(void)
{
    static struct acfg cfgs[64];
    const uint64_t P = _PAGE_PRESENT, RW = _PAGE_RW, US = _PAGE_USER, A = _PAGE_ACCESSED,
                   D = _PAGE_DIRTY, G = _PAGE_GLOBAL;
    const struct pmode *m = ACCESS_PAE ? &pm_pae : &pm_2level;

    target_fill();
    ax_init();
    uint64_t root = pt_new_space(m);
    paging_enable(m, root);
    unsigned n = ax_configs(m, cfgs, 64);
    tap_diag("access %s: %u configurations, MAXPHYADDR %u", m->name, n, ax_maxphy);

#if ACCESS_PAE
    const uint64_t NX = _PAGE_NX;
    uint64_t r4k = ax_maxphy < 52 ? 1ULL << ax_maxphy : 0;
    uint64_t pdpte_junk = RW | US | 0x1e0 | NX;
    struct ashape shapes[] = {
        { "4k", 0,
          { P | RW | US | NX | r4k | A | D, P | RW | US | NX | r4k, P },
          { G, A | D | G, 0 },
          { RW | US | NX | r4k | A | D | G, RW | US | NX | r4k | A | D | G, pdpte_junk } },
        { "2m", 1,
          { 0, P | RW | US | NX | A | D | G | (1ULL << 13), P },
          { 0, 0, 0 },
          { 0, RW | US | NX | A | D | G | (1ULL << 13), pdpte_junk } },
    };
#else
    const uint64_t R21 = 1ULL << 21;
    struct ashape shapes[] = {
        { "4k", 0,
          { P | RW | US | A | D | G, P | RW | US | A },
          { 0, D | G },
          { RW | US | A | D | G, RW | US | A | D | G } },
        { "4m", 1,
          { 0, P | RW | US | A | D | G | R21 },
          { 0, 0 },
          { 0, RW | US | A | D | G | R21 } },
    };
#endif
    unsigned total = 0;
    for (unsigned i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        total += ax_run(m, root, TVA, &shapes[i], cfgs, n);
    ax_summary();
#if ACCESS_PAE
    /* The PDPTEs are checked unchanged after every access (access_ref.c);
     * only bare QEMU, which sets their reserved bit 5, is waived. */
    tap_diag("access pae: walks that set PDPTE bit 5: %u", ax_pdpte_bit5);
    if (ax_pdpte_bit5)
        tap_skip("emulator bug: QEMU TCG sets reserved bit 5 of a PAE PDPTE on a walk",
                 "access pae: no walk writes a PDPTE");
    else
        tap_ok(true, "access pae: no walk writes a PDPTE");
#endif
    tap_ok(ax_failed() == 0, "access %s: %u cases in total, every one as the reference says", m->name, total);
    return tap_done();
}
