#!/bin/sh
# judge-test.sh: the kvm-unit-tests judge (judge.sh) on made-up outputs, so a
# change to how runs are judged cannot make a failure pass unseen.  Each case
# names the verdict it must get (the first word: PASS or FAIL).
set -u
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d "${TMPDIR:-/tmp}/kut-judge.XXXXXX")
trap 'rm -rf "$t"' EXIT
label=x86_64/demo
KUT_BOCHS_KNOWN=$t/known
printf '%s\n' '# test list' 'x86_64/demo | FAIL: tf handling | Bochs quirk (made up)' > "$KUT_BOCHS_KNOWN"
. "$here/judge.sh"
n=0; bad=0
# want VERDICT WHAT COMMAND...: the verdict's first word must be VERDICT.
want() {
    w=$1; what=$2; shift 2
    v=$("$@")
    n=$((n + 1))
    if [ "${v%% *}" = "$w" ]; then echo "ok $n - $what: $v"
    else echo "not ok $n - $what: want $w, got: $v"; bad=$((bad + 1)); fi
}
out() { f=$t/$1; shift; printf '%s\n' "$@" > "$f"; }
out bpass 'kut-run: bochs' 'PASS: a' 'SUMMARY: 1 tests' 'exit status 0'
out bnosum 'kut-run: bochs' 'PASS' 'exit status 0'
out bnostat 'kut-run: bochs' 'PASS: a' 'SUMMARY: 1 tests'
out bstat1 'kut-run: bochs' 'PASS: a' 'SUMMARY: 1 tests' 'exit status 1'
out bfail 'kut-run: bochs' 'FAIL: other' 'SUMMARY: 2 tests, 1 unexpected failures' 'exit status 1'
out bknown 'kut-run: bochs' 'PASS: a' 'FAIL: tf handling' 'SUMMARY: 2 tests, 1 unexpected failures' 'exit status 1'
out bknown0 'kut-run: bochs' 'FAIL: tf handling' 'SUMMARY: 2 tests, 1 unexpected failures' 'exit status 0'
out uknown 'kut-run: bochs' 'PASS: a' 'FAIL: tf handling' 'SUMMARY: 2 tests, 1 unexpected failures' 'umbra: exit reason=port-f4 status=1'
out ugone 'kut-run: bochs' 'PASS: a' 'PASS: tf handling' 'SUMMARY: 2 tests' 'umbra: exit reason=port-f4 status=0'
out unew 'kut-run: bochs' 'PASS: a' 'FAIL: tf handling' 'FAIL: b' 'SUMMARY: 3 tests, 2 unexpected failures' 'umbra: exit reason=port-f4 status=1'
out upass 'kut-run: bochs' 'PASS: a' 'SUMMARY: 1 tests' 'umbra: exit reason=port-f4 status=0'
out ustat 'kut-run: bochs' 'PASS: a' 'SUMMARY: 1 tests' 'umbra: exit reason=port-f4 status=3'
out ustop 'kut-run: bochs' 'PASS: a' 'umbra: exit reason=event-lost status=127'
out qpass 'kut-run: qemu' 'PASS: a' 'SUMMARY: 1 tests'
out qrsvd 'kut-run: qemu' 'test pte.p: FAIL: error code 8 expected 9' 'SUMMARY: 2 tests, 1 unexpected failures'
out qother 'kut-run: qemu' 'test pte.p: FAIL: error code 3 expected 7' 'SUMMARY: 2 tests, 1 unexpected failures'
want PASS "bochs bare: SUMMARY and exit status 0" judge_bare bochs "$t/bpass" 1
want PASS "bochs bare: exit status 0, no SUMMARY" judge_bare bochs "$t/bnosum" 1
want FAIL "bochs bare: no exit status line" judge_bare bochs "$t/bnostat" 1
want FAIL "bochs bare: exit status 1 without a FAIL" judge_bare bochs "$t/bstat1" 1
want FAIL "bochs bare: timeout" judge_bare bochs "$t/bpass" 124
want FAIL "bochs bare: an unlisted failure" judge_bare bochs "$t/bfail" 1
want PASS "bochs bare: a failure bochs-known lists" judge_bare bochs "$t/bknown" 1
want FAIL "bochs bare: listed failure but status 0" judge_bare bochs "$t/bknown0" 1
label=x86_64/other
want FAIL "bochs bare: listed for another test only" judge_bare bochs "$t/bknown" 1
label=x86_64/demo
want PASS "bochs umbra: ends like bare, listed failure kept" judge_umbra bochs "$t/bknown" 1 "$t/uknown" 0
want FAIL "bochs umbra: the listed failure is gone" judge_umbra bochs "$t/bknown" 1 "$t/ugone" 0
want FAIL "bochs umbra: a new failure" judge_umbra bochs "$t/bknown" 1 "$t/unew" 0
want PASS "bochs umbra: as a passing bare" judge_umbra bochs "$t/bpass" 1 "$t/upass" 0
want FAIL "bochs umbra: another status" judge_umbra bochs "$t/bpass" 1 "$t/ustat" 0
want FAIL "bochs umbra: Umbra stopped the guest" judge_umbra bochs "$t/bpass" 1 "$t/ustop" 0
want PASS "qemu bare: status 0" judge_bare qemu "$t/qpass" 1
want FAIL "qemu bare: status 1" judge_bare qemu "$t/qpass" 3
want FAIL "qemu bare: timeout" judge_bare qemu "$t/qpass" 124
want PASS "qemu bare: TCG's RSVD-without-P error code" judge_bare qemu "$t/qrsvd" 3
want FAIL "qemu bare: another error code" judge_bare qemu "$t/qother" 3
echo "1..$n"
[ $bad -eq 0 ]
