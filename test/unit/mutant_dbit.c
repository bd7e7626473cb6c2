/*
 * The run-time switch of libshadow_dbit.a (multi.c built with
 * SHADOW_MUTANT_NO_DIRTY=-1): which D-bit mutant is on, from
 * UMBRA_MUTANT_DBIT (0 = none, 1..4 = the kinds listed in multi.c).
 * Linked only into test_shadow_random_dbit; test/unit/mutant-dbit.sh.
 */
#include <stdlib.h>

unsigned sh_mutant_dbit;

__attribute__((constructor)) static void mutant_dbit_from_env(void)
{
    const char *s = getenv("UMBRA_MUTANT_DBIT");
    sh_mutant_dbit = s ? (unsigned)strtoul(s, NULL, 0) : 0;
}
