/*
 * The permission matrix, written once for every paging mode: for each
 * combination of P/RW/US/NX on the varied levels of one test address, and
 * each configuration (CPL, access, CR0.WP, EFER.NXE, CR4.SMEP/SMAP), perform
 * the access and compare with the AMD APM's rules: the fault (or none), its
 * error code, CR2 and faulting IP, and the A/D bits written back.
 * One TAP line per case.
 */
#ifndef GUEST_MATRIX_H
#define GUEST_MATRIX_H

#include "pt.h"

struct mx_shape {
    const char *name;    /* "4k", "2m", ... */
    int leaf;            /* level of the leaf entry (1 or 2 = large page) */
    unsigned vary;       /* bit l set: all flag combinations at level l */
};

struct mx_cfg {
    int cpl;
    enum probe_op op;
    bool wp, nxe, smep, smap;
};

/* Build the configuration list for a mode: {CPL 0,3} x {R,W,X} x WP{0,1} x
 * NXE{0,1 where it exists}, plus SMEP, SMAP and both (WP=1, NXE=1) when CPUID
 * reports them.  `full_nxe0` = false keeps NXE=0 only for WP=1. */
unsigned mx_configs(const struct pmode *m, bool full_nxe0, struct mx_cfg *out, unsigned max);

/* Expected outcome of one access (the reference walker): returns true when
 * the access faults with #PF, and sets *err. */
bool mx_expect(const struct pmode *m, const uint64_t ent[4], int leaf, const struct mx_cfg *c,
               uint32_t *err);

/* Run one shape over all configs; `root` is the current CR3 and `va` the
 * test address (its path must not share tables with anything in use). */
void mx_run(const struct pmode *m, uint64_t root, uint64_t va, const struct mx_shape *s,
            const struct mx_cfg *cfgs, unsigned ncfg);

/* Set CR0.WP, EFER.NXE, CR4.SMEP/SMAP as the config says. */
void mx_apply(const struct mx_cfg *c);

/* Format entry flags as "PWUN" with '-' for clear bits. */
void mx_flags(char out[5], uint64_t e);

#endif
