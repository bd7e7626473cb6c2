/*
 * The random guest world and the vCPU loop of test_shadow_random (the rules
 * it asserts, S1..S4, are explained at the top of test_shadow_random.c).
 *
 * Guest-physical layout (16 MiB of RAM):
 *   [0, 1 MiB)       data frames too (low memory)
 *   [1 MiB, 4 MiB)   page tables (guestpt allocator)
 *   [4 MiB, 16 MiB)  data frames, superpages
 *   beyond RAM       Umbra's reserve (refused by the p2m), then "MMIO"
 * Every address space maps guest-physical [0, 4 MiB) at dm_base with 4 KiB
 * supervisor pages (a direct map: the guest writes its page tables through
 * it), has a self-map (recursive entry) and random mappings in five
 * clusters; address spaces share the direct-map tables and some cluster
 * tables.
 */
#include <check.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <umbra/x86.h>
#include <umbra/shadow.h>
#include "sim_platform.h"
#include "refmmu.h"
#include "guestpt.h"
#include "shadow_world.h"




const char *const mode_name[] = { "off", "2level", "pae", "long" };

/* ---- randomness, log, failure ------------------------------------------ */

const uint8_t *world_stream;
size_t world_stream_len;

/* Every decision of the world: from world_stream while it lasts (the fuzz
 * target's input), then from the seed's splitmix64 sequence. */
uint64_t rnd(struct world *w)
{
    if (world_stream_len) {
        uint64_t v = 0;
        unsigned n = world_stream_len < 8 ? (unsigned)world_stream_len : 8;
        memcpy(&v, world_stream, n);
        world_stream += n;
        world_stream_len -= n;
        return v;
    }
    uint64_t z = (w->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
uint64_t rn(struct world *w, uint64_t n) { return n ? rnd(w) % n : 0; }
bool pct(struct world *w, unsigned p) { return rn(w, 100) < p; }

bool world_oplog = true, world_verify;

void (oplog)(struct world *w, const char *fmt, ...)
{
    va_list ap;
    char *l = w->log[w->nlog++ % LOG_KEEP];
    int n = snprintf(l, 220, "%5lu ", w->step);
    va_start(ap, fmt);
    vsnprintf(l + n, 220 - n, fmt, ap);
    va_end(ap);
}

jmp_buf *survey_jmp;

void __attribute__((noreturn, format(printf, 2, 3)))
wfail(struct world *w, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (survey_jmp) {
        /* UMBRA_SURVEY: one line per failing seed, then on to the next seed. */
        fprintf(stderr, "SURVEY seed=%llu mode=%s step=%lu: %s\n", (unsigned long long)w->seed,
                mode_name[w->mode], w->step, msg);
        w->st->failed++;
        longjmp(*survey_jmp, 1);
    }
    fprintf(stderr, "\nFAIL seed=%llu mode=%s step=%lu: %s\n", (unsigned long long)w->seed,
            mode_name[w->mode], w->step, msg);
    fprintf(stderr, "guest cr0=%#llx cr3=%#llx cr4=%#llx efer=%#llx; hw cr0=%#llx cr3=%#llx "
            "cr4=%#llx efer=%#llx\n",
            (unsigned long long)w->v.guest_cr0, (unsigned long long)w->v.guest_cr3,
            (unsigned long long)w->v.guest_cr4, (unsigned long long)w->v.guest_efer,
            (unsigned long long)w->v.hw_cr0, (unsigned long long)w->v.hw_cr3,
            (unsigned long long)w->v.hw_cr4, (unsigned long long)w->v.hw_efer);
    fprintf(stderr, "reproduce: UMBRA_SEED=%llu UMBRA_ITERS=<n> test/unit/test_shadow_random\n",
            (unsigned long long)w->seed);
    fprintf(stderr, "last operations:%s\n", world_oplog ? "" : " (not logged: rerun with FUZZ_SHADOW_OPLOG=1)");
    unsigned long from = w->nlog > LOG_KEEP ? w->nlog - LOG_KEEP : 0;
    for (unsigned long i = from; i < w->nlog; i++)
        fprintf(stderr, "  op| %s\n", w->log[i % LOG_KEEP]);
    const char *log = sim_log_text();
    size_t len = strlen(log);
    fprintf(stderr, "shadow log (tail):\n");
    sim_log_dump(stderr);
    (void)len;
    ck_abort_msg("seed %llu (%s) step %lu: %s", (unsigned long long)w->seed,
                 mode_name[w->mode], w->step, msg);
    abort();
}

const char *acc_name(uint32_t acc)
{
    static const char *n[] = { "sr", "sw", "ur", "uw", "sx", "sx?", "ux", "ux?" };
    return n[((acc & PFEC_WRITE) ? 1 : 0) | ((acc & PFEC_USER) ? 2 : 0) | ((acc & PFEC_INSN) ? 4 : 0)];
}

const char *fmt_walk(const struct ref_result *r, char *buf)
{
    ref_format(r, buf, 120);
    return buf;
}

/* ---- checks ------------------------------------------------------------- */

/* ---- S1': the latitude of out-of-sync shadows --------------------------- */

struct world *world_of_vcpu(struct shadow_vcpu *v)
{
    return (struct world *)((char *)v - offsetof(struct world, v));
}

/* The history belongs to one guest flush epoch; a flush forgets it. */
static void stale_sync(struct world *w)
{
    if (w->stale_epoch == w->guest_epoch)
        return;
    w->stale_epoch = w->guest_epoch;
    w->nhist = 0;
    memset(w->inval, 0, sizeof(w->inval));
}

static void stale_record(struct world *w, uint64_t epa, uint64_t old)
{
    if (w->nhist >= STALE_HIST_N)
        wfail(w, "S1' history full (%d PTE writes without a guest flush)", w->nhist);
    w->hist[w->nhist].epa = epa;
    w->hist[w->nhist].old = old;
    w->hist[w->nhist++].seq = ++w->stale_seq;
}

/* The values a write of acc at va may replace in a PTE at epa: its value
 * now and, if the entry is on the write's own walk, that value with the A
 * (and, for the leaf, D) bit the walk sets before the write lands. */
void stale_note_write(struct world *w, gva_t va, unsigned len, uint32_t acc)
{
    if (!w->oos || w->mode == GUEST_PAGING_OFF)
        return;
    stale_sync(w);
    unsigned es = gpt_entry_size(w->mode);
    uint64_t last = ~0ULL;
    for (unsigned i = 0; i < len; i++) {
        struct ref_result g;
        ref_guest_walk(&w->v, va + i, 0, false, REF_NO_SIDE_EFFECTS, &g);
        if (!g.mapped || !guest_frame_is_table(w, g.pa))
            continue;
        uint64_t epa = g.pa & ~(uint64_t)(es - 1);
        if (epa == last)
            continue;
        last = epa;
        uint64_t cur = gpt_read(w->mode, epa);
        stale_record(w, epa, cur);
        struct ref_result own;
        ref_guest_walk(&w->v, va + i, acc | PFEC_WRITE, false, REF_NO_SIDE_EFFECTS, &own);
        for (int l = own.leaf_level; own.levels && l <= own.levels; l++)
            if ((own.entry_pa[l] & ~(uint64_t)(es - 1)) == epa)
                stale_record(w, epa, cur | _PAGE_ACCESSED | (l == own.leaf_level ? _PAGE_DIRTY : 0));
    }
}

/* The same for a write that lands at guest-physical pa (the identity p2m)
 * through a translation the hardware holds, which may be an old one. */
static void stale_note_phys(struct world *w, uint64_t pa, unsigned len)
{
    if (!w->oos || w->mode == GUEST_PAGING_OFF)
        return;
    stale_sync(w);
    unsigned es = gpt_entry_size(w->mode);
    for (uint64_t e = pa & ~(uint64_t)(es - 1); e < pa + len; e += es)
        if (guest_frame_is_table(w, e))
            stale_record(w, e, gpt_read(w->mode, e));
}

static unsigned inval_slot(struct world *w, gva_t page)
{
    unsigned h = (unsigned)((page >> PAGE_SHIFT) * 2654435761u) % STALE_INVAL_N;
    for (unsigned n = 0; n < STALE_INVAL_N; n++, h = (h + 1) % STALE_INVAL_N)
        if (!w->inval[h].seq || w->inval[h].va == page)
            return h;
    wfail(w, "S1' INVLPG table full");
}

void stale_invlpg(struct world *w, gva_t va)
{
    if (!w->oos)
        return;
    stale_sync(w);
    unsigned h = inval_slot(w, va & PAGE_MASK);
    w->inval[h].va = va & PAGE_MASK;
    w->inval[h].seq = ++w->stale_seq;
}

/* Does the walk g of va explain what the shadow walk h allows (S1)?  NULL,
 * or why not (into buf). */
static const char *walk_explains(struct world *w, gva_t va, uint32_t acc, bool ac,
                                 const struct ref_result *g, const struct ref_result *h, char *buf)
{
    char b1[128], b2[128];
    if (!g->ok) {
        snprintf(buf, 400, "shadow allows %s%s at %#llx but the guest faults: guest [%s] shadow [%s]",
                 acc_name(acc), ac ? "+ac" : "", (unsigned long long)va, fmt_walk(g, b1), fmt_walk(h, b2));
        return buf;
    }
    mfn_t m = plat_gfn_to_mfn(_gfn(g->pa >> PAGE_SHIFT));
    if (!mfn_valid(m)) {
        snprintf(buf, 400, "shadow maps %#llx for a guest frame the p2m refuses (gpa %#llx): shadow [%s]",
                 (unsigned long long)va, (unsigned long long)g->pa, fmt_walk(h, b2));
        return buf;
    }
    uint64_t want = (mfn_x(m) << PAGE_SHIFT) | (va & (PAGE_SIZE - 1));
    if (h->pa != want) {
        snprintf(buf, 400, "%#llx maps host %#llx, want %#llx: guest [%s] shadow [%s]",
                 (unsigned long long)va, (unsigned long long)h->pa, (unsigned long long)want,
                 fmt_walk(g, b1), fmt_walk(h, b2));
        return buf;
    }
    for (int l = g->levels; l >= g->leaf_level && g->levels; l--) {
        if (w->mode == GUEST_PAGING_PAE && l == 3)
            continue;
        if (!(g->entry[l] & _PAGE_ACCESSED)) {
            snprintf(buf, 400, "shadow allows %s at %#llx but guest level-%d entry %#llx has A clear",
                     acc_name(acc), (unsigned long long)va, l, (unsigned long long)g->entry[l]);
            return buf;
        }
    }
    if ((acc & PFEC_WRITE) && g->levels && !(g->entry[g->leaf_level] & _PAGE_DIRTY)) {
        snprintf(buf, 400, "shadow allows a write at %#llx but the guest leaf %#llx is clean",
                 (unsigned long long)va, (unsigned long long)g->entry[g->leaf_level]);
        return buf;
    }
    return NULL;
}

/*
 * S1' (out-of-sync shadows on): an access the current guest tables do not
 * explain is still legal if the walk with an older value of the PTE on va's
 * current path explains it, that value having been replaced after va's last
 * INVLPG and the last guest flush: a TLB may hold that translation.  Only
 * the level-1 entry may be old (the shadow keeps every other level in sync).
 */
static bool stale_explains(struct world *w, gva_t va, uint32_t acc, bool ac,
                           const struct ref_result *h)
{
    struct ref_result g;
    char buf[400];
    if (!w->oos)
        return false;
    stale_sync(w);
    ref_guest_walk(&w->v, va, 0, false, REF_NO_SIDE_EFFECTS, &g);
    if (!g.levels || g.leaf_level != 1 || !g.entry_pa[1])
        return false;
    uint64_t epa = g.entry_pa[1], cur = gpt_read(w->mode, epa);
    unsigned long since = w->inval[inval_slot(w, va & PAGE_MASK)].seq;
    for (int i = w->nhist - 1; i >= 0; i--) {
        if (w->hist[i].epa != epa || w->hist[i].seq <= since)
            continue;
        struct ref_result o;
        gpt_write(w->mode, epa, w->hist[i].old);
        ref_guest_walk(&w->v, va, acc, ac, REF_NO_SIDE_EFFECTS, &o);
        gpt_write(w->mode, epa, cur);
        if (!walk_explains(w, va, acc, ac, &o, h, buf)) {
            w->st->stale_ok++;
            return true;
        }
    }
    return false;
}

/* S1 for an access the hardware walk `h` allows. */
void check_allowed(struct world *w, gva_t va, uint32_t acc, bool ac,
                          const struct ref_result *h, const char *when)
{
    struct ref_result g;
    char buf[400];
    w->st->checks++;
    w->last_stale = false;
    ref_guest_walk(&w->v, va, acc, ac, REF_NO_SIDE_EFFECTS, &g);
    const char *why = walk_explains(w, va, acc, ac, &g, h, buf);
    if (!why)
        return;
    if (stale_explains(w, va, acc, ac, h)) {
        w->last_stale = true;
        oplog(w, "  (S1': %#llx allowed by an old PTE not yet flushed)", (unsigned long long)va);
        return;
    }
    wfail(w, "%s: %s", when, why);
}

/* Do two walk results say the same (every field a caller reads)? */
static bool same_result(const struct ref_result *a, const struct ref_result *b)
{
    return a->ok == b->ok && a->vector == b->vector && a->pfec == b->pfec && a->mapped == b->mapped
        && a->pa == b->pa && a->page_size == b->page_size && a->user == b->user && a->write == b->write
        && a->nx == b->nx && a->table_unbacked == b->table_unbacked && a->levels == b->levels
        && a->leaf_level == b->leaf_level && !memcmp(a->entry, b->entry, sizeof(a->entry))
        && !memcmp(a->entry_pa, b->entry_pa, sizeof(a->entry_pa));
}

/* S1 for every access kind at va (the shadow walked once for all of them:
 * ref_hw_walk_accesses; UMBRA_VERIFY=1 compares each with its own walk). */
void check_va(struct world *w, gva_t va, const char *when)
{
    static const uint32_t kinds[] = {
        0, PFEC_WRITE, PFEC_USER, PFEC_USER | PFEC_WRITE, PFEC_INSN, PFEC_USER | PFEC_INSN,
    };
    enum { NK = ARRAY_SIZE(kinds) };
    bool smap = w->v.guest_cr4 & X86_CR4_SMAP;
    uint32_t acc[2 * NK];
    bool ac[2 * NK], ok[2 * NK];
    struct ref_result h[2 * NK];
    unsigned n = 0;
    for (unsigned i = 0; i < NK; i++)
        for (int a = 0; a <= (smap ? 1 : 0); a++) {
            acc[n] = kinds[i];
            ac[n++] = a;
        }
    ref_hw_walk_accesses(&w->v, va, n, acc, ac, h, ok);
    for (unsigned i = 0; i < n; i++) {
        if (world_verify) {
            struct ref_result one;
            bool ok1 = ref_hw_walk(&w->v, va, acc[i], ac[i], REF_NO_SIDE_EFFECTS, &one);
            if (ok1 != ok[i] || !same_result(&one, &h[i]))
                wfail(w, "verify: the shared walk of %#llx for %s%s differs from its own walk",
                      (unsigned long long)va, acc_name(acc[i]), ac[i] ? "+ac" : "");
        }
        if (ok[i])
            check_allowed(w, va, acc[i], ac[i], &h[i], when);
        else if (h[i].vector != X86_EXC_PF)
            wfail(w, "%s: hardware walk of the shadow at %#llx raises vector %u",
                 when, (unsigned long long)va, h[i].vector);
    }
}

/*
 * A yes/no switch from the environment (UMBRA_NO_AUDIT, UMBRA_STRICT,
 * UMBRA_NO_TLB): unset or empty is no, a decimal number is yes unless it is
 * 0 (so UMBRA_NO_AUDIT=0 keeps the audit on), and anything else is refused
 * (exit 2) rather than guessed.
 */
bool env_flag(const char *name)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return false;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || *s == '-' || *s == '+') {
        fprintf(stderr, "%s=%s: want a number (0 = off)\n", name, s);
        exit(2);
    }
    return v != 0;
}

void audit(struct world *w, const char *when)
{
    static int off = -1;
    if (off < 0)
        off = env_flag("UMBRA_NO_AUDIT");   /* to measure the other checks alone */
    if (off)
        return;
    w->st->audits++;
    unsigned long n = shadow_audit(w->d);
    if (n)
        wfail(w, "%s: shadow_audit() found %lu errors", when, n);
}

/* ---- the vCPU: one access, as hardware + the SVM layer would do it ------- */

bool guest_frame_is_table(struct world *w, uint64_t gpa)
{
    uint64_t f = gpa >> PAGE_SHIFT;
    return f >= TABLE_FIRST && f < w->alloc.next;
}

/*
 * Known gaps of the shadow MMU, tolerated (and counted) unless UMBRA_STRICT
 * is set.  Each is reported to the coordinator; remove the tolerance when
 * the shadow side fixes it.
 */
const char *const gap_name[NGAPS] = {
    [GAP_EMUL_MMIO] = "emulated_write_to_mmio", /* emulated write to a non-RAM frame: SH_STOP */
    [GAP_PSE36_HI]  = "pse36_above_4g_stop",    /* 2-level 4 MiB page above 4 GiB: SH_STOP */
    [GAP_STOP_RIGHTS] = "stop_before_rights",   /* refused frame but a rights fault: SH_STOP, not #PF */
};

bool tolerate(struct world *w, enum gap k)
{
    static int strict = -1;
    if (strict < 0)
        strict = env_flag("UMBRA_STRICT");
    if (strict)
        return false;
    w->st->gaps[k]++;
    oplog(w, "  (tolerated known gap: %s)", gap_name[k]);
    return true;
}

/* SMAP alone refuses this supervisor data access (it is allowed with RFLAGS.AC = 1). */
static bool smap_refused(struct world *w, gva_t va, uint32_t acc, struct ref_result *g1)
{
    struct ref_result g0;
    return !(acc & (PFEC_USER | PFEC_INSN)) && (w->v.guest_cr4 & X86_CR4_SMAP) &&
           !ref_guest_walk(&w->v, va, acc, false, REF_NO_SIDE_EFFECTS, &g0) &&
           ref_guest_walk(&w->v, va, acc, true, REF_NO_SIDE_EFFECTS, g1);
}


/*
 * The access faulted only on a check the shadow may leave to the hardware
 * (which sets A/D first, shadow.h): SMAP with RFLAGS.AC unstated, or SMAP /
 * PK on a read the fault did not call data in a mode without I/D reporting.
 */
static bool hw_judged(struct world *w, gva_t va, uint32_t acc, bool ac)
{
    struct ref_result g, g1;
    bool no_id = !(w->v.guest_cr4 & X86_CR4_SMEP) &&
                 !((w->v.guest_efer & EFER_NXE) && w->mode != GUEST_PAGING_2LEVEL);
    bool ambiguous = w->data_unstated && no_id && !(acc & PFEC_WRITE);
    if (smap_refused(w, va, acc, &g1) && (w->ac_unstated || ambiguous))
        return true;
    ref_guest_walk(&w->v, va, acc, ac, REF_NO_SIDE_EFFECTS, &g);
    return ambiguous && !g.ok && (g.pfec & PFEC_PK);
}

static bool access_inner(struct world *w, gva_t va, uint32_t acc, bool ac, const void *data,
                      unsigned len, const char *what)
{
    struct ref_result g, h;
    struct sh_fault f;
    char b1[128], b2[128];

    ref_guest_walk(&w->v, va, acc, ac, REF_NO_SIDE_EFFECTS, &g);
    bool refused = g.ok && !mfn_valid(plat_gfn_to_mfn(_gfn(g.pa >> PAGE_SHIFT)));
    bool unknown = g.table_unbacked || (!g.ok && g.vector != X86_EXC_PF);
    oplog(w, "%s %s%s va=%#llx len=%u: guest [%s]", what, acc_name(acc), ac ? "+ac" : "",
          (unsigned long long)va, len, fmt_walk(&g, b1));
    w->st->accesses++;

    for (int tries = 0;; tries++) {
        if (tries > MAX_RETRIES)
            wfail(w, "%s %s at %#llx: still faulting after %d SH_FIXED: guest [%s] shadow [%s]",
                 what, acc_name(acc), (unsigned long long)va, MAX_RETRIES,
                 fmt_walk(&g, b1), fmt_walk(&h, b2));
        uint64_t hpa;
        tlb_sync(w);                                  /* VMRUN: v->tlb_flush */
        if (tlb_hit(w, va, acc, ac, &hpa)) {          /* T1 checked there */
            if ((acc & PFEC_WRITE) && len)
                stale_note_phys(w, hpa, len);
            if (acc & PFEC_WRITE)
                for (unsigned i = 0; i < len; i++)
                    sim_write_phys(hpa + i, ((const uint8_t *)data)[i], 1);
            oplog(w, "  tlb hit -> host %#llx", (unsigned long long)hpa);
            w->st->completed++;
            return true;
        }
        if (ref_hw_walk(&w->v, va, acc, ac, REF_NO_SIDE_EFFECTS, &h)) {
            check_allowed(w, va, acc, ac, &h, what);
            ref_hw_walk(&w->v, va, acc, ac, 0, &h);   /* now with the CPU's A/D */
            tlb_fill(w, va, acc, &h);
            if ((acc & PFEC_WRITE) && len)
                stale_note_phys(w, h.pa, len);
            if (acc & PFEC_WRITE)
                for (unsigned i = 0; i < len; i++)
                    sim_write_phys(h.pa + i, ((const uint8_t *)data)[i], 1);
            w->st->completed++;
            return true;
        }
        tlb_drop_va(w, va);                           /* a #PF flushes the faulting address */
        if (h.vector != X86_EXC_PF)
            wfail(w, "%s: hardware walk of the shadow raises vector %u", what, h.vector);
        memset(&f, 0, sizeof(f));
        /* The SVM layer knows RFLAGS.AC and says so (most of the time; without
         * either flag the shadow leaves SMAP to the hardware, shadow.h). */
        uint32_t acflag = pct(w, 80) ? (ac ? SH_PFEC_AC : SH_PFEC_NOAC) : 0;
        if (!acflag)
            w->ac_unstated = true;
        /* ... and that a data access is not a fetch (CR2 away from RIP), mostly. */
        if (!(acc & PFEC_INSN) && pct(w, 80))
            acflag |= SH_PFEC_DATA;
        else if (!(acc & PFEC_INSN))
            w->data_unstated = true;
        enum sh_result r = shadow_page_fault(&w->v, va, h.pfec | acflag, &f);
        oplog(w, "  #PF pfec=%#x -> %s", h.pfec,
              r == SH_FIXED ? "fixed" : r == SH_REFLECT ? "reflect" : r == SH_EMULATE ? "emulate" : "stop");
        if (r == SH_FIXED) {
            w->st->fixed_faults++;
            continue;
        }
        if (r == SH_STOP) {
            w->st->stops++;
            w->stopped = true;
            if (refused || unknown)
                return false;
            if (g.mapped && w->mode == GUEST_PAGING_2LEVEL && g.pa >= (1ULL << 32) &&
                tolerate(w, GAP_PSE36_HI))
                return false;
            if (g.mapped && !mfn_valid(plat_gfn_to_mfn(_gfn(g.pa >> PAGE_SHIFT))) &&
                tolerate(w, GAP_STOP_RIGHTS))
                return false;
            wfail(w, "%s %s at %#llx: SH_STOP (%s) but the guest [%s] is legal", what, acc_name(acc),
                 (unsigned long long)va, f.why ? f.why : "?", fmt_walk(&g, b1));
        }
        if (r == SH_EMULATE) {
            if (!(acc & PFEC_WRITE))
                wfail(w, "%s %s at %#llx: SH_EMULATE on a non-write (pfec %#x)", what,
                     acc_name(acc), (unsigned long long)va, h.pfec);
            w->st->emulated++;
            memset(&f, 0, sizeof(f));
            r = shadow_write_guest(&w->v, va, data, len, acc | (ac ? SH_PFEC_AC : 0), &f);
            oplog(w, "  emulated write -> %s", r == SH_FIXED ? "done" : r == SH_REFLECT ? "reflect" : "other");
            if (r == SH_FIXED) {
                if (refused || unknown)
                    return true;
                if (!g.ok)
                    wfail(w, "%s: emulated write at %#llx completed but the guest faults [%s]",
                         what, (unsigned long long)va, fmt_walk(&g, b1));
                for (unsigned i = 0; i < len; i++)
                    if (sim_guest_read(g.pa + i, 1) != ((const uint8_t *)data)[i])
                        wfail(w, "%s: emulated write at %#llx did not reach gpa %#llx", what,
                             (unsigned long long)va, (unsigned long long)g.pa);
                w->st->completed++;
                return true;
            }
            if (r == SH_STOP && g.ok && !plat_gfn_is_ram(_gfn(g.pa >> PAGE_SHIFT)) &&
                tolerate(w, GAP_EMUL_MMIO)) {
                w->stopped = true;
                return false;
            }
            if (r != SH_REFLECT)
                wfail(w, "%s: shadow_write_guest returned %d (%s) [guest %s]", what, r,
                      f.why ? f.why : "-", fmt_walk(&g, b1));
        }
        /* SH_REFLECT */
        w->st->reflected++;
        if (unknown)
            return false;
        if (refused)
            wfail(w, "%s %s at %#llx maps a refused frame: reflected #%u pfec %#x, want SH_STOP",
                 what, acc_name(acc), (unsigned long long)va, f.vector, f.pfec);
        if (g.ok)
            wfail(w, "%s %s at %#llx: reflected vector %u pfec %#x but the guest allows it [%s]",
                 what, acc_name(acc), (unsigned long long)va, f.vector, f.pfec, fmt_walk(&g, b1));
        if (f.vector != X86_EXC_PF || f.pfec != g.pfec || f.cr2 != va)
            wfail(w, "%s %s at %#llx: reflected vector %u pfec %#x cr2 %#llx, want #PF pfec %#x "
                 "cr2 %#llx [%s]", what, acc_name(acc), (unsigned long long)va, f.vector, f.pfec,
                 (unsigned long long)f.cr2, g.pfec, (unsigned long long)va, fmt_walk(&g, b1));
        return false;
    }
}

/* ---- building the world -------------------------------------------------- */

static uint64_t max_pa(void) { return 1ULL << plat_cpu_features()->maxphyaddr; }

static bool nxe(struct world *w) { return (w->v.guest_efer | w->efer) & EFER_NXE; }

static uint64_t rnd_upper_flags(struct world *w)
{
    uint64_t f = _PAGE_PRESENT;
    if (pct(w, 85)) f |= _PAGE_RW;
    if (pct(w, 85)) f |= _PAGE_USER;
    if (pct(w, 60)) f |= _PAGE_ACCESSED;
    if (w->mode != GUEST_PAGING_2LEVEL && pct(w, nxe(w) ? 6 : 1)) f |= _PAGE_NX;
    return f;
}

static uint64_t rnd_leaf_flags(struct world *w)
{
    uint64_t f = 0;
    if (pct(w, 92)) f |= _PAGE_PRESENT;
    if (pct(w, 60)) f |= _PAGE_RW;
    if (pct(w, 65)) f |= _PAGE_USER;
    if (pct(w, 50)) f |= _PAGE_ACCESSED;
    if (pct(w, 40)) f |= _PAGE_DIRTY;
    if (pct(w, 15)) f |= _PAGE_GLOBAL;
    if (pct(w, 8)) f |= _PAGE_PCD | _PAGE_PWT;
    if (w->mode != GUEST_PAGING_2LEVEL && pct(w, nxe(w) ? 20 : 1)) f |= _PAGE_NX;
    return f;
}

/* A reserved bit for an entry of this mode (rarely set by the generator). */
uint64_t rnd_rsvd_bit(struct world *w, bool superpage)
{
    unsigned m = plat_cpu_features()->maxphyaddr;
    switch (w->mode) {
    case GUEST_PAGING_2LEVEL:
        return superpage ? 1ULL << 21 : 0;
    case GUEST_PAGING_PAE:
        return pct(w, 50) ? 1ULL << 62 : (superpage ? 1ULL << 13 : 1ULL << m);
    default:
        return pct(w, 50) ? 1ULL << 51 : (superpage ? 1ULL << 14 : 1ULL << (m < 51 ? m : 51));
    }
}

static void add_sample(struct world *w, gva_t va)
{
    if (w->mode == GUEST_PAGING_LONG)
        va = (uint64_t)((int64_t)(va << 16) >> 16);
    else
        va &= 0xffffffffULL;
    if (w->nsample < MAX_SAMPLES)
        w->sample[w->nsample++] = va & PAGE_MASK;
}

uint64_t rnd_data_frame(struct world *w)
{
    if (pct(w, 10))
        return rn(w, TABLE_FIRST);                       /* low memory */
    if (pct(w, 6) && w->alloc.next > w->phase_first)      /* alias a page table */
        return w->phase_first + rn(w, w->alloc.next - w->phase_first);
    if (pct(w, 3))                                       /* MMIO */
        return sim_backed_frames() + rn(w, 64);
    if (pct(w, 2))                                       /* Umbra's reserve */
        return sim_ram_frames() + rn(w, sim_backed_frames() - sim_ram_frames());
    return DATA_FIRST + rn(w, DATA_END - DATA_FIRST);
}

/* Superpage frame (aligned to `size`): RAM data area, sometimes MMIO. */
static uint64_t rnd_super_pa(struct world *w, uint64_t size)
{
    if (size >= (1ULL << 30))
        return pct(w, 70) ? 0 : (1ULL << 30) * (1 + rn(w, 3));
    if (pct(w, 10) && max_pa() > (1ULL << 33) && (w->mode != GUEST_PAGING_2LEVEL ||
                                                  plat_cpu_features()->pse36))
        return (1ULL << 32) + size * rn(w, 8);
    uint64_t lo = (uint64_t)DATA_FIRST << PAGE_SHIFT, hi = (uint64_t)DATA_END << PAGE_SHIFT;
    return lo + size * rn(w, (hi - lo) / size);
}

/* Random mappings in one cluster of one address space. */
static void build_cluster(struct world *w, struct gpt_space *s, gva_t base)
{
    enum guest_paging m = w->mode;
    uint64_t l2 = gpt_level_size(m, 2);
    unsigned n = 3 + rn(w, 10);
    for (unsigned i = 0; i < n; i++) {
        gva_t va = base + (rn(w, 64) << PAGE_SHIFT);
        uint64_t e = gpt_make_leaf(m, 1, rnd_data_frame(w) << PAGE_SHIFT, rnd_leaf_flags(w));
        if (!(rnd_leaf_flags(w) & _PAGE_PRESENT))
            e &= ~_PAGE_PRESENT;
        if (pct(w, 2))
            e |= rnd_rsvd_bit(w, false);
        gpt_set(s, &w->alloc, va, 1, e, rnd_upper_flags(w));
        add_sample(w, va);
    }
    add_sample(w, base + (rn(w, 512) << PAGE_SHIFT));   /* likely unmapped */
    /* Second level-2 slot: a superpage or another table. */
    gva_t sva = base + l2;
    if (pct(w, 60)) {
        uint64_t pa = rnd_super_pa(w, l2);
        uint64_t e = gpt_make_leaf(m, 2, pa, rnd_leaf_flags(w));
        if (pct(w, 3))
            e |= rnd_rsvd_bit(w, true);
        gpt_set(s, &w->alloc, sva, 2, e, rnd_upper_flags(w));
        for (int k = 0; k < 4; k++)
            add_sample(w, sva + (rn(w, l2 >> PAGE_SHIFT) << PAGE_SHIFT));
    } else {
        gpt_map(s, &w->alloc, sva + 0x3000, rnd_data_frame(w) << PAGE_SHIFT, 1,
                rnd_leaf_flags(w), rnd_upper_flags(w));
        add_sample(w, sva + 0x3000);
    }
}

static void clusters(struct world *w, gva_t out[NCLUSTER])
{
    static const gva_t c32[NCLUSTER] = { 0x00400000, 0x08000000, 0x7f000000, 0xbf000000, 0xf0000000 };
    static const gva_t c64[NCLUSTER] = { 0x400000, 0x7fffff000000ULL, 0x8000000000ULL,
                                         0xffff800000000000ULL, 0xffffffff80000000ULL };
    memcpy(out, w->mode == GUEST_PAGING_LONG ? c64 : c32, sizeof(c32));
}

/* The direct map of guest-physical [0, 4 MiB) in AS 0. */
static void build_dm(struct world *w, struct gpt_space *s)
{
    for (uint64_t pa = 0; pa < (4u << 20); pa += PAGE_SIZE) {
        uint64_t f = _PAGE_RW | (pct(w, 50) ? _PAGE_ACCESSED | _PAGE_DIRTY : 0);
        gpt_map(s, &w->alloc, w->dm_base + pa, pa, 1, f, _PAGE_RW);
    }
    w->dm_pt[0] = gpt_entry_addr(s, w->dm_base, 1) & PAGE_MASK;
    w->dm_pt[1] = gpt_entry_addr(s, w->dm_base + (2u << 20), 1) & PAGE_MASK;
}

void build_world(struct world *w)
{
    enum guest_paging m = w->mode;
    gva_t cl[NCLUSTER];
    w->phase_first = w->alloc.next;
    w->nsample = 0;
    w->nas = m == GUEST_PAGING_OFF ? 0 : 2 + rn(w, NAS - 1);
    if (m == GUEST_PAGING_OFF) {
        for (int i = 0; i < 200; i++)
            add_sample(w, rn(w, pct(w, 90) ? sim_ram_frames() : 1u << 20) << PAGE_SHIFT);
        return;
    }
    w->dm_base = m == GUEST_PAGING_LONG ? 0xffff888000000000ULL : 0xc0000000ULL;
    clusters(w, cl);
    int top = gpt_levels(m);
    unsigned es = gpt_entry_size(m);
    for (int i = 0; i < w->nas; i++) {
        struct gpt_space *s = &w->as[i];
        gpt_init(s, m, &w->alloc, (unsigned)rn(w, 128) * 32);
        if (i == 0) {
            build_dm(w, s);
        } else {
            /* Share the kernel half: the DM's top entry (PAE: PDPTE 3, the whole PD). */
            int lvl = m == GUEST_PAGING_2LEVEL ? 2 : top;
            uint64_t src = gpt_entry_addr(&w->as[0], w->dm_base, lvl);
            gpt_set(s, &w->alloc, w->dm_base, lvl, gpt_read(m, src), 0);
        }
        /* Self-map (recursive entry). */
        if (m == GUEST_PAGING_2LEVEL) {
            gpt_write(m, s->root + 1023 * es, s->root | _PAGE_PRESENT | _PAGE_RW);
            add_sample(w, 0xffc00000ULL + (rn(w, 1024) << PAGE_SHIFT));
            add_sample(w, 0xffc00000ULL + (1023u << PAGE_SHIFT));
        } else if (m == GUEST_PAGING_PAE) {
            if (i == 0) {
                uint64_t pd3 = gpt_entry_addr(s, 0xc0000000ULL, 2) & PAGE_MASK;
                gpt_write(m, pd3 + 511 * es, pd3 | _PAGE_PRESENT | _PAGE_RW);
                add_sample(w, 0xffe00000ULL);
                add_sample(w, 0xffe00000ULL + (511u << PAGE_SHIFT));
            }
        } else {
            gpt_write(m, s->root + 510 * es, s->root | _PAGE_PRESENT | _PAGE_RW);
            add_sample(w, 0xffffff0000000000ULL + (rn(w, 512) << PAGE_SHIFT));
            add_sample(w, 0xffffff7fbfdfe000ULL);   /* the PML4 itself */
        }
        for (int c = 0; c < NCLUSTER; c++) {
            if (i > 0 && pct(w, 45)) {
                /* Share AS 0's table for this cluster (a level-2 entry, or higher). */
                int lvl = 2 + (int)rn(w, top - 2 + (m == GUEST_PAGING_PAE ? 0 : 1));
                if (m == GUEST_PAGING_PAE && lvl == 3)
                    lvl = 2;
                uint64_t src = gpt_entry_addr(&w->as[0], cl[c], lvl);
                if (src) {
                    gpt_set(s, &w->alloc, cl[c], lvl, gpt_read(m, src), rnd_upper_flags(w));
                    continue;
                }
            }
            if (pct(w, 85))
                build_cluster(w, s, cl[c]);
        }
        if (m == GUEST_PAGING_LONG && plat_cpu_features()->pdpe1gb && pct(w, 50)) {
            uint64_t pa = rnd_super_pa(w, 1ULL << 30);
            gpt_map(s, &w->alloc, 0x40000000ULL, pa, 3, rnd_leaf_flags(w), rnd_upper_flags(w));
            for (int k = 0; k < 3; k++)
                add_sample(w, 0x40000000ULL + (DATA_FIRST << PAGE_SHIFT) +
                              (rn(w, DATA_END - DATA_FIRST) << PAGE_SHIFT));
        }
    }
    /* Direct-map pages of some tables and data. */
    for (int k = 0; k < 24; k++)
        add_sample(w, w->dm_base + ((w->phase_first + rn(w, w->alloc.next - w->phase_first))
                                    << PAGE_SHIFT));
    for (int k = 0; k < 8; k++)
        add_sample(w, w->dm_base + (rn(w, 1024) << PAGE_SHIFT));
}

/* Control registers for a mode (WP, PSE, PGE, SMEP, SMAP, NXE at random). */
void pick_controls(struct world *w, uint64_t *cr0, uint64_t *cr4, uint64_t *efer)
{
    const struct plat_cpu_features *f = plat_cpu_features();
    *cr0 = X86_CR0_ET | X86_CR0_PE;
    *cr4 = 0;
    *efer = 0;
    if (w->mode == GUEST_PAGING_OFF) {
        if (pct(w, 30))
            *cr0 &= ~X86_CR0_PE;
        return;
    }
    *cr0 |= X86_CR0_PG | (pct(w, 75) ? X86_CR0_WP : 0);
    if (pct(w, 80)) *cr4 |= X86_CR4_PSE;
    if (f->pge && pct(w, 50)) *cr4 |= X86_CR4_PGE;
    if (f->smep && pct(w, 30)) *cr4 |= X86_CR4_SMEP;
    if (f->smap && pct(w, 30)) *cr4 |= X86_CR4_SMAP;
    if (w->mode != GUEST_PAGING_2LEVEL) {
        *cr4 |= X86_CR4_PAE;
        if (f->nx && pct(w, 75)) *efer |= EFER_NXE;
    } else if (f->nx && pct(w, 20)) {
        *efer |= EFER_NXE;   /* legal without PAE; no NX bit, no I/D in error codes */
    }
    if (w->mode == GUEST_PAGING_LONG) {
        *efer |= EFER_LME;
        if (f->pku && pct(w, 40)) {
            *cr4 |= X86_CR4_PKE;
            sim_pkru = (uint32_t)rnd(w);     /* keys come from the random leaves' bits 62:59 */
        }
    }
}



/*
 * Perform an access of `len` bytes (writes: `data`) at va as the vCPU would;
 * returns true if it completed.  Besides S1/S2 (access_inner), checks that
 * the guest's leaf D bit was not set by an access that wrote nothing.
 */
bool do_access(struct world *w, gva_t va, uint32_t acc, bool ac, const void *data,
               unsigned len, const char *what)
{
    struct ref_result pre, post;
    if ((acc & PFEC_WRITE) && len)
        stale_note_write(w, va, len, acc);
    ref_guest_walk(&w->v, va, 0, false, REF_NO_SIDE_EFFECTS, &pre);
    w->stopped = false;
    w->ac_unstated = false;
    w->data_unstated = false;
    bool done = access_inner(w, va, acc, ac, data, len, what);
    /* After SH_STOP the guest is dead: what the shadow left in its tables does not matter. */
    if (!pre.mapped || !pre.levels || (done && (acc & PFEC_WRITE)) || w->stopped)
        return done;
    /* S6: a faulting access sets no A bit at any level (nor D).  The
     * documented exceptions (shadow.h): SMAP or PK left to the hardware
     * because the fault did not state RFLAGS.AC, or did not say a read was
     * data in a mode whose error codes cannot tell it from a fetch. */
    ref_guest_walk(&w->v, va, 0, false, REF_NO_SIDE_EFFECTS, &post);
    if (!done && post.mapped && post.leaf_level == pre.leaf_level && !hw_judged(w, va, acc, ac)) {
        for (int k = pre.levels; k >= pre.leaf_level; k--)
            if (post.entry[k] != pre.entry[k] &&
                (post.entry[k] & ~(uint64_t)(_PAGE_ACCESSED | _PAGE_DIRTY)) ==
                    (pre.entry[k] & ~(uint64_t)(_PAGE_ACCESSED | _PAGE_DIRTY)))
                wfail(w, "%s %s at %#llx faulted but set A/D in the guest's level-%d entry "
                      "(%#llx -> %#llx)", what, acc_name(acc), (unsigned long long)va, k,
                      (unsigned long long)pre.entry[k], (unsigned long long)post.entry[k]);
    }
    ref_guest_walk(&w->v, va, 0, false, REF_NO_SIDE_EFFECTS, &post);
    uint64_t ad = _PAGE_ACCESSED | _PAGE_DIRTY;
    int l = pre.leaf_level;
    if (post.mapped && post.leaf_level == l && !(pre.entry[l] & _PAGE_DIRTY) &&
        (post.entry[l] & _PAGE_DIRTY) && (pre.entry[l] & ~ad) == (post.entry[l] & ~ad)) {
        /* Documented in shadow.h when the fault did not state RFLAGS.AC. */
        if (!done && (acc & PFEC_WRITE) && hw_judged(w, va, acc, ac))
            return done;
        wfail(w, "%s %s at %#llx %s but set D in the guest leaf (%#llx -> %#llx)", what,
              acc_name(acc), (unsigned long long)va, done ? "wrote nothing" : "faulted",
              (unsigned long long)pre.entry[l], (unsigned long long)post.entry[l]);
    }
    return done;
}
