#!/bin/sh
# make debug: boot Umbra (paging=shadow gdb=com2 gdb_wait) with GUEST.elf in
# QEMU (default) or Bochs (USE_BOCHS=1), COM2 on a local TCP port, COM1 on
# this terminal, and print the one gdb command that attaches.  Umbra waits for
# GDB before the guest's first instruction.  Ctrl-C here ends the emulator.
# Usage: gdb_debug.sh GUEST.elf   (environment: QEMU, BOCHS_BIN, USE_BOCHS,
#        UMBRA_GDB_OPTS, PORT, TIMEOUT seconds (default 3600))
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
echo "  gdb -ex 'symbol-file $GUEST' -ex 'target remote 127.0.0.1:$port' -ex 'source $srcdir_abs/tools/gdb/umbra.py'"
echo
if [ "${USE_BOCHS:-}" = 1 ]; then
    BOCHS=${BOCHS_BIN:-bochs}
    work=$(mktemp -d "${TMPDIR:-/tmp}/umbra-debug.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    bochsrc "$work/bochsrc" "$iso" "$port" "$work/com1.out" "$work/bochs.log"
    echo c >"$work/cont.rc"
    echo "umbra debug: Bochs waits for GDB to connect before it boots; COM1 follows."
    : >"$work/com1.out"
    tail -f "$work/com1.out" &
    tpid=$!
    timeout -s KILL "$TIMEOUT" "$BOCHS" -q -f "$work/bochsrc" -rc "$work/cont.rc" </dev/null >"$work/bochs.out" 2>&1
    sleep 0.2; kill $tpid 2>/dev/null
else
    timeout -s KILL "$TIMEOUT" "$QEMU" -cpu EPYC -m 128 -display none -no-reboot -cdrom "$iso" \
        -serial stdio -serial "tcp:127.0.0.1:$port,server,nowait,nodelay=on" \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 2>/dev/null
fi
exit 0
