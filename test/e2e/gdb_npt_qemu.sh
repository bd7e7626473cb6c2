#!/bin/sh
# Real GDB reads guest-virtual memory under paging=npt (issue 16): Umbra
# (paging=npt gdb=com2 gdb_wait) in QEMU, the GDB test guest stopped at a
# hardware breakpoint after it turned PAE paging on; VA 0x80000000 (its alias
# of the data page, value 0x1234abcd) and the code at gdb_tick must read as
# the guest sees them, through npt's paging_ops.read_guest (src/svm/npt_walk.c);
# then GDB writes by virtual address through paging_ops.write_guest: a software
# breakpoint at gdb_tick (an int3 planted by a memory write) must be hit, a
# variable and the mailbox (through the alias) written, an unmapped VA refused;
# the guest then ends.  Before the read hook a virtual read under npt with
# paging on was refused (EIO); before the write hook every virtual write was
# (no software breakpoints under npt).
# About 5 s.  Exit 0 pass, 1 fail.
UMBRA_GDB_OPTS="paging=npt gdb=com2 gdb_wait"
. "$(dirname "$0")/gdb_svm_lib.sh"
QEMU=${QEMU:-qemu-system-x86_64}
work=$(mktemp -d "${TMPDIR:-/tmp}/gdb_npt_qemu.XXXXXX")
qpid=
cleanup() { [ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- gdb:"; cat "$work/out" 2>/dev/null; echo "--- COM1:";
         tr -d '\r' < "$work/com1.out" 2>/dev/null; exit 1; }

command -v "$GDB" >/dev/null 2>&1 || fail "gdb not found ($GDB)"
command -v "$QEMU" >/dev/null 2>&1 || fail "qemu not found ($QEMU)"
for f in "$GUEST" "$UMBRA_ELF"; do [ -f "$f" ] || fail "missing $f (run make)"; done
make_iso "$work/umbra.iso" || fail "mkiso"

qemu_wait_gdb || fail "Umbra did not wait for GDB on COM2"

timeout -s KILL 90 "$GDB" -nx -batch -ex "set remotetimeout 30" -ex "symbol-file $GUEST" \
    -ex "target remote 127.0.0.1:$port" -x "$srcdir_abs/test/e2e/gdb_npt.gdb" >"$work/out" 2>&1
grc=$?
wait $qpid
qrc=$?
qpid=
[ $grc -eq 0 ] || fail "gdb exit status $grc"
[ $qrc -eq 1 ] || fail "QEMU exit status $qrc (want 1: the guest's port 0xF4 status 0)"
grep -q "paging=npt" "$work/com1.out" || fail "not run under paging=npt"
tick=$(sym gdb_tick)
expect "at-hbreak eip=$tick tick=$tick cr0=0x80000011"
expect "alias-read=0x1234abcd"
expect_re "^data-page-pa=0x[1-9a-f][0-9a-f]*$"
dpv=$(sed -n 's/^data-page-pa=//p' "$work/out")
[ "$dpv" != 0x80000000 ] || fail "the alias VA is its own frame: the test would prove nothing"
expect "phys-read=0x1234abcd"
# gdb_tick's first byte, read by virtual address, is the ELF's (objdump of the guest).
want=$(objdump -d --start-address="$tick" --stop-address=$((tick + 1)) "$GUEST" |
       awk -F'\t' '/^ *[0-9a-f]+:/ { split($2, b, " "); print "0x" b[1]; exit }')
[ -n "$want" ] && expect "tick-insn=$(printf '0x%x' "$want")"
expect "at-swbreak eip=$tick"
expect "counter-after=0x7777"
expect "unmapped-write-refused: Cannot access memory at address 0xc0000000"
expect "mailbox-virt=0x600df00d"
expect "mailbox-phys=0x600df00d"
expect "=== continue"
grep -q "gdbguest: mailbox" "$work/com1.out" || fail "the guest did not see its mailbox"
echo "ok: gdb reads and writes guest-virtual memory under paging=npt (alias 0x80000000 = 0x1234abcd, the code at gdb_tick, a software breakpoint, the mailbox through the alias; 0xc0000000 refused)"
