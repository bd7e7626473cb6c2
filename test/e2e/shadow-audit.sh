#!/bin/sh
# The debug build (umbra-audit.elf: shadow_audit() after every exit) runs
# the PAE demo in QEMU: every audit finds the shadows faithful to the guest
# tables and the refcounts exact, and the guest's results are unchanged.
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"
UMBRA_ELF="$top_builddir/umbra-audit.elf"
export UMBRA_ELF
[ -f "$UMBRA_ELF" ] || { echo "missing $UMBRA_ELF (run make)"; exit 1; }

run "$RUN" qemu umbra "$DEMO"
expect_rc 1
expect '^umbra: paging=shadow: debug build: shadow_audit\(\) after every exit$'
expect '^ok 10 - PIT timer interrupts reach the guest in HLT$'
expect_not '^not ok'
expect '^umbra: exit reason=port-f4 status=0$'
expect_counter audits
expect_count audit_errors -eq 0
expect_not 'audit [0-9]+ found'
# One audit per exit: the audit count is at least the number of exits but one.
exits=$(printf '%s\n' "$out" | sed -n 's/^umbra: exits: [a-z0-9-]*=\([0-9]*\)$/\1/p' | awk '{ s += $1 } END { print s + 0 }')
audits=$(counter audits)
if [ "${audits:-0}" -ge $((exits - 1)) ]; then echo "ok: $audits audits for $exits exits"; else bad "$audits audits for $exits exits"; fi
finish
