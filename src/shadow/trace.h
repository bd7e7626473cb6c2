/*
 * The shadow-MMU trace: a ring of events in Umbra's own memory (never a
 * guest frame), read by `monitor trace`.  Pure: it reaches the machine only
 * through include/umbra/platform.h (the guest RIP comes from
 * plat_guest_rip()).
 *
 * Hooks in src/shadow are one line each, SH_TRACE(...), placed where the
 * matching counter is incremented.  With the trace off a hook costs one
 * predicted-not-taken test of the global sh_trace_on.
 */
#ifndef UMBRA_SHADOW_TRACE_H
#define UMBRA_SHADOW_TRACE_H

#include <umbra/types.h>

struct shadow_vcpu;

enum sh_trace_kind {
    SHT_FAULT_FIXED, SHT_FAULT_REFLECTED, SHT_FAULT_EMULATED,
    SHT_SHADOW_MADE, SHT_SHADOW_DESTROYED, SHT_SHADOW_UNPINNED,
    SHT_UNSHADOW, SHT_CR3_HIT, SHT_CR3_MISS, SHT_INVLPG, SHT_FLUSH, SHT_RECLAIM,
    SHT_TEARDOWN,                 /* old/new: live shadows before/after; no per-shadow events */
    SHT_OOS, SHT_RESYNC,          /* out of sync (old = evicted gfn or ~0); resync (old = reason, new = entries changed) */
    SHT_NKINDS
};

struct sh_trace_ev {
    uint64_t seq;                 /* 1, 2, ... never reused; 0 = empty slot */
    uint64_t rip, va, gfn, smfn;  /* ~0 where the event has none */
    uint64_t old_e, new_e;        /* the entry before/after (PTE written, shadow entry) */
    uint8_t kind;                 /* enum sh_trace_kind */
    uint8_t why;                  /* unshadow reason / fault origin: index into why_names[] */
    uint8_t has_pfec;             /* recorded by sh_trace_fault(): pfec is the fault's error code */
    uint32_t pfec;
};

#define SH_TRACE_DEFAULT 1024u    /* events, when no trace_ring= option is given */
#define SH_TRACE_MIN     16u
#define SH_TRACE_MAX     65536u   /* 4 MiB at 64 bytes an event */

extern bool sh_trace_on;

/*
 * Give the ring its storage: `buf` of `bytes` from Umbra's own memory.
 * Keeps at most min(bytes / sizeof(ev), SH_TRACE_MAX) events (at least
 * SH_TRACE_MIN or the call fails with -1).  Clears the ring, trace off.
 */
int sh_trace_init(void *buf, size_t bytes);
/* Clamp a requested ring size (the trace_ring= option) to the limits. */
unsigned sh_trace_clamp(unsigned long n);
void sh_trace_clear(void);
unsigned sh_trace_capacity(void);
uint64_t sh_trace_total(void);     /* events recorded since the last clear */

/* Append one event (oldest overwritten); the caller has tested sh_trace_on. */
void sh_trace_record(struct shadow_vcpu *v, enum sh_trace_kind k, uint64_t va, uint64_t gfn,
                     uint64_t smfn, uint64_t old_e, uint64_t new_e, unsigned why);

/* A fault's outcome: its error code, and (fault-fixed) the shadow entry
 * that maps va before and after, from sh_trace_leaf(). */
void sh_trace_fault(struct shadow_vcpu *v, enum sh_trace_kind k, uint64_t va, uint64_t gfn, uint32_t pfec,
                    uint64_t old_e, uint64_t new_e, unsigned why);
/* The shadow entry for va at the deepest level the shadow walk reaches (the
 * L1 entry once a fault is fixed), or ~0 with no shadow.  Reads only. */
uint64_t sh_trace_leaf(struct shadow_vcpu *v, uint64_t va);
/* Suspend recording (returns whether it was on) / resume it: a teardown
 * records one event instead of one per shadow it destroys. */
bool sh_trace_pause(void);
void sh_trace_resume(bool was_on);

#define SH_TRACE(v, k, va, gfn, smfn, o, n) \
    do { if (__builtin_expect(sh_trace_on, 0)) sh_trace_record((v), (k), (va), (gfn), (smfn), (o), (n), 0); } while (0)
#define SH_TRACE_WHY(v, k, va, gfn, smfn, why) \
    do { if (__builtin_expect(sh_trace_on, 0)) sh_trace_record((v), (k), (va), (gfn), (smfn), ~0ULL, ~0ULL, (why)); } while (0)

#define SH_TRACE_FAULT(v, k, va, gfn, pfec, o, n, why) \
    do { if (__builtin_expect(sh_trace_on, 0)) sh_trace_fault((v), (k), (va), (gfn), (pfec), (o), (n), (why)); } while (0)

/* Unshadow reasons (SH_TRACE_WHY's `why`); the fault origin (SH_TRACE_FAULT's). */
enum { SHT_WHY_NONE, SHT_WHY_USER, SHT_WHY_ZERO_RUN, SHT_WHY_RUN, SHT_WHY_TARGETED, SHT_WHY_EMU_ACCESS,
       SHT_WHY_N };
/* Resync reasons (SHT_RESYNC's old value). */
enum { SHT_RESYNC_FLUSH, SHT_RESYNC_INVLPG, SHT_RESYNC_LINK, SHT_RESYNC_IN_SYNC };

/*
 * `monitor trace ARGS`: on | off | clear | dump [va=A[-B]] [gfn=G] [last=N].
 * Numbers are 0x-hex or decimal.  Writes the answer (a table, a status line
 * or an error that names the bad argument) to out via put(); returns 0, or
 * -1 for malformed arguments (the message has then been written).
 */
int sh_trace_command(const char *args, void (*put)(const char *s, void *ctx), void *ctx);

#endif
