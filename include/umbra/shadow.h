/*
 * The shadow MMU's public interface, used by the SVM exit handlers, the GDB
 * stub and the hosted tests.  Implementation: src/shadow/ (pure C, reaches the
 * machine only through platform.h).  Design: docs/shadow.md.
 *
 * Protocol with the SVM layer:
 *   - On an intercepted write to CR0/CR4/EFER the SVM layer stores the guest's
 *     new value in v->guest_* and calls shadow_update_paging_mode().
 *   - On MOV to CR3 (or a task switch) it stores v->guest_cr3 and calls
 *     shadow_update_cr3().
 *   - Before every VMRUN it copies v->hw_cr0/hw_cr3/hw_cr4/hw_efer into the
 *     VMCB and, if v->tlb_flush is set, flushes the guest ASID and clears it.
 *   - Guest reads of CR0/CR3/CR4/EFER return v->guest_*.
 */
#ifndef UMBRA_SHADOW_H
#define UMBRA_SHADOW_H

#include <umbra/types.h>
#include <umbra/guest_paging.h>

struct shadow_domain;   /* private to src/shadow; lives inside the pool */
struct shadow_mode;     /* per-guest-mode dispatch table (multi.c, compiled per mode) */

struct shadow_vcpu {
    struct shadow_domain *d;

    /* Guest-visible control state (what the guest wrote and reads back). */
    uint64_t guest_cr0, guest_cr3, guest_cr4, guest_efer;

    /* What the hardware runs the guest with (copied to the VMCB). */
    uint64_t hw_cr0, hw_cr3, hw_cr4, hw_efer;

    bool tlb_flush;               /* flush the guest ASID before the next VMRUN */
    enum guest_paging paging;
    const struct shadow_mode *mode;
    uint64_t guest_pdpte[4];      /* PAE: the guest PDPTEs as loaded at CR3 write */

    /* Private to src/shadow (top-level shadows, per-vCPU PDPT, ...). */
    mfn_t toplevel[4];
    mfn_t pae_l3;                 /* per-vCPU shadow PDPT (below 4 GiB) */
    uint64_t mode_key;            /* guest CR0/CR4/EFER bits the shadows depend on */
    uint64_t last_pt_write;       /* gfn of the last emulated page-table write */
    uint32_t pt_write_run;        /* consecutive emulated writes to it */
    uint32_t pt_zero_run;         /* ... of which left the written entries zero */
    /* The fetch translation (common.c guest_fetch(), invariant F); none while fetch_host is NULL. */
    const uint8_t *fetch_host;    /* the frame linear page fetch_page maps, mapped (sh_gmap) */
    uint64_t fetch_page;          /* linear address >> PAGE_SHIFT */
    uint64_t fetch_cr3;           /* guest_cr3 it was walked under */
    uint64_t fetch_span;          /* ~(size of the walk's leaf page - 1) */
    uint64_t fetch_tables[4];     /* gfns of the guest tables the walk read */
    uint32_t fetch_access;        /* the access it was walked for (PFEC_INSN, USER, AC) */
};

/* Result of a shadow fault, an emulated access or a CR3 load. */
enum sh_result {
    SH_FIXED,     /* shadow repaired (or nothing to do): resume the guest */
    SH_REFLECT,   /* a true guest fault: inject out->vector (#PF: out->pfec, out->cr2) */
    SH_EMULATE,   /* a write to a write-protected guest page table: emulate the instruction */
    SH_STOP,      /* the guest did something Umbra refuses (e.g. maps Umbra's frame): stop it, out->why says why */
};

struct sh_fault {
    uint8_t vector;      /* X86_EXC_PF or X86_EXC_GP */
    uint32_t pfec;       /* error code to inject */
    gva_t cr2;           /* faulting address (#PF) */
    const char *why;     /* SH_STOP diagnostic */
    uint64_t gfn;        /* SH_EMULATE from a fault: the guest frame the write goes to */
    bool unshadowed;     /* shadow_write_guest() SH_FIXED: the write made a page table it landed in
                            plain memory (the unshadow heuristics); set only, never cleared */
};

/*
 * Take the pool [pool_base, pool_base + frames) for shadow pages and the
 * shadow code's own metadata (hash, per-page records).  The pool must lie
 * below 4 GiB (PAE shadow PDPTs and 2-level shadows are 32-bit addressed)
 * and be mapped as one range (plat_map_mfn of consecutive frames gives
 * consecutive pages: the direct map, the simulator's array).
 * Returns NULL if the pool is too small to run any guest, or not one range.
 */
struct shadow_domain *shadow_domain_init(mfn_t pool_base, unsigned long frames);

/* Reset v to a paging-off guest (CR0 = ET, CR4 = 0, EFER = 0) on domain d. */
int shadow_vcpu_init(struct shadow_vcpu *v, struct shadow_domain *d);

/*
 * CR0/CR4/EFER changed: pick the mode, recompute hw_*, rebuild the top level.
 * Also sets/clears EFER.LMA in v->guest_efer (LME && PG).  A change of any
 * bit the shadows depend on (PG, WP, PAE, PSE, PGE, LME, NXE, SMEP, SMAP,
 * PKE) drops every shadow.  Returns 0, 1 if the guest must get #GP(0)
 * instead (PAE paging enabled over PDPTEs with reserved bits; the SVM layer
 * restores the old guest value and calls again), -1 if the guest must be
 * stopped (shadow pool exhausted).
 */
int shadow_update_paging_mode(struct shadow_vcpu *v);

/*
 * guest_cr3 changed.  Finds or makes the pinned top-level shadow.  PAE: loads
 * the four guest PDPTEs now; reserved bits give SH_REFLECT with #GP(0), and
 * then nothing changed: the SVM layer restores the old guest_cr3.  Always
 * requests a whole-ASID flush (v->tlb_flush): the CR3 that VMRUN loads does
 * not flush the guest's TLB on SVM, but the guest's MOV CR3 must.
 */
enum sh_result shadow_update_cr3(struct shadow_vcpu *v, struct sh_fault *out);

/*
 * #PF intercept: va = CR2 (EXITINFO2), pfec = EXITINFO1, plus SH_PFEC_AC if
 * the guest's RFLAGS.AC = 1 or SH_PFEC_NOAC if it is 0 (with neither, SMAP is
 * left to the hardware, and a supervisor access SMAP refuses may set guest
 * A/D before it faults), plus SH_PFEC_DATA when the access cannot be a
 * fetch (else a supervisor read without I/D reporting is left to the
 * hardware's SMAP check likewise).  Protection keys are judged with
 * plat_guest_pkru().  SH_EMULATE: the
 * instruction writes a shadowed guest page table, or is a supervisor write
 * the guest allows only because its CR0.WP = 0 (read-only entries, or a
 * PKRU write-disable, which WP = 0 exempts supervisor writes from); the
 * emulator performs the write with shadow_write_guest().
 */
enum sh_result shadow_page_fault(struct shadow_vcpu *v, gva_t va, uint32_t pfec,
                                 struct sh_fault *out);

/* INVLPG va: drop exactly the shadow entries that translate va. */
void shadow_invlpg(struct shadow_vcpu *v, gva_t va);

/*
 * Guest-memory access at guest-virtual va through the guest's own tables,
 * checked with access rights pfec (PFEC_WRITE/USER/INSN, plus SH_PFEC_AC when
 * the guest runs with EFLAGS.AC = 1, which exempts supervisor data accesses
 * from SMAP), setting A/D as the CPU would.  Writes that touch shadowed page tables revalidate every shadow
 * of that frame.  SH_REFLECT gives the fault the CPU would have raised.
 * Used by the instruction emulator and the GDB stub.
 */
#define SH_PFEC_AC   (1u << 31)   /* pfec flag: EFLAGS.AC = 1 (SMAP exempt) */
#define SH_PFEC_NOAC (1u << 30)   /* pfec flag for shadow_page_fault: EFLAGS.AC = 0 */
/* pfec flag for shadow_page_fault: the access is known not to be an
 * instruction fetch (CR2 lies outside the 15 bytes at the guest's linear
 * RIP).  Lets the walker judge SMAP for a supervisor read in a mode whose
 * error codes have no I/D bit (no NXE, no SMEP). */
#define SH_PFEC_DATA (1u << 29)
enum sh_result shadow_read_guest(struct shadow_vcpu *v, gva_t va, void *dst,
                                 unsigned len, uint32_t pfec, struct sh_fault *out);
/* The same read with no side effect at all (no A/D, no counter):
 * paging_ops.read_guest (svm.h: the event rules, the watchdog).  GDB's
 * virtual reads under shadow use shadow_gva_to_gpa(). */
enum sh_result shadow_peek_guest(struct shadow_vcpu *v, gva_t va, void *dst,
                                 unsigned len, uint32_t pfec, struct sh_fault *out);
enum sh_result shadow_write_guest(struct shadow_vcpu *v, gva_t va, const void *src,
                                  unsigned len, uint32_t pfec, struct sh_fault *out);

/*
 * LOCK CMPXCHG / XCHG / locked read-modify-write for the emulator: at va
 * (len 1, 2, 4 or 8, checked as a write with pfec), if the guest memory
 * equals *expected write *src atomically and set *done; else copy the
 * current value to *expected and clear *done.  A write that lands in a
 * shadowed page table revalidates it like shadow_write_guest().  An access
 * that crosses a page is done without atomicity (a split lock).
 */
enum sh_result shadow_cmpxchg_guest(struct shadow_vcpu *v, gva_t va, void *expected,
                                    const void *src, unsigned len, uint32_t pfec,
                                    bool *done, struct sh_fault *out);

/* Translate va with no side effects (GDB stub, monitor walk). false if not mapped. */
bool shadow_gva_to_gpa(struct shadow_vcpu *v, gva_t va, gpa_t *gpa);

/*
 * Read-only walk of one va for the monitor / GDB stub: the guest entry and the
 * shadow entry at every level, top (index 0) to leaf.  No A/D is set, nothing
 * is allocated.  Returns the number of levels filled.
 */
struct shadow_walk_level {
    unsigned level;          /* 4..1 (paging off: 3..1 of the identity shadow) */
    bool g_valid;            /* guest entry read (false past a guest fault / paging off) */
    gpa_t g_addr;            /* guest-physical address of the guest entry */
    uint64_t g_entry;
    bool s_valid;            /* shadow entry read (false past a missing shadow) */
    mfn_t s_mfn;             /* shadow table holding the entry */
    uint64_t s_entry;
};
struct shadow_walk_info {
    unsigned nlevels;
    struct shadow_walk_level lv[4];
    bool g_ok;               /* guest translation exists (for a read at CPL 0) */
    gpa_t gpa;               /* guest-physical result if g_ok */
    uint32_t g_pfec;         /* else the fault a supervisor read would raise */
};
unsigned shadow_walk_va(struct shadow_vcpu *v, gva_t va, struct shadow_walk_info *wi);

/* One shadow, as shadow_for_each() reports it. */
struct shadow_info {
    const char *type;        /* e.g. "l1_pae", "fl1_64", "l2_32", "phys_l1" */
    unsigned guest_levels;   /* 2, 3, 4; 0 for paging-off shadows */
    unsigned level;          /* 1..4 */
    gfn_t gfn;               /* guest frame (fl1: first frame of the superpage) */
    mfn_t smfn;              /* the shadow page */
    unsigned refcount;
    bool pinned;
    unsigned in_use;         /* vCPU top-level slots holding it */
    bool out_of_sync;        /* an l1 of a guest table left writable (shadow_set_oos) */
};
/* Call fn on every live shadow, in pool order; stops early if fn returns false. */
void shadow_for_each(struct shadow_domain *d,
                     bool (*fn)(const struct shadow_info *si, void *arg), void *arg);

/* Pool occupancy: total frames, free frames, live shadows, pinned shadows. */
void shadow_pool_usage(struct shadow_domain *d, unsigned long *total, unsigned long *nfree,
                       unsigned long *live, unsigned long *pinned);

/* Drop every shadow not in use and empty the in-use top levels (monitor, tests). */
void shadow_blow_tables(struct shadow_domain *d);

/*
 * Stop shadowing guest frame gfn as a page table (e.g. before retrying
 * natively a write the emulator cannot do): its page-table shadows that no
 * vCPU runs on are unlinked and die, so the frame is plain writable memory
 * until it is next used as a table (then reshadowed from its contents).
 * Returns true if no page-table shadow of gfn is left, false if a vCPU runs
 * on one (an in-use top level), which only a CR3 load can release.
 */
bool shadow_unshadow_gfn(struct shadow_domain *d, gfn_t gfn);

/* Check every shadow against the guest tables and refcounts; returns the number of errors (each logged). */
unsigned long shadow_audit(struct shadow_domain *d);

/*
 * Audit level (Xen's SHADOW_AUDIT, at run time): 0 = on demand only (the
 * default), 1 = shadow_audit() after every fault, CR3 load, INVLPG, mode
 * change and guest write (slow: debugging and tests).  Errors are logged and
 * counted (audit_errors).
 */
void shadow_set_audit(struct shadow_domain *d, unsigned level);

/*
 * Out-of-sync L1 shadows (docs/shadow.md, invariant O; the oos= option): on,
 * a guest L1 page table written often is left writable and resynced with a
 * snapshot at the guest's next TLB flush (CR3 load, INVLPG of an address it
 * maps, CR0/CR4/EFER write), so its PTE writes cost no exit.  Call before
 * shadow_vcpu_init() (each vCPU then reserves SH_OOS_MAX snapshot frames);
 * turning it off takes every out-of-sync page back in sync.  Returns 0, or -1
 * if the pool has no room for the snapshots of the vCPUs that exist (OOS
 * stays off); a vCPU made later whose snapshots do not fit turns it off.
 */
int shadow_set_oos(struct shadow_domain *d, bool on);
/* The trigger: emulated writes to an l1 (since it was made or resynced)
 * before the next write leaves it out of sync; default 1.  The hosted tests
 * use 0 to put more tables out of sync. */
void shadow_set_oos_after(struct shadow_domain *d, unsigned writes);

/*
 * Prefetch (the prefetch= option): how many guest PTEs a fault that fills an
 * l1 shadow entry also propagates, in the aligned group of n entries around
 * it (only present, accessed, valid ones, into empty shadow entries; A bits
 * are not touched).  0: the faulting entry only.  SHADOW_PREFETCH_ALL: a new
 * l1 is filled from its whole guest table when it is made (the default).
 */
#define SHADOW_PREFETCH_ALL 0xffffffffu
void shadow_set_prefetch(struct shadow_domain *d, unsigned n);

/* Print the shadow counters through plat_log: full, one "shadow: NAME=VALUE"
 * line each (zeros included); else the non-zero ones grouped, "shadow: [GROUP]
 * NAME=VALUE ...", and a "shadow: N of M counters non-zero" line. */
void shadow_print_stats(struct shadow_domain *d, bool full);

/* One shadow counter (stats.c): its name, its group ("faults", "cr3", "tlb",
 * "writes", "unshadow", "pool", "audit", else "other") and its value. */
struct shadow_stat {
    char name[40];
    const char *group;
    uint64_t value;
};
/* The idx-th counter of d into *st (a stable order: the counters, made_/
 * destroyed_ per shadow type, then pool_frames, pool_free, live, pinned);
 * false past the last.  The names are those shadow_print_stats() prints. */
bool shadow_stat(const struct shadow_domain *d, unsigned idx, struct shadow_stat *st);
/* The group of a counter name, by the rule shadow_stat() uses. */
const char *shadow_stat_group(const char *name);
/* The counter called name (a name shadow_stat() gives) into *value; false,
 * and *value untouched, if there is none.  A walk of shadow_stat(): for tests
 * and the monitor, not for a hot path. */
bool shadow_stat_get(const struct shadow_domain *d, const char *name, uint64_t *value);

/*
 * What kind of shadow work an interval did, for the split exit profile
 * (umbra-split.elf, src/svm/exitprof.h): the counters that tell the kinds
 * apart, read at both ends.  shadow_work_class() names the costliest kind
 * whose counter moved, in this order: a shadow made (a CR3 miss, a new l1 and
 * its prefetch), an unshadow, an emulated page-table write (decode and
 * revalidation), a table taken out of sync (its snapshot), a resync of an
 * out-of-sync table (compared with its snapshot unless the D test found it
 * clean, or one entry at an INVLPG), a fault reflected to the guest, guest
 * A/D bits set; else "plain" (a fill, a hit, a spurious fault).
 */
enum shadow_work {
    SHW_MADE, SHW_UNSHADOW, SHW_EMULATE, SHW_UNSYNC, SHW_RESYNC, SHW_REFLECT, SHW_AD, SHW_PLAIN,
    SHW_NCLASS
};
/* n[w]: the counter that moves when work w is done, in the priority order above. */
struct shadow_marks {
    uint64_t n[SHW_PLAIN];
};
void shadow_get_marks(const struct shadow_domain *d, struct shadow_marks *m);
enum shadow_work shadow_work_class(const struct shadow_marks *a, const struct shadow_marks *b);
const char *shadow_work_name(enum shadow_work w);

#endif
