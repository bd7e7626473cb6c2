/*
 * The GDB stub's memory and monitor hooks implemented on the shadow MMU's
 * public API (include/umbra/shadow.h) and the platform seam -- no SVM
 * knowledge, so the SVM target's hooks become one-line wrappers that pick the
 * vCPU / domain.  Pure: compiles into umbra.elf and the hosted tests.
 *
 * Needs the shadow branch's shadow_walk_va(), shadow_for_each(),
 * shadow_pool_usage() and shadow_blow_tables().
 */
#include <umbra/gdbstub.h>
#include <umbra/shadow.h>
#include <umbra/lib.h>
#include <umbra/platform.h>
#include <umbra/x86.h>
#include "../shadow/trace.h"

/* Index of va in a table at `level` of the shadow format of `mode` (the
 * shadows use the guest's format; paging-off guests run on PAE shadows). */
static unsigned shadow_index(enum guest_paging mode, unsigned level, uint64_t va)
{
    if (mode == GUEST_PAGING_2LEVEL)
        return (unsigned)((va >> (12 + 10 * (level - 1))) & 1023);
    if (level == 3 && mode != GUEST_PAGING_LONG)
        return (unsigned)((va >> 30) & 3);
    return (unsigned)((va >> (12 + 9 * (level - 1))) & 511);
}

static uint64_t entry_frame(enum guest_paging mode, uint64_t e)
{
    return mode == GUEST_PAGING_2LEVEL ? (e & PTE32_ADDR_MASK) : (e & PADDR_MASK_52);
}

int gdb_shadow_walk(struct shadow_vcpu *v, uint64_t va, struct gdb_walk *w)
{
    struct shadow_walk_info wi;
    enum guest_paging m = v->paging;
    unsigned esize = m == GUEST_PAGING_2LEVEL ? 4 : 8;
    unsigned n = shadow_walk_va(v, va, &wi);

    memset(w, 0, sizeof(*w));
    w->mode = m;
    w->va = va;
    if (n > ARRAY_SIZE(wi.lv))
        n = ARRAY_SIZE(wi.lv);
    w->nlevels = n;
    for (unsigned i = 0; i < n; i++) {
        const struct shadow_walk_level *s = &wi.lv[i];
        struct gdb_walk_level *l = &w->lv[i];

        l->level = s->level;
        l->g_valid = s->g_valid;
        l->g_table = s->g_addr & ~(uint64_t)(PAGE_SIZE - 1);
        l->g_index = (unsigned)((s->g_addr & (PAGE_SIZE - 1)) / esize);
        l->g_entry = s->g_entry;
        l->s_valid = s->s_valid;
        l->s_table = mfn_x(s->s_mfn) << PAGE_SHIFT;
        l->s_index = shadow_index(m == GUEST_PAGING_OFF ? GUEST_PAGING_PAE : m, s->level, va);
        if (m == GUEST_PAGING_PAE && s->level == 3) {
            /* The guest's PDPT is 32 bytes at CR3 & ~0x1f, anywhere in its
             * frame: index 0..3 from there (issue 17 item 7). */
            l->g_table = v->guest_cr3 & 0xffffffe0ULL;
            l->g_index = (unsigned)((va >> 30) & 3);
        }
        l->s_entry = s->s_entry;
        l->leaf = s->level == 1 || (s->level > 1 && s->g_valid && (s->g_entry & _PAGE_PSE) &&
                                    !(m == GUEST_PAGING_PAE && s->level == 3));
    }
    w->g_ok = wi.g_ok;
    w->gpa = wi.gpa;
    w->g_pfec = wi.g_pfec;
    /* Shadows never use superpages: the mapping is the level-1 shadow entry. */
    if (n && wi.lv[n - 1].level == 1 && wi.lv[n - 1].s_valid && (wi.lv[n - 1].s_entry & _PAGE_PRESENT)) {
        w->s_ok = true;
        w->hpa = entry_frame(m == GUEST_PAGING_OFF ? GUEST_PAGING_PAE : m, wi.lv[n - 1].s_entry) |
                 (va & (PAGE_SIZE - 1));
    }
    return 0;
}

struct list_ctx {
    bool (*fn)(const struct gdb_shadow_info *, void *);
    void *arg;
    const struct shadow_vcpu *v;
};

static bool is_pdpt(const char *type)
{
    return type && strcmp(type, "pdpt") == 0;
}

static bool list_one(const struct shadow_info *si, void *arg)
{
    struct list_ctx *c = arg;
    struct gdb_shadow_info g = {
        .smfn = mfn_x(si->smfn),
        .gfn = gfn_x(si->gfn),
        .g_table = gfn_x(si->gfn) << PAGE_SHIFT,
        .type = si->type,
        .guest_levels = si->guest_levels,
        .level = si->level,
        .refcount = si->refcount,
        .pinned = si->pinned,
        .in_use = si->in_use != 0,
        .entries = si->guest_levels == 2 ? 1024 : 512,
    };
    /* The per-vCPU shadow PDPT is keyed by the vCPU, not a guest frame: it
     * mirrors the 4 PDPTEs at the PAE guest's CR3 & ~0x1f. */
    if (is_pdpt(si->type)) {
        g.entries = 4;
        g.g_table = 0;
        g.gfn = 0;
        if (c->v && mfn_x(c->v->pae_l3) == g.smfn && c->v->paging == GUEST_PAGING_PAE) {
            g.g_table = c->v->guest_cr3 & 0xffffffe0ULL;
            g.gfn = g.g_table >> PAGE_SHIFT;
            g.in_use = true;
        }
    }
    return c->fn(&g, c->arg);
}

int gdb_shadow_list(struct shadow_vcpu *v, bool (*fn)(const struct gdb_shadow_info *, void *), void *arg)
{
    struct list_ctx c = { fn, arg, v };

    shadow_for_each(v->d, list_one, &c);
    return 0;
}

/* Types that mirror a guest table entry for entry ("l1_pae", "l2_32", "l4_64"):
 * not splinters (fl1/fl2), identity maps (phys_*) or the per-vCPU PDPT. */
static bool mirrors_guest_table(const char *type)
{
    return type && type[0] == 'l' && type[1] >= '1' && type[1] <= '4';
}

static uint64_t read_entry(const void *table, unsigned i, unsigned esize)
{
    if (esize == 4) {
        uint32_t e;
        memcpy(&e, (const char *)table + 4 * i, 4);
        return e;
    }
    uint64_t e;
    memcpy(&e, (const char *)table + 8 * (size_t)i, 8);
    return e;
}

int gdb_shadow_entry(const struct gdb_shadow_info *si, unsigned i, uint64_t *sentry, uint64_t *gentry)
{
    unsigned esize = si->guest_levels == 2 ? 4 : 8;
    const void *st = plat_map_mfn(_mfn(si->smfn));

    if (!st || i >= si->entries || i >= PAGE_SIZE / esize)
        return -GDB_ENOENT;
    *sentry = read_entry(st, i, esize);
    *gentry = 0;
    if (mirrors_guest_table(si->type) || (is_pdpt(si->type) && si->g_table)) {
        uint64_t ga = si->g_table + (uint64_t)i * esize;
        mfn_t gm = plat_gfn_to_mfn(_gfn(ga >> PAGE_SHIFT));
        char *gt;
        if (mfn_valid(gm) && gdb_map_frame(gm, &gt))
            *gentry = read_entry(gt + (ga & (PAGE_SIZE - 1)), 0, esize);
    }
    return 0;
}

static bool count_one(const struct shadow_info *si, void *arg)
{
    struct gdb_pool_info *pi = arg;
    pi->shadows++;
    pi->pinned += si->pinned != 0;
    return true;
}

/* Free and total from the pool; shadows and pinned counted as `monitor
 * shadows` lists them (shadow_pool_usage()'s live count leaves out the
 * per-vCPU PDPT, which is not hashed: pool said 4 where shadows said 5). */
int gdb_shadow_pool(struct shadow_domain *d, struct gdb_pool_info *pi)
{
    memset(pi, 0, sizeof(*pi));
    shadow_pool_usage(d, &pi->total, &pi->free, NULL, NULL);
    shadow_for_each(d, count_one, pi);
    return 0;
}

/*
 * plat_map_mfn() says "cannot map" with NULL, but on an identity direct map
 * (the hypervisor's) frame 0 lives at address 0, which is NULL too: the
 * guest's frame 0 (the real-mode IVT) was unreadable (issue 17 item 9).
 * Frame 0 is taken as mapped at address 0 only when the map is the identity
 * there (frame 1 at 0x1000), and the pointer is passed through an empty asm
 * so the compiler cannot treat the access as a NULL dereference.
 */
bool gdb_map_frame(mfn_t m, char **out)
{
    char *p = plat_map_mfn(m);
    if (!p) {
        if (mfn_x(m) != 0 || plat_map_mfn(_mfn(1)) != (void *)(uintptr_t)PAGE_SIZE)
            return false;
        uintptr_t a = 0;
        __asm__("" : "+r"(a));
        p = (char *)a;
    }
    *out = p;
    return true;
}

/* Debugger memory: translate without rights checks or A/D, then copy through
 * the direct map.  Invariant: a write never lands silently in a guest page
 * table -- those go through shadow_write_guest(), which revalidates the
 * shadows; if the guest's own rights refuse that write, it is refused. */
static int virt_xfer(struct shadow_vcpu *v, uint64_t va, void *buf, size_t len, bool write)
{
    gpa_t gpa;
    mfn_t m;
    char *p;

    if ((va & (PAGE_SIZE - 1)) + len > PAGE_SIZE)
        return -GDB_EINVAL;
    if (!shadow_gva_to_gpa(v, va, &gpa))
        return -GDB_EIO;
    m = plat_gfn_to_mfn(_gfn(gpa >> PAGE_SHIFT));
    if (!mfn_valid(m) || !plat_gfn_is_ram(_gfn(gpa >> PAGE_SHIFT)) || !gdb_map_frame(m, &p))
        return -GDB_EIO;
    p += gpa & (PAGE_SIZE - 1);
    if (!write) {
        memcpy(buf, p, len);
        return 0;
    }
    if (gdb_shadow_is_table(v->d, gpa >> PAGE_SHIFT)) {
        struct sh_fault f;
        return shadow_write_guest(v, va, buf, (unsigned)len, 0, &f) == SH_FIXED ? 0 : -GDB_EPERM;
    }
    memcpy(p, buf, len);
    return 0;
}

struct is_table_ctx { uint64_t gfn; bool found; };

static bool is_table_one(const struct shadow_info *si, void *arg)
{
    struct is_table_ctx *c = arg;
    if (gfn_x(si->gfn) == c->gfn && mirrors_guest_table(si->type)) {
        c->found = true;
        return false;
    }
    return true;
}

bool gdb_shadow_is_table(struct shadow_domain *d, uint64_t gfn)
{
    struct is_table_ctx c = { gfn, false };
    shadow_for_each(d, is_table_one, &c);
    return c.found;
}

int gdb_shadow_read_virt(struct shadow_vcpu *v, uint64_t va, void *buf, size_t len)
{
    return virt_xfer(v, va, buf, len, false);
}

int gdb_shadow_write_virt(struct shadow_vcpu *v, uint64_t va, const void *buf, size_t len)
{
    return virt_xfer(v, va, (void *)buf, len, true);
}

/* monitor trace: parse and answer in src/shadow/trace.c (pure). */
int gdb_shadow_trace(const char *args, void (*put)(const char *s, void *ctx), void *ctx)
{
    return sh_trace_command(args, put, ctx);
}
