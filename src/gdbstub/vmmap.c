/*
 * `monitor vmmap [RANGE] [-w] [-x] [-u] [-s] [-diff] [-frame GFN]`: the whole
 * guest address space in one round trip (issue 17 item 2), computed here
 * from the guest's own tables (read through read_phys) and, per leaf, the
 * shadow's state for it (mon_walk).  One line per merged range:
 *
 *   0x00400000-0x00402000     8K rw- s - 4K shadowed   gpa 0x200000
 *
 * rights are the guest's effective ones (R/W and U/S ANDed down the walk,
 * NX ORed, G and the page size from the leaf); the state is the shadow's for
 * the range's first page: shadowed (the hardware maps what the guest maps),
 * unshadowed (not yet faulted in), rw-held (the guest grants write, the
 * shadow holds it back: until dirty, or a write-protected page table), refused
 * (the guest maps a frame that is not guest RAM).  Neighbours merge when their
 * rights and state agree; "scattered" says their frames are not contiguous.
 * Filters: RANGE = START-END or START (to the end), numbers 0x-hex or decimal;
 * -w -x -u -s keep writable / executable / user / supervisor ranges; -diff
 * keeps what is not plainly shadowed; -frame GFN lists every 4 KiB page that
 * maps that guest frame (aliases).  Modes: 2-level (4 MiB pages with PSE),
 * PAE (PDPT at CR3 & ~0x1f, 2 MiB pages), long mode (1 GiB and 2 MiB pages).
 * Pure; static buffers, as the monitor runs with every vCPU stopped.
 */
#include "internal.h"
#include <umbra/lib.h>
#include <umbra/x86.h>

struct vm_filter {
    uint64_t lo, hi;                      /* [lo, hi) */
    bool w, x, u, s, diff, frame_on;
    uint64_t frame;
};

struct vm_run {
    bool open;
    uint64_t start, end, gpa, gnext;
    bool scattered;
    char rights[16];
    const char *state;
    uint64_t pages;
};

struct vm_ctx {
    const struct gdb_mon_ctx *c;
    enum guest_paging mode;
    bool nxe, pse;
    struct vm_filter f;
    struct vm_run run;
    unsigned long ranges, leaves;
    uint64_t bytes;
    unsigned vabits;                      /* 32 or 48 */
};

static uint8_t tbl[5][4096];              /* one table per level being walked */

static const char *shadow_state(struct vm_ctx *v, uint64_t va, uint64_t gpa, bool rw)
{
    const struct gdb_target_ops *o = v->c->ops;
    struct gdb_walk w;
    uint8_t b;
    if (o->read_phys && o->read_phys(v->c->t, gpa, &b, 1) < 0)
        return "refused";
    if (!o->mon_walk)
        return "?";
    memset(&w, 0, sizeof(w));
    if (o->mon_walk(v->c->t, v->c->cpu, va, &w) < 0 || w.nlevels == 0)
        return "?";
    if (!w.s_ok)
        return "unshadowed";
    uint64_t se = w.lv[w.nlevels - 1].s_entry;
    return rw && !(se & _PAGE_RW) ? "rw-held" : "shadowed";
}

static void flush(struct vm_ctx *v)
{
    struct vm_run *r = &v->run;
    if (!r->open)
        return;
    unsigned wd = v->vabits > 32 ? 16 : 8;
    uint64_t kib = (r->end - r->start) >> 10;
    char sz[24];
    if (kib >= 1024 * 1024 && !(kib & (1024 * 1024 - 1)))
        snprintf(sz, sizeof(sz), "%lluG", (unsigned long long)(kib >> 20));
    else if (kib >= 1024 && !(kib & 1023))
        snprintf(sz, sizeof(sz), "%lluM", (unsigned long long)(kib >> 10));
    else
        snprintf(sz, sizeof(sz), "%lluK", (unsigned long long)kib);
    gdb_printf(v->c->out, "0x%0*llx-0x%0*llx %6s %s %-10s gpa 0x%llx%s\n", wd, (unsigned long long)r->start,
               wd, (unsigned long long)r->end, sz, r->rights, r->state, (unsigned long long)r->gpa,
               r->scattered ? " scattered" : "");
    v->ranges++;
    r->open = false;
}

/* One leaf (or one 4 KiB page of it, for -frame): filter, then merge or print. */
static void leaf(struct vm_ctx *v, uint64_t va, uint64_t size, uint64_t gpa, bool rw, bool us, bool nx,
                 bool g, const char *psize)
{
    const struct vm_filter *f = &v->f;
    if (f->frame_on) {
        uint64_t fa = f->frame << PAGE_SHIFT;
        if (fa < gpa || fa >= gpa + size)
            return;
        va += fa - gpa;
        gpa = fa;
        size = PAGE_SIZE;
    }
    if (va + size <= f->lo || va >= f->hi)
        return;
    if ((f->w && !rw) || (f->x && nx) || (f->u && !us) || (f->s && us))
        return;
    const char *state = shadow_state(v, va, gpa, rw);
    if (f->diff && strcmp(state, "shadowed") == 0)
        return;
    v->leaves++;
    v->bytes += size;
    char rights[16];
    snprintf(rights, sizeof(rights), "r%c%c %c %c %s", rw ? 'w' : '-', nx ? '-' : 'x', us ? 'u' : 's',
             g ? 'g' : '-', psize);
    struct vm_run *r = &v->run;
    if (r->open && r->end == va && r->state == state && strcmp(r->rights, rights) == 0 && !f->frame_on) {
        r->end = va + size;
        r->scattered |= r->gnext != gpa;
        r->gnext = gpa + size;
        return;
    }
    flush(v);
    *r = (struct vm_run){ true, va, va + size, gpa, gpa + size, false, "", state, 0 };
    memcpy(r->rights, rights, sizeof(rights));
}

static uint64_t canon(const struct vm_ctx *v, uint64_t va)
{
    if (v->mode == GUEST_PAGING_LONG && (va & (1ULL << 47)))
        va |= 0xffff000000000000ULL;
    return va;
}

/*
 * Walk the table at gpa `table` of `level` covering VA from `base`; rw/us
 * are what the levels above allow, nx what they forbid.  Invariant: a
 * subtree entirely outside the filter's range is not read.
 */
static void walk(struct vm_ctx *v, unsigned level, uint64_t table, uint64_t base, bool rw, bool us, bool nx)
{
    bool two = v->mode == GUEST_PAGING_2LEVEL, pdpt = v->mode == GUEST_PAGING_PAE && level == 3;
    unsigned esize = two ? 4 : 8, n = two ? 1024 : pdpt ? 4 : 512;
    unsigned shift = two ? 12 + 10 * (level - 1) : 12 + 9 * (level - 1);
    const struct gdb_target_ops *o = v->c->ops;

    if (!o->read_phys || o->read_phys(v->c->t, table, tbl[level], n * esize) < 0) {
        gdb_printf(v->c->out, "umbra: monitor: vmmap: guest L%u table at gpa 0x%llx is not readable\n",
                   level, (unsigned long long)table);
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        uint64_t e = 0, span = 1ULL << shift, va = canon(v, base + (uint64_t)i * span);
        memcpy(&e, tbl[level] + (size_t)i * esize, esize);
        if (!(e & _PAGE_PRESENT))
            continue;
        if (va + span - 1 < v->f.lo || va >= v->f.hi)
            continue;
        bool erw = pdpt ? rw : rw && (e & _PAGE_RW), eus = pdpt ? us : us && (e & _PAGE_USER);
        bool enx = nx || (v->nxe && !two && (e & _PAGE_NX));
        uint64_t frame = two ? (e & PTE32_ADDR_MASK) : (e & PADDR_MASK_52);
        bool big = level > 1 && !pdpt && (e & _PAGE_PSE) && (level < 3 || v->mode == GUEST_PAGING_LONG) &&
                   (!two || v->pse);
        if (level == 1 || big) {
            if (big && two)      /* PSE-36: bits 20:13 are address bits 39:32 */
                frame = (e & 0xffc00000ULL) | ((e & 0x1fe000ULL) << 19);
            else if (big)
                frame &= ~(span - 1);
            leaf(v, va, span, frame, erw, eus, enx, e & _PAGE_GLOBAL,
                 level == 1 ? "4K" : two ? "4M" : level == 2 ? "2M" : "1G");
            continue;
        }
        walk(v, level - 1, frame, base + (uint64_t)i * span, erw, eus, enx);
        /* the walk below reused tbl[level - 1] only: this level's table is intact */
    }
}

static bool word(const char **p, char *w, size_t size)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = 0;
    while (s[n] && s[n] != ' ' && s[n] != '\t')
        n++;
    if (n == 0 || n >= size)
        return n == 0 ? false : (*p = s + n, w[0] = 0, true);
    memcpy(w, s, n);
    w[n] = 0;
    *p = s + n;
    return true;
}

/* Parse the filters; false after printing what was wrong. */
static bool parse(const struct gdb_mon_ctx *c, const char *a, struct vm_filter *f)
{
    char w[64];
    *f = (struct vm_filter){ .lo = 0, .hi = ~0ULL };
    bool range = false;
    while (word(&a, w, sizeof(w))) {
        if (strcmp(w, "-w") == 0) f->w = true;
        else if (strcmp(w, "-x") == 0) f->x = true;
        else if (strcmp(w, "-u") == 0) f->u = true;
        else if (strcmp(w, "-s") == 0) f->s = true;
        else if (strcmp(w, "-diff") == 0) f->diff = true;
        else if (strcmp(w, "-frame") == 0) {
            if (!word(&a, w, sizeof(w)) || !gdb_mon_parse_num(w, &f->frame))
                goto usage;
            f->frame_on = true;
        } else if (w[0] != '-' && !range) {
            char *dash = strchr(w, '-');
            if (dash)
                *dash = 0;
            if (!w[0] || !gdb_mon_parse_num(w, &f->lo))
                goto usage;
            if (dash && (!dash[1] || !gdb_mon_parse_num(dash + 1, &f->hi) || f->hi <= f->lo))
                goto usage;
            range = true;
        } else
            goto usage;
    }
    if (f->u && f->s)
        goto usage;
    return true;
usage:
    gdb_printf(c->out, "umbra: monitor: usage: vmmap [START-END|START] [-w] [-x] [-u|-s] [-diff] [-frame GFN] "
               "(numbers 0x-hex or decimal; GDB expressions: umbra vmmap)\n");
    return false;
}

int gdb_mon_vmmap(const struct gdb_mon_ctx *c, const char *a)
{
    static struct vm_ctx v;
    struct gdb_regs r;

    memset(&v, 0, sizeof(v));
    v.c = c;
    if (!parse(c, a, &v.f))
        return -1;
    if (!c->ops->get_regs || !c->ops->read_phys || !c->ops->paging_mode ||
        c->ops->get_regs(c->t, c->cpu, &r) < 0) {
        gdb_printf(c->out, "umbra: monitor: vmmap is not available on this target\n");
        return -1;
    }
    v.mode = c->ops->paging_mode(c->t, c->cpu);
    v.nxe = r.efer & EFER_NXE;
    v.pse = r.cr4 & X86_CR4_PSE;
    v.vabits = v.mode == GUEST_PAGING_LONG ? 48 : 32;
    switch (v.mode) {
    case GUEST_PAGING_2LEVEL: walk(&v, 2, r.cr3 & PTE32_ADDR_MASK, 0, true, true, false); break;
    case GUEST_PAGING_PAE:    walk(&v, 3, r.cr3 & 0xffffffe0ULL, 0, true, true, false); break;
    case GUEST_PAGING_LONG:   walk(&v, 4, r.cr3 & PADDR_MASK_52, 0, true, true, false); break;
    default:
        gdb_printf(c->out, "vmmap: paging is off: every address is its guest-physical address\n");
        return 0;
    }
    flush(&v);
    gdb_printf(c->out, "vmmap: %lu ranges, %lu leaves, %llu KiB\n", v.ranges, v.leaves,
               (unsigned long long)(v.bytes >> 10));
    return 0;
}
