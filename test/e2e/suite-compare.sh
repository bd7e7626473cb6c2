#!/bin/sh
# suite-compare.sh SUITE EMU [UMBRA_OPTS...]
#   Run SUITE bare and under Umbra in EMU and compare the TAP result lines.
#   Prints the two runs' summary lines (suite-run.sh), then
#   "guests: SUITE EMU: bare and umbra agree" (exit 0 if both runs also
#   passed every case, else 1) or
#   "guests: SUITE EMU: differ: bare: <line> | umbra: <line>" (exit 1).
#   A "# SKIP emulator bug" directive is dropped before comparing: such a case
#   is skipped only where the bare emulator breaks the AMD manual, and under
#   Umbra (whose walker produces the architectural result) it must pass.
set -u
[ $# -ge 2 ] || { echo "usage: $0 SUITE EMU [UMBRA_OPTS...]" >&2; exit 2; }
suite=$1 emu=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
: "${top_builddir:=$(pwd)}"
export top_builddir
sh "$here/suite-run.sh" "$suite" "$emu" bare
brc=$?
sh "$here/suite-run.sh" "$suite" "$emu" umbra "$@"
urc=$?
logdir=${GUEST_LOGDIR:-$top_builddir/test/guests}
norm() {
    tr -d '\r' <"$1" | grep -E '^(ok|not ok) [0-9]+|^1\.\.[0-9]+$' |
        sed 's/ # SKIP emulator bug.*$//'
}
b=$logdir/$suite-$emu-bare.log
u=$logdir/$suite-$emu-umbra.log
norm "$b" >"$b.tap"
norm "$u" >"$u.tap"
if cmp -s "$b.tap" "$u.tap" && [ -s "$b.tap" ]; then
    echo "guests: $suite $emu: bare and umbra agree"
    # Agreeing on failures is no pass: both runs must also be clean.
    [ $brc -eq 0 ] && [ $urc -eq 0 ] && exit 0
    echo "guests: $suite $emu: but not every case passed (bare rc=$brc, umbra rc=$urc)"
    exit 1
fi
d=$(diff "$b.tap" "$u.tap")
bl=$(printf '%s\n' "$d" | sed -n 's/^< //p' | head -n 1)
ul=$(printf '%s\n' "$d" | sed -n 's/^> //p' | head -n 1)
echo "guests: $suite $emu: differ: bare: ${bl:-(none)} | umbra: ${ul:-(none)}"
exit 1
