#!/bin/sh
# The randomised differential test must notice a shadow that gets the guest's
# D bit wrong.  test_shadow_random_dbit is test_shadow_random linked against
# libshadow_dbit.a (multi.c with SHADOW_MUTANT_NO_DIRTY=-1: the mutant kind
# comes from UMBRA_MUTANT_DBIT).  Each kind must fail random_2level,
# random_pae and random_long with the check that names it, both with the
# audit and without it (UMBRA_NO_AUDIT: the reference MMU alone; with the
# audit on, S3's "shadow_audit() found N errors" may come first); kind 0 (no
# mutant) must pass the same seeds, so a failure is the mutant's.
b="${top_builddir:-.}/test/unit/test_shadow_random_dbit"
[ -x "$b" ] || { echo "missing $b (make check builds it)"; exit 1; }
SEEDS=${SEEDS:-25}
fail=0

out=$(CK_RUN_CASE=random UMBRA_SEEDS=$SEEDS UMBRA_MUTANT_DBIT=0 "$b" 2>&1) || {
    printf '%s\n' "$out" | grep -E '^[0-9]+%|:[FE]:' | head -n 6
    echo "FAIL: test_shadow_random_dbit fails with no mutant on ($SEEDS seeds per mode)"
    exit 1
}
echo "ok: no mutant (kind 0): $SEEDS seeds per mode pass"

# kind | what it breaks | what the test must say
check() {
    kind=$1 what=$2 want=$3
    for audit in on off; do
        if [ $audit = off ]; then
            out=$(CK_RUN_CASE=random UMBRA_SEEDS=$SEEDS UMBRA_MUTANT_DBIT=$kind UMBRA_NO_AUDIT=1 "$b" 2>&1)
        else
            out=$(CK_RUN_CASE=random UMBRA_SEEDS=$SEEDS UMBRA_MUTANT_DBIT=$kind "$b" 2>&1)
        fi
        rc=$?
        w=$want
        [ $audit = on ] && w="$want|: shadow_audit\(\) found [0-9]+ errors"
        printf '%s\n' "$out" | grep -E ':F:' | cut -c1-220 | head -n 3
        modes=$(printf '%s\n' "$out" | grep -E ':F:random:random_(2level|pae|long):' | grep -cE "$w" || true)
        if [ "$rc" -eq 0 ] || [ "$modes" -ne 3 ]; then
            echo "FAIL: kind $kind ($what), audit $audit: caught in $modes of 3 paged modes (rc=$rc)"
            fail=1
        else
            echo "ok: kind $kind ($what), audit $audit: caught in 2-level, PAE and long mode"
        fi
    done
}
check 1 "4 KiB leaf writable before D" 'shadow allows a write at .* but the guest leaf .* is clean'
check 2 "superpage link writable before D" 'shadow allows a write at .* but the guest leaf .* is clean'
check 3 "walker leaves D clear on a write" 'still faulting after|but the guest allows it|clean'
check 4 "walker sets D on a read" 'wrote nothing but set D'
exit $fail
