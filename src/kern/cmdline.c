/*
 * Umbra's command line: space-separated words, each NAME or NAME=VALUE.
 * Pure, hosted-tested.  An unknown name or a bad value is rejected by name
 * (a silently ignored typo would run the guest in the wrong mode); so is a
 * line longer than OPTS_CMDLINE_MAX, whole (a cut would drop words).  A first
 * word starting with '/' is the image path some loaders prepend; skipped.
 */
#include <umbra/kern.h>
#include <umbra/lib.h>

void opts_default(struct umbra_opts *o)
{
    o->console = CONSOLE_COM1;
    o->shadow_pool = OPTS_DEFAULT_SHADOW_POOL;
    o->gdb = GDB_NONE;
    o->gdb_wait = false;
    o->gdb_baud = 115200;
    o->trace = false;
    o->trace_ring = OPTS_TRACE_RING_DEFAULT;
    o->summary_full = false;
    o->paging = PAGING_SHADOW;
    o->iommu_require = false;
    o->watchdog_secs = 0;
    o->oos = true;
    o->prefetch = OPTS_PREFETCH_DEFAULT;
}

int parse_size(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    if (len == 0)
        return -1;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (i == 0)
        return -1;
    unsigned shift = 0;
    if (i < len) {
        switch (s[i]) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return -1;
        }
        if (++i != len)
            return -1;
    }
    if (shift && v > (UINT64_MAX >> shift))
        return -1;
    *out = v << shift;
    return 0;
}

static bool eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncmp(s, lit, n) == 0;
}

/* Match val against names[]; index or -1. */
static int choose(const char *val, size_t n, const char *const *names, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        if (eq(val, n, names[i]))
            return (int)i;
    return -1;
}

int opts_parse(struct umbra_opts *o, const char *cmdline, char *err, size_t errlen)
{
    static const char *const consoles[] = { "com1", "e9", "none" };
    static const char *const gdbs[] = { "none", "com1", "com2" };
    static const char *const pagings[] = { "npt", "shadow" };
    static const char *const iommus[] = { "auto", "require" };
    static const char *const summaries[] = { "short", "full" };
    static const char *const onoff[] = { "off", "on" };
    static const char *const prefetches[] = { "0", "8", "16", "32", "all" };
    static const unsigned prefetch_n[] = { 0, 8, 16, 32, OPTS_PREFETCH_ALL };
    const char *p = cmdline;
    bool first = true;

    size_t len = strlen(cmdline);
    if (len > OPTS_CMDLINE_MAX) {
        snprintf(err, errlen, "the command line is %lu bytes: longer than Umbra's limit of %u",
                 (unsigned long)len, OPTS_CMDLINE_MAX);
        return -1;
    }

    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *w = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (first && w[0] == '/') {
            first = false;
            continue;
        }
        first = false;
        const char *eqs = w;
        while (eqs < p && *eqs != '=')
            eqs++;
        size_t nlen = (size_t)(eqs - w);
        bool has_val = eqs < p;
        const char *val = eqs + 1;
        size_t vlen = has_val ? (size_t)(p - val) : 0;
        int r = 0;

        if (eq(w, nlen, "console") && has_val) {
            r = choose(val, vlen, consoles, 3);
            if (r >= 0)
                o->console = (enum console_kind)(r == 0 ? CONSOLE_COM1 : r == 1 ? CONSOLE_E9 : CONSOLE_NONE);
        } else if (eq(w, nlen, "shadow_pool") && has_val) {
            uint64_t v;
            r = parse_size(val, vlen, &v);
            if (r == 0 && (v < PAGE_SIZE || v > (1ULL << 31)))
                r = -1;
            if (r == 0)
                o->shadow_pool = ALIGN_UP(v, PAGE_SIZE);
        } else if (eq(w, nlen, "gdb") && has_val) {
            r = choose(val, vlen, gdbs, 3);
            if (r >= 0)
                o->gdb = r == 0 ? GDB_NONE : r == 1 ? GDB_COM1 : GDB_COM2;
        } else if (eq(w, nlen, "gdb_wait") && !has_val) {
            o->gdb_wait = true;
        } else if (eq(w, nlen, "gdb_baud") && has_val) {
            /* A 16550's rate is 115200 / D for a 16-bit divisor D >= 1: any
             * other value would run the line at a rate GDB does not expect. */
            uint64_t v;
            if (parse_size(val, vlen, &v) < 0 || v == 0 || v > 115200 || 115200 % v != 0 ||
                (vlen && (val[vlen - 1] < '0' || val[vlen - 1] > '9'))) {
                snprintf(err, errlen, "bad value for gdb_baud: '%.*s' (a 16550 runs at 115200/D baud for a "
                         "whole D: 115200 57600 38400 19200 9600 ...)", (int)vlen, val);
                return -1;
            }
            o->gdb_baud = (unsigned)v;
        } else if (eq(w, nlen, "trace") && !has_val) {
            o->trace = true;
        } else if (eq(w, nlen, "trace_ring") && has_val) {
            /* Decimal events, no suffix: the ring is carved from Umbra's
             * frames, so a size outside the bounds is refused, never clamped. */
            uint64_t v = 0;
            size_t i = 0;
            for (; i < vlen && val[i] >= '0' && val[i] <= '9' && v <= OPTS_TRACE_RING_MAX; i++)
                v = v * 10 + (uint64_t)(val[i] - '0');
            if (vlen == 0 || i != vlen || v < OPTS_TRACE_RING_MIN || v > OPTS_TRACE_RING_MAX) {
                snprintf(err, errlen, "bad value for trace_ring: '%.*s' (events, a decimal number from %u to %u)",
                         (int)vlen, val, OPTS_TRACE_RING_MIN, OPTS_TRACE_RING_MAX);
                return -1;
            }
            o->trace_ring = (unsigned)v;
        } else if (eq(w, nlen, "summary") && has_val) {
            r = choose(val, vlen, summaries, 2);
            if (r >= 0)
                o->summary_full = r == 1;
        } else if (eq(w, nlen, "paging") && has_val) {
            r = choose(val, vlen, pagings, 2);
            if (r >= 0)
                o->paging = r == 0 ? PAGING_NPT : PAGING_SHADOW;
        } else if (eq(w, nlen, "iommu") && has_val) {
            r = choose(val, vlen, iommus, 2);
            if (r >= 0)
                o->iommu_require = r == 1;
        } else if (eq(w, nlen, "oos") && has_val) {
            r = choose(val, vlen, onoff, 2);
            if (r >= 0)
                o->oos = r == 1;
        } else if (eq(w, nlen, "prefetch") && has_val) {
            r = choose(val, vlen, prefetches, 5);
            if (r >= 0)
                o->prefetch = prefetch_n[r];
        } else if (eq(w, nlen, "watchdog") && has_val) {
            /* Whole seconds only: the watchdog's clock ticks every 10 ms, a
             * suffix or a fraction would be a unit nobody asked for. */
            uint64_t v = 0;
            size_t i = 0;
            for (; i < vlen && val[i] >= '0' && val[i] <= '9' && v <= OPTS_WATCHDOG_MAX; i++)
                v = v * 10 + (uint64_t)(val[i] - '0');
            if (i != vlen || vlen == 0 || v == 0 || v > OPTS_WATCHDOG_MAX) {
                snprintf(err, errlen, "bad value for watchdog: '%.*s' (whole seconds, 1 to %u)", (int)vlen,
                         val, OPTS_WATCHDOG_MAX);
                return -1;
            }
            o->watchdog_secs = (unsigned)v;
        } else if (eq(w, nlen, "console") || eq(w, nlen, "shadow_pool") || eq(w, nlen, "gdb") ||
                   eq(w, nlen, "paging") || eq(w, nlen, "iommu") || eq(w, nlen, "gdb_baud") ||
                   eq(w, nlen, "trace_ring") || eq(w, nlen, "summary") || eq(w, nlen, "watchdog") ||
                   eq(w, nlen, "oos") || eq(w, nlen, "prefetch")) {
            snprintf(err, errlen, "option %.*s needs a value", (int)nlen, w);
            return -1;
        } else if (eq(w, nlen, "gdb_wait") || eq(w, nlen, "trace")) {
            snprintf(err, errlen, "option %.*s takes no value", (int)nlen, w);
            return -1;
        } else {
            snprintf(err, errlen, "unknown option '%.*s'", (int)nlen, w);
            return -1;
        }
        if (r < 0) {
            snprintf(err, errlen, "bad value for %.*s: '%.*s'", (int)nlen, w, (int)vlen, val);
            return -1;
        }
    }
    return 0;
}
