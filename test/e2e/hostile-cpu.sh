#!/bin/sh
# hostile-cpu.sh: the hostile suite's CPU cases (test/guests/hostile_cpu.c).
#   Bare on a one-CPU QEMU, then under Umbra on a two-CPU QEMU (-smp 2) with
#   paging=shadow and paging=npt: Umbra must make the two-CPU machine look
#   like the one-CPU one, so the TAP lines of all three runs must agree and
#   pass.  Under Umbra it also asserts what only Umbra can tell: it parked
#   the AP, the guest's INIT, both SIPIs and the NMI to APIC ID 1 reached no
#   CPU, and both ring-3 VMMCALLs got #UD.  Cost: three QEMU runs, ~15 s.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${top_builddir:=$(pwd)}"
export top_builddir
logdir=$top_builddir/test/guests/hostile-cpu
mkdir -p "$logdir"
GUEST_LOGDIR=$logdir/bare QEMU_ARGS= sh "$here/suite-run.sh" hostile_cpu qemu bare || fail=1
fail=${fail:-0}
for p in shadow npt; do
    GUEST_LOGDIR=$logdir/$p QEMU_ARGS='-smp 2' sh "$here/suite-run.sh" hostile_cpu qemu umbra paging=$p || fail=1
done
norm() { tr -d '\r' <"$1" | grep -E '^(ok|not ok) [0-9]+|^1\.\.[0-9]+$'; }
norm "$logdir/bare/hostile_cpu-qemu-bare.log" >"$logdir/bare.tap.log"
[ -s "$logdir/bare.tap.log" ] || { echo "hostile-cpu: no TAP from the bare run"; fail=1; }
for p in shadow npt; do
    u=$logdir/$p/hostile_cpu-qemu-umbra.log
    norm "$u" >"$logdir/$p.tap.log"
    if ! cmp -s "$logdir/bare.tap.log" "$logdir/$p.tap.log"; then
        echo "hostile-cpu: paging=$p -smp 2 differs from bare -smp 1:"
        diff "$logdir/bare.tap.log" "$logdir/$p.tap.log" | head -n 5
        fail=1
    fi
    for want in 'umbra: cpus: 2 in the MADT .* 1 AP(s) parked' \
                'umbra: cpus: the guest.s tables: MADT rewritten to the boot CPU (1 CPU entries cut)' \
                'umbra: apic: IPIs that reached no CPU: INIT=1 SIPI=2 NMI=1 SMI=0 fixed=2; sent to this CPU=3' \
                'umbra: vmmcall: from CPL > 0, #UD raised=2' \
                'umbra: exit reason=port-f4 status=0'; do
        grep -q -- "$want" "$u" || { echo "hostile-cpu: paging=$p: missing: $want"; fail=1; }
    done
done
[ "$fail" = 0 ] && echo "hostile-cpu: bare (1 CPU) and umbra (2 CPUs; shadow, npt) agree, the AP never ran"
exit "$fail"
