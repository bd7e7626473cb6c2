/*
 * entry.h -- typed page-table entries for the per-mode template (multi.c).
 *
 * A guest entry and a shadow entry are both "a 32- or 64-bit word with P, RW,
 * U, ... and a frame number", and the classic shadow-paging bug is to use one
 * for the other: copy a guest entry into a shadow table (granting the guest's
 * frame number as a host frame, and rights the shadow must not give), or
 * write a leaf into a table of tables (bypassing the reference counts) or a
 * link into an l1 (bypassing the reverse map).  So, as gfn_t and mfn_t are
 * for frames, each kind is a one-member struct of its own:
 *
 *   gl1e_t  a guest PTE (level 1): a 4 KiB leaf (l1e_propagate_from_guest);
 *   glne_t  a guest entry of level >= 2 (PDE, PDPTE, PML4E): a link to the
 *           next table, or a superpage leaf (lne_propagate_from_guest, the
 *           fl1 fill, child_of, superpage);
 *   sl1e_t  a shadow leaf entry: an entry of an l1 or fl1 shadow (written by
 *           set_l1e / the fl1 fill; rmap.c's invariant R);
 *   slne_t  a shadow link entry, levels >= 2: it names a child shadow
 *           (written by install(); I3, U).
 *
 * Levels 2, 3 and 4 share one type on each side because the template
 * handles them in one loop (the walker, get_and_create_l1e, validate,
 * invlpg); what changes between a level-1 entry and the others (leaf or
 * link, the reverse map or the refcounts, PAT at bit 7 or bit 12) is what
 * the types keep apart.
 *
 * Assigning one to another, passing one where another is wanted, or using an
 * integer for either does not compile; crossing is spelled out (the raw value
 * through NAME_val() and back through NAME_mk()) and only done where one
 * loop reads every level (the walker's loop body, set_ad, the audit, the
 * monitor walk), which then keeps each entry typed by its level.
 *
 * SH_ENTRY_TYPE(T, pre, raw_t, addr_mask) writes the type and its accessors
 * once for all four (so the accessors are shared, not copied), each with
 * the raw width and frame mask of the mode multi.c is compiled for:
 *   pre_mk(raw)      the entry with raw value raw (truncated to raw_t)
 *   pre_val(e)       its raw value, widened to 64 bits
 *   pre_has(e, f)    any of the flag bits f set?
 *   pre_frame(e)     the frame number it names (address bits >> 12)
 *   pre_read(p)      *p read once (volatile: the guest, or another vCPU's
 *                    fault, may change it under us)
 *   pre_write(p, e)  *p = e written once (the hardware walks it)
 * They compile to the plain integer operations they replace.
 */
#ifndef UMBRA_SHADOW_ENTRY_H
#define UMBRA_SHADOW_ENTRY_H

#include <umbra/types.h>

#define SH_ENTRY_TYPE(T, pre, raw_t, addr_mask)                                 \
    typedef struct { raw_t raw; } T;                                           \
    static inline T pre##_mk(uint64_t r) { return (T){ (raw_t)r }; }           \
    static inline uint64_t pre##_val(T e) { return e.raw; }                    \
    static inline bool pre##_has(T e, uint64_t f) { return (e.raw & f) != 0; } \
    static inline uint64_t pre##_frame(T e)                                    \
    {                                                                          \
        return ((uint64_t)e.raw & (addr_mask)) >> PAGE_SHIFT;                  \
    }                                                                          \
    static inline T pre##_read(const T *p)                                     \
    {                                                                          \
        return (T){ *(const volatile raw_t *)&p->raw };                        \
    }                                                                          \
    static inline void pre##_write(T *p, T e) { *(volatile raw_t *)&p->raw = e.raw; }

#endif
