/*
 * The access test (access.c, built for PAE and for 2-level paging): a
 * permission matrix deeper than lib/matrix.c's, in the spirit of
 * kvm-unit-tests' 64-bit access_test.  One case is: entry values for every
 * level of one test address (P, RW, US, A, D, G, NX, a reserved bit, PS by
 * the shape), a configuration (CR0.WP, EFER.NXE, CR4.SMEP/SMAP/PGE), an
 * access (CPL 0/3, read/write/fetch, EFLAGS.AC for CPL 0 under SMAP) and a
 * second access after the first.  Each access is judged against the
 * reference rules of access_ref.c: fault or not, error code, CR2, faulting
 * IP, and every entry's value afterwards (A/D).  Output: one TAP line per
 * class (shape x configuration x CPL x reserved-bit or not) with its case
 * count, plus a diagnostic line per failing case (the first few).
 */
#ifndef GUEST_ACCESS_H
#define GUEST_ACCESS_H

#include "lib/pt.h"

/* A configuration: the control bits that stay fixed for a batch of cases. */
struct acfg {
    bool wp, nxe, smep, smap, pge;
};

/* One access as the reference sees it. */
struct aacc {
    int cpl;
    enum probe_op op;
    bool ac;
};

/* The reference's view of a walk: entries for levels top..leaf (index =
 * level, as lib/pt.h numbers them), the leaf level, the reserved bits the
 * test may set. */
struct awalk {
    const struct pmode *m;
    int leaf;
    uint64_t ent[3];
};

/* Reserved bits of an entry at `level` (a large-page leaf when `large`)
 * under `c`, restricted to the bits this test sets: the first address bit at
 * or above MAXPHYADDR (8-byte entries), NX when EFER.NXE=0, bits 20:13 of a
 * PAE 2 MiB PDE, bit 21 of a 4 MiB PDE. */
uint64_t ax_rsvd(const struct pmode *m, int level, bool large, const struct acfg *c);
extern unsigned ax_maxphy;      /* CPUID 0x80000008 EAX[7:0] */
void ax_init(void);

/* The expected outcome: true when the access faults with #PF, *err its
 * error code.  *valid_from: the lowest level such that it and every level
 * above it are present and free of reserved bits (levels+... : m->levels
 * when the top entry already ends the walk).  *rsvd: the fault is a
 * reserved-bit fault. */
bool ax_expect(const struct awalk *w, const struct acfg *c, const struct aacc *a, uint32_t *err,
               int *valid_from, bool *rsvd);

/* Check the entries after one access: `before` as written (or as left by
 * the previous access), `after` as read back.  On a success every level
 * with an A bit has A=1 and the leaf's D is set by a write; on a fault the
 * leaf is unchanged, D is unchanged everywhere, and an upper level's A may
 * be set only when the walk passed through it (level >= valid_from: QEMU
 * sets it, Bochs does not, the APM allows both).  No other bit may change.
 * Returns true when allowed; else writes why into `why`.  One waiver, on
 * bare QEMU only: bit 5 set in a PAE PDPTE (counted in ax_pdpte_bit5). */
/* Walks on which bare QEMU set bit 5 of a PAE PDPTE (waived, see above). */
extern unsigned ax_pdpte_bit5;
bool ax_entries_ok(const struct awalk *w, const uint64_t before[3], const uint64_t after[3],
                   bool fault, enum probe_op op, int valid_from, char *why, size_t n);

/* A shape: which level is the leaf and which bits vary where.
 * vary[l]: bits enumerated in every combination (P included: P=1 with every
 * subset of the others, plus P=0 alone and P=0 with junk[l]).
 * rot[l]: bits that must not matter for the outcome (G, ignored bits), set
 * per case from a fixed pseudo-random sequence. */
struct ashape {
    const char *name;
    int leaf;
    uint64_t vary[3], rot[3], junk[3];
};

/* Run every case of `s` under every configuration; va's path below the top
 * level must be private to the test.  Returns the number of cases. */
unsigned ax_run(const struct pmode *m, uint64_t root, uint64_t va, const struct ashape *s,
                const struct acfg *cfgs, unsigned ncfg);
/* Every configuration CPUID allows (WP x NXE where the mode has NX x SMEP x
 * SMAP x PGE). */
unsigned ax_configs(const struct pmode *m, struct acfg *out, unsigned max);
/* The totals over all ax_run calls, printed as diagnostics at the end. */
void ax_summary(void);
unsigned ax_failed(void);

#endif
