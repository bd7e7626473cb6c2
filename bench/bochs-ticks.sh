#!/bin/sh
# bench/bochs-ticks.sh [GUEST.elf ...]  (make bench)
#   Runs each guest kernel bare and under Umbra (paging=shadow, then
#   paging=npt) in Bochs and prints what the runs cost as counts, not times:
#   Bochs' clock at the end (ticks: one per guest instruction plus the time a
#   halted CPU skips; clock sync=none makes it the same on every run of one
#   binary, whatever the machine's load), Umbra's exits per reason and the
#   shadow counters that say where the exits came from.
#     bench: GUEST MODE ticks=N [x R.RR of bare] [exits=E pf=.. emulated_pt=.. ...]
#   Exits 1 if a run did not finish (no tick count or no final status).
#   Default guests: the demo and the PAE, 2-level and stress suites.
. "${top_srcdir:-$(dirname "$0")/..}/test/e2e/lib.sh"
G="$top_builddir/test/guests"
[ $# -gt 0 ] || set -- "$G/demo/demo.elf" "$G/pae.elf" "$G/2level.elf" "$G/stress_fork.elf" \
    "$G/stress_ws.elf" "$G/stress_rewrite.elf" "$G/stress_alias.elf"
export TIMEOUT=${TIMEOUT:-1800}
status=0
# field NAME: the value of "umbra: ...NAME=V" in the last run's output (0 if absent).
field() { printf '%s\n' "$out" | sed -n "s/^umbra: .*[ :]$1=\\([0-9]*\\).*/\\1/p" | tail -n 1 | grep . || echo 0; }
for g in "$@"; do
    name=$(basename "$g" .elf)
    bare=""
    for mode in bare shadow npt; do
        if [ "$mode" = bare ]; then run "$RUN" bochs bare "$g" >/dev/null
        else run "$RUN" bochs umbra "$g" "paging=$mode" >/dev/null; fi
        ticks=$(printf '%s\n' "$out" | sed -n 's/^run-guest: bochs ticks=\([0-9]*\).*/\1/p')
        if [ -z "$ticks" ] || [ "$rc" -eq 124 ]; then
            echo "bench: $name $mode: did not finish (rc=$rc)"; status=1; continue
        fi
        line="bench: $name $mode ticks=$ticks"
        if [ "$mode" = bare ]; then
            bare=$ticks
        else
            [ -n "$bare" ] && line="$line x$(awk -v a="$ticks" -v b="$bare" 'BEGIN { printf "%.2f", a / b }')"
            exits=$(printf '%s\n' "$out" | sed -n 's/^umbra: exits: [a-z0-9-]*=\([0-9]*\)$/\1/p' |
                awk '{ s += $1 } END { print s + 0 }')
            line="$line exits=$exits pf=$(field exception-14) cr3=$(field cr3-write) invlpg=$(field invlpg)"
            [ "$mode" = shadow ] && line="$line emulated_pt=$(field fault_emulated_pt) reflected=$(field fault_reflected) fixed=$(field fault_fixed) unshadows=$(field unshadows) tlb_flushes=$(field 'full flushes')"
        fi
        echo "$line"
    done
done
exit $status
