#!/bin/sh
# timing.sh qemu|bochs GUEST LABEL [UMBRA_OPTS...]: item 4's figures for
# x/1024x, a 64 KiB dump binary memory and stepi 10 (then x/1024x again,
# after the stop): one run with `set debug remote 1` for the packet counts,
# one without for the wall times.  UMBRA_CACHE=MODE [LINE] runs `umbra cache
# MODE [LINE]` first (off: GDB's own behaviour, one packet per value).  Prints one line per figure:
# packets sent by GDB (by first letter), the bytes on the line each way (payload + $, #, checksum;
# GDB's debug log shows binary and repeated bytes escaped, so "in" is close, not exact), wall time.
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
        on && /Sending packet: \$/ { n++; l = $0; sub(/.*Sending packet: \$/, "", l); k[substr(l, 1, 1)]++
                                     out += length(l) + 1 }
        on && /Packet received: / { l = $0; sub(/.*Packet received: /, "", l); extra = 0
                                    if (match(l, /\[[0-9]+ bytes omitted\]$/)) {
                                        extra = substr(l, RSTART + 1) + 0; l = substr(l, 1, RSTART - 1) }
                                    in_ += length(l) + extra + 4 }
        END { s = ""; for (c in k) s = s " " c ":" k[c];
              printf "%d packets (%s), bytes out %d in %d\n", n, substr(s, 2), out, in_ }' "$tmp/dbg")
    t=$(sed -n "s|^=== end $op: ||p" "$tmp/plain")
    echo "$label $emu $op: $pk, $t"
done
grep '^dump size' "$tmp/plain"
