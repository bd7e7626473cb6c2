/*
 * Page-table helpers, one implementation for all three modes: a mode is a
 * table of index shifts and widths plus the entry size.
 */
#include "pt.h"
#include "arch.h"

const struct pmode pm_2level = { "2level", 2, false, false, 1, { 12, 22 }, { 10, 10 } };
const struct pmode pm_pae = { "pae", 3, true, true, 1, { 12, 21, 30 }, { 9, 9, 2 } };
const struct pmode pm_long = { "long", 4, true, true, 3, { 12, 21, 30, 39 }, { 9, 9, 9, 9 } };

#define POOL_FRAMES 448
static uint8_t pool[POOL_FRAMES][4096] __attribute__((aligned(4096)));
static uint16_t free_list[POOL_FRAMES];
static unsigned nfree;
static bool pool_ready;

static void pool_init(void)
{
    if ((uintptr_t)pool + sizeof(pool) > TARGET_PA)
        tap_bail("page-table pool overlaps TARGET_PA: kernel image too large");
    for (unsigned i = 0; i < POOL_FRAMES; i++)
        free_list[i] = (uint16_t)(POOL_FRAMES - 1 - i);
    nfree = POOL_FRAMES;
    pool_ready = true;
}

uint64_t pt_alloc(void)
{
    if (!pool_ready)
        pool_init();
    if (!nfree)
        tap_bail("page-table pool exhausted");
    uint8_t *p = pool[free_list[--nfree]];
    gmemset(p, 0, 4096);
    return (uintptr_t)p;
}

void pt_free(uint64_t pa)
{
    free_list[nfree++] = (uint16_t)((pa - (uintptr_t)pool) / 4096);
}

unsigned pt_free_count(void)
{
    if (!pool_ready)
        pool_init();
    return nfree;
}

uint64_t pte_get(const struct pmode *m, void *slot)
{
    return m->wide ? *(volatile uint64_t *)slot : *(volatile uint32_t *)slot;
}

void pte_set(const struct pmode *m, void *slot, uint64_t v)
{
    if (m->wide)
        *(volatile uint64_t *)slot = v;
    else
        *(volatile uint32_t *)slot = (uint32_t)v;
}

uint64_t pt_frame_mask(const struct pmode *m)
{
    return m->wide ? PADDR_MASK_52 : PTE32_ADDR_MASK;
}

uint64_t pt_dir_flags(const struct pmode *m, int level)
{
    return level > m->top_perm ? _PAGE_PRESENT : _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;
}

static void *slot_in(const struct pmode *m, uint64_t table, uint64_t va, int level)
{
    unsigned idx = (unsigned)(va >> m->shift[level]) & ((1u << m->bits[level]) - 1);
    return (void *)(uintptr_t)(table + idx * (m->wide ? 8 : 4));
}

void *pt_slot(const struct pmode *m, uint64_t root, uint64_t va, int level, bool create)
{
    uint64_t table = root;
    for (int l = m->levels - 1; l > level; l--) {
        void *s = slot_in(m, table, va, l);
        uint64_t e = pte_get(m, s);
        if (!(e & _PAGE_PRESENT)) {
            if (!create)
                return NULL;
            e = pt_alloc() | pt_dir_flags(m, l);
            pte_set(m, s, e);
        }
        table = e & pt_frame_mask(m);
    }
    return slot_in(m, table, va, level);
}

void pt_map(const struct pmode *m, uint64_t root, uint64_t va, uint64_t pa, uint64_t len,
            uint64_t flags)
{
    for (uint64_t off = 0; off < len; off += 4096)
        pte_set(m, pt_slot(m, root, va + off, 0, true), (pa + off) | flags);
}

/* The identity map's tables are built once per mode and shared by every
 * address space (the "shared page tables" of the tests): a new space only
 * copies the top-level entries that cover [0, IDENT_END). */
static uint64_t ident_root[5];

uint64_t pt_new_space(const struct pmode *m)
{
    uint64_t root = pt_alloc();
    if (!ident_root[m->levels]) {
        uint64_t r = pt_alloc();
        uintptr_t us = (uintptr_t)__user_start, ue = (uintptr_t)__user_end;
        for (uint64_t pa = 0; pa < IDENT_END; pa += 4096) {
            uint64_t f = _PAGE_PRESENT | _PAGE_RW;
            if (pa >= (us & ~0xfffu) && pa < ue)
                f |= _PAGE_USER;
            pte_set(m, pt_slot(m, r, pa, 0, true), pa | f);
        }
        ident_root[m->levels] = r;
    }
    /* Copy the top-level entries covering the identity range. */
    unsigned top = (unsigned)m->levels - 1;
    unsigned n = (unsigned)((IDENT_END - 1) >> m->shift[top]) + 1;
    for (unsigned i = 0; i < n; i++) {
        uint64_t va = (uint64_t)i << m->shift[top];
        pte_set(m, slot_in(m, root, va, (int)top), pte_get(m, slot_in(m, ident_root[m->levels], va, (int)top)));
    }
    return root;
}

static void free_below(const struct pmode *m, uint64_t table, int level, uint64_t va_base)
{
    if (level == 0)
        return;
    for (unsigned i = 0; i < (1u << m->bits[level]); i++) {
        uint64_t va = va_base + ((uint64_t)i << m->shift[level]);
        if (va < IDENT_END && level == m->levels - 1)
            continue;    /* shared identity tables */
        uint64_t e = pte_get(m, slot_in(m, table, va, level));
        bool large = (e & _PAGE_PSE) && (level == 1 || (level == 2 && m->levels == 4));
        if (!(e & _PAGE_PRESENT) || large)
            continue;
        uint64_t t = e & pt_frame_mask(m);
        if (t < (uintptr_t)pool[0] || t >= (uintptr_t)pool[POOL_FRAMES])
            continue;
        free_below(m, t, level - 1, va);
        pt_free(t);
    }
}

void pt_free_space(const struct pmode *m, uint64_t root)
{
    free_below(m, root, m->levels - 1, 0);
    pt_free(root);
}

void target_fill(void)
{
    gmemset((void *)(uintptr_t)TARGET_PA, 0xc3, 4096);
}

void mark_fill(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        gmemset((void *)(uintptr_t)MARK_PA(i), 0, 4096);
        *(volatile uint32_t *)(uintptr_t)MARK_PA(i) = MARK(i);
    }
}

bool peek(uint64_t va, uint32_t *v)
{
    if (probe(0, OP_READ, (ureg_t)va) != EXC_NONE)
        return false;
    *v = (uint32_t)probe_value;
    return true;
}

void expect_read(uint64_t va, uint32_t want, const char *fmt, ...)
{
    char name[160], detail[96];
    uint32_t v = 0;
    bool ok = peek(va, &v);
    va_list ap;
    va_start(ap, fmt);
    gvsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    if (!ok)
        gsnprintf(detail, sizeof(detail), "read faulted: vector %u err %lx cr2 %lx",
                  exc_last.vector, (unsigned long)exc_last.err, (unsigned long)exc_last.cr2);
    else
        gsnprintf(detail, sizeof(detail), "read %x, want %x", v, want);
    tap_check(want == FAULTS ? !ok : (ok && v == want), name, detail);
}
