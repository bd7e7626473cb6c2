#!/bin/sh
# check.sh EMU LABEL ARCH NAME [VAR=VALUE...]
#   Runs kvm-unit-tests' NAME (ARCH's unittests.cfg) in EMU (qemu | bochs) bare,
#   then under Umbra with paging=shadow and paging=npt (KUT_MODES overrides
#   the list; bare always runs first), one at a time, and judges each run:
#     kut: LABEL MODE: PASS|FAIL|XFAIL <reason>
#   then "kut: LABEL: N PASS, N XFAIL, N FAIL".  VAR=VALUE pairs go to
#   run.sh's environment (KUT_ARGS, KUT_CPU, TIMEOUT).  Exit status 0 when no
#   line says FAIL.
# Judging (judge.sh): bare passes when the test itself says so; under Umbra a
#   run passes when it ends like the bare run of the same test.
# Known failures: test/kut/known-failures (KUT_KNOWN overrides) lists
#   "LABEL MODE  # reason": such a run that fails is XFAIL (known: reason);
#   one that passes is a FAIL ("unexpectedly passes"), so the list can only
#   shrink, never hide a fix or a new failure.
# KUT_LOGDIR: keep each run's output there as LABEL-MODE.out (/ becomes _).
# check.sh EMU LABEL (two arguments) takes ARCH, NAME and VARs from test/kut/tests.
# KUT_DIR, KUT_PATCHED, UMBRA_ELF default to the build tree's (test/kut/local.am).
set -u
here=$(cd "$(dirname "$0")" && pwd)
emu=${1:?usage: check.sh EMU LABEL [ARCH NAME [VAR=VALUE...]]}; label=${2:?}
if [ $# -eq 2 ]; then
    set -- $emu $label $(awk -v l="$label" '$1 == l { $2 = ""; $1 = ""; print; exit }' "$here/tests")
    [ $# -ge 4 ] || { echo "check.sh: no $label in $here/tests" >&2; exit 2; }
fi
arch=${3:?}; name=${4:?}
shift 4
if [ -n "${top_builddir:-}" ]; then
    : "${KUT_DIR:=$top_builddir/test/kut/build/plain}" "${KUT_PATCHED:=$top_builddir/test/kut/build/patched}"
    : "${UMBRA_ELF:=$top_builddir/umbra.elf}" "${KUT_LOGDIR:=$top_builddir/test/kut/out}"
    export KUT_DIR KUT_PATCHED UMBRA_ELF KUT_LOGDIR
fi
known=${KUT_KNOWN:-$here/known-failures}
modes=${KUT_MODES:-shadow npt}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kut-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$here/judge.sh"
npass=0; nxfail=0; nfail=0

# known MODE: the reason the known-failures list gives for (LABEL, MODE), or nothing.
known_reason() {
    [ -f "$known" ] || return 0
    awk -v t="$label" -v m="$1" '$1 == t && $2 == m { sub(/^[^#]*#[ \t]*/, ""); print; exit }' "$known"
}

# report MODE VERDICT REASON: one kut line, after the known-failures list.
report() {
    rk=$(known_reason "$1")
    rv=$2; rr=$3
    if [ -n "$rk" ]; then
        if [ "$rv" = PASS ]; then rv=FAIL; rr="unexpectedly passes: known-failures still lists it ($rk)"
        else rv=XFAIL; rr="(known: $rk) $rr"; fi
    fi
    case $rv in PASS) npass=$((npass + 1));; XFAIL) nxfail=$((nxfail + 1));; *) nfail=$((nfail + 1));; esac
    echo "kut: $label $1: $rv${rr:+ $rr}"
}

# run MODE: boots the test, leaves its output in $tmp/MODE.out and status in $tmp/MODE.rc.
run() {
    env "$@" sh "$here/run.sh" "$emu" "$arch" "$name" "$mode" > "$tmp/$mode.out" 2>&1 </dev/null
    echo $? > "$tmp/$mode.rc"
    if [ -n "${KUT_LOGDIR:-}" ]; then
        mkdir -p "$KUT_LOGDIR"
        cp "$tmp/$mode.out" "$KUT_LOGDIR/$(echo "$label" | tr / _)-$mode.out"
    fi
}

# show MODE: the end of a run's output, for the log of a failed judgement.
show() { echo "--- $label $1 (last lines, exit $(cat "$tmp/$1.rc"))"; tail -n 25 "$tmp/$1.out" | sed 's/^/  | /'; }

mode=bare; run "$@"
v=$(judge_bare "$emu" "$tmp/bare.out" "$(cat "$tmp/bare.rc")")
report bare "${v%% *}" "$(echo "$v" | sed -n 's/^[A-Z]* *//p')"
case $v in PASS*) ;; *) show bare;; esac
for mode in $modes; do
    case $v in
    PASS*)
        run "$@"
        u=$(judge_umbra "$emu" "$tmp/bare.out" "$(cat "$tmp/bare.rc")" "$tmp/$mode.out" "$(cat "$tmp/$mode.rc")")
        report "$mode" "${u%% *}" "$(echo "$u" | sed -n 's/^[A-Z]* *//p')"
        case $u in PASS*) ;; *) show "$mode";; esac ;;
    *) report "$mode" FAIL "not run: the bare run failed, nothing to compare with" ;;
    esac
done
echo "kut: $label: $npass PASS, $nxfail XFAIL, $nfail FAIL"
[ $nfail -eq 0 ]
