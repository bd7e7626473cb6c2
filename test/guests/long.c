/*
 * Long-mode suite (64-bit code; built as ELF64 and converted to ELF32 so a
 * multiboot v1 loader starts its 32-bit entry, see lib/rt64.S).  The
 * permission matrix for 4 KiB pages (PDE x PTE, and PML4E x PDPTE), 2 MiB
 * and 1 GiB pages, the shared paging semantics, and canonical addresses.
 */
#include "lib/matrix.h"
#include "lib/sem.h"

#define TVA 0x8000000000ull          /* PML4E 1 */

static void canonical_tests(void)
{
    static const uint64_t bad[] = { 0x0000800000000000ull, 0x8000000000000000ull,
                                    0x7fff000000000000ull, 0xffff7fffffff0000ull };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned v = probe(0, OP_READ, bad[i]);
        tap_ok(v == X86_EXC_GP && exc_last.err == 0, "long canonical: read %llx -> #GP(0)",
               (unsigned long long)bad[i]);
        v = probe(3, OP_WRITE, bad[i]);
        tap_ok(v == X86_EXC_GP && exc_last.err == 0, "long canonical: cpl3 write %llx -> #GP(0)",
               (unsigned long long)bad[i]);
    }
}

int guest_main(void)
{
    static struct mx_cfg cfgs[64];
    static const struct mx_shape shapes[] = {
        { "4k", 0, 0x3 },
        { "4k", 0, 0xc },
        { "2m", 1, 0x2 },
        { "1g", 2, 0x4 },
    };

    target_fill();
    uint64_t root = pt_new_space(&pm_long);
    if (cpu_has.nx)
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    write_cr3(root);
    unsigned n = mx_configs(&pm_long, false, cfgs, 64);
    tap_diag("long: %u configurations", n);
    for (unsigned i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        if (shapes[i].leaf == 2 && !cpu_has.pdpe1gb) {
            tap_skip("no 1 GiB pages (CPUID 80000001 EDX.26)", "long 1g pages");
            continue;
        }
        mx_run(&pm_long, root, TVA, &shapes[i], cfgs, n);
    }
    sem_run(&pm_long, root, 0x10000000000ull, 0x18000000000ull);
    canonical_tests();
    return tap_done();
}
