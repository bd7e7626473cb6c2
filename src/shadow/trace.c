/*
 * The shadow-MMU trace ring (see trace.h).  Invariants: `ring` holds `cap`
 * slots; event number s (1-based) lives in slot (s - 1) % cap; `next_seq` is
 * the number the next event gets, so the ring holds the events
 * max(1, next_seq - cap) .. next_seq - 1.  Only Umbra's memory is written.
 */
#include <umbra/types.h>
#include <umbra/lib.h>
#include <umbra/platform.h>
#include <umbra/shadow.h>
#include "trace.h"

bool sh_trace_on;

static struct sh_trace_ev *ring;
static unsigned cap;
static uint64_t next_seq = 1, first_seq = 1;   /* first_seq: first event since the last clear */

static const char *const kind_names[SHT_NKINDS] = {
    "fault-fixed", "fault-reflected", "fault-emulated", "shadow-made", "shadow-destroyed",
    "shadow-unpinned", "unshadow", "cr3-hit", "cr3-miss", "invlpg", "flush", "reclaim", "teardown",
    "out-of-sync", "resync",
};
static const char *const why_names[SHT_WHY_N] = {
    "", "user-write", "zero-run", "write-run", "targeted", "emulated-access",
};

unsigned sh_trace_clamp(unsigned long n)
{
    if (n == 0)
        return SH_TRACE_DEFAULT;
    if (n < SH_TRACE_MIN)
        return SH_TRACE_MIN;
    return n > SH_TRACE_MAX ? SH_TRACE_MAX : (unsigned)n;
}

int sh_trace_init(void *buf, size_t bytes)
{
    size_t n = bytes / sizeof(struct sh_trace_ev);
    if (!buf || n < SH_TRACE_MIN)
        return -1;
    ring = buf;
    cap = n > SH_TRACE_MAX ? SH_TRACE_MAX : (unsigned)n;
    sh_trace_on = false;
    sh_trace_clear();
    return 0;
}

void sh_trace_clear(void)
{
    if (ring)
        memset(ring, 0, cap * sizeof(*ring));
    first_seq = next_seq;
}

unsigned sh_trace_capacity(void) { return cap; }
uint64_t sh_trace_total(void) { return next_seq - first_seq; }

void sh_trace_record(struct shadow_vcpu *v, enum sh_trace_kind k, uint64_t va, uint64_t gfn,
                     uint64_t smfn, uint64_t old_e, uint64_t new_e, unsigned why)
{
    if (!ring)
        return;
    struct sh_trace_ev *e = &ring[(next_seq - 1) % cap];
    e->seq = next_seq++;
    e->rip = v ? plat_guest_rip(v) : ~0ULL;
    e->va = va;
    e->gfn = gfn;
    e->smfn = smfn;
    e->old_e = old_e;
    e->new_e = new_e;
    e->kind = (uint8_t)k;
    e->why = (uint8_t)(why < SHT_WHY_N ? why : 0);
    e->has_pfec = 0;
    e->pfec = 0;
}

void sh_trace_fault(struct shadow_vcpu *v, enum sh_trace_kind k, uint64_t va, uint64_t gfn, uint32_t pfec,
                    uint64_t old_e, uint64_t new_e, unsigned why)
{
    sh_trace_record(v, k, va, gfn, ~0ULL, old_e, new_e, why);
    if (ring) {
        ring[(next_seq - 2) % cap].pfec = pfec;
        ring[(next_seq - 2) % cap].has_pfec = 1;
    }
}

uint64_t sh_trace_leaf(struct shadow_vcpu *v, uint64_t va)
{
    struct shadow_walk_info wi;
    uint64_t e = ~0ULL;
    unsigned n = shadow_walk_va(v, va, &wi);
    for (unsigned i = 0; i < n && i < ARRAY_SIZE(wi.lv); i++)
        if (wi.lv[i].s_valid)
            e = wi.lv[i].s_entry;
    return e;
}

bool sh_trace_pause(void)
{
    bool was = sh_trace_on;
    sh_trace_on = false;
    return was;
}

void sh_trace_resume(bool was_on)
{
    sh_trace_on = was_on;
}

/* Parse a 0x-hex or decimal number filling all of [s, end); false if malformed. */
static bool parse_num(const char *s, const char *end, uint64_t *out)
{
    unsigned base = 10;
    uint64_t x = 0;
    if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (s == end)
        return false;
    for (; s < end; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return false;
        if (x > (~0ULL - d) / base)
            return false;                 /* overflow */
        x = x * base + d;
    }
    *out = x;
    return true;
}

struct filt {
    uint64_t va_lo, va_hi, gfn;
    bool va, has_gfn;
    uint64_t last;
};

static bool match(const struct filt *f, const struct sh_trace_ev *e)
{
    if (f->va && (e->va == ~0ULL || e->va < f->va_lo || e->va > f->va_hi))
        return false;
    return !f->has_gfn || e->gfn == f->gfn;
}

static void put_hex(char *b, size_t n, uint64_t x)
{
    if (x == ~0ULL)
        snprintf(b, n, "-");
    else
        snprintf(b, n, "%llx", (unsigned long long)x);
}

static void dump(const struct filt *f, void (*put)(const char *, void *), void *ctx)
{
    char line[200], c[6][20];
    uint64_t lo = next_seq - first_seq > cap ? next_seq - cap : first_seq;
    uint64_t matched = 0;

    for (uint64_t s = lo; s < next_seq; s++)       /* count first, so last=N keeps the newest N */
        matched += match(f, &ring[(s - 1) % cap]);
    snprintf(line, sizeof(line), "trace %s: %llu events recorded, ring %u, %llu held, %llu match\n",
             sh_trace_on ? "on" : "off", (unsigned long long)sh_trace_total(), cap,
             (unsigned long long)(next_seq - lo), (unsigned long long)matched);
    put(line, ctx);
    put("     seq kind             rip              va               gfn      smfn     old              new\n", ctx);
    uint64_t skip = f->last && matched > f->last ? matched - f->last : 0;
    for (uint64_t s = lo; s < next_seq; s++) {
        const struct sh_trace_ev *e = &ring[(s - 1) % cap];
        if (!match(f, e))
            continue;
        if (skip) {
            skip--;
            continue;
        }
        put_hex(c[0], 20, e->rip);
        put_hex(c[1], 20, e->va);
        put_hex(c[2], 20, e->gfn);
        put_hex(c[3], 20, e->smfn);
        put_hex(c[4], 20, e->old_e);
        put_hex(c[5], 20, e->new_e);
        char pf[24] = "";
        if (e->has_pfec)
            snprintf(pf, sizeof(pf), " pfec=%x", (unsigned)e->pfec);
        snprintf(line, sizeof(line), "%8llu %-16s %-16s %-16s %-8s %-8s %-16s %s%s%s%s\n",
                 (unsigned long long)e->seq, e->kind < SHT_NKINDS ? kind_names[e->kind] : "?",
                 c[0], c[1], c[2], c[3], c[4], c[5], pf, e->why ? " why=" : "", why_names[e->why]);
        put(line, ctx);
    }
}

static int bad(void (*put)(const char *, void *), void *ctx, const char *what, const char *w, size_t n)
{
    char line[160];
    snprintf(line, sizeof(line), "trace: %s '%.*s'; usage: trace on|off|clear|dump [va=A[-B]] [gfn=G] [last=N]"
             " (numbers 0x-hex or decimal)\n", what, (int)(n > 40 ? 40 : n), w);
    put(line, ctx);
    return -1;
}

int sh_trace_command(const char *args, void (*put)(const char *, void *), void *ctx)
{
    const char *p = args ? args : "";
    while (*p == ' ')
        p++;
    const char *w = p;
    while (*p && *p != ' ')
        p++;
    size_t n = (size_t)(p - w);
    char line[120];

    if (!ring) {
        put("trace: no ring (Umbra could not reserve one at boot)\n", ctx);
        return -1;
    }
    if (n == 0)
        return bad(put, ctx, "missing subcommand", "", 0);
    bool is_dump = n == 4 && !strncmp(w, "dump", 4);
    if (!is_dump) {
        const char *q = p;
        while (*q == ' ')
            q++;
        if (*q)
            return bad(put, ctx, "unexpected argument", q, strlen(q));
        if (n == 2 && !strncmp(w, "on", 2))
            sh_trace_on = true;
        else if (n == 3 && !strncmp(w, "off", 3))
            sh_trace_on = false;
        else if (n == 5 && !strncmp(w, "clear", 5))
            sh_trace_clear();
        else
            return bad(put, ctx, "unknown subcommand", w, n);
        snprintf(line, sizeof(line), "trace %s, ring %u events, %llu recorded\n", sh_trace_on ? "on" : "off",
                 cap, (unsigned long long)sh_trace_total());
        put(line, ctx);
        return 0;
    }
    struct filt f = { 0 };
    for (;;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        w = p;
        while (*p && *p != ' ')
            p++;
        n = (size_t)(p - w);
        const char *eq = w;
        while (eq < p && *eq != '=')
            eq++;
        if (eq == p)
            return bad(put, ctx, "expected KEY=VALUE, got", w, n);
        size_t kl = (size_t)(eq - w);
        const char *v = eq + 1;
        if (kl == 2 && !strncmp(w, "va", 2)) {
            const char *dash = v;
            while (dash < p && *dash != '-')
                dash++;
            if (!parse_num(v, dash, &f.va_lo))
                return bad(put, ctx, "bad va", w, n);
            f.va_hi = f.va_lo;
            if (dash < p && (!parse_num(dash + 1, p, &f.va_hi) || f.va_hi < f.va_lo))
                return bad(put, ctx, "bad va range", w, n);
            f.va = true;
        } else if (kl == 3 && !strncmp(w, "gfn", 3)) {
            if (!parse_num(v, p, &f.gfn))
                return bad(put, ctx, "bad gfn", w, n);
            f.has_gfn = true;
        } else if (kl == 4 && !strncmp(w, "last", 4)) {
            if (!parse_num(v, p, &f.last) || f.last == 0)
                return bad(put, ctx, "bad last (want N >= 1)", w, n);
        } else {
            return bad(put, ctx, "unknown filter", w, n);
        }
    }
    dump(&f, put, ctx);
    return 0;
}
