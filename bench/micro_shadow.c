/*
 * Hosted micro-benchmarks of the shadow MMU (bench/README.md): one shadow
 * operation repeated N times on the simulated machine of the unit tests, with
 * callgrind's collection switched on around the measured call only, so
 * `valgrind --tool=callgrind --collect-atstart=no` counts the instructions of
 * exactly N operations (bench/callgrind.sh divides).  Run natively (make
 * check), the same program checks that every operation ended as the benchmark
 * assumes: a benchmark that measured the wrong path would be worse than none.
 *
 *   micro_shadow OP N      OP: fault_fixed fault_new_l1 fault_reflected cr3_cached pt_write invlpg_insn oos_resync cr3_oos cr3_oos_dirty unshadow reclaim
 *
 * The guest: PAE with NX, one PDPT per address space, PD0 and PT0 mapping
 * 2 MiB of data frames from 4 MiB, PT0 mapped at VA 0x1ff000 (so the guest
 * writes its own PTEs through it), code at VA 0x1fe000.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/callgrind.h>

#include <umbra/x86.h>
#include <umbra/x86emu.h>
#include <umbra/shadow.h>
#include "../test/unit/sim_platform.h"
#include "../test/unit/refmmu.h"

#define P  _PAGE_PRESENT
#define RW _PAGE_RW
#define US _PAGE_USER
#define A  _PAGE_ACCESSED
#define D  _PAGE_DIRTY
#define CR0_ON (X86_CR0_PG | X86_CR0_PE | X86_CR0_WP | X86_CR0_ET)
#define LEAF (P | RW | US | A | D)

#define NAS      48               /* address spaces (reclaim cycles through them) */
#define AS_BASE  0x100000ULL      /* AS k: PDPT, PD, PT at AS_BASE + k * 0x3000 */
#define DATA     0x400000ULL      /* data frames */
#define PT_VA    0x1ff000ULL      /* PT0 seen by the guest */
#define CODE_VA  0x1fe000ULL
#define INVLPG_OFF 0x10           /* invlpg [ebx] in the code page */

static struct shadow_domain *dom;
static struct shadow_vcpu vc, *v = &vc;

static void die(const char *what, unsigned long i)
{
    fprintf(stderr, "micro_shadow: %s (op %lu)\n", what, i);
    sim_log_dump(stderr);
    exit(1);
}

static uint64_t pdpt(unsigned k) { return AS_BASE + k * 0x3000ULL; }
static uint64_t pd(unsigned k) { return pdpt(k) + 0x1000; }
static uint64_t pt(unsigned k) { return pdpt(k) + 0x2000; }

/* Address space k: 511 data pages at 0..0x1fd000 (entry 0 left not present), code, PT0 itself. */
static void build_as(unsigned k)
{
    sim_guest_write(pdpt(k), pd(k) | P, 8);
    sim_guest_write(pd(k), pt(k) | P | RW | US | A, 8);
    for (unsigned i = 1; i < 510; i++)
        sim_guest_write(pt(k) + 8 * i, (DATA + i * 0x1000ULL) | LEAF, 8);
    sim_guest_write(pt(k) + 8 * 510, (DATA + 0x1000 * 600) | P | A, 8);   /* code page */
    sim_guest_write(pt(k) + 8 * 511, pt(k) | P | RW | A | D, 8);
}

/* A shadow counter (shadow_stat_get). */
static unsigned long counter(const char *name)
{
    uint64_t n;
    if (!shadow_stat_get(dom, name, &n))
        die("no such counter", 0);
    return (unsigned long)n;
}

static void setup_oos(unsigned long pool, bool oos)
{
    sim_init(64ULL << 20, pool);
    dom = shadow_domain_init(sim_pool_base(), sim_pool_frames());
    if (dom && oos && shadow_set_oos(dom, true))
        die("shadow_set_oos", 0);
    if (!dom || shadow_vcpu_init(v, dom))
        die("shadow_domain_init", 0);
    for (unsigned k = 0; k < NAS; k++)
        build_as(k);
    sim_guest_write(DATA + 600 * 0x1000ULL, 0x0389, 2);        /* mov [ebx], eax */
    sim_guest_write(DATA + 600 * 0x1000ULL + INVLPG_OFF, 0x3b010f, 3);   /* invlpg [ebx] */
    v->guest_cr0 = CR0_ON;
    v->guest_cr4 = X86_CR4_PAE;
    v->guest_efer = EFER_NXE;
    v->guest_cr3 = pdpt(0);
    if (shadow_update_paging_mode(v))
        die("shadow_update_paging_mode", 0);
}

static void setup(unsigned long pool)
{
    setup_oos(pool, false);
}

static void load_cr3(unsigned k)
{
    struct sh_fault f;
    v->guest_cr3 = pdpt(k);
    if (shadow_update_cr3(v, &f) != SH_FIXED)
        die("cr3 load", k);
}

/* The #PF the hardware would take on va for acc (false: no fault). */
static bool hw_fault(gva_t va, uint32_t acc, uint32_t *pfec)
{
    struct ref_result r;
    if (ref_hw_walk(v, va, acc, false, 0, &r))
        return false;
    *pfec = r.pfec;
    return true;
}

/* Measured: one call to the shadow's #PF handler. */
static enum sh_result measured_fault(gva_t va, uint32_t pfec, struct sh_fault *f)
{
    CALLGRIND_TOGGLE_COLLECT;
    enum sh_result r = shadow_page_fault(v, va, pfec, f);
    CALLGRIND_TOGGLE_COLLECT;
    return r;
}

/* Make the access converge outside the measurement (warming shadows). */
static void touch(gva_t va, uint32_t acc)
{
    uint32_t pfec;
    struct sh_fault f;
    for (int i = 0; i < 8 && hw_fault(va, acc, &pfec); i++)
        if (shadow_page_fault(v, va, pfec, &f) != SH_FIXED)
            die("touch", (unsigned long)va);
}

/* ---- the emulator's callbacks, as the SVM layer backs them (include/umbra/x86emu.h) ---- */
static int from_shadow(enum sh_result r, const struct sh_fault *sf, struct x86_fault *f)
{
    if (r == SH_FIXED)
        return X86EMU_OK;
    if (r == SH_REFLECT) {
        *f = (struct x86_fault){ sf->vector, true, sf->pfec, sf->cr2 };
        return X86EMU_FAULT;
    }
    return X86EMU_UNHANDLED;
}
static int cb_read(struct x86_emu_ctxt *c, uint64_t la, void *dst, unsigned len, uint32_t pfec,
                   struct x86_fault *f)
{
    struct sh_fault sf = { 0 };
    return from_shadow(shadow_read_guest(c->opaque, la, dst, len, pfec, &sf), &sf, f);
}
static int cb_write(struct x86_emu_ctxt *c, uint64_t la, const void *src, unsigned len,
                    uint32_t pfec, struct x86_fault *f)
{
    struct sh_fault sf = { 0 };
    return from_shadow(shadow_write_guest(c->opaque, la, src, len, pfec, &sf), &sf, f);
}
static const struct x86_emu_ops emu_ops = { cb_read, cb_write, NULL, NULL };
/* The decode memo, one per vCPU as the SVM layer keeps it (src/svm/emu.c svm_emu_begin). */
static struct x86_decode_memo memo;

/* A flat 32-bit ring-0 register file at rip. */
static void flat_regs(struct x86_regs *r, uint64_t rip)
{
    memset(r, 0, sizeof(*r));
    for (unsigned s = 0; s < X86_NR_SEGS; s++)
        r->seg[s] = (struct x86_seg){ 0x10, 0xc93, 0xffffffffu, 0 };
    r->seg[X86_SEG_CS] = (struct x86_seg){ 0x08, 0xc9b, 0xffffffffu, 0 };
    r->rflags = 0x2;
    r->rip = rip;
}

/* An emulation context over r for vCPU v, 32-bit protected mode, as svm_emu_begin makes it. */
static void emu_ctxt(struct x86_emu_ctxt *c, struct x86_regs *r)
{
    memset(c, 0, sizeof(*c));
    c->ops = &emu_ops;
    c->opaque = v;
    c->regs = r;
    c->mode = X86_MODE_PROT32;
    c->memo = &memo;
}

/* A guest MOV [EBX], EAX at CODE_VA: the fault, then its emulation (fetch, decode, write, revalidate). */
static void guest_pte_write(unsigned long i, unsigned slot, uint64_t val)
{
    gva_t va = PT_VA + 8 * slot;
    uint32_t pfec;
    struct sh_fault f;
    touch(CODE_VA, PFEC_INSN);                /* the code page is shadowed (as a real guest's would be) */
    touch(va, 0);                             /* and PT0's page is readable through the shadow */
    if (!hw_fault(va, PFEC_WRITE, &pfec))
        die("a PTE write did not fault: PT0 is not write-protected", i);
    struct x86_regs r;
    flat_regs(&r, CODE_VA);
    r.gpr[X86_RBX] = va;
    r.gpr[X86_RAX] = (uint32_t)val;
    struct x86_emu_ctxt c;
    emu_ctxt(&c, &r);
    CALLGRIND_TOGGLE_COLLECT;
    enum sh_result s = shadow_page_fault(v, va, pfec, &f);
    int rc = s == SH_EMULATE ? (int)x86_emulate(&c) : -1;
    CALLGRIND_TOGGLE_COLLECT;
    if (s != SH_EMULATE || rc != X86EMU_OK || r.rip != CODE_VA + 2)
        die("PTE write not emulated", i);
    if ((uint32_t)sim_guest_read(pt(0) + 8 * slot, 4) != (uint32_t)val)
        die("PTE write did not land", i);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: micro_shadow fault_fixed|fault_new_l1|fault_reflected|cr3_cached|pt_write|invlpg_insn|oos_resync|cr3_oos|cr3_oos_dirty|oos_lost_d|unshadow|reclaim N\n");
        return 2;
    }
    const char *op = argv[1];
    unsigned long n = strtoul(argv[2], NULL, 0);
    struct sh_fault f;
    uint32_t pfec;

    if (!strcmp(op, "fault_fixed")) {
        /* A present, accessed, dirty guest PTE whose shadow entry is empty: the hidden fault Umbra fixes. */
        setup(512);
        touch(0x1000, 0);                     /* the L1 shadow of PT0 exists from here on */
        for (unsigned long i = 0; i < n; i++) {
            gva_t va = (1 + i % 509) << 12;
            if (i % 509 == 0)
                for (unsigned j = 1; j < 510; j++)
                    shadow_invlpg(v, (gva_t)j << 12);   /* empty the shadow entries again */
            if (!hw_fault(va, PFEC_WRITE, &pfec))
                die("no hidden fault", i);
            if (measured_fault(va, pfec, &f) != SH_FIXED || hw_fault(va, PFEC_WRITE, &pfec))
                die("hidden fault not fixed", i);
        }
    } else if (!strcmp(op, "fault_new_l1")) {
        /* A hidden read fault whose l1 shadow is missing (PT0 was unshadowed,
         * not measured): the l1 is made and, prefetch=all, filled from all
         * 511 present guest PTEs, as after a fork. */
        setup(512);
        unsigned long made = counter("prefetch_entries");
        for (unsigned long i = 0; i < n; i++) {
            if (!shadow_unshadow_gfn(dom, _gfn(pt(0) >> 12)))
                die("PT0 still shadowed", i);
            if (!hw_fault(0x1000, 0, &pfec))
                die("no fault with PT0 unshadowed", i);
            if (measured_fault(0x1000, pfec, &f) != SH_FIXED || hw_fault(0x1000, 0, &pfec))
                die("hidden fault not fixed", i);
        }
        if (counter("prefetch_entries") < made + 511 * n)
            die("a new l1 was not filled from its guest table", 0);
    } else if (!strcmp(op, "fault_reflected")) {
        /* VA 0: PT0 entry 0 not present, a true guest fault. */
        setup(512);
        touch(0x1000, 0);
        for (unsigned long i = 0; i < n; i++) {
            if (!hw_fault(0, 0, &pfec))
                die("no fault at 0", i);
            if (measured_fault(0, pfec, &f) != SH_REFLECT || f.vector != X86_EXC_PF || f.pfec != 0)
                die("fault not reflected with pfec 0", i);
        }
    } else if (!strcmp(op, "cr3_cached")) {
        /* Two address spaces whose top levels are pinned: every switch is a hash hit. */
        setup(512);
        load_cr3(1);
        load_cr3(0);
        unsigned long misses = counter("cr3_misses");
        for (unsigned long i = 0; i < n; i++) {
            v->guest_cr3 = pdpt((i + 1) & 1);
            CALLGRIND_TOGGLE_COLLECT;
            enum sh_result r = shadow_update_cr3(v, &f);
            CALLGRIND_TOGGLE_COLLECT;
            if (r != SH_FIXED)
                die("cr3 switch", i);
        }
        if (counter("cr3_misses") != misses)
            die("a cached CR3 switch missed", 0);
    } else if (!strcmp(op, "pt_write")) {
        /* A guest MOV to a PTE of its shadowed PT0, through PT0's own mapping. */
        setup(512);
        touch(0x1000, 0);
        for (unsigned long i = 0; i < n; i++) {
            unsigned slot = 1 + i % 509;
            guest_pte_write(i, slot, (DATA + ((i & 1) ? 700 : 1) * 0x1000ULL + slot * 0x1000ULL) | LEAF);
        }
    } else if (!strcmp(op, "invlpg_insn")) {
        /* The INVLPG intercept as the SVM layer handles it (src/svm/shadow_paging.c
         * sp_invlpg, without the VMCB copy): `invlpg [ebx]` fetched at CS:RIP
         * through the guest's tables and decoded (x86_decode_sys), the shadow
         * entry of a present page dropped (shadow_invlpg), RIP advanced. */
        setup(512);
        touch(0x1000, 0);
        touch(CODE_VA, PFEC_INSN);
        unsigned long dropped = counter("invlpg_dropped");
        for (unsigned long i = 0; i < n; i++) {
            gva_t va = (gva_t)(1 + i % 509) << 12;
            touch(va, 0);                     /* its shadow entry is present: INVLPG drops it */
            struct x86_regs r;
            flat_regs(&r, CODE_VA + INVLPG_OFF);
            r.gpr[X86_RBX] = va;
            struct x86_emu_ctxt c;
            emu_ctxt(&c, &r);
            struct x86_sysop sop;
            CALLGRIND_TOGGLE_COLLECT;
            int rc = x86_decode_sys(&c, &sop);
            if (rc == X86EMU_OK && sop.op == X86_OP_INVLPG) {
                shadow_invlpg(v, sop.la);
                x86_finish_sys(&c, &sop, 0);
            }
            CALLGRIND_TOGGLE_COLLECT;
            if (rc != X86EMU_OK || sop.op != X86_OP_INVLPG || sop.la != va
                || r.rip != CODE_VA + INVLPG_OFF + 3)
                die("invlpg [ebx] not decoded", i);
            if (!hw_fault(va, 0, &pfec))
                die("INVLPG left the shadow entry", i);
        }
        if (counter("invlpg_dropped") < dropped + n)
            die("an INVLPG dropped nothing", 0);
    } else if (!strcmp(op, "oos_resync")) {
        /* oos=on, PT0 out of sync: the guest writes a PTE natively (no exit),
         * then INVLPGs its address: the resync of one changed entry. */
        setup_oos(512, true);
        touch(0x1000, 0);
        guest_pte_write(0, 1, (DATA + 0x1000ULL) | LEAF);   /* the 1st write is emulated */
        touch(PT_VA, PFEC_WRITE);                           /* the 2nd unsyncs PT0, mapped writable */
        if (counter("oos_made") != 1 || hw_fault(PT_VA, PFEC_WRITE, &pfec))
            die("PT0 did not go out of sync", 0);
        for (unsigned long i = 0; i < n; i++) {
            unsigned slot = 1 + i % 509;
            sim_guest_write(pt(0) + 8 * slot, (DATA + ((i & 1) ? 700 : 1) * 0x1000ULL + slot * 0x1000ULL) | LEAF, 8);
            CALLGRIND_TOGGLE_COLLECT;
            shadow_invlpg(v, (gva_t)slot << 12);
            CALLGRIND_TOGGLE_COLLECT;
        }
        if (counter("oos_resync_changed") < n || counter("oos_made") != 1)
            die("an INVLPG did not resync exactly the changed entry", 0);
    } else if (!strcmp(op, "cr3_oos")) {
        /* cr3_cached with oos=on and PT0 out of sync: every CR3 load resyncs
         * it (the guest flushes); the guest wrote nothing natively between
         * two loads, as most of a guest's out-of-sync tables at most loads. */
        setup_oos(512, true);
        touch(0x1000, 0);
        guest_pte_write(0, 1, (DATA + 0x1000ULL) | LEAF);   /* the 1st write is emulated */
        touch(PT_VA, PFEC_WRITE);                           /* the 2nd unsyncs PT0, mapped writable */
        if (counter("oos_made") != 1)
            die("PT0 did not go out of sync", 0);
        load_cr3(1);
        load_cr3(0);
        unsigned long misses = counter("cr3_misses"), resyncs = counter("oos_resyncs");
        for (unsigned long i = 0; i < n; i++) {
            v->guest_cr3 = pdpt((i + 1) & 1);
            CALLGRIND_TOGGLE_COLLECT;
            enum sh_result r = shadow_update_cr3(v, &f);
            CALLGRIND_TOGGLE_COLLECT;
            if (r != SH_FIXED)
                die("cr3 switch", i);
        }
        if (counter("cr3_misses") != misses || counter("oos_resyncs") != resyncs + n
            || counter("oos_made") != 1)
            die("a CR3 switch missed or did not resync PT0", 0);
    } else if (!strcmp(op, "cr3_oos_dirty")) {
        /* cr3_oos, but before each measured load the guest rewrites a PTE of
         * PT0 natively through its writable mapping (the hardware sets D in
         * the shadow leaf) and INVLPGs it (its resync), as stress_rewrite
         * does: the load compares PT0 with its snapshot (nothing left to
         * revalidate).  The load back (clean) is not measured. */
        setup_oos(512, true);
        touch(0x1000, 0);
        guest_pte_write(0, 1, (DATA + 0x1000ULL) | LEAF);
        touch(PT_VA, PFEC_WRITE);
        if (counter("oos_made") != 1)
            die("PT0 did not go out of sync", 0);
        load_cr3(1);
        load_cr3(0);
        unsigned long clean = counter("oos_resync_clean");
        for (unsigned long i = 0; i < n; i++) {
            unsigned slot = 1 + i % 509;
            gva_t pva = PT_VA + 8 * slot;      /* in space 0, whose tables map PT0 at PT_VA */
            if (hw_fault(pva, PFEC_WRITE, &pfec))
                die("PT0 is not writable", i);
            sim_guest_write(pt(0) + 8 * slot, (DATA + ((i & 1) ? 700 : 1) * 0x1000ULL + slot * 0x1000ULL) | LEAF, 8);
            shadow_invlpg(v, (gva_t)slot << 12);
            v->guest_cr3 = pdpt(1);
            CALLGRIND_TOGGLE_COLLECT;
            enum sh_result r = shadow_update_cr3(v, &f);
            CALLGRIND_TOGGLE_COLLECT;
            if (r != SH_FIXED)
                die("cr3 switch", i);
            load_cr3(0);                     /* back (a clean resync, not measured) */
        }
        if (counter("oos_resync_clean") != clean + n || counter("oos_made") != 1)
            die("a CR3 load after a native PTE write skipped the compare", 0);
    } else if (!strcmp(op, "oos_lost_d")) {
        /* Not a benchmark: the case the D test must not miss (common.c
         * oos_resync, oos_wl_epoch).  PT0 out of sync; space 1 maps PT0
         * writable at ALIAS_VA through its own PT; the guest writes a PTE of
         * PT0 through that alias, then the alias's l1 shadow dies (the guest
         * stopped using PT(1) as a table) and takes its D bit along; the CR3
         * load back to space 0 must still see the write. */
        const gva_t alias = 0x1fc000;        /* PT(1) entry 508 */
        setup_oos(512, true);
        sim_guest_write(pt(1) + 8 * 508, pt(0) | LEAF, 8);
        touch(0x1000, 0);
        guest_pte_write(0, 1, (DATA + 0x1000ULL) | LEAF);
        touch(PT_VA, PFEC_WRITE);
        if (counter("oos_made") != 1)
            die("PT0 did not go out of sync", 0);
        for (unsigned long i = 0; i < n; i++) {
            unsigned slot = 2 + i % 500;
            uint64_t want = DATA + (700 + i % 3) * 0x1000ULL;
            load_cr3(1);                     /* clears D in PT0's own writable leaf */
            touch(alias + 8 * slot, PFEC_WRITE);
            if (hw_fault(alias + 8 * slot, PFEC_WRITE, &pfec))
                die("the alias of PT0 is not writable", i);
            sim_guest_write(pt(0) + 8 * slot, want | LEAF, 8);   /* through the alias */
            if (!shadow_unshadow_gfn(dom, _gfn(pt(1) >> 12)))
                die("PT(1) still shadowed", i);
            load_cr3(0);
            struct ref_result rr;
            if (!ref_hw_walk(v, (gva_t)slot << 12, 0, false, REF_NO_SIDE_EFFECTS, &rr) || rr.pa != want)
                die("after the CR3 load the shadow still maps the PTE written through a dead alias", i);
        }
    } else if (!strcmp(op, "unshadow")) {
        /* PT0's L1 shadow torn down: the guest stopped using PT0 as a page table (fork/exit). */
        setup(512);
        for (unsigned long i = 0; i < n; i++) {
            touch(0x1000, 0);                 /* (re)shadow PT0 */
            CALLGRIND_TOGGLE_COLLECT;
            bool gone = shadow_unshadow_gfn(dom, _gfn(pt(0) >> 12));
            CALLGRIND_TOGGLE_COLLECT;
            if (!gone)
                die("PT0 still shadowed", i);
        }
    } else if (!strcmp(op, "reclaim")) {
        /* A pool too small for all 48 address spaces: each switch to one not cached reclaims. */
        setup(48);
        for (unsigned k = 0; k < NAS; k++) {
            load_cr3(k);
            touch(0x1000, 0);
        }
        unsigned long unpins = counter("reclaim_unpins");
        for (unsigned long i = 0; i < n; i++) {
            unsigned k = (unsigned)(i % NAS);
            v->guest_cr3 = pdpt(k);
            CALLGRIND_TOGGLE_COLLECT;
            enum sh_result r = shadow_update_cr3(v, &f);
            CALLGRIND_TOGGLE_COLLECT;
            if (r != SH_FIXED)
                die("cr3 load under a full pool", i);
            touch(0x1000, 0);                 /* the new space's L1: the pool stays full */
        }
        if (n && counter("reclaim_unpins") < unpins + n)
            die("a cr3 load under the full pool did not reclaim", 0);
    } else {
        fprintf(stderr, "micro_shadow: unknown op %s\n", op);
        return 2;
    }
    if (shadow_audit(dom))
        die("audit", 0);
    printf("micro_shadow: %s ops=%lu ok\n", op, n);
    sim_fini();
    return 0;
}
