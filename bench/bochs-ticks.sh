#!/bin/sh
# bench/bochs-ticks.sh [GUEST ...]  (make bench; bench/README.md)
#   Runs each guest bare and under Umbra (paging=shadow, then paging=npt) in
#   Bochs and reports what the runs cost as counts, not times: Bochs' clock at
#   the end (ticks: one per guest instruction plus the time a halted CPU
#   skips; clock sync=none and a fixed RTC start make it the same on every run
#   of one binary, whatever the machine's load), Umbra's exits per reason, the
#   ticks Umbra's own code took per reason (umbra-bench.elf), the shadow
#   counters, and a modelled cost = ticks + exits x C_EXIT (bench/report.py).
#   GUEST is a guest kernel (ELF path), `linux` (the Debian 686-pae guest of
#   test/linux: bare, npt, shadow) or `linux-pti` (the same with the kernel's
#   pti=on: bare, shadow).  Default: the demo and the PAE, 2-level and stress
#   suites.  Writes $top_builddir/bench.json (BENCH_JSON), one record per run.
#   Environment: C_EXIT (default 1350), BENCH_MODES (default "bare shadow npt"
#   for guest kernels, the modes above for linux), BENCH_OPTS (more Umbra
#   options for guest kernels, e.g. "oos=on prefetch=8"), UMBRA_BENCH_ELF
#   (umbra-split.elf: Umbra's ticks also split by the kind of shadow work).
#   Exits 1 if a run did not finish (no tick count or no final status).
. "${top_srcdir:-$(dirname "$0")/..}/test/e2e/lib.sh"
G="$top_builddir/test/guests"
LX="$top_builddir/test/linux/out"
[ $# -gt 0 ] || set -- "$G/demo/demo.elf" "$G/pae.elf" "$G/2level.elf" "$G/stress_fork.elf" \
    "$G/stress_ws.elf" "$G/stress_rewrite.elf" "$G/stress_alias.elf"
export TIMEOUT=${TIMEOUT:-1800}
BENCH_JSON=${BENCH_JSON:-$top_builddir/bench.json}
UMBRA_BENCH_ELF=${UMBRA_BENCH_ELF:-$top_builddir/umbra-bench.elf}
[ -f "$UMBRA_BENCH_ELF" ] || { echo "bench: missing $UMBRA_BENCH_ELF (run make)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/umbra-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
: > "$work/runs.jsonl"
status=0
# The Linux guest's kernel arguments, as in test/linux/linux-bochs.sh.
LINUX_KARGS="console=ttyS0 panic=-1 cryptomgr.notests noisapnp"

# one GUEST MODE CMD...: run CMD (its output is the run's serial log) and record it.
one() {
    name=$1 mode=$2; shift 2
    "$@" > "$work/out" 2>&1
    rc=$?
    python3 "$top_srcdir/bench/report.py" record "$name" "$mode" "$work/out" >> "$work/runs.jsonl"
    if ! grep -q '^run-guest: bochs ticks=' "$work/out" || [ "$rc" -eq 124 ]; then
        echo "bench: $name $mode: did not finish (rc=$rc)"; status=1
        tail -n 20 "$work/out" | sed 's/^/bench:   | /'
    fi
}

for g in "$@"; do
    case "$g" in
    linux|linux-pti)
        sh "$top_srcdir/test/linux/build.sh" "$LX" >/dev/null || { echo "bench: could not build the Linux guest"; exit 1; }
        kargs=$LINUX_KARGS modes=${BENCH_MODES:-bare npt shadow}
        [ "$g" = linux-pti ] && kargs="$kargs pti=on" modes=${BENCH_MODES:-bare shadow}
        for mode in $modes; do
            if [ "$mode" = bare ]; then
                # Bare, the ryzen model offers MONITORX, whose MWAITX Bochs never wakes (test/linux/README.md).
                one "$g" bare sh "$top_srcdir/test/linux/bochs-bare.sh" "$LX/bzImage" "$LX/initrd.gz" \
                    "$kargs clearcpuid=mwaitx"
            else
                one "$g" "$mode" env UMBRA_ELF="$UMBRA_BENCH_ELF" MEM=256 GUEST_ARGS="$kargs" \
                    GUEST_MODULES="$LX/initrd.gz" sh "$RUN" bochs umbra "$LX/bzImage" "paging=$mode"
            fi
        done
        ;;
    *)
        name=$(basename "$g" .elf)
        for mode in ${BENCH_MODES:-bare shadow npt}; do
            if [ "$mode" = bare ]; then one "$name" bare sh "$RUN" bochs bare "$g"
            else one "$name" "$mode" env UMBRA_ELF="$UMBRA_BENCH_ELF" sh "$RUN" bochs umbra "$g" "paging=$mode" ${BENCH_OPTS:-}; fi
        done
        ;;
    esac
done
python3 "$top_srcdir/bench/report.py" summary "$work/runs.jsonl" "$BENCH_JSON" || status=1
exit $status
