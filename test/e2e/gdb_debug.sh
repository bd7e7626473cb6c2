#!/bin/sh
# make debug: boot Umbra (paging=shadow gdb=com2 gdb_wait) with GUEST.elf in
# QEMU (default) or Bochs (USE_BOCHS=1), COM2 on a local TCP port, COM1 on
# this terminal, and print the one gdb command that attaches.  Umbra waits for
# GDB before the guest's first instruction.
# Usage: gdb_debug.sh GUEST.elf   (environment: QEMU, BOCHS_BIN, USE_BOCHS,
#        UMBRA_GDB_OPTS, PORT, TIMEOUT seconds (default 3600))
#
# Terminal rules kept here (issue 17 item 1): the emulator stays in this
# shell's process group, which is the terminal's foreground group when make
# runs from a prompt.  `timeout` alone would move it into a group of its own;
# QEMU's `-serial stdio` then reads a terminal it does not own and is stopped
# by SIGTTIN (state T), and Ctrl-C never reaches it.  So: `timeout
# --foreground`, and Ctrl-C (SIGINT), a hang-up or the end of this script
# kill the emulator by its pid.  Under </dev/null nothing reads a terminal.
GUEST=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
. "$(dirname "$0")/gdb_svm_lib.sh"
QEMU=${QEMU:-qemu-system-x86_64}
TIMEOUT=${TIMEOUT:-3600}
iso=${top_builddir}/umbra-debug.iso
make_iso "$iso" || exit 1
port=${PORT:-$(free_port)}
echo "umbra debug: Umbra ($UMBRA_GDB_OPTS) + $GUEST"
echo "umbra debug: attach from another terminal with:"
echo
echo "  $GDB -ex 'file $GUEST' -ex 'set remotetimeout 30' -ex 'target remote 127.0.0.1:$port' -ex 'source $srcdir_abs/tools/gdb/umbra.py'"
echo
echo "umbra debug: the session ends when the guest exits, with 'kill' in gdb (ends the emulator),"
echo "umbra debug: or with Ctrl-C here; 'detach' in gdb lets the guest run on (attach again any time)."
epid=
work=
dpid=
# (epid is `timeout`: its child, the emulator, goes first, or it outlives it.)
end() { [ -n "$epid" ] && { pkill -KILL -P "$epid" 2>/dev/null; kill -9 "$epid" 2>/dev/null; }
        [ -n "$dpid" ] && kill "$dpid" 2>/dev/null; [ -n "${tpid:-}" ] && kill "$tpid" 2>/dev/null
        [ -n "$work" ] && rm -rf "$work"; }
trap 'end; exit 130' INT
trap 'end; exit 129' HUP
trap 'end; exit 143' TERM
trap 'end' EXIT
if [ "${USE_BOCHS:-}" = 1 ]; then
    BOCHS=${BOCHS_BIN:-bochs}
    work=$(mktemp -d "${TMPDIR:-/tmp}/umbra-debug.XXXXXX")
    bochsrc "$work/bochsrc" "$iso" "$port" "$work/com1.out" "$work/bochs.log"
    echo c >"$work/cont.rc"
    echo "umbra debug: Bochs waits for GDB to connect before it boots; COM1 follows."
    : >"$work/com1.out"
    tail -f "$work/com1.out" &
    tpid=$!
    # Bochs' debugger would take SIGINT as a break-in: it runs in the background
    # (SIGINT ignored, stdin /dev/null) and the INT trap kills it.
    timeout -s KILL "$TIMEOUT" "$BOCHS" -q -f "$work/bochsrc" -rc "$work/cont.rc" </dev/null >"$work/bochs.out" 2>&1 &
    epid=$!
    dpid=$(bochs_pty_drain "$epid")     # Bochs' own pty, read away (gdb_svm_lib.sh)
    wait "$epid"
    epid=
    sleep 0.2; kill $tpid 2>/dev/null
else
    # In the foreground group: Ctrl-C on the terminal reaches QEMU itself (its
    # stdio chardev keeps ISIG), and the trap above covers the rest.
    timeout --foreground -s KILL "$TIMEOUT" "$QEMU" -cpu EPYC -m 128 -display none -no-reboot -cdrom "$iso" \
        -serial stdio -serial "tcp:127.0.0.1:$port,server,nowait,nodelay=on" \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 2>/dev/null
fi
exit 0
