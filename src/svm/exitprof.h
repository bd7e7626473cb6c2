/*
 * Exit profiling for the bench build (umbra-bench.elf, compiled with
 * -DUMBRA_EXIT_PROFILE; bench/README.md): the TSC ticks Umbra spends between
 * a #VMEXIT and the next VMRUN, summed per exit code.  In Bochs the TSC
 * advances with Bochs' ticks (one per instruction), so the sums say how many
 * of a run's ticks were Umbra's own code, per reason.  In umbra.elf both hooks
 * are empty and the exit path carries no profiling at all.
 *
 * Invariant: exitprof_t0 is non-zero exactly between a #VMEXIT and the VMRUN
 * after it; exitprof_entry() charges that interval to the exit code the VMCB
 * still holds (nothing writes ctl.exitcode between the two).
 */
#ifndef UMBRA_SVM_EXITPROF_H
#define UMBRA_SVM_EXITPROF_H

#include <umbra/types.h>
#include <umbra/svm_hw.h>

/* Defined in exitstat.c in every build (all zero in umbra.elf), printed with the exit counts. */
extern uint64_t exitprof_ticks[VMEXIT_TABLE_SIZE];
extern uint64_t exitprof_t0;

#ifdef UMBRA_EXIT_PROFILE

static inline uint64_t exitprof_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* Right after VMRUN returns. */
static inline void exitprof_exit(void)
{
    exitprof_t0 = exitprof_rdtsc();
}

/* Right before VMRUN: charge the time since the exit to its code. */
static inline void exitprof_entry(uint64_t exitcode)
{
    if (exitprof_t0 && exitcode < VMEXIT_TABLE_SIZE)
        exitprof_ticks[exitcode] += exitprof_rdtsc() - exitprof_t0;
    exitprof_t0 = 0;
}
#define EXITPROF_ON 1
#else
static inline void exitprof_exit(void) {}
static inline void exitprof_entry(uint64_t exitcode) { (void)exitcode; }
#define EXITPROF_ON 0
#endif

#endif
