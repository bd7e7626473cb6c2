/*
 * The randomised guest world of test_shadow_random: random address spaces
 * (guestpt.c) in simulated memory, a vCPU driven through the shadow API, and
 * the checks against the reference MMU.  The rules asserted are spelled out
 * at the top of test_shadow_random.c.
 */
#ifndef UMBRA_TEST_SHADOW_WORLD_H
#define UMBRA_TEST_SHADOW_WORLD_H

#include <umbra/types.h>
#include <umbra/shadow.h>

enum gap { GAP_EMUL_MMIO, GAP_PSE36_HI, GAP_STOP_RIGHTS, NGAPS };
extern const char *const gap_name[NGAPS];

struct world_stats {
    unsigned long seeds, steps, accesses, completed, reflected, emulated, fixed_faults;
    unsigned long stops, pt_writes, invlpgs, cr3_loads, cr3_gp, mode_switches, mode_gp;
    unsigned long audits, checks, failed, tlb_hits, tlb_flushes;
    unsigned long unpins, teardowns;   /* the shadow's reclaim counters, summed */
    unsigned long emulated_insns;      /* page-table writes done by x86_emulate (shadow_emul.c) */
    unsigned long small_pools;         /* seeds run with a pool near the minimum */
    unsigned long self_maps, root_aliases;   /* odd shapes written (mutate_entry) */
    unsigned long oos_seeds;     /* seeds run with out-of-sync shadows on */
    unsigned long oos_made, oos_resyncs, oos_changed, oos_clean;   /* the shadow's OOS counters, summed */
    unsigned long stale_ok;      /* accesses allowed only by an old PTE not yet flushed (S1') */
    unsigned long gaps[NGAPS];   /* known shadow gaps tolerated (see tolerate()) */
};

/*
 * Run one seed: guest mode seed % 4, `iters` random operations.  pool = 0
 * picks a pool size from the seed.  Aborts the Check test (after printing
 * seed, mode, operation log and the shadow's log) on the first violation.
 */
void world_run(uint64_t seed, unsigned long iters, unsigned long pool,
               struct world_stats *st);

/* Run `n` phases, one per mode in seq[], `iters` operations each. */
void world_run_sequence(uint64_t seed, const enum guest_paging *seq, unsigned n,
                        unsigned long iters, unsigned long pool, struct world_stats *st);

/* Smallest pool (frames) shadow_domain_init() accepts. */
unsigned long world_min_pool(void);

/* One summary line per test on stderr; mode -1: "all". */
void world_print_stats(int mode, const struct world_stats *st);

/* ---- internal to shadow_world.c / shadow_ops.c ---------------------------- */

#define RAM_BYTES    (16u << 20)
#define TABLE_FIRST  0x100u
#define TABLE_FRAMES 0x300u
#define DATA_FIRST   0x400u
#define DATA_END     0x1000u
#define NAS          4
#define NCLUSTER     5
#define MAX_SAMPLES  600
#define MAX_RETRIES  6
#define AUDIT_EVERY  8
#define LOG_KEEP     40

#include "refmmu.h"
#include "guestpt.h"

#define TLB_N 256
#define STALE_HIST_N  4096   /* PTE values replaced since the last guest flush (S1') */
#define STALE_INVAL_N 2048   /* pages INVLPG'd since then */

/* One entry of the hardware TLB model (hwtlb.c). */
struct tlbe {
    bool valid, dirty;
    gva_t va;                   /* 4 KiB page */
    uint64_t hpa;               /* host frame (shadow translation) */
    bool hu, hw, hnx;           /* rights the shadow gave */
    uint8_t hkey;               /* the shadow leaf's protection key */
    bool gu, gw, gnx;           /* rights the guest gave when it was filled */
    uint64_t gpa, gbase, gsize; /* the guest's frame and page (superpage) then */
    unsigned long epoch, step;
};

struct world {
    uint64_t seed, rng;
    enum guest_paging mode;
    struct shadow_domain *d;
    struct shadow_vcpu v;
    struct gpt_alloc alloc;
    uint64_t phase_first;             /* first table frame of this mode's world */
    struct gpt_space as[NAS];
    int nas, cur;
    bool stopped;                     /* the last access ended in SH_STOP */
    bool oos;                         /* out-of-sync shadows on (shadow_set_oos) */
    bool ac_unstated;                 /* a fault of it went without SH_PFEC_(NO)AC */
    bool data_unstated;               /* a fault of a data access went without SH_PFEC_DATA */
    struct tlbe tlb[TLB_N];           /* hardware TLB model */
    /* S1' (out-of-sync shadows): the values guest PTEs had since the last
     * guest flush, each with the sequence number of the write that replaced
     * it, and the pages INVLPG'd since (sequence of their last INVLPG). */
    struct { uint64_t epa, old; unsigned long seq; } hist[STALE_HIST_N];
    int nhist;
    struct { gva_t va; unsigned long seq; } inval[STALE_INVAL_N];
    unsigned long stale_epoch, stale_seq;
    bool last_stale;                  /* check_allowed accepted through an old PTE */
    unsigned long guest_epoch;        /* guest full TLB flushes so far */
    uint64_t last_pt;                 /* last page-table entry written (gpa) */
    uint64_t cr0, cr4, efer;          /* the controls of this mode's world */
    gva_t dm_base;
    uint64_t dm_pt[2];                /* the direct map's own page tables */
    gva_t sample[MAX_SAMPLES];
    int nsample;
    char log[LOG_KEEP][220];
    unsigned long nlog, step;
    struct world_stats *st;
};

extern const char *const mode_name[];
#include <setjmp.h>
extern jmp_buf *survey_jmp;   /* set: wfail() reports and jumps here */
/* Set by test/fuzz/fuzz_shadow.c: rnd() draws from these bytes first. */
extern const uint8_t *world_stream;
extern size_t world_stream_len;
uint64_t rnd(struct world *w);
uint64_t rn(struct world *w, uint64_t n);
bool pct(struct world *w, unsigned p);
void (oplog)(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The operation log wfail() prints.  On by default; the fuzz target turns it
 * off (its arguments are not even evaluated then) unless FUZZ_SHADOW_OPLOG=1,
 * with which a failing input is rerun to see it. */
extern bool world_oplog;
#define oplog(w, ...) do { if (world_oplog) (oplog)(w, __VA_ARGS__); } while (0)
/* UMBRA_VERIFY=1 (read at each world's start): the world also takes the long
 * way where it has a shortcut (walkers_of's may_read filter, check_va's one
 * walk per address) and fails if the answers differ. */
extern bool world_verify;
void wfail(struct world *w, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
const char *acc_name(uint32_t acc);
const char *fmt_walk(const struct ref_result *r, char *buf);
void check_allowed(struct world *w, gva_t va, uint32_t acc, bool ac,
                   const struct ref_result *h, const char *when);
void check_va(struct world *w, gva_t va, const char *when);
/* UMBRA_NO_AUDIT-style switch: unset, empty or 0 is off, another number on,
 * anything else exits 2 (shadow_world.c). */
bool env_flag(const char *name);
void audit(struct world *w, const char *when);
/* S1': a guest write of len bytes at va is about to happen: note the PTE
 * values it may replace.  stale_invlpg: the guest INVLPGs va. */
void stale_note_write(struct world *w, gva_t va, unsigned len, uint32_t acc);
void stale_invlpg(struct world *w, gva_t va);
struct world *world_of_vcpu(struct shadow_vcpu *v);
bool tolerate(struct world *w, enum gap k);
bool guest_frame_is_table(struct world *w, uint64_t gpa);
bool do_access(struct world *w, gva_t va, uint32_t acc, bool ac, const void *data,
               unsigned len, const char *what);
uint64_t rnd_data_frame(struct world *w);
void tlb_attach(struct world *w);
void tlb_flush_all(struct world *w);
void tlb_sync(struct world *w);
void tlb_drop_va(struct world *w, gva_t va);
void tlb_fill(struct world *w, gva_t va, uint32_t acc, const struct ref_result *h);
bool tlb_hit(struct world *w, gva_t va, uint32_t acc, bool ac, uint64_t *hpa);
void tlb_check_guest_invlpg(struct world *w, gva_t va);
void tlb_check_write_protect(struct world *w);
uint64_t rnd_rsvd_bit(struct world *w, bool superpage);
void build_world(struct world *w);
void pick_controls(struct world *w, uint64_t *cr0, uint64_t *cr4, uint64_t *efer);
/* shadow_emul.c: write val over the entry at va (old value old, es bytes) with
 * an emulated instruction (single: one instruction, for the direct map's own
 * tables), checked against the guest walk g of va for a write. */
void emul_pt_write(struct world *w, gva_t va, uint64_t old, uint64_t val, unsigned es,
                   bool single, const struct ref_result *g);

#endif
