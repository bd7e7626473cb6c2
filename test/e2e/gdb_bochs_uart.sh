#!/bin/sh
# The stub freestanding over Bochs' 16550: GRUB boots test/e2e/gdb_uart_kernel
# (stub + src/gdbstub/uart.c + fake target, no hypervisor) in Bochs with COM2
# as a socket server, and the real GDB attaches (the same GDB script as the
# QEMU run).  Run by `make check-bochs`.  Exit 0 pass, 1 fail.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
GDB=${GDB:-gdb}
BOCHS=${BOCHS:-bochs}
MKRESCUE=${GRUB_MKRESCUE:-grub-mkrescue}
kernel=$top_builddir/test/e2e/gdb_uart_kernel
srcdir_abs=$(cd "$top_srcdir" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/gdb_bochs_uart.XXXXXX")
bpid=
cleanup() { [ -n "$bpid" ] && kill -9 "$bpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- gdb:"; cat "$work/out" 2>/dev/null; echo "--- COM1:";
         cat "$work/com1.out" 2>/dev/null; echo "--- bochs:"; tail -20 "$work/bochs.out" 2>/dev/null; exit 1; }

for t in "$GDB" "$BOCHS" "$MKRESCUE"; do
    command -v "$t" >/dev/null 2>&1 || fail "$t not found"
done
[ -f "$kernel" ] || fail "missing $kernel"

mkdir -p "$work/iso/boot/grub"
cp "$kernel" "$work/iso/boot/kernel"
cat >"$work/iso/boot/grub/grub.cfg" <<'EOG'
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
menuentry "umbra gdb uart test" {
  multiboot /boot/kernel
  boot
}
EOG
"$MKRESCUE" -o "$work/k.iso" "$work/iso" >"$work/mkrescue.log" 2>&1 || fail "grub-mkrescue: $(tail -3 "$work/mkrescue.log")"

# A free port: Bochs blocks at start until GDB connects to it.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/bochsrc" <<EOB
megs: 32
cpu: model=ryzen, count=1, ips=50000000, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=k.iso, status=inserted
boot: cdrom
display_library: term
com1: enabled=1, mode=file, dev=com1.out
com2: enabled=1, mode=socket-server, dev=localhost:$port
clock: sync=none, time0=local
log: bochs.log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
EOB
echo c >"$work/cont.rc"
(cd "$work" && exec timeout -s KILL 120 "$BOCHS" -f bochsrc -rc cont.rc </dev/null >bochs.out 2>&1) &
bpid=$!
i=0
until grep -q 'waiting for client' "$work/bochs.out" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 200 ] || fail "Bochs did not open COM2"; sleep 0.05
done

(cd "$work" && ln -s "$srcdir_abs/tools" tools &&
 timeout -s KILL 90 "$GDB" -nx -batch -ex "set remotetimeout 30" \
    -ex "target remote 127.0.0.1:$port" -x "$srcdir_abs/test/e2e/gdb_qemu_uart.gdb") >"$work/out" 2>&1
grc=$?
wait $bpid            # Bochs' exit status is always 1: judge by the output
bpid=
[ $grc -eq 0 ] || fail "gdb exit status $grc"

expect() { grep -qF -- "$1" "$work/out" || fail "missing: $1"; }
expect 'eip=0x400000 cr3=0x1000'
expect '0x402000:	0x12345678'
expect 'Thread 1 hit Breakpoint 1, 0x00400005 in ?? ()'
expect 'step eip=0x400006 eax=1'
expect 'at-hbp eip=0x40000c'
expect 'after-watch mem=2 eax=2'
expect 'Thread 1 received signal SIGINT, Interrupt.'
expect 'Thread 2 (vCPU 1, PAE)'
expect 'L1  0x3000             4    0x8000000000014001 P NX'
expect 'umbra: graph: qemu_uart.png (6 nodes)'
expect '0x4017f0:	0xf3f2f1f0	0xf7f6f5f4	0xfbfaf9f8	0xfffefdfc'
expect '=== done'
grep -q 'umbra: gdb: killed' "$work/com1.out" || fail "the kernel did not see the kill"
echo "PASS: gdb_bochs_uart ($(grep -c . "$work/out") lines of gdb output over Bochs' 16550)"
exit 0
