#!/bin/sh
# driver.sh: Automake's test driver for the .kut tests (test/kut/local.am),
# with test-driver's options.  A .kut test runs one kvm-unit-test in several
# modes (check.sh); each of its "kut: LABEL MODE: VERDICT ..." lines becomes one
# result in the .trs file, so make check's summary counts (test, mode) pairs:
# PASS, XFAIL (a failure test/kut/known-failures lists) and FAIL (anything else,
# a listed failure that passes included).  The kut lines are printed as they
# are, one per pair, where test-driver prints "PASS: name".  A test that
# exits non-zero without printing a FAIL line is an ERROR.
set -u
name= log= trs= color=no
while [ $# -gt 0 ]; do
    case $1 in
    --test-name) name=$2; shift ;;
    --log-file) log=$2; shift ;;
    --trs-file) trs=$2; shift ;;
    --color-tests) color=$2; shift ;;
    --expect-failure|--enable-hard-errors|--collect-skipped-logs) shift ;;
    --) shift; break ;;
    -*) echo "driver.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
    shift
done
[ -n "$name" ] && [ -n "$log" ] && [ -n "$trs" ] && [ $# -gt 0 ] ||
    { echo "usage: driver.sh --test-name N --log-file L --trs-file T -- TEST" >&2; exit 2; }
red= grn= lgn= mgn= std=
if [ "$color" = yes ]; then
    red=$(printf '\033[0;31m') grn=$(printf '\033[0;32m') lgn=$(printf '\033[1;32m')
    mgn=$(printf '\033[0;35m') std=$(printf '\033[m')
fi
trap 'rm -f "$log" "$trs"; exit 130' 1 2 13 15

: > "$log"
"$@" >> "$log" 2>&1
st=$?
: > "$trs"
global=PASS
for v in $(sed -n 's/^kut: [^ ]* [^ ]*: \(PASS\|XFAIL\|FAIL\)\( .*\)\{0,1\}$/\1/p' "$log"); do
    echo ":test-result: $v" >> "$trs"
    case $v in FAIL) global=FAIL;; XFAIL) [ $global = PASS ] && global=XFAIL;; esac
done
sed -n 's/^\(kut: [^ ]* [^ ]*: \)\(PASS\|XFAIL\|FAIL\)\(.*\)$/\1\2\3/p' "$log" | while IFS= read -r l; do
    case $l in *": PASS"*) c=$grn;; *": XFAIL"*) c=$lgn;; *) c=$red;; esac
    echo "$c$l$std"
done
if [ $st -ne 0 ] && [ $global != FAIL ]; then
    global=ERROR
    echo ":test-result: ERROR" >> "$trs"
    echo "${mgn}ERROR${std}: $name (exit status $st without a FAIL line)"
fi
grep -q '^:test-result:' "$trs" || { global=ERROR; echo ":test-result: ERROR" >> "$trs";
    echo "${mgn}ERROR${std}: $name (no kut lines)"; }
echo "$global $name (exit status: $st)" >> "$log"
recheck=no; [ $global = PASS ] || [ $global = XFAIL ] || recheck=yes
gcopy=yes; [ $global = PASS ] && gcopy=no
{ echo ":global-test-result: $global"; echo ":recheck: $recheck"; echo ":copy-in-global-log: $gcopy"; } >> "$trs"
