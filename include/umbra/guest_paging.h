/*
 * The guest's paging mode, from its own CR0.PG, CR4.PAE and EFER.LMA: what
 * the shadow MMU builds shadows for (include/umbra/shadow.h) and what the
 * GDB stub reports and walks (include/umbra/gdbstub.h).
 */
#ifndef UMBRA_GUEST_PAGING_H
#define UMBRA_GUEST_PAGING_H

enum guest_paging {
    GUEST_PAGING_OFF,     /* CR0.PG = 0: identity "physical mode" shadow */
    GUEST_PAGING_2LEVEL,  /* 32-bit, optional PSE 4 MiB pages */
    GUEST_PAGING_PAE,     /* 3-level PAE (the focus) */
    GUEST_PAGING_LONG,    /* 4-level, EFER.LMA */
};

#endif
