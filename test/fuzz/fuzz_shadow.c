/*
 * libFuzzer target: the shadow MMU (src/shadow) driven by a byte stream of
 * guest operations, with the reference MMU (test/unit/refmmu.c) as oracle.
 * It is test_shadow_random's world (test/unit/shadow_world.c, shadow_ops.c:
 * the same operations -- build address spaces, write/unmap/edit PTEs at each
 * level, CR3 loads, accesses, INVLPG, mode switches -- and the same checks,
 * the full audit every AUDIT_EVERY steps), with every random decision taken
 * from the input (rnd() reads world_stream) instead of a seed's sequence.
 * Input: [u8 mode][u8 steps] then the decision bytes (8 per decision; when
 * they run out the world goes on from a seed derived from the first bytes).
 * Any disagreement with the oracle or audit error aborts (wfail ->
 * _ck_assert_failed below).
 */
#include "../unit/shadow_world.h"
#include "../unit/sim_platform.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* wfail() ends in ck_abort_msg(): outside a Check runner, a crash. */
void _ck_assert_failed(const char *file, int line, const char *expr, const char *msg, ...)
{
    fprintf(stderr, "fuzz-shadow: %s:%d: %s\n", file, line, expr);
    (void)msg;
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct world_stats st;
    if (size < 2)
        return 0;
    sim_reuse_memory = true;                    /* one buffer for every input's machine (sim_platform.h) */
    static int oplog_on = -1;                   /* the op log only when asked (shadow_world.h) */
    if (oplog_on < 0)
        oplog_on = env_flag("FUZZ_SHADOW_OPLOG");
    world_oplog = oplog_on;
    uint64_t seed = 0;
    for (size_t i = 0; i < size && i < 8; i++)
        seed = seed * 131 + data[i];
    seed = seed - seed % 4 + data[0] % 4;       /* world_run's mode is seed % 4 */
    unsigned long iters = 1 + data[1] % 64;
    world_stream = data + 2;
    world_stream_len = size - 2;
    world_run(seed, iters, 0, &st);
    world_stream_len = 0;
    return 0;
}
