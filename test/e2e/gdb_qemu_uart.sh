#!/bin/sh
# The stub freestanding over a real (emulated) 16550: QEMU boots
# test/e2e/gdb_uart_kernel (the stub + src/gdbstub/uart.c + the fake target,
# no hypervisor) with COM2 on a TCP socket, and the real GDB attaches to it.
# This is the hypervisor's configuration minus SVM.  Exit 0 pass, 1 fail
# (a missing QEMU or GDB is a failure, not a skip).
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
GDB=${GDB:-gdb}
QEMU=${QEMU:-qemu-system-x86_64}
kernel=$top_builddir/test/e2e/gdb_uart_kernel
srcdir_abs=$(cd "$top_srcdir" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/gdb_qemu_uart.XXXXXX")
qpid=
cleanup() { [ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- gdb:"; cat "$work/out" 2>/dev/null; echo "--- COM1:";
         cat "$work/com1.out" 2>/dev/null; echo "--- qemu:"; cat "$work/qemu.err" 2>/dev/null; exit 1; }

command -v "$GDB" >/dev/null 2>&1 || fail "gdb not found ($GDB)"
command -v "$QEMU" >/dev/null 2>&1 || fail "qemu not found ($QEMU)"
[ -f "$kernel" ] || fail "missing $kernel"

# QEMU listens on COM2 (server,nowait never blocks); retry if the port is taken.
started=
for try in 1 2 3 4 5; do
    port=$(( 20000 + ($$ * 7 + try * 131) % 30000 ))
    : >"$work/com1.out"
    timeout -s KILL 90 "$QEMU" -display none -m 32 -no-reboot -kernel "$kernel" \
        -serial "file:$work/com1.out" -serial "tcp:127.0.0.1:$port,server,nowait,nodelay=on" \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 2>"$work/qemu.err" &
    qpid=$!
    i=0
    while [ $i -lt 100 ]; do
        grep -q 'umbra: gdb: waiting on COM2' "$work/com1.out" && { started=1; break; }
        kill -0 $qpid 2>/dev/null || break
        sleep 0.05; i=$((i + 1))
    done
    [ -n "$started" ] && break
    kill -9 $qpid 2>/dev/null; wait $qpid 2>/dev/null; qpid=
done
[ -n "$started" ] || fail "QEMU did not start the test kernel"

(cd "$work" && ln -s "$srcdir_abs/tools" tools &&
 timeout -s KILL 60 "$GDB" -nx -batch -ex "set remotetimeout 10" \
    -ex "target remote 127.0.0.1:$port" -x "$srcdir_abs/test/e2e/gdb_qemu_uart.gdb") >"$work/out" 2>&1
grc=$?
wait $qpid
qrc=$?
qpid=
[ $grc -eq 0 ] || fail "gdb exit status $grc"
[ $qrc -eq 1 ] || fail "QEMU exit status $qrc (want 1: isa-debug-exit 0 after kill)"

expect() { grep -qF -- "$1" "$work/out" || fail "missing: $1"; }
expect 'eip=0x400000 cr3=0x1000'
expect '0x400000:	0xb8	0x00	0x00	0x00'
expect '0x402000:	0x12345678'
expect 'Thread 1 hit Breakpoint 1, 0x00400005 in ?? ()'
expect 'step eip=0x400006 eax=1'
expect 'at-hbp eip=0x40000c'
expect 'after-watch mem=2 eax=2'
expect 'Thread 1 received signal SIGINT, Interrupt.'
expect 'after-interrupt eip=0x4000'
expect 'Thread 2 (vCPU 1, PAE)'
expect 'L1  0x3000             4    0x8000000000014001 P NX'
expect 'g_2 -> g_3 [label="2", color=blue];'
expect 'shadows: 3'
expect 'umbra: graph: qemu_uart.png (6 nodes)'
expect '0x4017f0:	0xf3f2f1f0	0xf7f6f5f4	0xfbfaf9f8	0xfffefdfc'
expect '=== done'
grep -q 'umbra: gdb: killed' "$work/com1.out" || fail "the kernel did not see the kill"
[ -s "$work/qemu_uart.png" ] || fail "no PNG"
echo "PASS: gdb_qemu_uart ($(grep -c . "$work/out") lines of gdb output over the emulated 16550)"
exit 0
