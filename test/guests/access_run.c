/*
 * The access test's engine (see access.h): enumerates the cases of a shape,
 * writes the entries, performs two accesses per case and judges them with
 * access_ref.c.  Only the TAP class lines and the first failing cases are
 * printed, so a run of 100,000 cases keeps a log of a few hundred lines.
 *
 * Enumeration (per configuration, levels top to leaf):
 *  - every level takes P=1 with every subset of its vary bits, P=0 alone,
 *    and P=0 with junk bits (which must not matter);
 *  - below a level that ends the walk (P=0 or a reserved bit) only the
 *    canonical entry (P|RW|US, or P for a PDPTE) is used: nothing below
 *    is read; an entry with a reserved bit varies only RW and US besides;
 *  - accesses: CPL 0 and 3 x read/write/fetch, and for CPL 0 data accesses
 *    under SMAP EFLAGS.AC=0 and 1;
 *  - the second access (none, read, write, fetch) and the rot bits come from
 *    a fixed xorshift sequence: same cases in every run.
 * Entry writes go through ent_put(), which stores only the 32-bit halves
 * that change (fewer write-protection exits under a shadowing hypervisor);
 * a PAE PDPTE change is followed by a CR3 load (PDPTEs are loaded then),
 * every case by INVLPG of the test address.
 */
#include "access.h"

static const uint64_t P = _PAGE_PRESENT, RW = _PAGE_RW, US = _PAGE_USER;

#define MAX_FAIL_LINES 40

static struct { unsigned cases, fails, skips, lines; } tot;
static uint32_t rng = 0x2545f491u;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* Spread the low bits of `i` over the set bits of `mask`. */
static uint64_t deposit(unsigned i, uint64_t mask)
{
    uint64_t r = 0;
    for (int b = 0; b < 64 && i; b++)
        if (mask & (1ULL << b)) {
            if (i & 1)
                r |= 1ULL << b;
            i >>= 1;
        }
    return r;
}

static unsigned popc(uint64_t v)
{
    unsigned n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

/* Store `v` into the slot; returns true when it changed. */
static bool ent_put(const struct pmode *m, void *slot, uint64_t v)
{
    volatile uint32_t *p = slot;
    bool ch = false;
    if (p[0] != (uint32_t)v) {
        p[0] = (uint32_t)v;
        ch = true;
    }
    if (m->wide && p[1] != (uint32_t)(v >> 32)) {
        p[1] = (uint32_t)(v >> 32);
        ch = true;
    }
    return ch;
}

struct actx {
    const struct pmode *m;
    const struct ashape *s;
    const struct acfg *c;
    uint64_t root, va, acc;          /* acc: the address accessed */
    void *slot[3];
    uint64_t frame[3];               /* frame bits of each level's entry */
    uint64_t flags[3];               /* the case's flags (without rot bits) */
    unsigned ncls[2][2], fcls[2][2], scls[2][2];   /* [cpl!=0][rsvd] */
};

static void flagstr(char *o, uint64_t e, uint64_t rsvmask)
{
    static const struct { uint64_t b; char c; } f[] = {
        { 1, 'P' }, { 2, 'W' }, { 4, 'U' }, { 0x20, 'A' }, { 0x40, 'D' }, { 0x80, 'S' },
        { 0x100, 'G' }, { 1ULL << 63, 'N' },
    };
    for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        *o++ = (e & f[i].b) ? f[i].c : '-';
    *o++ = (e & rsvmask & ~(1ULL << 63)) ? 'R' : '-';
    *o = 0;
}

static const char opc[] = { 'R', 'W', 'X' };

static void cfgname(char *o, size_t n, const struct pmode *m, const struct ashape *s,
                    const struct acfg *c)
{
    gsnprintf(o, n, "access %s %s wp%d%s smep%d smap%d pge%d", m->name, s->name, c->wp,
              m->has_nx ? (c->nxe ? " nxe1" : " nxe0") : "", c->smep, c->smap, c->pge);
}

static void report_fail(struct actx *x, const uint64_t ent[3], const struct aacc *a,
                        int op2, int step, const char *why)
{
    tot.lines++;
    if (tot.lines > MAX_FAIL_LINES)
        return;
    char cn[96], buf[200], *p = buf, f[12];
    cfgname(cn, sizeof(cn), x->m, x->s, x->c);
    static const char *ln[] = { "pte", "pde", "pdpte" };
    struct acfg any = { .nxe = true };
    for (int l = x->m->levels - 1; l >= x->s->leaf; l--) {
        flagstr(f, ent[l], ax_rsvd(x->m, l, l == x->s->leaf && l > 0, &any));
        p += gsnprintf(p, 24, " %s=%s", ln[l], f);
    }
    gprintf("# FAIL %s%s cpl%d ac%d %c%s%c step %d: %s\n", cn, buf, a->cpl, a->ac, opc[a->op],
            op2 >= 0 ? "," : "", op2 >= 0 ? opc[op2] : ' ', step, why);
}

/* One access: probe, compare with the reference, check the entries.
 * Returns 0 pass, 1 fail, 2 pass except for QEMU's RSV-without-P. */
static int step(struct actx *x, const uint64_t before[3], uint64_t after[3],
                const struct aacc *a, bool *rsvd, char *why, size_t wn)
{
    struct awalk w = { x->m, x->s->leaf, { before[0], before[1], before[2] } };
    uint32_t err;
    int vf;
    bool want = ax_expect(&w, x->c, a, &err, &vf, rsvd);
    if (a->ac)
        stac();
    unsigned vec = probe(a->cpl, a->op, (ureg_t)x->acc);
    if (a->ac)
        clac();
    for (int l = x->m->levels - 1; l >= x->s->leaf; l--)
        after[l] = pte_get(x->m, x->slot[l]);

    int r = 0;
    if (!want) {
        if (vec != EXC_NONE) {
            gsnprintf(why, wn, "want no fault, got vector %u err %lx cr2 %lx", vec,
                      (unsigned long)exc_last.err, (unsigned long)exc_last.cr2);
            return 1;
        }
    } else if (!(vec == X86_EXC_PF && exc_last.err == err && exc_last.cr2 == (ureg_t)x->acc &&
                 exc_last.ip == probe_insn(a->cpl, a->op, (ureg_t)x->acc))) {
        if (vec == X86_EXC_PF && *rsvd && emu_bare_qemu() &&
            exc_last.err == (err & ~PFEC_PRESENT) && exc_last.cr2 == (ureg_t)x->acc) {
            r = 2;
        } else {
            gsnprintf(why, wn, "want #PF err %x, got vector %u err %lx cr2 %lx ip %lx", err, vec,
                      (unsigned long)exc_last.err, (unsigned long)exc_last.cr2,
                      (unsigned long)exc_last.ip);
            return 1;
        }
    }
    if (!ax_entries_ok(&w, before, after, want, a->op, vf, why, wn))
        return 1;
    return r;
}

/* One case: write the entries, flush, access once or twice. */
static void one_case(struct actx *x, const struct aacc *a)
{
    const struct pmode *m = x->m;
    int top = m->levels - 1, leaf = x->s->leaf;
    uint64_t ent[3] = { 0 }, after[3] = { 0 }, mid[3] = { 0 };
    uint32_t r = rnd();
    int op2 = (int)(r & 3) - 1;          /* -1: no second access */
    r >>= 2;
    bool reload = false;
    for (int l = top; l >= leaf; l--) {
        uint64_t f = x->flags[l];
        if (f & P) {
            f |= deposit(r, x->s->rot[l]);
            r >>= popc(x->s->rot[l]);
            f |= x->frame[l];
        }
        ent[l] = f;
        if (ent_put(m, x->slot[l], f) && m->levels == 3 && l == 2)
            reload = true;
    }
    if (reload)
        write_cr3((ureg_t)x->root);
    invlpg((ureg_t)x->acc);

    char why[160];
    bool rsvd = false, r2;
    int res = step(x, ent, mid, a, &rsvd, why, sizeof(why));
    int st = 1;
    if (res != 1 && op2 >= 0) {
        struct aacc b = { a->cpl, (enum probe_op)op2, a->ac && op2 != OP_FETCH };
        int res2 = step(x, mid, after, &b, &r2, why, sizeof(why));
        st = 2;
        if (res2 == 1 || res == 0)
            res = res2 == 1 ? 1 : (res2 == 2 ? 2 : res);
    }
    int ci = a->cpl != 0, ri = rsvd;
    x->ncls[ci][ri]++;
    tot.cases++;
    if (res == 1) {
        x->fcls[ci][ri]++;
        tot.fails++;
        report_fail(x, ent, a, op2, st, why);
    } else if (res == 2) {
        x->scls[ci][ri]++;
        tot.skips++;
    }
}

static void accesses(struct actx *x)
{
    for (int cpl = 0; cpl <= 3; cpl += 3)
        for (int op = OP_READ; op <= OP_FETCH; op++)
            for (int ac = 0; ac <= (cpl == 0 && x->c->smap && op != OP_FETCH); ac++) {
                struct aacc a = { cpl, (enum probe_op)op, ac };
                one_case(x, &a);
            }
}

static bool ends_walk(struct actx *x, int l, uint64_t f)
{
    bool large = l == x->s->leaf && l > 0;
    return !(f & P) || (f & ax_rsvd(x->m, l, large, x->c));
}

static void levels(struct actx *x, int l, bool ended)
{
    const struct ashape *s = x->s;
    uint64_t vb = s->vary[l] & ~P;
    unsigned nsub = 1u << popc(vb);
    uint64_t canon = (RW | US) & vb;
    for (unsigned i = 0; i < nsub + 2; i++) {
        uint64_t f = i < nsub ? P | deposit(i, vb) : i == nsub ? 0 : s->junk[l] & ~P;
        if (ended && f != (P | canon))
            continue;
        /* An entry that ends the walk by a reserved bit: only RW and US
         * vary with it (its A, D, G, NX are never looked at). */
        uint64_t rb = f & ax_rsvd(x->m, l, l == s->leaf && l > 0, x->c);
        if (rb && (f & ~(P | RW | US | rb)))
            continue;
        if (l == s->leaf && l > 0 && (f & P))
            f |= _PAGE_PSE;
        x->flags[l] = f;
        bool e = ended || ends_walk(x, l, f);
        if (l == s->leaf)
            accesses(x);
        else
            levels(x, l - 1, e);
    }
}

unsigned ax_configs(const struct pmode *m, struct acfg *out, unsigned max)
{
    unsigned n = 0;
    for (int wp = 1; wp >= 0; wp--)
        for (int nxe = m->has_nx ? 1 : 0; nxe >= 0; nxe--)
            for (int smep = 0; smep <= cpu_has.smep; smep++)
                for (int smap = 0; smap <= cpu_has.smap; smap++)
                    for (int pge = 0; pge <= cpu_has.pge; pge++)
                        if (n < max)
                            out[n++] = (struct acfg){ wp, nxe, smep, smap, pge };
    return n;
}

static void apply(const struct pmode *m, const struct acfg *c)
{
    ureg_t cr0 = read_cr0();
    write_cr0(c->wp ? (cr0 | X86_CR0_WP) : (cr0 & ~X86_CR0_WP));
    if (m->has_nx && cpu_has.nx) {
        uint64_t efer = rdmsr(MSR_EFER);
        wrmsr(MSR_EFER, c->nxe ? (efer | EFER_NXE) : (efer & ~EFER_NXE));
    }
    ureg_t cr4 = read_cr4() & ~(X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PGE);
    cr4 |= (c->smep ? X86_CR4_SMEP : 0) | (c->smap ? X86_CR4_SMAP : 0) | (c->pge ? X86_CR4_PGE : 0);
    write_cr4(cr4);
}

static void class_line(struct actx *x, int ci, int ri)
{
    unsigned n = x->ncls[ci][ri];
    if (!n)
        return;
    char name[140], cn[96], d[64];
    cfgname(cn, sizeof(cn), x->m, x->s, x->c);
    gsnprintf(name, sizeof(name), "%s cpl%d%s: %u cases", cn, ci ? 3 : 0, ri ? " rsvd" : "", n);
    if (x->fcls[ci][ri]) {
        gsnprintf(d, sizeof(d), "%u of %u failed", x->fcls[ci][ri], n);
        tap_check(false, name, d);
    } else if (x->scls[ci][ri]) {
        char why[160];
        gsnprintf(why, sizeof(why), "%s (%u of the cases)", SKIP_QEMU_RSVD_P, x->scls[ci][ri]);
        tap_skip(why, "%s", name);
    } else {
        tap_check(true, name, NULL);
    }
}

unsigned ax_run(const struct pmode *m, uint64_t root, uint64_t va, const struct ashape *s,
                const struct acfg *cfgs, unsigned ncfg)
{
    struct actx x = { .m = m, .s = s, .root = root, .va = va };
    int top = m->levels - 1;
    for (int l = top; l >= s->leaf; l--)
        x.slot[l] = pt_slot(m, root, va, l, true);
    for (int l = top; l > s->leaf; l--)
        x.frame[l] = pte_get(m, x.slot[l]) & pt_frame_mask(m);
    x.frame[s->leaf] = TARGET_PA;      /* 4 KiB, 2 MiB and 4 MiB aligned */
    x.acc = va;
    write_cr3((ureg_t)root);
    unsigned before = tot.cases;
    for (unsigned ci = 0; ci < ncfg; ci++) {
        x.c = &cfgs[ci];
        apply(m, x.c);
        gmemset(x.ncls, 0, sizeof(x.ncls));
        gmemset(x.fcls, 0, sizeof(x.fcls));
        gmemset(x.scls, 0, sizeof(x.scls));
        levels(&x, top, false);
        for (int c = 0; c < 2; c++)
            for (int r = 0; r < 2; r++)
                class_line(&x, c, r);
    }
    /* Leave the path harmless and the configuration plain. */
    for (int l = top; l >= s->leaf; l--)
        ent_put(m, x.slot[l], l == top && l != s->leaf ? (x.frame[l] | pt_dir_flags(m, l)) : 0);
    write_cr3((ureg_t)root);
    struct acfg plain = { true, m->has_nx, false, false, false };
    apply(m, &plain);
    return tot.cases - before;
}

unsigned ax_failed(void) { return tot.fails; }

void ax_summary(void)
{
    tap_diag("access: %u cases, %u failed, %u skipped (QEMU RSV without P)%s", tot.cases, tot.fails,
             tot.skips, tot.lines > MAX_FAIL_LINES ? ", failures beyond the first 40 not listed" : "");
}
