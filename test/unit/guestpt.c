/*
 * Guest page-table builder (see guestpt.h).  Invariant: every table it
 * allocates lies in guest RAM inside the allocator's range and is zeroed
 * when handed out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <umbra/x86.h>
#include "guestpt.h"
#include "sim_platform.h"

void gpt_alloc_init(struct gpt_alloc *a, uint64_t first_gfn, uint64_t nframes)
{
    a->next = first_gfn;
    a->end = first_gfn + nframes;
}

uint64_t gpt_alloc_table(struct gpt_alloc *a)
{
    if (a->next >= a->end) {
        fprintf(stderr, "guestpt: out of table frames\n");
        abort();
    }
    uint64_t gpa = a->next++ << PAGE_SHIFT;
    void *p = sim_guest_ptr(gpa);
    if (!p) {
        fprintf(stderr, "guestpt: table frame %#llx not in RAM\n", (unsigned long long)gpa);
        abort();
    }
    memset(p, 0, PAGE_SIZE);
    return gpa;
}

int gpt_levels(enum guest_paging mode)
{
    return mode == GUEST_PAGING_LONG ? 4 : mode == GUEST_PAGING_PAE ? 3 : 2;
}

unsigned gpt_entry_size(enum guest_paging mode)
{
    return mode == GUEST_PAGING_2LEVEL ? 4 : 8;
}

static unsigned level_shift(enum guest_paging mode, int level)
{
    return mode == GUEST_PAGING_2LEVEL ? 12 + 10 * (level - 1) : 12 + 9 * (level - 1);
}

uint64_t gpt_level_size(enum guest_paging mode, int level)
{
    return 1ULL << level_shift(mode, level);
}

unsigned gpt_index(enum guest_paging mode, int level, gva_t va)
{
    unsigned mask = mode == GUEST_PAGING_2LEVEL ? 1023 :
                    (mode == GUEST_PAGING_PAE && level == 3) ? 3 : 511;
    return (va >> level_shift(mode, level)) & mask;
}

void gpt_init(struct gpt_space *s, enum guest_paging mode, struct gpt_alloc *a,
              unsigned pdpt_off)
{
    s->mode = mode;
    s->root = gpt_alloc_table(a);
    if (mode == GUEST_PAGING_PAE)
        s->root += pdpt_off & (PAGE_SIZE - 32);
    s->cr3 = s->root;
}

uint64_t gpt_read(enum guest_paging mode, uint64_t gpa)
{
    return sim_guest_read(gpa, gpt_entry_size(mode));
}

void gpt_write(enum guest_paging mode, uint64_t gpa, uint64_t val)
{
    sim_guest_write(gpa, val, gpt_entry_size(mode));
}

uint64_t gpt_make_leaf(enum guest_paging mode, int level, uint64_t pa, uint64_t flags)
{
    uint64_t e = flags | _PAGE_PRESENT;
    if (level > 1)
        e |= _PAGE_PSE;
    if (mode == GUEST_PAGING_2LEVEL) {
        e &= 0xfffULL | (level > 1 ? _PAGE_PSE_PAT : 0);
        if (level > 1)
            return e | (pa & 0xffc00000ULL) | (((pa >> 32) & 0xff) << 13);
        return e | (pa & PTE32_ADDR_MASK);
    }
    return e | (pa & PADDR_MASK_52);
}

uint64_t gpt_entry_table(enum guest_paging mode, uint64_t entry)
{
    return mode == GUEST_PAGING_2LEVEL ? (entry & PTE32_ADDR_MASK) : (entry & PADDR_MASK_52);
}

static bool is_leaf(enum guest_paging mode, int level, uint64_t e)
{
    if (level == 1)
        return true;
    if (mode == GUEST_PAGING_PAE && level == 3)
        return false;
    return (e & _PAGE_PSE) && level <= 3;
}

uint64_t gpt_entry_addr(const struct gpt_space *s, gva_t va, int level)
{
    uint64_t table = s->root;
    unsigned es = gpt_entry_size(s->mode);
    for (int l = gpt_levels(s->mode); l >= 1; l--) {
        uint64_t epa = table + (uint64_t)gpt_index(s->mode, l, va) * es;
        if (l == level)
            return epa;
        uint64_t e = gpt_read(s->mode, epa);
        if (!(e & _PAGE_PRESENT) || is_leaf(s->mode, l, e))
            return 0;
        table = gpt_entry_table(s->mode, e);
    }
    return 0;
}

uint64_t gpt_set(struct gpt_space *s, struct gpt_alloc *a, gva_t va, int level,
                 uint64_t val, uint64_t upper_flags)
{
    uint64_t table = s->root;
    unsigned es = gpt_entry_size(s->mode);
    for (int l = gpt_levels(s->mode); l >= 1; l--) {
        uint64_t epa = table + (uint64_t)gpt_index(s->mode, l, va) * es;
        if (l == level) {
            gpt_write(s->mode, epa, val);
            return epa;
        }
        uint64_t e = gpt_read(s->mode, epa);
        if (!(e & _PAGE_PRESENT) || is_leaf(s->mode, l, e) ||
            !sim_guest_ptr(gpt_entry_table(s->mode, e))) {
            uint64_t t = gpt_alloc_table(a);
            uint64_t f = upper_flags | _PAGE_PRESENT;
            if (s->mode == GUEST_PAGING_PAE && l == 3)
                f = _PAGE_PRESENT;
            else
                f &= ~_PAGE_PSE;
            if (s->mode == GUEST_PAGING_2LEVEL)
                f &= 0xfff;
            e = t | f;
            gpt_write(s->mode, epa, e);
        }
        table = gpt_entry_table(s->mode, e);
    }
    return 0;
}

uint64_t gpt_map(struct gpt_space *s, struct gpt_alloc *a, gva_t va, uint64_t pa,
                 int level, uint64_t flags, uint64_t upper_flags)
{
    return gpt_set(s, a, va, level, gpt_make_leaf(s->mode, level, pa, flags), upper_flags);
}
