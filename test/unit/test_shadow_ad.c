/*
 * A/D only on success, protection keys, and odd page-table shapes, in every
 * guest mode and page size the shadow MMU handles (2-level 4 KiB / 4 MiB,
 * PAE 4 KiB / 2 MiB, long mode 4 KiB / 2 MiB / 1 GiB; superpages run on fl1
 * splinters).
 *
 * The rule asserted (docs/shadow.md, "#PF" step 5): the guest's A bits, at
 * every level, and its leaf D bit change only for an access that passes
 * every check (U/S, R/W, NX, SMEP, SMAP, PK, reserved bits).  A faulting
 * walk sets nothing at any level, whatever the kind of fault (Bochs' choice,
 * which the APM allows; QEMU sets upper A bits on some faults).  A
 * successful one sets A at every level and D in the leaf of a write.
 *
 * An access is modelled as the CPU under Umbra runs it: the reference MMU
 * walks the shadow tables (ref_hw_walk, with the simulated PKRU); on a fault
 * shadow_page_fault() gets the hardware's error code plus what the SVM layer
 * adds (SH_PFEC_NOAC / SH_PFEC_AC, SH_PFEC_DATA), and SH_EMULATE is finished
 * with shadow_write_guest().  The expected outcome is the reference MMU's
 * walk of the guest's own tables.  test/unit/mutant-asmap.sh runs this file
 * against a walker that sets A before the SMAP check and expects failures.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <umbra/x86.h>
#include <umbra/shadow.h>
#include "sim_platform.h"
#include "refmmu.h"

#define P   _PAGE_PRESENT
#define RW  _PAGE_RW
#define US  _PAGE_USER
#define A   _PAGE_ACCESSED
#define D   _PAGE_DIRTY
#define PS  _PAGE_PSE
#define NX  _PAGE_NX
#define CR0_ON (X86_CR0_PG | X86_CR0_PE | X86_CR0_ET)

static struct shadow_domain *dom;
static struct shadow_vcpu vc, *v = &vc;

static void teardown(void);
static void setup(void)
{
    sim_init(64ULL << 20, 512);
    dom = shadow_domain_init(sim_pool_base(), sim_pool_frames());
    ck_assert_ptr_nonnull(dom);
    shadow_set_audit(dom, 1);
    ck_assert_int_eq(shadow_vcpu_init(v, dom), 0);
}
static void teardown(void)
{
    unsigned long e = shadow_audit(dom);
    if (e || sim_log_contains("shadow: audit: "))
        sim_log_dump(stderr);
    ck_assert_uint_eq(e, 0);
    sim_fini();
}

/* ---- one guest address space per shape ------------------------------------- */

enum shape { S_2L_4K, S_2L_4M, S_PAE_4K, S_PAE_2M, S_LONG_4K, S_LONG_2M, S_LONG_1G, NSHAPES };
static const char *const shape_name[NSHAPES] = {
    "2-level 4K", "2-level 4M", "PAE 4K", "PAE 2M", "long 4K", "long 2M", "long 1G",
};

#define VA   0x40434000ULL      /* maps guest-physical 0x434000 in every shape */
#define PA   0x434000ULL
#define T1   0x10000ULL
#define T2   0x11000ULL
#define T3   0x12000ULL
#define T4   0x13000ULL

struct space {
    enum shape s;
    unsigned n;                 /* entries of the walk, top first */
    gpa_t at[4];
    unsigned size;              /* entry size */
    bool pdpte;                 /* at[0] is a legacy-PAE PDPTE (no A bit) */
};

static void wr(const struct space *sp, gpa_t a, uint64_t x) { sim_guest_write(a, x, sp->size); }
static uint64_t rd(const struct space *sp, gpa_t a) { return sim_guest_read(a, sp->size); }

/*
 * Build the shape: upper entries with `upper` (A clear), the leaf with
 * `leaf` (P added; PS for superpages), tables T1.. top-down.  Controls: cr0
 * (PG/PE/ET added), cr4 (PAE, PSE as the shape needs), efer (LME for long).
 */
static struct space build(enum shape s, uint64_t upper, uint64_t leaf, uint64_t cr0,
                          uint64_t cr4, uint64_t efer)
{
    struct space sp = { .s = s, .size = s <= S_2L_4M ? 4 : 8 };
    uint32_t pkru = sim_pkru, pkrs = sim_pkrs;
    teardown();                 /* a fresh machine and shadow for each shape */
    setup();
    sim_pkru = pkru;
    sim_pkrs = pkrs;
    leaf |= P;
    switch (s) {
    case S_2L_4K: case S_2L_4M:
        sp.at[sp.n++] = T1 + 0x101 * 4;
        if (s == S_2L_4M) {
            wr(&sp, sp.at[0], 0x400000 | PS | leaf);
        } else {
            wr(&sp, sp.at[0], T2 | upper);
            sp.at[sp.n++] = T2 + 0x34 * 4;
            wr(&sp, sp.at[1], PA | leaf);
        }
        cr4 |= X86_CR4_PSE;
        break;
    case S_PAE_4K: case S_PAE_2M:
        sp.pdpte = true;
        sp.at[sp.n++] = T1 + 8;
        wr(&sp, sp.at[0], T2 | P);
        sp.at[sp.n++] = T2 + 2 * 8;
        if (s == S_PAE_2M) {
            wr(&sp, sp.at[1], 0x400000 | PS | leaf);
        } else {
            wr(&sp, sp.at[1], T3 | upper);
            sp.at[sp.n++] = T3 + 0x34 * 8;
            wr(&sp, sp.at[2], PA | leaf);
        }
        cr4 |= X86_CR4_PAE;
        break;
    default:
        sp.at[sp.n++] = T1;
        wr(&sp, T1, T2 | upper);
        sp.at[sp.n++] = T2 + 8;
        if (s == S_LONG_1G) {
            wr(&sp, sp.at[1], 0 | PS | leaf);
        } else {
            wr(&sp, sp.at[1], T3 | upper);
            sp.at[sp.n++] = T3 + 2 * 8;
            if (s == S_LONG_2M) {
                wr(&sp, sp.at[2], 0x400000 | PS | leaf);
            } else {
                wr(&sp, sp.at[2], T4 | upper);
                sp.at[sp.n++] = T4 + 0x34 * 8;
                wr(&sp, sp.at[3], PA | leaf);
            }
        }
        cr4 |= X86_CR4_PAE;
        efer |= EFER_LME;
        break;
    }
    v->guest_cr0 = cr0 | CR0_ON;
    v->guest_cr4 = cr4;
    v->guest_efer = efer;
    v->guest_cr3 = T1;
    ck_assert_int_eq(shadow_update_paging_mode(v), 0);
    return sp;
}

/* One access as the CPU under Umbra + the SVM layer: SH_FIXED (done),
 * SH_REFLECT (*f), SH_STOP.  `flags`: SH_PFEC_AC / SH_PFEC_NOAC / SH_PFEC_DATA. */
static enum sh_result run(gva_t va, uint32_t acc, uint32_t flags, struct sh_fault *f)
{
    bool ac = flags & SH_PFEC_AC;
    for (int i = 0; i < 8; i++) {
        struct ref_result r;
        if (ref_hw_walk(v, va, acc, ac, 0, &r))
            return SH_FIXED;
        ck_assert_int_eq(r.vector, X86_EXC_PF);
        memset(f, 0, sizeof(*f));
        enum sh_result s = shadow_page_fault(v, va, r.pfec | flags, f);
        if (s == SH_EMULATE) {
            ck_assert(acc & PFEC_WRITE);
            uint32_t x = 0x5a5a5a5a;
            s = shadow_write_guest(v, va, &x, 4, (acc & PFEC_USER) | (ac ? SH_PFEC_AC : 0), f);
            if (s == SH_FIXED)
                ck_assert_uint_eq(sim_guest_read(PA, 4), x);
            return s;
        }
        if (s != SH_FIXED)
            return s;
    }
    ck_abort_msg("access %#llx did not converge", (unsigned long long)va);
    return SH_STOP;
}

/*
 * The access acc (+flags) on the shape built by the caller must end as the
 * reference walk of the guest tables says (fault and error code, or success),
 * and the guest's A/D bits must be: untouched on a fault, A everywhere and D
 * on a written leaf on success.  Returns the reference verdict.
 */
static bool check(const struct space *sp, uint32_t acc, uint32_t flags, const char *what)
{
    struct ref_result g;
    struct sh_fault f;
    uint64_t before[4];
    bool ac = flags & SH_PFEC_AC;
    bool ok = ref_guest_walk(v, VA, acc, ac, REF_NO_SIDE_EFFECTS, &g);
    for (unsigned i = 0; i < sp->n; i++)
        before[i] = rd(sp, sp->at[i]);
    enum sh_result r = run(VA, acc, flags, &f);
    const char *sn = shape_name[sp->s];
    if (ok) {
        ck_assert_msg(r == SH_FIXED, "%s, %s: guest allows it, shadow gave %d (pfec %#x)",
                      sn, what, r, f.pfec);
    } else {
        ck_assert_msg(r == SH_REFLECT, "%s, %s: guest faults (pfec %#x), shadow gave %d",
                      sn, what, g.pfec, r);
        ck_assert_msg(f.vector == X86_EXC_PF && f.pfec == g.pfec && f.cr2 == VA,
                      "%s, %s: reflected pfec %#x, want %#x", sn, what, f.pfec, g.pfec);
    }
    for (unsigned i = 0; i < sp->n; i++) {
        uint64_t now = rd(sp, sp->at[i]);
        uint64_t want = before[i];
        if (ok && !(sp->pdpte && i == 0))
            want |= A | ((i == sp->n - 1 && (acc & PFEC_WRITE)) ? D : 0);
        ck_assert_msg(now == want, "%s, %s: level-%u entry %#llx -> %#llx, want %#llx", sn,
                      what, sp->n - i, (unsigned long long)before[i],
                      (unsigned long long)now, (unsigned long long)want);
    }
    ck_assert_uint_eq(shadow_audit(dom), 0);
    return ok;
}

static bool nx_shape(enum shape s) { return s >= S_PAE_4K; }

/* SMAP: a supervisor data access to a user page with AC = 0 faults (P, plus W)
 * and sets no A bit at any level, in every mode: with NXE, with SMEP, and in
 * the modes whose error codes do not tell a read from a fetch, where the SVM
 * layer's SH_PFEC_DATA says it is data.  AC = 1 lets it through. */
START_TEST(smap_sets_no_a)
{
    enum shape s = (enum shape)_i;
    static const uint64_t efers[] = { 0, EFER_NXE };
    for (unsigned e = 0; e < 2; e++) {
        if (efers[e] && !nx_shape(s))
            continue;
        for (int w = 0; w < 2; w++) {
            uint32_t acc = w ? PFEC_WRITE : 0;
            struct space sp = build(s, P | RW | US, RW | US, X86_CR0_WP, X86_CR4_SMAP, efers[e]);
            ck_assert(!check(&sp, acc, SH_PFEC_NOAC | SH_PFEC_DATA, w ? "SMAP write" : "SMAP read"));
            ck_assert(check(&sp, acc, SH_PFEC_AC | SH_PFEC_DATA, w ? "write, AC=1" : "read, AC=1"));
        }
        /* with SMEP the error codes carry I/D: no SH_PFEC_DATA needed */
        struct space sp = build(s, P | RW | US, RW | US, 0, X86_CR4_SMAP | X86_CR4_SMEP, efers[e]);
        ck_assert(!check(&sp, 0, SH_PFEC_NOAC, "SMAP read with SMEP"));
        /* a supervisor fetch of a user page is not SMAP's (no SMEP): A is set */
        sp = build(s, P | RW | US, RW | US, 0, X86_CR4_SMAP, efers[e]);
        ck_assert(check(&sp, PFEC_INSN, SH_PFEC_NOAC, "fetch under SMAP"));
    }
}
END_TEST

/* Every other kind of fault leaves every A bit clear too; success sets them. */
START_TEST(faults_set_no_a)
{
    enum shape s = (enum shape)_i;
    struct space sp;
    uint64_t nxe = nx_shape(s) ? EFER_NXE : 0;
    sp = build(s, P | RW | US, RW, X86_CR0_WP, 0, nxe);
    ck_assert(!check(&sp, PFEC_USER, 0, "user read of a supervisor page"));
    if (s != S_2L_4M && s != S_PAE_2M) {      /* these have no upper level with rights */
        sp = build(s, P | RW, RW | US, X86_CR0_WP, 0, nxe);
        ck_assert(!check(&sp, PFEC_USER | PFEC_WRITE, 0, "user write, supervisor upper level"));
    }
    if (s == S_2L_4M || s == S_PAE_2M || s == S_LONG_1G || s == S_LONG_2M) {
        sp = build(s, P | US, US, X86_CR0_WP, 0, nxe);   /* no RW anywhere */
    } else {
        sp = build(s, P | RW | US, US, X86_CR0_WP, 0, nxe);
    }
    ck_assert(!check(&sp, PFEC_USER | PFEC_WRITE, 0, "user write to a read-only page"));
    ck_assert(!check(&sp, PFEC_WRITE, SH_PFEC_NOAC | SH_PFEC_DATA, "supervisor write, WP=1"));
    sp = build(s, P | RW | US, US, 0, X86_CR4_SMEP, nxe);
    ck_assert(!check(&sp, PFEC_INSN, SH_PFEC_NOAC, "SMEP fetch"));
    if (nxe) {
        sp = build(s, P | RW | US, RW | US | NX, X86_CR0_WP, 0, nxe);
        ck_assert(!check(&sp, PFEC_INSN | PFEC_USER, 0, "fetch of an NX page"));
        sp = build(s, P | RW | US, RW | US | NX, X86_CR0_WP, 0, 0);
        ck_assert(!check(&sp, PFEC_USER, 0, "NX bit without NXE (reserved)"));
    }
    /* reserved: an address bit above MAXPHYADDR (40), or bit 21 of a 4 MiB PDE */
    uint64_t rsv = s == S_2L_4M ? 1ULL << 21 : s == S_2L_4K ? 0 : 1ULL << 45;
    if (rsv) {
        sp = build(s, P | RW | US, RW | US | rsv, X86_CR0_WP, 0, nxe);
        ck_assert(!check(&sp, PFEC_USER, 0, "reserved bit in the leaf"));
    }
    /* and successes: A everywhere, D on a written leaf (WP=0 too) */
    sp = build(s, P | RW | US, RW | US, X86_CR0_WP, X86_CR4_SMAP | X86_CR4_SMEP, nxe);
    ck_assert(check(&sp, PFEC_USER | PFEC_WRITE, 0, "user write"));
    sp = build(s, P | RW | US, 0, 0, 0, nxe);
    ck_assert(check(&sp, PFEC_WRITE, SH_PFEC_NOAC, "supervisor write with WP=0 (emulated)"));
    sp = build(s, P | RW | US, US, 0, 0, nxe);
    ck_assert(check(&sp, 0, SH_PFEC_NOAC | SH_PFEC_DATA, "supervisor read"));
}
END_TEST

/* Protection keys (long mode, CR4.PKE): the walker judges PKRU, reflects
 * PFEC.PK, sets no A/D on a PK fault, and its emulation of CR0.WP = 0 exempts
 * supervisor writes from WD as the CPU does (the hardware, at WP = 1, does not:
 * the shadow emulates that write). */
START_TEST(pkeys)
{
    enum shape s = (enum shape)(S_LONG_4K + _i);
    uint64_t key = 5ULL << 59;
    static const struct {
        uint32_t pkru;      /* key 5 is bits 11:10 */
        uint32_t acc;
        uint64_t cr0;
        uint32_t ro, rw;    /* expected error code on a read-only / writable page, 0: done */
        const char *what;
    } c[] = {
        { 1u << 10, PFEC_USER, X86_CR0_WP, 0x25, 0x25, "user read, AD" },
        { 1u << 10, 0, X86_CR0_WP, 0x21, 0x21, "supervisor read of a user page, AD" },
        { 1u << 10, PFEC_WRITE, 0, 0x23, 0x23, "supervisor write, AD, WP=0" },
        { 1u << 10, PFEC_USER | PFEC_INSN, X86_CR0_WP, 0, 0, "user fetch, AD (keys do not apply)" },
        { 2u << 10, PFEC_USER, X86_CR0_WP, 0, 0, "user read, WD" },
        { 2u << 10, PFEC_USER | PFEC_WRITE, X86_CR0_WP, 0x27, 0x27, "user write, WD" },
        { 2u << 10, PFEC_USER | PFEC_WRITE, 0, 0x27, 0x27, "user write, WD, WP=0" },
        { 2u << 10, PFEC_WRITE, X86_CR0_WP, 0x23, 0x23, "supervisor write, WD, WP=1" },
        { 2u << 10, PFEC_WRITE, 0, 0, 0, "supervisor write, WD, WP=0" },
        { 3u << 8, PFEC_USER | PFEC_WRITE, X86_CR0_WP, 0x07, 0, "another key's AD+WD" },
    };
    for (unsigned i = 0; i < ARRAY_SIZE(c); i++) {
        for (int rw = 0; rw < 2; rw++) {
            sim_pkru = c[i].pkru;
            struct space sp = build(s, P | RW | US, US | key | (rw ? RW : 0), c[i].cr0,
                                    X86_CR4_PKE, EFER_NXE);
            char what[96];
            snprintf(what, sizeof(what), "%s, %s page", c[i].what, rw ? "RW" : "RO");
            uint32_t want = rw ? c[i].rw : c[i].ro;
            struct ref_result g;
            ref_guest_walk(v, VA, c[i].acc, true, REF_NO_SIDE_EFFECTS, &g);
            ck_assert_msg(g.ok == !want && (g.ok || g.pfec == want),
                          "oracle: %s: pfec %#x, want %#x", what, g.ok ? 0 : g.pfec, want);
            ck_assert(check(&sp, c[i].acc, SH_PFEC_AC, what) == !want);
        }
    }
    /* a supervisor page: keys never apply; PKE off: keys ignored */
    sim_pkru = ~0u;
    struct space sp = build(s, P | RW | US, RW | key, X86_CR0_WP, X86_CR4_PKE, EFER_NXE);
    ck_assert(check(&sp, PFEC_WRITE, SH_PFEC_NOAC, "supervisor page, all keys disabled"));
    sp = build(s, P | RW | US, RW | US | key, X86_CR0_WP, 0, EFER_NXE);
    ck_assert(check(&sp, PFEC_USER | PFEC_WRITE, 0, "PKE off"));
    sim_pkru = 0;
}
END_TEST

/* Supervisor protection keys (CR4.PKS, IA32_PKRS): the same rules for
 * supervisor pages, judged against PKRS; PKRU and user pages untouched. */
START_TEST(pks)
{
    enum shape s = (enum shape)(S_LONG_4K + _i);
    uint64_t key = 5ULL << 59;
    static const struct {
        uint32_t pkrs;      /* key 5 is bits 11:10 */
        uint32_t acc;
        uint64_t cr0;
        uint32_t ro, rw;    /* expected error code on a read-only / writable page, 0: done */
        const char *what;
    } c[] = {
        { 1u << 10, 0, X86_CR0_WP, 0x21, 0x21, "supervisor read, AD" },
        { 1u << 10, PFEC_WRITE, 0, 0x23, 0x23, "supervisor write, AD, WP=0" },
        { 1u << 10, PFEC_INSN, X86_CR0_WP, 0, 0, "supervisor fetch, AD (keys do not apply)" },
        { 2u << 10, 0, X86_CR0_WP, 0, 0, "supervisor read, WD" },
        { 2u << 10, PFEC_WRITE, X86_CR0_WP, 0x23, 0x23, "supervisor write, WD, WP=1" },
        { 2u << 10, PFEC_WRITE, 0, 0, 0, "supervisor write, WD, WP=0" },
        { 3u << 8, PFEC_WRITE, X86_CR0_WP, 0x03, 0, "another key's AD+WD" },
    };
    for (unsigned i = 0; i < ARRAY_SIZE(c); i++) {
        for (int rw = 0; rw < 2; rw++) {
            sim_pkrs = c[i].pkrs;
            sim_pkru = ~0u;             /* PKRU never judges a supervisor page */
            struct space sp = build(s, P | RW | US, key | (rw ? RW : 0), c[i].cr0,
                                    X86_CR4_PKE | X86_CR4_PKS, EFER_NXE);
            char what[96];
            snprintf(what, sizeof(what), "%s, %s page", c[i].what, rw ? "RW" : "RO");
            uint32_t want = rw ? c[i].rw : c[i].ro;
            struct ref_result g;
            ref_guest_walk(v, VA, c[i].acc, true, REF_NO_SIDE_EFFECTS, &g);
            ck_assert_msg(g.ok == !want && (g.ok || g.pfec == want),
                          "oracle: %s: pfec %#x, want %#x", what, g.ok ? 0 : g.pfec, want);
            ck_assert(check(&sp, c[i].acc, SH_PFEC_NOAC, what) == !want);
        }
    }
    /* a user page: PKRS never applies; PKS off: PKRS ignored */
    sim_pkru = 0;
    sim_pkrs = ~0u;
    struct space sp = build(s, P | RW | US, RW | US | key, X86_CR0_WP, X86_CR4_PKE | X86_CR4_PKS, EFER_NXE);
    ck_assert(check(&sp, PFEC_USER | PFEC_WRITE, 0, "user page, all supervisor keys disabled"));
    sp = build(s, P | RW | US, RW | key, X86_CR0_WP, X86_CR4_PKE, EFER_NXE);
    ck_assert(check(&sp, PFEC_WRITE, SH_PFEC_NOAC, "PKS off"));
    sim_pkrs = 0;
}
END_TEST

/* ---- page-table shapes ---------------------------------------------------- */

/* A guest store of `len` bytes at va as the CPU under Umbra does it: through
 * the shadow if it allows the write, else #PF -> fixed (retry) or emulated. */
static void store(gva_t va, uint64_t val, unsigned len)
{
    for (int i = 0; i < 8; i++) {
        struct ref_result r;
        struct sh_fault f = { 0 };
        if (ref_hw_walk(v, va, PFEC_WRITE, false, 0, &r)) {
            sim_write_phys(r.pa, val, len);
            return;
        }
        enum sh_result s = shadow_page_fault(v, va, r.pfec | SH_PFEC_NOAC | SH_PFEC_DATA, &f);
        if (s == SH_EMULATE) {
            ck_assert_int_eq(shadow_write_guest(v, va, &val, len, 0, &f), SH_FIXED);
            return;
        }
        ck_assert_msg(s == SH_FIXED, "store at %#llx: %d pfec %#x", (unsigned long long)va, s,
                      f.pfec);
    }
    ck_abort_msg("store at %#llx did not converge", (unsigned long long)va);
}

/* A guest load at va: must succeed, as the guest's own walk says, with its value. */
static uint64_t load(gva_t va, unsigned len)
{
    struct ref_result g, r;
    struct sh_fault f;
    ck_assert_msg(ref_guest_walk(v, va, 0, false, REF_NO_SIDE_EFFECTS, &g),
                  "guest cannot read %#llx", (unsigned long long)va);
    for (int i = 0; i < 8; i++) {
        if (ref_hw_walk(v, va, 0, false, 0, &r)) {
            ck_assert_uint_eq(r.pa, g.pa);
            return sim_guest_read(g.pa, len);
        }
        ck_assert_int_eq(shadow_page_fault(v, va, r.pfec | SH_PFEC_NOAC | SH_PFEC_DATA, &f),
                         SH_FIXED);
    }
    ck_abort_msg("load at %#llx did not converge", (unsigned long long)va);
    return 0;
}

/*
 * Issue 12 item 5: a PAE guest points PDPTE3 at the PDPT itself, reads and
 * writes through that alias (the PDPT is then a PD and a PT of itself),
 * restores PDPTE3, points PDPTE2 at a new directory and reloads CR3; slot 2
 * must then use the new directory, as a bare walk does.
 */
START_TEST(pdpt_maps_itself)
{
    const gpa_t X = 0x10000, PD0 = 0x11000, PT0 = 0x12000, PD3 = 0x13000, T = 0x14000,
                PTT = 0x15000;
    for (gpa_t a = X; a < PTT + PAGE_SIZE; a += 8)
        sim_guest_write(a, 0, 8);
    sim_guest_write(X, PD0 | P, 8);
    sim_guest_write(X + 24, PD3 | P, 8);
    sim_guest_write(PD0, PT0 | P | RW | A, 8);
    for (unsigned k = 0x10; k <= 0x15; k++)                 /* VA 0x10000.. = X.. */
        sim_guest_write(PT0 + 8 * k, (k << 12) | P | RW | A | D, 8);
    v->guest_cr0 = CR0_ON;      /* WP = 0: the alias has no RW (reserved in a PDPTE) */
    v->guest_cr4 = X86_CR4_PAE;
    v->guest_efer = 0;
    v->guest_cr3 = X;
    ck_assert_int_eq(shadow_update_paging_mode(v), 0);
    ck_assert_uint_eq(load(0x10018, 8), PD3 | P);
    /* PDPTE3 -> the PDPT: VA 0xc0603000 is X through PDE 3 and PTE 3 of X */
    store(0x10018, X | P, 8);
    struct sh_fault f;
    ck_assert_int_eq(shadow_update_cr3(v, &f), SH_FIXED);
    ck_assert_uint_eq(load(0xc0603000, 8), PD0 | P);
    ck_assert_uint_eq(load(0xc0603018, 8) & ~(uint64_t)(A | D), X | P);
    store(0xc0603008, 0, 8);                                  /* PDPTE1 through the alias */
    ck_assert_uint_eq(load(0x10008, 8), 0);
    store(0xc0603018, PD3 | P, 8);                            /* restore PDPTE3 through it */
    sim_guest_write(T, PTT | P | RW | A, 8);
    sim_guest_write(PTT + 5 * 8, 0x555000 | P | RW | A | D, 8);
    store(0x10010, T | P, 8);                                 /* PDPTE2 -> T */
    ck_assert_uint_eq(load(0x10010, 8), T | P);
    uint64_t mem[4];
    bool good = ref_load_pdptes(X, mem);
    enum sh_result r = shadow_update_cr3(v, &f);
    ck_assert_msg(good ? r == SH_FIXED : (r == SH_REFLECT && f.vector == X86_EXC_GP),
                  "CR3 reload: %d, PDPTEs %#llx %#llx %#llx %#llx", r, (unsigned long long)mem[0],
                  (unsigned long long)mem[1], (unsigned long long)mem[2], (unsigned long long)mem[3]);
    ck_assert(good);
    ck_assert_uint_eq(v->guest_pdpte[2], T | P);
    store(0x80005000, 0x1234, 8);
    ck_assert_uint_eq(sim_guest_read(0x555000, 8), 0x1234);
    ck_assert_uint_eq(load(0x80005000, 8), 0x1234);
    ck_assert_uint_eq(shadow_audit(dom), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("shadow_ad");
    TCase *t = tcase_create("ad_on_success");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_loop_test(t, smap_sets_no_a, 0, NSHAPES);
    tcase_add_loop_test(t, faults_set_no_a, 0, NSHAPES);
    suite_add_tcase(s, t);
    t = tcase_create("pkeys");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_loop_test(t, pkeys, 0, 3);
    tcase_add_loop_test(t, pks, 0, 3);
    suite_add_tcase(s, t);
    t = tcase_create("shapes");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, pdpt_maps_itself);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
