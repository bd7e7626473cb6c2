#!/bin/sh
# timing.sh qemu|bochs GUEST LABEL [UMBRA_OPTS...]: item 4's figures for
# x/1024x, a 64 KiB dump binary memory and stepi 10 (then x/1024x again,
# after the stop): one run with `set debug remote 1` for the packet counts,
# one without for the wall times.  UMBRA_CACHE=MODE [LINE] runs `umbra cache
# MODE [LINE]` first (off: GDB's own behaviour, one packet per value).  Prints one line per figure.
set -u
emu=$1 guest=$2 label=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/umbra-timing.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
{ [ -n "${UMBRA_CACHE:-}" ] && echo "umbra cache $UMBRA_CACHE"; cat "$here/timing.gdb"; } >"$tmp/t.gdb"
GDB_DEBUG=1 sh "$here/session.sh" "$emu" "$guest" "$tmp/t.gdb" "$tmp/dbg" "$@"
sh "$here/session.sh" "$emu" "$guest" "$tmp/t.gdb" "$tmp/plain" "$@"
for op in x/1024x dump64k stepi10 x/1024x-after-stepi; do
    pk=$(awk -v b="=== begin $op" -v e="=== end $op:" '$0 == b { on = 1; next } index($0, e) == 1 { on = 0 }
        on && /Sending packet: \$/ { n++; sub(/.*Sending packet: \$/, ""); k[substr($0, 1, 1)]++ }
        END { s = ""; for (c in k) s = s " " c ":" k[c]; print n + 0 " packets (" substr(s, 2) ")" }' "$tmp/dbg")
    t=$(sed -n "s|^=== end $op: ||p" "$tmp/plain")
    echo "$label $emu $op: $pk, $t"
done
grep '^dump size' "$tmp/plain"
