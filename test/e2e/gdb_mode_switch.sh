#!/bin/sh
# A guest that changes mode, followed from attach to end (issue 17 item 6;
# src/gdbstub/README.md "Guests that change mode"): test/guests/long.elf
# starts in 32-bit protected mode and enters long mode.  GDB attaches with
# the i386 layout; when the guest enters long mode Umbra stops it and says
# what to type; GDB disconnects, sets i386:x86-64 and attaches again: rip,
# 64-bit disassembly, EFER with LMA; then the suite runs to its end.  QEMU.
# Exit 0 pass, 1 fail.  About 15 s.
. "$(dirname "$0")/gdb_svm_lib.sh"
GUEST=$top_builddir/test/guests/long.elf
QEMU=${QEMU:-qemu-system-x86_64}
work=$(mktemp -d "${TMPDIR:-/tmp}/gdb_mode_switch.XXXXXX")
qpid=
cleanup() { [ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null; [ -n "${KEEP:-}" ] && cp -r "$work" "$KEEP"; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- gdb:"; cat "$work/out" 2>/dev/null; echo "--- COM1:";
         tr -d '\r' < "$work/com1.out" 2>/dev/null | tail -20; exit 1; }
for f in "$GUEST" "$UMBRA_ELF"; do [ -f "$f" ] || fail "missing $f (run make)"; done
make_iso "$work/umbra.iso" || fail "mkiso"
started=
for try in 1 2 3; do
    port=$(free_port)
    : >"$work/com1.out"
    timeout -s KILL 120 "$QEMU" -cpu EPYC -m 128 -display none -no-reboot -cdrom "$work/umbra.iso" \
        -serial "file:$work/com1.out" -serial "tcp:127.0.0.1:$port,server,nowait,nodelay=on" \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 2>/dev/null &
    qpid=$!
    i=0
    while [ $i -lt 300 ]; do
        grep -q 'umbra: gdb: waiting for GDB' "$work/com1.out" && { started=1; break; }
        kill -0 $qpid 2>/dev/null || break
        sleep 0.05; i=$((i + 1))
    done
    [ -n "$started" ] && break
    kill -9 $qpid 2>/dev/null; wait $qpid 2>/dev/null; qpid=
done
[ -n "$started" ] || fail "Umbra did not wait for GDB on COM2"
cat >"$work/s1.gdb" <<'EOG'
set pagination off
set confirm off
set width 0
show architecture
printf "attach eip=0x%x\n", $eip
continue
printf "switch-stop eip=0x%x efer=0x%x\n", $eip, $efer
disconnect
EOG
cat >"$work/s2.gdb" <<'EOG'
set pagination off
set confirm off
set width 0
show architecture
printf "long rip=0x%lx\n", $rip
p $efer
p $cr0
p $eflags
x/3i $pc
stepi
printf "after-stepi rip=0x%lx\n", $rip
x/4i $pc
continue
echo === done\n
EOG
timeout -s KILL 60 "$GDB" -nx -batch -ex "set remotetimeout 30" -ex "file $GUEST" \
    -ex "target remote 127.0.0.1:$port" -x "$work/s1.gdb" >"$work/out" 2>&1
grc=$?
[ $grc -eq 0 ] || fail "gdb exit status $grc (first session)"
# What the notice says to type: a new GDB that sets the architecture before the ELF32 file.
timeout -s KILL 60 "$GDB" -nx -batch -ex "set remotetimeout 30" -ex "set architecture i386:x86-64" \
    -ex "file $GUEST" -ex "target remote 127.0.0.1:$port" -x "$work/s2.gdb" >>"$work/out" 2>&1
grc=$?
wait $qpid
qrc=$?
qpid=
[ $grc -eq 0 ] || fail "gdb exit status $grc"
[ $qrc -eq 1 ] || fail "QEMU exit status $qrc (want 1: the suite's status 0)"
expect 'currently "i386"'
expect "attach eip=$(sym _start)"
expect "umbra: the guest entered long mode; this GDB keeps the i386 layout (eip, 32-bit disassembly). To follow it: disconnect, then start gdb -ex 'set architecture i386:x86-64' -ex 'file GUEST' -ex 'target remote ...'"
expect_re "^switch-stop eip=0x[0-9a-f]+ efer=0x5..$"
expect 'The target architecture is set to "i386:x86-64".'
expect_re "^long rip=0x[0-9a-f]+$"
expect_re '^\$1 = \[ (SCE )?LME LMA'
expect_re '^\$2 = \[ PE .*PG \]$'
expect_re '^\$3 = \[ .*\]$'
expect "after-stepi rip=$(sym long_entry)"
expect_re "^=> $(sym long_entry) <long_entry>:[[:space:]]+mov +\\\$0x10,%ax$"
expect_re "exited (normally|with code 00)"
expect "=== done"
tr -d '\r' < "$work/com1.out" | grep -q '^not ok' && fail "a long-mode test failed under GDB"
expect_com1 "umbra: exit reason=port-f4 status=0"
echo "PASS: gdb_mode_switch"
sed -n '/^switch-stop/,/^after-stepi/p' "$work/out"
exit 0
