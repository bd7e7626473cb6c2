#!/bin/sh
# session.sh qemu|bochs GUEST SCRIPT.gdb OUT [UMBRA_OPTS...]
#   Boot Umbra (paging=shadow gdb=com2 gdb_wait, then UMBRA_OPTS) with GUEST
#   in QEMU TCG (-cpu EPYC) or Bochs (ryzen), attach a real GDB to COM2 (a TCP
#   socket), run SCRIPT.gdb with `gdb -nx -batch` and write what GDB printed
#   to OUT (stdout and stderr) and COM1 to OUT.com1.  Re-runnable: each call
#   boots afresh.  The scripts of docs/notes/2026-12-03/dbg.md are next to
#   this file; run them from the build directory (umbra.elf, the guests).
# Environment: GDB_PRE (gdb commands before `target remote`, e.g. `set
#   architecture i386:x86-64`), GDB_FILE (symbol file, default GUEST; `none`
#   for none), GDB_DEBUG=1 (add `set debug remote 1`: packets in OUT),
#   GUEST_ARGS, GUEST_MODULES (as mkiso.sh), MEM (MiB, default 128),
#   TIMEOUT (s, default 300), UMBRA_ELF, SCRIPT2 (a second gdb session run
#   after the first ends, appended to OUT; GDB_PRE2 its commands before
#   `target remote`).  Exit: the last gdb's exit status.
set -u
[ $# -ge 4 ] || { echo "usage: $0 qemu|bochs GUEST SCRIPT.gdb OUT [UMBRA_OPTS...]" >&2; exit 2; }
emu=$1 guest=$(realpath "$2") script=$(realpath "$3") out=$(realpath "$4")
shift 4
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
export top_srcdir="$top" GUEST="$guest"
export UMBRA_ELF=${UMBRA_ELF:-$PWD/umbra.elf}
UMBRA_GDB_OPTS="paging=shadow gdb=com2 gdb_wait $*"
. "$top/test/e2e/gdb_svm_lib.sh"
MEM=${MEM:-128}
TIMEOUT=${TIMEOUT:-300}
work=$(mktemp -d "${TMPDIR:-/tmp}/umbra-transcript.XXXXXX")
epid=
cleanup() { [ -n "$epid" ] && kill -9 "$epid" 2>/dev/null; [ -n "${rpid:-}" ] && kill "$rpid" 2>/dev/null
           [ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
make_iso "$work/umbra.iso" || { echo "mkiso failed" >&2; exit 1; }
started=
for try in 1 2 3 4 5; do
    port=$(free_port)
    : >"$work/com1.out"
    if [ "$emu" = qemu ]; then
        timeout -s KILL "$TIMEOUT" "${QEMU:-qemu-system-x86_64}" -cpu EPYC -m "$MEM" -display none -no-reboot \
            -cdrom "$work/umbra.iso" -serial "file:$work/com1.out" \
            -serial "tcp:127.0.0.1:$port,server,nowait,nodelay=on" \
            -device isa-debug-exit,iobase=0xf4,iosize=0x04 2>"$work/emu.out" &
        epid=$!
        ready='umbra: gdb: waiting for GDB'; readyf=$work/com1.out
    else
        bochsrc "$work/bochsrc" umbra.iso "$port" com1.out bochs.log
        sed -i "s/^megs: .*/megs: $MEM/" "$work/bochsrc"
        echo c >"$work/cont.rc"
        : >"$work/emu.out"
        (cd "$work" && exec timeout -s KILL "$TIMEOUT" "${BOCHS:-bochs}" -q -f bochsrc -rc cont.rc \
            </dev/null >emu.out 2>&1) &
        epid=$!
        ready='waiting for client'; readyf=$work/emu.out
    fi
    i=0
    while [ $i -lt 600 ]; do
        grep -q "$ready" "$readyf" 2>/dev/null && { started=1; break; }
        kill -0 "$epid" 2>/dev/null || break
        sleep 0.05; i=$((i + 1))
    done
    [ -n "$started" ] && break
    kill -9 "$epid" 2>/dev/null; wait "$epid" 2>/dev/null; epid=
done
[ -n "$started" ] || { echo "the emulator did not open COM2" >&2; cat "$work/emu.out" >&2; exit 1; }
rpid= dpid=
if [ "$emu" = bochs ]; then
    dpid=$(bochs_pty_drain "$epid")     # else Bochs blocks on its own full pty (gdb_svm_lib.sh)
    # Bochs' COM2 socket server takes one client for its whole run: a relay
    # holds that connection and lets GDB sessions attach one after another.
    rport=$(free_port)
    python3 "$here/relay.py" "$port" "$rport" >"$work/relay.out" 2>&1 &
    rpid=$!
    i=0
    while [ $i -lt 100 ] && ! grep -q 'relay: listening' "$work/relay.out"; do sleep 0.05; i=$((i + 1)); done
    port=$rport
fi
file=${GDB_FILE:-$guest}
set -- -nx -batch
[ -n "${GDB_PRE:-}" ] && set -- "$@" -ex "$GDB_PRE"
[ "$file" != none ] && set -- "$@" -ex "file $file"
[ -n "${GDB_DEBUG:-}" ] && set -- "$@" -ex "set debug remote 1"
(cd "$top" && timeout -s KILL "$TIMEOUT" "$GDB" "$@" -ex "set remotetimeout 60" \
    -ex "target remote 127.0.0.1:$port" -ex "source $top/tools/gdb/umbra.py" -x "$script") >"$out" 2>&1
grc=$?
if [ -n "${SCRIPT2:-}" ]; then
    s2=$(realpath "$SCRIPT2")
    set -- -nx -batch
    [ -n "${GDB_PRE2:-}" ] && set -- "$@" -ex "$GDB_PRE2"
    [ "$file" != none ] && set -- "$@" -ex "file $file"
    echo "=== second gdb: ${GDB_PRE2:-} file $file; target remote" >>"$out"
    (cd "$top" && timeout -s KILL "$TIMEOUT" "$GDB" "$@" -ex "set remotetimeout 60" \
        -ex "target remote 127.0.0.1:$port" -ex "source $top/tools/gdb/umbra.py" -x "$s2") >>"$out" 2>&1
    grc=$?
fi
# Let the guest finish (the scripts end with continue or detach), then stop the emulator.
i=0
while [ $i -lt 100 ] && kill -0 "$epid" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
kill -9 "$epid" 2>/dev/null; wait "$epid" 2>/dev/null; epid=
tr -d '\r' <"$work/com1.out" >"$out.com1"
exit $grc
