/*
 * PAE suite: the permission matrix for 4 KiB pages (PDE x PTE) and 2 MiB
 * pages, then the PAE-specific semantics (see pae_extra.c).
 */
#include "lib/matrix.h"

#define TVA 0x40000000u      /* PDPTE 1: no table shared with the identity map */

void pae_extra(uint64_t root);

int guest_main(void)
{
    static struct mx_cfg cfgs[64];
    static const struct mx_shape shapes[] = {
        { "4k", 0, 0x3 },
        { "2m", 1, 0x2 },
    };

    target_fill();
    uint64_t root = pt_new_space(&pm_pae);
    paging_enable(&pm_pae, root);
    unsigned n = mx_configs(&pm_pae, true, cfgs, 64);
    tap_diag("pae: %u configurations", n);
    for (unsigned i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        mx_run(&pm_pae, root, TVA, &shapes[i], cfgs, n);
    pae_extra(root);
    return tap_done();
}
