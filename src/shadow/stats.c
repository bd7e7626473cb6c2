/*
 * The shadow counters as data (issue 16: a counter iterator, so the GDB
 * monitor and the tests stop parsing "shadow: NAME=VALUE" log text).
 * shadow_stat() enumerates them in a stable order -- the SH_COUNTERS table,
 * then made_/destroyed_ per shadow type, then the pool's gauges -- each with
 * the group a reader looks for (faults, cr3, tlb, writes, unshadow, pool,
 * audit), and shadow_stat_get() finds one by name.  shadow_print_stats()
 * (common.c) prints through shadow_stat().  Pure, no allocation; reads d
 * only.
 */
#include "private.h"
#include <umbra/lib.h>

static const char *const sh_cnames[] = {
#define SH_CNAME(n) #n,
    SH_COUNTERS(SH_CNAME)
#undef SH_CNAME
};

/* The group of a counter, by name prefix: the first matching rule wins, and a
 * counter added to SH_COUNTERS without a rule lands in "other". */
static const struct { const char *prefix, *group; } sh_groups[] = {
    { "fault", "faults" }, { "ad_", "faults" }, { "prefetch", "faults" }, { "guest_access", "faults" },
    { "cr3_", "cr3" }, { "mode_changes", "cr3" },
    { "invlpg", "tlb" }, { "tlb_", "tlb" },
    { "pt_", "writes" }, { "wp_", "writes" }, { "guest_", "writes" },
    { "unshadow", "unshadow" }, { "oos_", "writes" },
    { "unpins", "pool" }, { "reclaim", "pool" }, { "teardowns", "pool" }, { "prealloc", "pool" },
    { "made_", "pool" }, { "destroyed_", "pool" }, { "pool_", "pool" }, { "live", "pool" }, { "pinned", "pool" },
    { "audit", "audit" },
};

const char *shadow_stat_group(const char *name)
{
    for (unsigned i = 0; i < ARRAY_SIZE(sh_groups); i++)
        if (strncmp(name, sh_groups[i].prefix, strlen(sh_groups[i].prefix)) == 0)
            return sh_groups[i].group;
    return "other";
}

bool shadow_stat(const struct shadow_domain *d, unsigned idx, struct shadow_stat *st)
{
    const unsigned nc = ARRAY_SIZE(sh_cnames);
    const unsigned ntypes = SH_T_PHYS_L2 - SH_T_L1_32 + 1;
    const uint64_t *cv = (const uint64_t *)&d->c;   /* SH_COUNTERS fields come first, all uint64_t */

    _Static_assert(sizeof(sh_cnames) / sizeof(sh_cnames[0]) * sizeof(uint64_t) ==
                   __builtin_offsetof(struct sh_counters, made), "SH_COUNTERS fields are the uint64_t head of sh_counters");
    if (idx < nc) {
        snprintf(st->name, sizeof(st->name), "%s", sh_cnames[idx]);
        st->value = cv[idx];
    } else if (idx < nc + 2 * ntypes) {
        unsigned k = idx - nc, t = SH_T_L1_32 + k / 2;
        snprintf(st->name, sizeof(st->name), "%s_%s", k % 2 ? "destroyed" : "made", sh_role[t].name);
        st->value = k % 2 ? d->c.destroyed[t] : d->c.made[t];
    } else {
        static const char *const gauges[] = { "pool_frames", "pool_free", "live", "pinned" };
        unsigned k = idx - nc - 2 * ntypes;
        if (k >= ARRAY_SIZE(gauges))
            return false;
        const uint64_t gv[] = { d->frames, d->nfree, d->live, d->npinned };
        snprintf(st->name, sizeof(st->name), "%s", gauges[k]);
        st->value = gv[k];
    }
    st->group = shadow_stat_group(st->name);
    return true;
}

bool shadow_stat_get(const struct shadow_domain *d, const char *name, uint64_t *value)
{
    struct shadow_stat st;
    for (unsigned i = 0; shadow_stat(d, i, &st); i++)
        if (strcmp(st.name, name) == 0) {
            *value = st.value;
            return true;
        }
    return false;
}

/* The split exit profile's marks (shadow.h): plain counter reads, no side effect. */
void shadow_get_marks(const struct shadow_domain *d, struct shadow_marks *m)
{
    uint64_t made = 0;
    for (unsigned t = SH_T_L1_32; t <= SH_T_PHYS_L2; t++)
        made += d->c.made[t];
    m->n[SHW_MADE] = made;
    m->n[SHW_UNSHADOW] = d->c.unshadows;
    m->n[SHW_EMULATE] = d->c.fault_emulated_pt + d->c.fault_emulated_wp0;
    m->n[SHW_UNSYNC] = d->c.oos_made;
    m->n[SHW_RESYNC] = d->c.oos_resyncs - d->c.oos_resync_clean;
    m->n[SHW_REFLECT] = d->c.fault_reflected;
    m->n[SHW_AD] = d->c.ad_set;
}

/* The first kind, in priority order, whose counter moved between a and b. */
enum shadow_work shadow_work_class(const struct shadow_marks *a, const struct shadow_marks *b)
{
    unsigned w = 0;
    while (w < SHW_PLAIN && a->n[w] == b->n[w])
        w++;
    return (enum shadow_work)w;
}

const char *shadow_work_name(enum shadow_work w)
{
    static const char *const names[SHW_NCLASS] = {
        [SHW_MADE] = "made", [SHW_UNSHADOW] = "unshadow", [SHW_EMULATE] = "emulate",
        [SHW_UNSYNC] = "unsync", [SHW_RESYNC] = "resync", [SHW_REFLECT] = "reflect",
        [SHW_AD] = "ad", [SHW_PLAIN] = "plain",
    };
    return (unsigned)w < SHW_NCLASS ? names[w] : "?";
}
