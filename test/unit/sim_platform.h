/*
 * A simulated machine for the hosted shadow-MMU tests: it implements every
 * function of include/umbra/platform.h on one malloc'd array that plays
 * host-physical memory.
 *
 * Host-physical layout (frame numbers):
 *
 *   [0, ram)                         guest RAM (gfn == mfn, identity p2m)
 *   [ram, ram + SIM_IMAGE_FRAMES)    Umbra's reserve: "image, VMCBs"
 *   [pool_base, pool_base + pool)    Umbra's reserve: the shadow pool
 *   [.., .. + SIM_IMAGE_FRAMES)      Umbra's reserve: "copied modules"
 *   [backed, 2^(MAXPHYADDR-12))      not backed by memory: "MMIO", identity p2m,
 *                                    plat_map_mfn() returns NULL
 *
 * plat_gfn_to_mfn() refuses the whole reserve and every frame at or above
 * MAXPHYADDR (sim_features.maxphyaddr).  The whole machine lies below 4 GiB.
 *
 * Not thread-safe; one machine per process at a time.
 */
#ifndef UMBRA_TEST_SIM_PLATFORM_H
#define UMBRA_TEST_SIM_PLATFORM_H

#include <stdio.h>
#include <umbra/types.h>
#include <umbra/platform.h>

/* Frames of reserve on each side of the shadow pool. */
#define SIM_IMAGE_FRAMES 16u

/*
 * Build the machine: `ram_bytes` (rounded up to a page) of guest RAM from
 * address 0, then the reserve with a shadow pool of `pool_frames` frames.
 * All memory is zeroed.  Resets the feature knobs to sim_features_default(),
 * clears the log and the counters.  Calling it again rebuilds the machine.
 */
void sim_init(uint64_t ram_bytes, unsigned long pool_frames);

/* Free the machine. */
void sim_fini(void);
/*
 * Opt-in (the shadow fuzz target, which starts a world per input): sim_fini()
 * keeps the buffer and the next sim_init() that fits in it reuses it,
 * zeroing only the frames handed out since (plat_map_mfn, sim_phys,
 * sim_guest_ptr mark them), instead of a fresh calloc.  Every other frame of
 * the buffer is zero, so the machine a sim_init() gives is the same, except
 * in the shadow pool: a frame that was pool in the last machine too keeps its
 * bytes, as a real pool comes unzeroed from the frame allocator (the shadow
 * code zeroes what it uses: shadow_domain_init() its metadata, sh_make()
 * every frame it hands out).  The randomised test and the fuzz target reuse
 * it: a pool that holds the last world's shadows is the most hostile one.
 */
extern bool sim_reuse_memory;
/* The byte a sim_init() with a new buffer fills the shadow pool with: a real
 * pool is not zero when Umbra starts. */
#define SIM_POOL_POISON 0xA5

/*
 * The CPU features plat_cpu_features() returns.  Tests change the fields
 * directly (before shadow_domain_init / shadow_vcpu_init, or between
 * steps to model a different CPU).  sim_features_default(): every feature
 * on, MAXPHYADDR 40.
 */
extern struct plat_cpu_features sim_features;
struct plat_cpu_features sim_features_default(void);
/* The guest's PKRU as plat_guest_pkru() returns it (the one register the
 * guest and its hardware share; sim_init() sets 0). */
extern uint32_t sim_pkru;
extern uint32_t sim_pkrs;   /* the guest's IA32_PKRS, as plat_guest_pkrs() returns it */

/* Layout queries. */
uint64_t sim_ram_frames(void);         /* guest RAM frames, from gfn 0 */
/* plat_gfn_trap_writes() is true for this frame only (~0 = none, the default). */
extern uint64_t sim_trap_gfn;
uint64_t sim_backed_frames(void);      /* frames with memory behind them */
mfn_t sim_pool_base(void);
unsigned long sim_pool_frames(void);
bool sim_frame_in_reserve(uint64_t frame);   /* Umbra's frames (incl. pool) */
bool sim_frame_in_pool(uint64_t frame);

/* Host-physical memory access.  sim_phys() is NULL for unbacked addresses;
 * sim_read_phys() reads unbacked memory as all-ones (like an empty bus),
 * sim_write_phys() drops writes to it.  size is 1, 2, 4 or 8. */
void *sim_phys(paddr_t pa);
uint64_t sim_read_phys(paddr_t pa, unsigned size);
void sim_write_phys(paddr_t pa, uint64_t val, unsigned size);

/* Guest-physical access (RAM only: NULL / ~0 / dropped outside it). */
void *sim_guest_ptr(gpa_t gpa);
uint64_t sim_guest_read(gpa_t gpa, unsigned size);
void sim_guest_write(gpa_t gpa, uint64_t val, unsigned size);

/*
 * Log capture.  Every plat_log() line is kept (as "umbra: <line>\n") in a
 * buffer; when it grows past 1 MiB the oldest half is dropped.  With
 * sim_log_echo set, lines are also printed to stderr as they come.
 */
extern bool sim_log_echo;
const char *sim_log_text(void);       /* NUL-terminated, never NULL */
unsigned long sim_log_lines(void);    /* lines logged since the last reset */
bool sim_log_contains(const char *needle);
void sim_log_reset(void);
void sim_log_dump(FILE *f);           /* print the kept log, prefixed "  log| " */

/*
 * Called by every plat_flush_va() when set: a test's model of the hardware
 * TLB hooks in here (sim_init() clears it).
 */
extern void (*sim_flush_hook)(struct shadow_vcpu *v, gva_t va);

/* Counters of the other platform calls. */
extern unsigned long sim_flush_va_calls;
extern gva_t sim_last_flush_va;
extern unsigned long sim_bad_map_calls;   /* plat_map_mfn of an unbacked frame */

/* The guest RIP plat_guest_rip() returns (the shadow trace records it). */
extern uint64_t sim_rip;

#endif
