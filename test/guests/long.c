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

/* CPUID.1.ECX.OSXSAVE (bit 27) and CPUID.7.0.ECX.OSPKE (bit 4) read back the
 * CR4 bit the guest last wrote (OSXSAVE bit 18, PKE bit 22), set and clear,
 * when the CPU has XSAVE (1.ECX.26) / PKU (7.0.ECX.3). */
static void cr4_mirror_test(const char *name, uint32_t leaf, unsigned has_bit, unsigned os_bit,
                            ureg_t cr4_bit)
{
    uint32_t r[4];
    cpuid(0, 0, r);
    uint32_t max = r[0];
    cpuid(leaf, 0, r);
    if (leaf > max || !(r[2] & (1u << has_bit))) {
        tap_skip("the CPU lacks the feature", "long cpuid: %s follows cr4", name);
        return;
    }
    ureg_t cr4 = read_cr4();
    bool seen[2];
    for (int on = 1; on >= 0; on--) {
        write_cr4(on ? cr4 | cr4_bit : cr4 & ~cr4_bit);
        cpuid(leaf, 0, r);
        seen[on] = !!(r[2] & (1u << os_bit));
    }
    write_cr4(cr4);
    tap_ok(seen[1] && !seen[0], "long cpuid: %s follows cr4 (set: %d, clear: %d)", name,
           seen[1], seen[0]);
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
    cr4_mirror_test("osxsave", 1, 26, 27, 1ul << 18);
    cr4_mirror_test("ospke", 7, 3, 4, 1ul << 22);
    return tap_done();
}
