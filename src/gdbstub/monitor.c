/*
 * `monitor` commands: a table of {name, args, help, handler}.  Pure: the data
 * comes from the target's mon_* hooks, this file only parses and formats.
 *
 * Output is stable and greppable: one fact per line, fixed columns, hex with
 * 0x, and every error line starts with "umbra: monitor: ".
 */
#include "internal.h"
#include <umbra/lib.h>
#include <umbra/x86.h>

struct mon_cmd {
    const char *name;
    const char *args;
    const char *help;
    int (*fn)(const struct gdb_mon_ctx *c, const char *args);
};

static const char *const mode_names[] = { "off", "2level", "pae", "long" };

void gdb_printf(const struct gdb_out *o, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(buf))
        n = sizeof(buf) - 1;
    o->write(o->ctx, buf, (size_t)n);
}

static const char *mode_name(enum guest_paging m)
{
    return (unsigned)m < ARRAY_SIZE(mode_names) ? mode_names[m] : "?";
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A number as GDB users write one (issue 17 item 8): hex with 0x, decimal
 * without it (`walk 4096` is 0x1000).  The whole trimmed word must parse and
 * fit 64 bits; bare hex digits (`401000abc`), GDB expressions ($pc) and
 * anything else are refused with NUM_USAGE, which names the umbra wrappers
 * that do evaluate expressions. */
#define NUM_USAGE "a number: 0x-prefixed hex or decimal; for a GDB expression ($pc, &var) use `umbra %s`"
static bool parse_num(const char *p, uint64_t *v);
bool gdb_mon_parse_num(const char *p, uint64_t *v)
{
    return parse_num(p, v);
}

static bool parse_num(const char *p, uint64_t *v)
{
    p = skip_ws(p);
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
        if (!rsp_parse_hex(&p, v))
            return false;
        return *skip_ws(p) == '\0';
    }
    if (*p < '0' || *p > '9')
        return false;
    uint64_t n = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (n > (~0ULL - d) / 10)
            return false;               /* more than 64 bits */
        n = n * 10 + d;
    }
    if (*skip_ws(p) != '\0')
        return false;
    *v = n;
    return true;
}

static bool word_is(const char *p, const char *w)
{
    size_t n = strlen(w);
    p = skip_ws(p);
    return strncmp(p, w, n) == 0 && *skip_ws(p + n) == '\0';
}

static int unavailable(const struct gdb_mon_ctx *c, const char *what)
{
    gdb_printf(c->out, "umbra: monitor: %s not available on this target\n", what);
    return -1;
}

void gdb_pte_flags(uint64_t e, unsigned level, enum guest_paging mode, char *buf, size_t size)
{
    size_t n = 0;

#define FLAG(bit, name) do { \
        if ((e & (bit)) && n < size) \
            n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? " " : "", name); \
    } while (0)
    if (size)
        buf[0] = '\0';
    if (!(e & _PAGE_PRESENT)) {
        snprintf(buf, size, "-");
        return;
    }
    FLAG(_PAGE_PRESENT, "P");
    if (mode == GUEST_PAGING_PAE && level == 3) {   /* a PDPTE has only P, PWT, PCD */
        FLAG(_PAGE_PWT, "PWT");
        FLAG(_PAGE_PCD, "PCD");
        return;
    }
    FLAG(_PAGE_RW, "RW");
    FLAG(_PAGE_USER, "US");
    FLAG(_PAGE_PWT, "PWT");
    FLAG(_PAGE_PCD, "PCD");
    FLAG(_PAGE_ACCESSED, "A");
    FLAG(_PAGE_DIRTY, "D");
    if (level > 1)
        FLAG(_PAGE_PSE, "PS");
    else
        FLAG(_PAGE_PAT, "PAT");
    FLAG(_PAGE_GLOBAL, "G");
    if (mode != GUEST_PAGING_2LEVEL)
        FLAG(_PAGE_NX, "NX");
#undef FLAG
}

/* ---- help, mode, arch, phys ---------------------------------------------------- */
static int do_help(const struct gdb_mon_ctx *c, const char *a);

static int do_mode(const struct gdb_mon_ctx *c, const char *a)
{
    struct gdb_regs r;
    enum guest_paging m = c->ops->paging_mode ? c->ops->paging_mode(c->t, c->cpu) : GUEST_PAGING_OFF;

    (void)a;
    gdb_printf(c->out, "cpu %u paging %s\n", c->cpu, mode_name(m));
    if (c->ops->get_regs && c->ops->get_regs(c->t, c->cpu, &r) == 0)
        gdb_printf(c->out, "cr0 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx\n",
                   (unsigned long long)r.cr0, (unsigned long long)r.cr3,
                   (unsigned long long)r.cr4, (unsigned long long)r.efer);
    if (c->s)
        gdb_printf(c->out, "gdb layout %s (override %s), memory %s\n",
                   gdb_layout(c->s->arch)->arch_name,
                   c->s->arch_override == GDB_ARCH_AUTO ? "auto" :
                   gdb_layout(c->s->arch_override)->arch_name,
                   c->s->phys ? "physical" : "virtual");
    return 0;
}

static int do_arch(const struct gdb_mon_ctx *c, const char *a)
{
    enum gdb_arch want;

    if (!c->s)
        return unavailable(c, "arch");
    a = skip_ws(a);
    if (!*a) {
        gdb_printf(c->out, "arch %s (override %s)\n", gdb_layout(c->s->arch)->arch_name,
                   c->s->arch_override == GDB_ARCH_AUTO ? "auto" :
                   gdb_layout(c->s->arch_override)->arch_name);
        return 0;
    }
    if (word_is(a, "i386"))
        want = GDB_ARCH_I386;
    else if (word_is(a, "x86-64") || word_is(a, "amd64"))
        want = GDB_ARCH_AMD64;
    else if (word_is(a, "auto"))
        want = GDB_ARCH_AUTO;
    else {
        gdb_printf(c->out, "umbra: monitor: usage: arch i386|x86-64|auto\n");
        return -1;
    }
    c->s->arch_override = want;
    gdb_printf(c->out, "arch override %s; reconnect GDB to load the new target description\n",
               want == GDB_ARCH_AUTO ? "auto" : gdb_layout(want)->arch_name);
    return 0;
}

static int do_phys(const struct gdb_mon_ctx *c, const char *a)
{
    if (!c->s)
        return unavailable(c, "phys");
    if (word_is(a, "on"))
        c->s->phys = true;
    else if (word_is(a, "off"))
        c->s->phys = false;
    else if (*skip_ws(a)) {
        gdb_printf(c->out, "umbra: monitor: usage: phys on|off\n");
        return -1;
    }
    gdb_printf(c->out, "memory access %s\n", c->s->phys ? "physical" : "virtual");
    return 0;
}

/* The last refusal and its reason (why.c). */
static void trace_put(const char *s, void *ctx)
{
    gdb_printf(ctx, "%s", s);
}

/* monitor trace: the ring lives in src/shadow (trace.c), reached through gdb_shadow_trace(). */
static int do_trace(const struct gdb_mon_ctx *c, const char *a)
{
    if (!gdb_shadow_trace)
        return unavailable(c, "trace");
    return gdb_shadow_trace(skip_ws(a), trace_put, (void *)c->out);
}

static int do_why(const struct gdb_mon_ctx *c, const char *a)
{
    if (!c->s)
        return unavailable(c, "why");
    if (*skip_ws(a)) {
        gdb_printf(c->out, "umbra: monitor: usage: why\n");
        return -1;
    }
    if (c->s->refusals == 0)
        gdb_printf(c->out, "nothing refused since Umbra started\n");
    else
        gdb_printf(c->out, "refusal %lu: %s\n", c->s->refusals, c->s->why);
    return 0;
}

/* ---- walk ------------------------------------------------------------------------ */
static int do_walk(const struct gdb_mon_ctx *c, const char *a)
{
    struct gdb_walk w;
    uint64_t va;
    char gf[48], sf[48];

    if (!parse_num(a, &va)) {
        gdb_printf(c->out, "umbra: monitor: usage: walk VA (VA: " NUM_USAGE ")\n", "walk $pc");
        return -1;
    }
    if (!c->ops->mon_walk)
        return unavailable(c, "walk");
    memset(&w, 0, sizeof(w));
    if (c->ops->mon_walk(c->t, c->cpu, va, &w) < 0) {
        gdb_printf(c->out, "umbra: monitor: walk 0x%llx failed\n", (unsigned long long)va);
        return -1;
    }
    gdb_printf(c->out, "walk 0x%llx cpu %u paging %s\n", (unsigned long long)va, c->cpu, mode_name(w.mode));
    gdb_printf(c->out, "%-3s %-18s %-4s %-18s %-22s| %-18s %-4s %-18s %s\n", "lvl",
               "guest-table", "idx", "guest-entry", "guest-flags",
               "shadow-table", "idx", "shadow-entry", "shadow-flags");
    for (unsigned i = 0; i < w.nlevels && i < ARRAY_SIZE(w.lv); i++) {
        const struct gdb_walk_level *l = &w.lv[i];
        char gt[20] = "-", ge[20] = "-", st[20] = "-", se[20] = "-", gi[8] = "-", si[8] = "-";

        gf[0] = sf[0] = '-';
        gf[1] = sf[1] = '\0';
        if (l->g_valid) {
            snprintf(gt, sizeof(gt), "0x%llx", (unsigned long long)l->g_table);
            snprintf(gi, sizeof(gi), "%u", l->g_index);
            snprintf(ge, sizeof(ge), "0x%llx", (unsigned long long)l->g_entry);
            gdb_pte_flags(l->g_entry, l->level, w.mode, gf, sizeof(gf));
        }
        if (l->s_valid) {
            snprintf(st, sizeof(st), "0x%llx", (unsigned long long)l->s_table);
            snprintf(si, sizeof(si), "%u", l->s_index);
            snprintf(se, sizeof(se), "0x%llx", (unsigned long long)l->s_entry);
            /* Umbra's shadows use the guest's format (2-level on 2-level, PAE on
             * PAE, 4-level in long mode); paging-off guests run on PAE shadows. */
            gdb_pte_flags(l->s_entry, l->level, w.mode == GUEST_PAGING_OFF ? GUEST_PAGING_PAE : w.mode,
                          sf, sizeof(sf));
        }
        gdb_printf(c->out, "L%-2u %-18s %-4s %-18s %-22s| %-18s %-4s %-18s %s\n", l->level,
                   gt, gi, ge, gf, st, si, se, sf);
    }
    if (w.g_ok)
        gdb_printf(c->out, "guest:  0x%llx -> gpa 0x%llx\n", (unsigned long long)va, (unsigned long long)w.gpa);
    else
        gdb_printf(c->out, "guest:  0x%llx -> not mapped (pfec 0x%x)\n", (unsigned long long)va, w.g_pfec);
    if (w.s_ok)
        gdb_printf(c->out, "shadow: 0x%llx -> hpa 0x%llx\n", (unsigned long long)va, (unsigned long long)w.hpa);
    else
        gdb_printf(c->out, "shadow: 0x%llx -> not mapped\n", (unsigned long long)va);
    return 0;
}

/* ---- shadows, shadow, pool, stats, audit, blow -------------------------------------- */
static void shadow_line(const struct gdb_mon_ctx *c, const struct gdb_shadow_info *si)
{
    gdb_printf(c->out, "smfn 0x%-8llx gfn 0x%-8llx type %-8s level %u ref %-4u%s%s\n",
               (unsigned long long)si->smfn, (unsigned long long)si->gfn,
               si->type ? si->type : "?", si->level, si->refcount,
               si->pinned ? " pinned" : "", si->in_use ? " in-use" : "");
}

struct shadows_walk {
    const struct gdb_mon_ctx *c;
    unsigned long n;
};

static bool print_one(const struct gdb_shadow_info *si, void *arg)
{
    struct shadows_walk *w = arg;
    shadow_line(w->c, si);
    w->n++;
    return true;
}

static int do_shadows(const struct gdb_mon_ctx *c, const char *a)
{
    struct shadows_walk w = { c, 0 };

    (void)a;
    if (!c->ops->mon_shadows)
        return unavailable(c, "shadows");
    if (c->ops->mon_shadows(c->t, print_one, &w) < 0)
        return unavailable(c, "shadows");
    gdb_printf(c->out, "shadows: %lu\n", w.n);
    return 0;
}

struct shadow_find {
    uint64_t smfn;
    bool found;
    struct gdb_shadow_info si;
};

static bool find_one(const struct gdb_shadow_info *si, void *arg)
{
    struct shadow_find *f = arg;
    if (si->smfn != f->smfn)
        return true;
    f->si = *si;
    f->found = true;
    return false;
}

/*
 * monitor shadow MFN [-all] [-w] [-x] [-u|-s] [-diff]: the present entries of
 * one shadow table (issue 17 item 2: all 512 were 42 KB), -all for every
 * non-empty one; -w -x -u -s keep entries whose shadow grants write / execute
 * / user / only supervisor; -diff those where the shadow entry's frame or
 * rights (P RW US NX) differ from the guest entry it mirrors.
 */
static int do_shadow(const struct gdb_mon_ctx *c, const char *a)
{
    struct shadow_find f = { 0 };
    uint64_t se, ge;
    char sf[48], gf[48], w[32];
    unsigned shown = 0, present = 0, nonempty = 0;
    bool all = false, fw = false, fx = false, fu = false, fs = false, diff = false, have = false;
    const uint64_t cmp = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_NX | PADDR_MASK_52;

    for (a = skip_ws(a); *a; a = skip_ws(a)) {
        size_t n = 0;
        while (a[n] && a[n] != ' ' && a[n] != '\t')
            n++;
        if (n >= sizeof(w))
            goto usage;
        memcpy(w, a, n);
        w[n] = 0;
        a += n;
        if (strcmp(w, "-all") == 0) all = true;
        else if (strcmp(w, "-w") == 0) fw = true;
        else if (strcmp(w, "-x") == 0) fx = true;
        else if (strcmp(w, "-u") == 0) fu = true;
        else if (strcmp(w, "-s") == 0) fs = true;
        else if (strcmp(w, "-diff") == 0) diff = true;
        else if (!have && parse_num(w, &f.smfn)) have = true;
        else goto usage;
    }
    if (!have || (fu && fs))
        goto usage;
    if (!c->ops->mon_shadows || !c->ops->mon_shadow_entry)
        return unavailable(c, "shadow");
    if (c->ops->mon_shadows(c->t, find_one, &f) < 0 || !f.found) {
        gdb_printf(c->out, "umbra: monitor: 0x%llx is not a shadow\n", (unsigned long long)f.smfn);
        return -1;
    }
    shadow_line(c, &f.si);
    for (unsigned i = 0; i < f.si.entries; i++) {
        se = ge = 0;
        if (c->ops->mon_shadow_entry(c->t, &f.si, i, &se, &ge) < 0)
            break;
        if (!se && !ge)
            continue;
        nonempty++;
        present += (se & _PAGE_PRESENT) != 0;
        if (!all && !(se & _PAGE_PRESENT))
            continue;
        if ((fw && !(se & _PAGE_RW)) || (fx && (se & _PAGE_NX)) || (fu && !(se & _PAGE_USER)) ||
            (fs && (se & _PAGE_USER)) || (diff && !((se ^ ge) & cmp)))
            continue;
        gdb_pte_flags(se, f.si.level, GUEST_PAGING_PAE, sf, sizeof(sf));
        gdb_pte_flags(ge, f.si.level, GUEST_PAGING_PAE, gf, sizeof(gf));
        gdb_printf(c->out, "[%3u] shadow 0x%016llx %-20s guest 0x%016llx %s\n", i,
                   (unsigned long long)se, sf, (unsigned long long)ge, gf);
        shown++;
    }
    gdb_printf(c->out, "entries: %u shown of %u (%u present, %u non-empty)\n", shown, f.si.entries, present,
               nonempty);
    return 0;
usage:
    gdb_printf(c->out, "umbra: monitor: usage: shadow MFN [-all] [-w] [-x] [-u|-s] [-diff] (MFN: " NUM_USAGE ")\n",
               "shadow EXPR");
    return -1;
}

static int do_pool(const struct gdb_mon_ctx *c, const char *a)
{
    struct gdb_pool_info pi;

    (void)a;
    if (!c->ops->mon_pool)
        return unavailable(c, "pool");
    memset(&pi, 0, sizeof(pi));
    if (c->ops->mon_pool(c->t, &pi) < 0)
        return unavailable(c, "pool");
    gdb_printf(c->out, "pool total %lu free %lu shadows %lu pinned %lu\n",
               pi.total, pi.free, pi.shadows, pi.pinned);
    gdb_printf(c->out, "pool unpins %lu teardowns %lu\n", pi.unpins, pi.teardowns);
    return 0;
}

/*
 * stats [-a | -d]: the counters by group ("[faults]" then NAME=VALUE lines,
 * greppable as before), groups in the order the target lists them.  Default:
 * the non-zero ones; -a: all; -d: those that changed since the last `stats`
 * (any form), with the change.  Every call records the values for -d.
 */
#define STATS_MAX 256
#define STATS_GROUPS 24
static uint64_t stats_prev[STATS_MAX];
static unsigned stats_nprev;

static int do_stats(const struct gdb_mon_ctx *c, const char *a)
{
    const char *name, *group, *groups[STATS_GROUPS];
    unsigned ng = 0, n = 0, shown = 0;
    bool all = false, delta = false;
    uint64_t v;

    for (a = skip_ws(a); *a; a = skip_ws(a)) {
        bool one = a[0] == '-' && (a[2] == '\0' || a[2] == ' ' || a[2] == '\t');
        if (one && a[1] == 'a')
            all = true;
        else if (one && a[1] == 'd')
            delta = true;
        else
            goto usage;
        a += 2;
    }
    if (all && delta)
        goto usage;
    if (!c->ops->mon_stat)
        return unavailable(c, "stats");
    for (; n < STATS_MAX && c->ops->mon_stat(c->t, n, &name, &group, &v) == 0; n++) {
        unsigned g = 0;
        while (g < ng && strcmp(groups[g], group) != 0)
            g++;
        if (g == ng && ng < STATS_GROUPS)
            groups[ng++] = group;
    }
    for (unsigned g = 0; g < ng; g++) {
        bool header = false;
        for (unsigned i = 0; i < n; i++) {
            if (c->ops->mon_stat(c->t, i, &name, &group, &v) != 0 || strcmp(group, groups[g]) != 0)
                continue;
            uint64_t before = i < stats_nprev ? stats_prev[i] : 0;
            if (delta ? v == before : !all && v == 0)
                continue;
            if (!header)
                gdb_printf(c->out, "[%s]\n", groups[g]);
            header = true;
            shown++;
            if (delta)
                gdb_printf(c->out, "%s=%llu (%s%llu)\n", name, (unsigned long long)v, v >= before ? "+" : "-",
                           (unsigned long long)(v >= before ? v - before : before - v));
            else
                gdb_printf(c->out, "%s=%llu\n", name, (unsigned long long)v);
        }
    }
    gdb_printf(c->out, "stats: %u of %u counters shown (%s)\n", shown, n,
               all ? "all" : delta ? (stats_nprev ? "changed since the last stats" : "changed since start")
                   : "non-zero; -a all, -d changed");
    for (unsigned i = 0; i < n; i++)
        if (c->ops->mon_stat(c->t, i, &name, &group, &v) == 0)
            stats_prev[i] = v;
    stats_nprev = n;
    return 0;
usage:
    gdb_printf(c->out, "usage: stats [-a | -d] (non-zero counters by group; -a all; -d changed since the last stats)\n");
    return -1;
}

static int do_audit(const struct gdb_mon_ctx *c, const char *a)
{
    long errs;

    (void)a;
    if (!c->ops->mon_audit)
        return unavailable(c, "audit");
    errs = c->ops->mon_audit(c->t, c->out);
    gdb_printf(c->out, "audit: %ld error%s\n", errs, errs == 1 ? "" : "s");
    return 0;
}

struct blow_count { unsigned long n, in_use; };

static bool count_shadow(const struct gdb_shadow_info *si, void *arg)
{
    struct blow_count *b = arg;
    b->n++;
    b->in_use += si->in_use;
    return true;
}

static int do_blow(const struct gdb_mon_ctx *c, const char *a)
{
    (void)a;
    if (!c->ops->mon_blow)
        return unavailable(c, "blow");
    struct blow_count before = { 0, 0 }, after = { 0, 0 };
    if (c->ops->mon_shadows)
        c->ops->mon_shadows(c->t, count_shadow, &before);
    if (c->ops->mon_blow(c->t) < 0) {
        gdb_printf(c->out, "umbra: monitor: blow failed\n");
        return -1;
    }
    if (!c->ops->mon_shadows || c->ops->mon_shadows(c->t, count_shadow, &after) < 0) {
        gdb_printf(c->out, "blow: shadows torn down\n");
        return 0;
    }
    /* What `monitor shadows` will list next: the in-use top levels stay, emptied. */
    gdb_printf(c->out, "blow: %lu of %lu shadows torn down; %lu kept (%lu in use, emptied, refilled on demand)\n",
               before.n > after.n ? before.n - after.n : 0, before.n, after.n, after.in_use);
    return 0;
}

/* ---- dot ---------------------------------------------------------------------------- */
#define DOT_MAX_SHADOWS 512

/*
 * A snapshot of the shadows (at most DOT_MAX_SHADOWS) and two sorted keys:
 * shadow frames, to draw shadow->shadow links only to known shadows, and guest
 * frames, to draw each guest table once and guest->guest links only to tables
 * Umbra shadows -- O(log n) per entry, where a PAE address space has 512 x 512.
 * Static: there is one monitor, and it runs with every vCPU stopped.
 */
static struct gdb_shadow_info dot_snap[DOT_MAX_SHADOWS];
static uint64_t dot_smfn[DOT_MAX_SHADOWS], dot_gfn[DOT_MAX_SHADOWS];
static unsigned long dot_n, dot_nsmfn, dot_ngfn;
static bool dot_truncated;

/* Insert g into the sorted set a[0..*n) unless present. */
static void set_add(uint64_t *a, unsigned long *n, uint64_t g)
{
    unsigned long i = *n;

    for (unsigned long k = 0; k < *n; k++)
        if (a[k] == g)
            return;
    while (i > 0 && a[i - 1] > g) {
        a[i] = a[i - 1];
        i--;
    }
    a[i] = g;
    (*n)++;
}

static bool set_has(const uint64_t *a, unsigned long n, uint64_t g)
{
    unsigned long lo = 0, hi = n;

    while (lo < hi) {
        unsigned long mid = lo + (hi - lo) / 2;
        if (a[mid] == g)
            return true;
        if (a[mid] < g)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static bool snap_one(const struct gdb_shadow_info *si, void *arg)
{
    (void)arg;
    if (dot_n == DOT_MAX_SHADOWS) {
        dot_truncated = true;
        return false;
    }
    dot_snap[dot_n++] = *si;
    set_add(dot_smfn, &dot_nsmfn, si->smfn);
    return true;
}

/*
 * The VA range each shadow covers, from the in-use top levels (the in-use
 * shadows of the highest level: under PAE the vCPU's PDPT) down the
 * shadow->shadow links (a child at entry e of a level-L table starts at the
 * parent's base + e << entry_bits(L)); dot_va_known[i] is false for tables
 * no in-use root reaches.  At most four passes: a chain has <= 4 levels.
 */
static uint64_t dot_va[DOT_MAX_SHADOWS];
static bool dot_va_known[DOT_MAX_SHADOWS];

static unsigned entry_bits(const struct gdb_shadow_info *si)
{
    return 12 + (si->guest_levels == 2 ? 10 : 9) * (si->level - 1);
}

static uint64_t va_span(const struct gdb_shadow_info *si)
{
    unsigned bits = entry_bits(si);
    return bits >= 63 ? ~0ULL : (uint64_t)si->entries << bits;
}

static void dot_vas(const struct gdb_mon_ctx *c)
{
    unsigned top = 0;                  /* the roots: the in-use shadows of the highest level */
    for (unsigned long i = 0; i < dot_n; i++)
        if (dot_snap[i].in_use && dot_snap[i].level > top)
            top = dot_snap[i].level;
    for (unsigned long i = 0; i < dot_n; i++) {
        dot_va[i] = 0;
        dot_va_known[i] = dot_snap[i].in_use && dot_snap[i].level == top;
    }
    for (int pass = 0; pass < 4; pass++)
        for (unsigned long i = 0; i < dot_n; i++) {
            const struct gdb_shadow_info *si = &dot_snap[i];
            if (!dot_va_known[i] || si->level <= 1)
                continue;
            for (unsigned e = 0; e < si->entries; e++) {
                uint64_t se = 0, ge = 0;
                if (c->ops->mon_shadow_entry(c->t, si, e, &se, &ge) < 0)
                    break;
                if (!(se & _PAGE_PRESENT) || (se & _PAGE_PSE))
                    continue;
                uint64_t cm = (se & PADDR_MASK_52) >> PAGE_SHIFT;
                if (!set_has(dot_smfn, dot_nsmfn, cm))
                    continue;
                for (unsigned long k = 0; k < dot_n; k++)
                    if (dot_snap[k].smfn == cm && !dot_va_known[k]) {
                        uint64_t va = dot_va[i] + ((uint64_t)e << entry_bits(si));
                        if (si->guest_levels == 4 && (va & (1ULL << 47)))
                            va |= 0xffff000000000000ULL;
                        dot_va[k] = va;
                        dot_va_known[k] = true;
                    }
            }
        }
}

/* What the colours and edges mean, as its own cluster. */
static void dot_legend(const struct gdb_mon_ctx *c)
{
    static const char *const lines[] = {   /* one gdb_printf each: its buffer is short */
        "  subgraph cluster_legend {\n    label=\"legend\";\n",
        "    l_g [label=\"guest page table\", style=filled, fillcolor=lightblue];\n",
        "    l_u [label=\"shadow in use\\n(a vCPU's top level)\", style=filled, fillcolor=orange];\n",
        "    l_p [label=\"shadow pinned\", style=filled, fillcolor=gold];\n",
        "    l_s [label=\"shadow\\nva: the range it maps\", style=filled, fillcolor=lightgrey];\n",
        "    l_g -> l_s [label=\"shadowed by\", style=dashed, color=grey];\n",
        "    l_u -> l_p [label=\"shadow entry N\"];\n",
        "    l_g -> l_g [label=\"guest entry N\", color=blue];\n  }\n",
    };
    for (unsigned i = 0; i < ARRAY_SIZE(lines); i++)
        gdb_printf(c->out, "%s", lines[i]);
}

/*
 * `dot [START-END|START]`: with a range, only the subtree of the VA range --
 * the shadows an in-use top level reaches whose VA span meets [START, END]
 * (so every ancestor of a drawn table is drawn), their guest tables and the
 * links between drawn nodes.  dot_draw[i] says whether dot_snap[i] is drawn;
 * dot_dsmfn is the sorted set of drawn shadow frames.  false after printing
 * the usage for a malformed range.
 */
static bool dot_draw[DOT_MAX_SHADOWS];
static uint64_t dot_dsmfn[DOT_MAX_SHADOWS];
static unsigned long dot_ndsmfn;

static bool dot_range(const struct gdb_mon_ctx *c, const char *a, bool *on, uint64_t *lo, uint64_t *hi)
{
    char w[64];
    const char *p = skip_ws(a);
    size_t n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    *on = n > 0;
    *lo = 0;
    *hi = ~0ULL;
    if (!n)
        return true;
    if (n < sizeof(w) && p[0] != '-') {
        memcpy(w, p, n);
        w[n] = 0;
        char *dash = strchr(w, '-');
        if (dash)
            *dash = 0;
        if (w[0] && parse_num(w, lo) && (!dash || (dash[1] && parse_num(dash + 1, hi) && *hi > *lo))) {
            if (!dash)
                *hi = *lo;
            return true;
        }
    }
    gdb_printf(c->out, "umbra: monitor: usage: dot [START-END|START] (only the shadows that map part of the "
               "range, and their guest tables; numbers 0x-hex or decimal; GDB expressions: umbra graph FILE START END)\n");
    return false;
}

static int do_dot(const struct gdb_mon_ctx *c, const char *a)
{
    unsigned long i, drawn = 0;
    bool ranged;
    uint64_t lo, hi;

    if (!c->ops->mon_shadows || !c->ops->mon_shadow_entry)
        return unavailable(c, "dot");
    if (!dot_range(c, a, &ranged, &lo, &hi))
        return -1;
    dot_n = dot_nsmfn = dot_ngfn = dot_ndsmfn = 0;
    dot_truncated = false;
    if (c->ops->mon_shadows(c->t, snap_one, NULL) < 0)
        return unavailable(c, "dot");
    gdb_printf(c->out, "digraph umbra {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n");
    dot_vas(c);
    for (i = 0; i < dot_n; i++) {
        uint64_t end = dot_va[i] + (va_span(&dot_snap[i]) - 1);
        dot_draw[i] = !ranged || (dot_va_known[i] && dot_va[i] <= hi && end >= lo);
        if (dot_draw[i]) {
            set_add(dot_dsmfn, &dot_ndsmfn, dot_snap[i].smfn);
            drawn++;
        }
    }
    if (ranged)
        gdb_printf(c->out, "  // va 0x%llx-0x%llx: %lu of %lu shadows\n", (unsigned long long)lo,
                   (unsigned long long)hi, drawn, dot_n);
    dot_legend(c);
    gdb_printf(c->out, "  subgraph cluster_guest {\n    label=\"guest page tables\";\n");
    for (i = 0; i < dot_n; i++) {
        const struct gdb_shadow_info *si = &dot_snap[i];
        if (!dot_draw[i] || set_has(dot_gfn, dot_ngfn, si->gfn))
            continue;
        set_add(dot_gfn, &dot_ngfn, si->gfn);
        gdb_printf(c->out, "    g_%llx [label=\"guest gfn 0x%llx\\nL%u\", style=filled, fillcolor=lightblue];\n",
                   (unsigned long long)si->gfn, (unsigned long long)si->gfn, si->level);
    }
    gdb_printf(c->out, "  }\n  subgraph cluster_shadow {\n    label=\"shadows\";\n");
    for (i = 0; i < dot_n; i++) {
        const struct gdb_shadow_info *si = &dot_snap[i];
        char va[48] = "";
        if (!dot_draw[i])
            continue;
        if (dot_va_known[i])
            snprintf(va, sizeof(va), "\\nva 0x%llx-0x%llx", (unsigned long long)dot_va[i],
                     (unsigned long long)(dot_va[i] + va_span(si) - 1));
        gdb_printf(c->out, "    s_%llx [label=\"smfn 0x%llx\\n%s\\nref %u%s%s%s\", style=filled, fillcolor=%s];\n",
                   (unsigned long long)si->smfn, (unsigned long long)si->smfn, si->type ? si->type : "?",
                   si->refcount, si->pinned ? " pinned" : "", si->in_use ? " in-use" : "", va,
                   si->in_use ? "orange" : si->pinned ? "gold" : "lightgrey");
    }
    gdb_printf(c->out, "  }\n");
    for (i = 0; i < dot_n; i++) {
        const struct gdb_shadow_info *si = &dot_snap[i];
        if (!dot_draw[i])
            continue;
        gdb_printf(c->out, "  g_%llx -> s_%llx [style=dashed, color=grey];\n",
                   (unsigned long long)si->gfn, (unsigned long long)si->smfn);
        if (si->level <= 1)
            continue;
        for (unsigned e = 0; e < si->entries; e++) {
            uint64_t se = 0, ge = 0;
            if (c->ops->mon_shadow_entry(c->t, si, e, &se, &ge) < 0)
                break;
            if ((se & _PAGE_PRESENT) && !(se & _PAGE_PSE)) {
                uint64_t cm = (se & PADDR_MASK_52) >> PAGE_SHIFT;
                if (set_has(dot_dsmfn, dot_ndsmfn, cm))
                    gdb_printf(c->out, "  s_%llx -> s_%llx [label=\"%u\"];\n",
                               (unsigned long long)si->smfn, (unsigned long long)cm, e);
            }
            if ((ge & _PAGE_PRESENT) && !(ge & _PAGE_PSE)) {
                uint64_t gg = (ge & PADDR_MASK_52) >> PAGE_SHIFT;
                if (set_has(dot_gfn, dot_ngfn, gg))
                    gdb_printf(c->out, "  g_%llx -> g_%llx [label=\"%u\", color=blue];\n",
                               (unsigned long long)si->gfn, (unsigned long long)gg, e);
            }
        }
    }
    if (dot_truncated)
        gdb_printf(c->out, "  // truncated at %d shadows\n", DOT_MAX_SHADOWS);
    gdb_printf(c->out, "}\n");
    return 0;
}

/* ---- the table ------------------------------------------------------------------------ */
static const struct mon_cmd cmds[] = {
    { "help", "", "list the monitor commands", do_help },
    { "mode", "", "the vCPU's paging mode, control registers, GDB layout", do_mode },
    { "walk", "VA", "guest walk and shadow walk of VA side by side (0x-hex or decimal)", do_walk },
    { "shadows", "", "every shadow page: frame, guest frame, type, refcount, pin", do_shadows },
    { "shadow", "MFN [FILTERS]", "the present entries of one shadow table and their guest entries (-all -w -x -u -s -diff)", do_shadow },
    { "pool", "", "shadow pool usage", do_pool },
    { "stats", "[-a|-d]", "counters by group: non-zero, -a all, -d changed since the last stats", do_stats },
    { "audit", "", "check every shadow against the guest tables", do_audit },
    { "blow", "", "tear down every shadow not in use, empty the in-use ones (rebuilt on demand)", do_blow },
    { "phys", "on|off", "m/M/X address guest-physical (on) or guest-virtual (off) memory", do_phys },
    { "dot", "[START-END|START]", "Graphviz DOT of guest tables, shadows and links (only the subtree of a VA range)", do_dot },
    { "arch", "i386|x86-64|auto", "target description for the next connection", do_arch },
    { "vmmap", "[RANGE] [FILTERS]", "the address space as merged ranges: guest rights, shadow state (-w -x -u -s -diff -frame GFN)", gdb_mon_vmmap },
    { "trace", "on|off|clear|dump [va=A[-B]] [gfn=G] [last=N]", "shadow-MMU event ring (faults, shadows, unshadows, CR3, INVLPG, flush, reclaim, teardown)", do_trace },
    { "why", "", "the last request refused and why (GDB shows memory refusals as \"Cannot access memory\")", do_why },
};

static int do_help(const struct gdb_mon_ctx *c, const char *a)
{
    (void)a;
    for (unsigned i = 0; i < ARRAY_SIZE(cmds); i++)
        gdb_printf(c->out, "%-8s %-18s %s\n", cmds[i].name, cmds[i].args, cmds[i].help);
    return 0;
}

int gdb_monitor(const struct gdb_mon_ctx *c, const char *line)
{
    const char *p = skip_ws(line);
    size_t n = 0;

    while (p[n] && p[n] != ' ' && p[n] != '\t')
        n++;
    if (n == 0)
        return do_help(c, "");
    for (unsigned i = 0; i < ARRAY_SIZE(cmds); i++)
        if (strlen(cmds[i].name) == n && strncmp(cmds[i].name, p, n) == 0)
            return cmds[i].fn(c, p + n);
    {
        char word[32];
        size_t k = n < sizeof(word) - 1 ? n : sizeof(word) - 1;
        memcpy(word, p, k);
        word[k] = '\0';
        gdb_printf(c->out, "umbra: monitor: unknown command '%s' (try: monitor help)\n", word);
    }
    return -1;
}
