#!/bin/sh
# fuzz-run.sh TARGET SECONDS [MODE]
#   Fuzz TARGET (mb1, linux, mb2, opts, rsp, x86, event, shadow, acpi, ivrs,
#   mptable) for SECONDS, nice'd, from its
#   seed corpus (test/fuzz/corpus/TARGET) and regression inputs
#   (test/fuzz/regress/TARGET) into the working corpus test/fuzz/work/TARGET
#   of the build tree.  MODE=check first runs every seed and regression input
#   once, then fuzzes into a scratch directory (make check leaves no state).
#   Prints "fuzz: TARGET execs=N cov=N corpus=N crashes=N"; exits 1 on a crash
#   (the input is kept as test/fuzz/work/TARGET-crash-*).  FUZZ_RUNS=N (a long
#   run) also stops after N executions, whichever of the two comes first.
#   FUZZ_FORK=J (a long run on J cores): libFuzzer's -fork=J, J child
#   processes fuzzing the one corpus (merged into the working corpus); the
#   figures are the parent's (executions summed over the jobs; its cov counts
#   coverage features, more than a single process's "cov:" line).
set -u
t=$1; secs=$2; mode=${3:-fuzz}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
bin="$top_builddir/test/fuzz/fuzz-$t"
[ -x "$bin" ] || { echo "fuzz: $t: no $bin (make $bin)"; exit 1; }
seeds="$top_srcdir/test/fuzz/corpus/$t"
regress="$top_srcdir/test/fuzz/regress/$t"
work="$top_builddir/test/fuzz/work"
mkdir -p "$work/$t"
dirs="$seeds"
[ -d "$regress" ] && dirs="$dirs $regress"
log=$(mktemp "${TMPDIR:-/tmp}/fuzz-$t.XXXXXX")
scratch=""
trap 'rm -f "$log"; [ -n "$scratch" ] && rm -rf "$scratch"' EXIT
corpus="$work/$t"
if [ "$mode" = check ]; then
    # Every committed input once: a regression input that crashes fails here.
    # shellcheck disable=SC2086
    if ! "$bin" -runs=0 $dirs >"$log" 2>&1; then
        cat "$log"; echo "fuzz: $t: a committed input fails"; exit 1
    fi
    echo "fuzz: $t: $(find $dirs -type f | wc -l) committed inputs run once, none failed"
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-$t-corpus.XXXXXX")
    corpus=$scratch
fi
runs=""
[ -n "${FUZZ_RUNS:-}" ] && runs="-runs=$FUZZ_RUNS"
[ -n "${FUZZ_FORK:-}" ] && [ "$mode" != check ] && runs="$runs -fork=$FUZZ_FORK"
# shellcheck disable=SC2086
nice "$bin" $runs -max_total_time="$secs" -print_final_stats=1 -max_len=65536 -timeout=10 \
    -artifact_prefix="$work/$t-" "$corpus" $dirs >"$log" 2>&1
rc=$?
cp "$log" "$work/$t.log"   # the last run's libFuzzer output, for a long run's figures
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' "$log" | tail -n 1)
if [ -n "${FUZZ_FORK:-}" ] && [ "$mode" != check ]; then
    # The parent's lines: "#N: cov: C ft: F corp: P exec/s ..." (no final stats).
    last=$(grep -E '^#[0-9]+: cov: ' "$log" | tail -n 1)
    execs=$(echo "$last" | sed -n 's/^#\([0-9]*\):.*/\1/p')
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
fi
crashes=0
[ $rc -ne 0 ] && crashes=1
# A run stopped by SIGINT (libFuzzer: "run interrupted", exit code 72) wrote
# no crash input and is no crash: said so, and it fails the target as before.
interrupted=""
if [ $rc -eq 72 ] && grep -q 'libFuzzer: run interrupted' "$log"; then
    crashes=0; interrupted=" (interrupted)"
fi
echo "fuzz: $t execs=${execs:-0} cov=${cov:-0} corpus=${corp:-0} crashes=$crashes$interrupted"
[ -n "$interrupted" ] && exit 1
if [ $crashes -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|fuzz:|Test unit written' "$log" | head -n 20
    exit 1
fi
[ -n "$execs" ] && [ "$execs" -gt 0 ] || { cat "$log"; echo "fuzz: $t ran nothing"; exit 1; }
