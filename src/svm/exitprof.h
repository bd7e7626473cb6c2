/*
 * Exit profiling for the bench builds (bench/README.md).  umbra-bench.elf is
 * compiled with -DUMBRA_EXIT_PROFILE=1: the TSC ticks Umbra spends between a
 * #VMEXIT and the next VMRUN, summed per exit code.  In Bochs the TSC
 * advances with Bochs' ticks (one per instruction), so the sums say how many
 * of a run's ticks were Umbra's own code, per reason.  umbra-split.elf
 * (-DUMBRA_EXIT_PROFILE=2) also splits the #PF, CR3-write and INVLPG exits
 * of a shadow-paged guest by the kind of shadow work each did
 * (shadow_work_class(), from shadow counters read at both ends, outside the
 * measured interval: its ticks per reason are the bench build's, its run
 * takes more ticks in all).  In umbra.elf the hooks are empty and the exit
 * path carries no profiling at all.
 *
 * Invariant: exitprof_t0 is non-zero exactly between a #VMEXIT and the VMRUN
 * after it; exitprof_entry() charges that interval to the exit code the VMCB
 * still holds (nothing writes ctl.exitcode between the two), and in the split
 * build to (that code's split slot, the work class) too.
 */
#ifndef UMBRA_SVM_EXITPROF_H
#define UMBRA_SVM_EXITPROF_H

#include <umbra/types.h>
#include <umbra/svm_hw.h>
#include <umbra/svm.h>
#include <umbra/shadow.h>

/* Defined in exitstat.c in every build (all zero in umbra.elf), printed with the exit counts. */
extern uint64_t exitprof_ticks[VMEXIT_TABLE_SIZE];
extern uint64_t exitprof_t0;
/* The split: the exit codes split (exitstat.c), and per (slot, class) ticks and exits. */
#define EXITPROF_NSPLIT 3
extern const uint16_t exitprof_split_code[EXITPROF_NSPLIT];
extern uint64_t exitprof_split_ticks[EXITPROF_NSPLIT][SHW_NCLASS];
extern uint64_t exitprof_split_n[EXITPROF_NSPLIT][SHW_NCLASS];

#ifdef UMBRA_EXIT_PROFILE

static inline uint64_t exitprof_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

#if UMBRA_EXIT_PROFILE == 2
static struct shadow_marks exitprof_m0;

static inline int exitprof_slot(uint64_t exitcode)
{
    for (int i = 0; i < EXITPROF_NSPLIT; i++)
        if (exitprof_split_code[i] == exitcode)
            return i;
    return -1;
}
#endif

/* Right after VMRUN returns. */
static inline void exitprof_exit(struct svm_vcpu *v)
{
#if UMBRA_EXIT_PROFILE == 2
    if (v->sh)
        shadow_get_marks(v->sh->d, &exitprof_m0);
#else
    (void)v;
#endif
    exitprof_t0 = exitprof_rdtsc();
}

/* Right before VMRUN: charge the time since the exit to its code. */
static inline void exitprof_entry(struct svm_vcpu *v, uint64_t exitcode)
{
    if (exitprof_t0 && exitcode < VMEXIT_TABLE_SIZE) {
        uint64_t t = exitprof_rdtsc() - exitprof_t0;     /* first: the split's reads stay outside */
        exitprof_ticks[exitcode] += t;
#if UMBRA_EXIT_PROFILE == 2
        int s = exitprof_slot(exitcode);
        if (s >= 0 && v->sh) {
            struct shadow_marks m1;
            shadow_get_marks(v->sh->d, &m1);
            enum shadow_work w = shadow_work_class(&exitprof_m0, &m1);
            exitprof_split_ticks[s][w] += t;
            exitprof_split_n[s][w]++;
        }
#endif
    }
    (void)v;
    exitprof_t0 = 0;
}
#define EXITPROF_ON 1
#else
static inline void exitprof_exit(struct svm_vcpu *v) { (void)v; }
static inline void exitprof_entry(struct svm_vcpu *v, uint64_t exitcode) { (void)v; (void)exitcode; }
#define EXITPROF_ON 0
#endif

#endif
