#!/bin/sh
# The guest suites must notice a broken shadow MMU.  umbra-mutant-dbit.elf is
# umbra.elf with the D-bit rule broken (a writable guest leaf is shadowed
# writable before the guest's D bit is set, so the first write never faults
# and D is never set).  The PAE suite run under it must report failures, and
# among them the D-bit checks.  (The same suite passes under umbra.elf:
# test/e2e/guests-pae-qemu.sh.)
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"
UMBRA_ELF="$top_builddir/umbra-mutant-dbit.elf"
export UMBRA_ELF
[ -f "$UMBRA_ELF" ] || { echo "missing $UMBRA_ELF (run make)"; exit 1; }
GUEST_LOGDIR="$top_builddir/test/guests/mutant"
export GUEST_LOGDIR
mkdir -p "$GUEST_LOGDIR"
out=$(sh "$top_srcdir/test/e2e/suite-run.sh" pae qemu umbra)
rc=$?
echo "$out"
failed=$(printf '%s\n' "$out" | sed -n 's/^guests: pae qemu umbra: [0-9]* passed, \([0-9]*\) failed.*/\1/p')
if [ "$rc" -ne 0 ] && [ "${failed:-0}" -gt 0 ]; then
    echo "ok: the mutant fails $failed PAE cases"
else
    bad "the PAE suite did not notice the broken D-bit rule (rc=$rc, failed=${failed:-?})"
fi
dfail=$(tr -d '\r' <"$GUEST_LOGDIR/pae-qemu-umbra.log" | grep -c '^not ok .*a/d' || true)
if [ "${dfail:-0}" -gt 0 ]; then
    echo "ok: $dfail failing cases check D bits, e.g.:"
    tr -d '\r' <"$GUEST_LOGDIR/pae-qemu-umbra.log" | grep '^not ok .*a/d' | head -n 3
else
    bad "no failing case checks a D bit"
fi
finish
