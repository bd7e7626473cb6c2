/*
 * The cost of one full shadow_audit() over a full pool (docs/notes/2026-12-03-eve/audit.md):
 * the soak (umbra-audit.elf) runs it after every exit, so its cost per call
 * is what bounds `make soak`.
 *
 *   bench_audit [N [POOL [VCPUS [TABLES [PRESENT]]]]]   N audits (default 20) over a POOL-frame pool
 *       (default 2048, Umbra's) shared by VCPUS vCPUs (default 1); TABLES (default: as many as
 *       fit): with it, every entry of every table maps the one data frame, the shape of
 *       test/guests/stress_alias (40 tables: its 20480 aliases, all on one reverse-map chain);
 *       PRESENT (default 512): entries present per table, evenly spread, the rest not (stress_ws
 *       touches every 8th of each table's 512 pages: bench_audit 20 2048 1 0 64)
 *
 * The guest: long mode, one PML4 / PDPT, two PDs; the PDs link as many guest
 * page tables as fit in the pool (at most 1024; each l1_64 shadow takes its reverse-map
 * companion too), every one mapping 512 data pages present, writable and
 * dirty (the same 512 frames: each is mapped writable from every table, as
 * in stress_alias), so every l1 shadow is full and every entry is on a
 * reverse-map chain: the worst case per frame.  With VCPUS > 1 the other
 * vCPUs run on the same CR3.  callgrind's collection is switched on around
 * the audits only:
 *
 *   valgrind --tool=callgrind --collect-atstart=no test/unit/bench_audit 20
 *
 * counts 20 audits exactly (divide the total by N).  Run natively it checks
 * that the pool is as full as intended and that every audit is clean, and
 * prints the pool's make-up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/callgrind.h>

#include "../../src/shadow/private.h"
#include "sim_platform.h"
#include "refmmu.h"

#define P  _PAGE_PRESENT
#define RW _PAGE_RW
#define A  _PAGE_ACCESSED
#define D  _PAGE_DIRTY
#define CR0_ON (X86_CR0_PG | X86_CR0_PE | X86_CR0_WP | X86_CR0_ET)

#define PML4  0x100000ULL
#define PDPT  0x101000ULL
#define PD    0x102000ULL    /* two PDs: 0x102000, 0x103000 */
#define PT0   0x200000ULL        /* guest page table k at PT0 + k * 4 KiB */
#define DATA  0x1000000ULL    /* 512 data frames at 16 MiB */

static struct shadow_vcpu vcs[SH_MAX_VCPUS];

static void die(const char *what)
{
    fprintf(stderr, "bench_audit: %s\n", what);
    sim_log_dump(stderr);
    exit(1);
}

/* One access as the CPU under Umbra runs it: fault until the shadow walk succeeds. */
static void touch(struct shadow_vcpu *v, gva_t va, uint32_t acc)
{
    for (int i = 0; i < 8; i++) {
        struct ref_result r;
        struct sh_fault f;
        if (ref_hw_walk(v, va, acc, false, 0, &r))
            return;
        if (shadow_page_fault(v, va, r.pfec, &f) != SH_FIXED)
            die("a fault was not fixed");
    }
    die("an access did not converge");
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 20;
    unsigned long pool = argc > 2 ? strtoul(argv[2], NULL, 0) : 2048;
    unsigned nv = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 1;
    unsigned want = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 0) : 0;
    unsigned present = argc > 5 ? (unsigned)strtoul(argv[5], NULL, 0) : 512;
    if (!n || nv < 1 || nv > SH_MAX_VCPUS)
        die("usage: bench_audit [N [POOL [VCPUS [TABLES [PRESENT]]]]]");
    sim_init(32ULL << 20, pool);
    struct shadow_domain *d = shadow_domain_init(sim_pool_base(), sim_pool_frames());
    if (!d)
        die("shadow_domain_init");
    for (unsigned i = 0; i < nv; i++)
        if (shadow_vcpu_init(&vcs[i], d) < 0)
            die("shadow_vcpu_init");
    /* Tables that fit: two frames each (shadow + companion), minus the
     * upper levels, the vCPUs' PDPT/snapshot frames and SH_PREALLOC's room. */
    unsigned ntab = d->nfree / 2 > 16 ? d->nfree / 2 - 16 : 1;
    if (ntab > 1024)
        ntab = 1024;
    if (want && want < ntab)
        ntab = want;
    sim_guest_write(PML4, PDPT | P | RW | A, 8);
    sim_guest_write(PDPT, PD | P | RW | A, 8);
    sim_guest_write(PDPT + 8, (PD + 0x1000) | P | RW | A, 8);
    for (unsigned k = 0; k < ntab; k++) {
        sim_guest_write(PD + 8 * k, (PT0 + k * 0x1000ULL) | P | RW | A, 8);   /* PD k / 512 */
        for (unsigned j = 0; j < present && j < 512; j++) {   /* spread out, as stress_ws touches them */
            unsigned e = present < 512 ? j * (512 / present) : j;
            sim_guest_write(PT0 + k * 0x1000ULL + 8 * e, (DATA + (want ? 0 : e * 0x1000ULL)) | P | RW | A | D, 8);
        }
    }
    for (unsigned i = 0; i < nv; i++) {
        struct shadow_vcpu *v = &vcs[i];
        v->guest_cr0 = CR0_ON;
        v->guest_cr4 = X86_CR4_PAE;
        v->guest_efer = EFER_LME | EFER_LMA;
        v->guest_cr3 = PML4;
        if (shadow_update_paging_mode(v) != 0)
            die("shadow_update_paging_mode");
    }
    for (unsigned k = 0; k < ntab; k++)
        touch(&vcs[0], (gva_t)k << 21, PFEC_WRITE);   /* entry 0 */
    unsigned long l1 = d->c.made[SH_T_L1_64] - d->c.destroyed[SH_T_L1_64];
    if (l1 != ntab)
        die("not every table has its l1 shadow (reclaimed?)");
    if (shadow_audit(d))
        die("the first audit found errors");
    CALLGRIND_TOGGLE_COLLECT;
    unsigned long errs = 0;
    for (unsigned long i = 0; i < n; i++)
        errs += shadow_audit(d);
    CALLGRIND_TOGGLE_COLLECT;
    if (errs)
        die("an audit found errors");
    printf("bench_audit: %lu audits, pool %lu frames (%u free), %lu l1_64 shadows, %u writable "
           "entries each, %u vCPU(s), 0 errors\n", n, pool, d->nfree, l1, present < 512 ? present : 512, nv);
    sim_fini();
    return 0;
}
