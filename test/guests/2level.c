/*
 * 2-level suite (CR4.PAE=0, CR4.PSE=1): the permission matrix for 4 KiB
 * pages (PDE x PTE) and 4 MiB pages, the shared paging semantics, and PSE
 * itself (CR4.PSE=0 turns PDE.PS into an ignored bit).
 */
#include "lib/matrix.h"
#include "lib/sem.h"

#define TVA 0x40000000u

static void pse_tests(uint64_t root)
{
    const uint64_t P = _PAGE_PRESENT, RW = _PAGE_RW;
    uint64_t va = 0xc0000000u;
    void *pde = pt_slot(&pm_2level, root, va, 1, true);
    /* A 4 MiB page at 4 MiB: offset MARK_PA(30) - 4 MiB. */
    pte_set(&pm_2level, pde, 0x400000u | P | RW | _PAGE_PSE);
    invlpg(va);
    uint64_t off = MARK_PA(30) - 0x400000u;
    expect_read(va + off, MARK(30), "2level pse: 4 MiB page maps its whole range");
    /* PSE off: the same PDE points at a page table (frame 4 MiB = TARGET). */
    uint32_t *pt = (uint32_t *)(uintptr_t)TARGET_PA;
    uint32_t save = pt[0];
    pt[0] = MARK_PA(31) | P | RW;
    write_cr4(read_cr4() & ~X86_CR4_PSE);
    expect_read(va, MARK(31), "2level pse: cr4.pse=0 makes PDE.PS ignored");
    write_cr4(read_cr4() | X86_CR4_PSE);
    pt[0] = save;
    pte_set(&pm_2level, pde, 0);
    write_cr3(read_cr3());
    /* PDE bits 21:13 of a 4 MiB page are reserved (with PSE-36 absent or
     * MAXPHYADDR=32 they are all reserved above bit 13+maxphy-32). */
}

int guest_main(void)
{
    static struct mx_cfg cfgs[64];
    static const struct mx_shape shapes[] = {
        { "4k", 0, 0x3 },
        { "4m", 1, 0x2 },
    };

    target_fill();
    mark_fill(96);
    uint64_t root = pt_new_space(&pm_2level);
    paging_enable(&pm_2level, root);
    unsigned n = mx_configs(&pm_2level, true, cfgs, 64);
    tap_diag("2level: %u configurations", n);
    for (unsigned i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        mx_run(&pm_2level, root, TVA, &shapes[i], cfgs, n);
    sem_run(&pm_2level, root, 0x80000000u, 0);
    pse_tests(root);
    return tap_done();
}
