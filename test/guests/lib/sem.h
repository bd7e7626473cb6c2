/*
 * Paging semantics shared by the paged suites (2-level, PAE, long mode):
 * TLB visibility (INVLPG, CR3 reload), global pages, shared, self-referencing
 * and two-level tables, live page-table edits by every common store form,
 * and many address spaces switched in a loop.  Each test builds its own
 * address space, maps only at `b` and `c` (addresses whose top-level slots
 * are free in pt_new_space()), and returns to `home` when done.
 */
#ifndef GUEST_SEM_H
#define GUEST_SEM_H

#include "pt.h"

void sem_run(const struct pmode *m, uint64_t home, uint64_t b, uint64_t c);

#endif
