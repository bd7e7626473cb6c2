#!/bin/sh
# The guest suites must notice a walker that sets A before the SMAP check.
# umbra-mutant-asmap.elf is umbra.elf built with SHADOW_MUTANT_A_BEFORE_SMAP=1
# (src/shadow/multi.c): a supervisor data access that SMAP refuses still sets
# A in the guest's entries.  The PAE and 2-level access matrices
# (test/guests/access_pae.elf, access_2level.elf) run under it must report
# failures, and among them SMAP cases (smap1, ac0) whose A bit changed.  (The
# same suites pass under umbra.elf: test/e2e/guests-access_*-qemu.sh.)
# Skipped (77) while the access suites are not built in this tree.
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"
UMBRA_ELF="$top_builddir/umbra-mutant-asmap.elf"
export UMBRA_ELF
[ -f "$UMBRA_ELF" ] || { echo "missing $UMBRA_ELF (run make)"; exit 1; }
GUEST_LOGDIR="$top_builddir/test/guests/mutant-asmap"
export GUEST_LOGDIR
mkdir -p "$GUEST_LOGDIR"
ran=0
for suite in access_pae access_2level; do
    if [ ! -f "$top_builddir/test/guests/$suite.elf" ]; then
        echo "no test/guests/$suite.elf in this tree"
        continue
    fi
    ran=$((ran + 1))
    out=$(sh "$top_srcdir/test/e2e/suite-run.sh" "$suite" qemu umbra)
    rc=$?
    echo "$out"
    failed=$(printf '%s\n' "$out" | sed -n "s/^guests: $suite qemu umbra: [0-9]* passed, \([0-9]*\) failed.*/\1/p")
    if [ "$rc" -ne 0 ] && [ "${failed:-0}" -gt 0 ]; then
        echo "ok: the mutant fails $failed $suite tests"
    else
        bad "$suite did not notice the A-before-SMAP walker (rc=$rc, failed=${failed:-?})"
    fi
    log="$GUEST_LOGDIR/$suite-qemu-umbra.log"
    n=$(tr -d '\r' <"$log" | grep -E '^# FAIL .* smap1 .* ac0 ' | grep -c -- '->' || true)
    if [ "${n:-0}" -gt 0 ]; then
        echo "ok: $n listed failures are SMAP cases whose entry changed, e.g.:"
        tr -d '\r' <"$log" | grep -E '^# FAIL .* smap1 .* ac0 ' | head -n 2
    else
        bad "no listed $suite failure is a SMAP case with a changed entry"
    fi
done
[ "$ran" -gt 0 ] || { echo "SKIP: the access suites are not in this tree"; exit 77; }
finish
