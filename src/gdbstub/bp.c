/*
 * Software breakpoints: the stub plants int3 (0xCC) through the target's
 * guest-virtual memory ops and keeps the byte it replaced.  The hypervisor
 * thus needs no breakpoint bookkeeping of its own: its #BP intercept asks
 * gdb_stub_swbp_at(rip - 1).
 *
 * Invariant: an entry is `used` exactly while its int3 is in guest memory.
 */
#include "internal.h"
#include <umbra/lib.h>

static int find_idx(const struct gdb_stub *s, uint64_t addr)
{
    for (unsigned i = 0; i < GDB_MAX_SWBP; i++)
        if (s->swbp[i].used && s->swbp[i].addr == addr)
            return (int)i;
    return -1;
}

static struct gdb_swbp *find(struct gdb_stub *s, uint64_t addr)
{
    int i = find_idx(s, addr);
    return i < 0 ? NULL : &s->swbp[i];
}

bool gdb_stub_swbp_at(const struct gdb_stub *s, uint64_t addr)
{
    return find_idx(s, addr) >= 0;
}

int gdb_swbp_insert(struct gdb_stub *s, uint64_t addr)
{
    struct gdb_swbp *b = find(s, addr);
    uint8_t int3 = 0xcc, old;
    long r;

    if (b)
        return 0;                       /* already planted: idempotent as GDB expects */
    for (unsigned i = 0; i < GDB_MAX_SWBP && !b; i++)
        if (!s->swbp[i].used)
            b = &s->swbp[i];
    if (!b)
        return -GDB_ENOSPC;
    r = gdb_mem_xfer(s, false, addr, &old, 1, false);
    if (r < 1)
        return -GDB_EIO;
    r = gdb_mem_xfer(s, false, addr, &int3, 1, true);
    if (r < 1)
        return -GDB_EIO;
    b->addr = addr;
    b->saved = old;
    b->used = true;
    return 0;
}

int gdb_swbp_remove(struct gdb_stub *s, uint64_t addr)
{
    struct gdb_swbp *b = find(s, addr);

    if (!b)
        return -GDB_ENOENT;
    b->used = false;
    return gdb_mem_xfer(s, false, addr, &b->saved, 1, true) == 1 ? 0 : -GDB_EIO;
}

void gdb_swbp_remove_all(struct gdb_stub *s)
{
    for (unsigned i = 0; i < GDB_MAX_SWBP; i++)
        if (s->swbp[i].used)
            gdb_swbp_remove(s, s->swbp[i].addr);
}
