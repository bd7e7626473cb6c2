#!/bin/sh
# suite-run.sh SUITE EMU MODE [UMBRA_OPTS...]
#   Run the guest suite test/guests/SUITE.elf in EMU (qemu|bochs), MODE bare
#   or umbra, count its TAP results and print exactly one summary line:
#     guests: SUITE EMU MODE: N passed, M failed[, K skipped]
#   N counts "ok" lines that are not skips; M counts "not ok" lines plus tests
#   the plan announced but the output lacks (crash, timeout).  Exit 0 only when
#   M = 0, the plan is complete and the guest reported "exit status 0".
#   Runs the guest with test/e2e/run-guest.sh.  The full output is kept
#   in $top_builddir/test/guests/SUITE-EMU-MODE.log (or $GUEST_LOGDIR/...).
# Env: top_srcdir, top_builddir (default: from this script's place / cwd),
#   TIMEOUT (default 120 for qemu, 900 for bochs), QEMU, BOCHS, GUEST_ARGS,
#   GUEST_LOGDIR (where the logs go; lets two runs of one suite proceed in parallel).
set -u
[ $# -ge 3 ] || { echo "usage: $0 SUITE EMU MODE [UMBRA_OPTS...]" >&2; exit 2; }
suite=$1 emu=$2 mode=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}" "${top_builddir:=$(pwd)}"
case $emu in qemu) : "${TIMEOUT:=120}" ;; bochs) : "${TIMEOUT:=900}" ;;
    *) echo "suite-run: unknown emulator $emu" >&2; exit 2 ;; esac
export TIMEOUT
[ -n "${QEMU:-}" ] || QEMU=qemu-system-x86_64
[ -n "${BOCHS:-}" ] || BOCHS=bochs
export QEMU BOCHS

elf=$top_builddir/test/guests/$suite.elf
logdir=${GUEST_LOGDIR:-$top_builddir/test/guests}
mkdir -p "$logdir"
log=$logdir/$suite-$emu-$mode.log
summary() { echo "guests: $suite $emu $mode: $1"; }
[ -f "$elf" ] || { summary "0 passed, 1 failed (no $elf)"; exit 1; }
tool=$QEMU; [ "$emu" = bochs ] && tool=$BOCHS
command -v "$tool" >/dev/null 2>&1 || { summary "0 passed, 1 failed ($emu not installed)"; exit 1; }

sh "$top_srcdir/test/e2e/run-guest.sh" "$emu" "$mode" "$elf" "$@" >"$log" 2>"$log.err"
rc=$?

tr -d '\r' <"$log" | awk -v rc="$rc" -v head="guests: $suite $emu $mode" '
    /^ok [0-9]+/ { if ($0 ~ /# SKIP/) skip++; else pass++; seen++; next }
    /^not ok [0-9]+/ { fail++; seen++; next }
    /^1\.\.[0-9]+$/ { plan = substr($0, 4) + 0; next }
    /^exit status [0-9]+$/ { status = $3 + 0; got_status = 1; next }
    END {
        missing = plan > seen ? plan - seen : 0
        if (!plan) missing = 1
        line = sprintf("%s: %d passed, %d failed", head, pass, fail + missing)
        if (skip) line = line sprintf(", %d skipped", skip)
        print line
        if (fail + missing || !got_status || status != 0) exit 1
        exit 0
    }'
