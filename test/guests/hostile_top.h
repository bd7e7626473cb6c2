/*
 * Where a hostile guest aims (test/guests/hostile_*.c): just above the top
 * of its RAM, where Umbra's reserve begins.
 *
 * Umbra removes its reserve from the memory map it hands the guest, leaving
 * a hole: an available range whose end no range of the map lists.  That end
 * (the highest such below 4 GiB) is the target.  When the map has no such
 * hole -- bare, the bytes after RAM are listed (firmware-reserved) or the map
 * ends -- the target is the top of the RAM above 1 MiB (multiboot mem_upper).
 * Under BIOS firmware both rules give the same address under Umbra; under
 * UEFI the RAM above 1 MiB is split into many ranges and only the hole
 * finds the reserve.
 */
#ifndef HOSTILE_TOP_H
#define HOSTILE_TOP_H

#include "lib/guest.h"

struct mb1_range { uint64_t base, len; uint32_t type; };

/* The i-th range of the multiboot memory map; false past the end. */
static inline bool mb1_range(unsigned i, struct mb1_range *r)
{
    extern uint32_t mb_info;
    const uint32_t *mbi = (const uint32_t *)(uintptr_t)mb_info;
    if (!mbi || !(mbi[0] & (1u << 6)))
        return false;
    for (uint32_t off = 0; off < mbi[11]; i--) {
        const uint32_t *e = (const uint32_t *)(uintptr_t)(mbi[12] + off);
        if (i == 0) {
            r->base = e[1] | (uint64_t)e[2] << 32;
            r->len = e[3] | (uint64_t)e[4] << 32;
            r->type = e[5];
            return true;
        }
        off += e[0] + 4;
    }
    return false;
}

/* Does some range of the map (any type) hold physical address pa? */
static inline bool mb1_listed(uint64_t pa)
{
    struct mb1_range r;
    for (unsigned i = 0; mb1_range(i, &r); i++)
        if (pa >= r.base && pa < r.base + r.len)
            return true;
    return false;
}

static inline uint32_t hostile_target(void)
{
    struct mb1_range r;
    uint64_t best = 0;
    for (unsigned i = 0; mb1_range(i, &r); i++) {
        uint64_t end = r.base + r.len;
        if (r.type == 1 && end > 0x100000 && end < (1ULL << 32) && end > best && !mb1_listed(end))
            best = end;
    }
    return best ? (uint32_t)best : 0x100000u + mb_mem_upper_kb() * 1024u;
}

#endif
