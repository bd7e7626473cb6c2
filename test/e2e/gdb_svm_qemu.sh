#!/bin/sh
# Real GDB debugs a PAE guest under Umbra in QEMU: Umbra (paging=shadow
# gdb=com2 gdb_wait) stops before the guest's first instruction and serves
# GDB on COM2 (a TCP socket, nodelay).  The session (gdb_svm.gdb) reads the
# i386 registers, stops at a hardware and a software breakpoint, single-steps,
# reads and writes memory by virtual address through the guest's PAE tables
# (VA 0x80000000 != its frame), runs to a watchpoint, interrupts the spinning
# guest with Ctrl-C, shows the guest and shadow walk of an address, draws the
# shadow graph and detaches; a second GDB attaches
# to the running guest, tears every shadow down (monitor blow) and lets it end.  Then the demo guest runs with the
# stub on and no debugger, and with no COM2 at all.  Exit 0 pass, 1 fail.
. "$(dirname "$0")/gdb_svm_lib.sh"
QEMU=${QEMU:-qemu-system-x86_64}
work=$(mktemp -d "${TMPDIR:-/tmp}/gdb_svm_qemu.XXXXXX")
qpid=
cleanup() { [ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null; [ -n "${KEEP:-}" ] && cp -r "$work" "$KEEP"; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- gdb:"; cat "$work/out" 2>/dev/null; echo "--- COM1:";
         tr -d '\r' < "$work/com1.out" 2>/dev/null; echo "--- qemu:"; cat "$work/qemu.err" 2>/dev/null; exit 1; }

command -v "$GDB" >/dev/null 2>&1 || fail "gdb not found ($GDB)"
command -v "$QEMU" >/dev/null 2>&1 || fail "qemu not found ($QEMU)"
for f in "$GUEST" "$UMBRA_ELF"; do [ -f "$f" ] || fail "missing $f (run make)"; done
make_iso "$work/umbra.iso" || fail "mkiso"

qemu_wait_gdb || fail "Umbra did not wait for GDB on COM2"

t0=$(date +%s)
(cd "$work" && ln -s "$srcdir_abs/tools" tools &&
 timeout -s KILL 90 "$GDB" -nx -batch -ex "set remotetimeout 30" -ex "symbol-file $GUEST" \
    -ex "target remote 127.0.0.1:$port" -x "$srcdir_abs/test/e2e/gdb_svm.gdb") >"$work/out" 2>&1
grc=$?
[ $grc -eq 0 ] || fail "gdb exit status $grc"
grep -q "=== detach" "$work/out" || fail "the first session did not reach its detach"
(cd "$work" && timeout -s KILL 60 "$GDB" -nx -batch -ex "set remotetimeout 30" -ex "symbol-file $GUEST" \
    -ex "target remote 127.0.0.1:$port" -x "$srcdir_abs/test/e2e/gdb_svm_attach.gdb") >>"$work/out" 2>&1
grc=$?
wait $qpid
qrc=$?
qpid=
t1=$(date +%s)
[ $grc -eq 0 ] || fail "gdb exit status $grc"
[ $qrc -eq 1 ] || fail "QEMU exit status $qrc (want 1: the guest's port 0xF4 status 0)"

entry=$(sym _start); mark=$(sym gdb_mark); tick=$(sym gdb_tick); pdpt_pa=$(sym pdpt)
dpa=$(sym data_page)
expect "start eip=$entry cr0=0x11 cr3=0x0"
expect "frame0-phys=0xbadf00d"
expect_re "^frame0-read=0x[0-9a-f]+$"
expect "cr0-refused: Could not write register \"cr0\"; remote failure reply 'E.write of cr0: cr0 0xffffffffffffffff: bits 63:32 must be zero (VMRUN check)'"
expect "cr4-refused: Could not write register \"cr4\"; remote failure reply 'E.write of cr4: cr4 0xffffffff00000000: bits 0xffffffff00000000 reserved"
expect "efer-refused: Could not write register \"efer\"; remote failure reply 'E.write of efer: efer: LME cannot change while paging is on (WRMSR raises GP(0))'"
expect "refusal 3: write of efer: efer: LME cannot change while paging is on (WRMSR raises GP(0))"
expect "after-refusals cr0=0x80000011 cr4=0x20 efer=0x0"
expect "at-hbreak eip=$mark mark=$mark"
expect "at-break eip=$tick tick=$tick cr0=0x80000011 cr3=$pdpt_pa"
expect_re "^after-stepi eip=0x[0-9a-f]+$"
expect_re "^step-offset=([1-9]|1[0-5])$"      # one instruction into gdb_tick
# The system registers (issue 17): the guest's DR7/DR0 while GDB's hbreak holds the hardware ones,
# the GDTR/IDTR the guest loaded, the descriptor-table registers read-only, DR7 checked.
expect_re "^sys dr0=0x0 dr7=0x400 gdtr=$(sym gdt)/0x17 idtr=$(sym idt)/0x107 ldtr=0x[0-9a-f]+ tr=0x[0-9a-f]+ tr_base=0x[0-9a-f]+ tr_limit=0x[0-9a-f]+\$"
expect "gdtr_base-refused: Could not write register \"gdtr_base\"; remote failure reply 'E.write of gdtr_base: gdtr_base is read-only (the guest's LGDT/LIDT/LLDT/LTR set it, with the segment state it caches)'"
expect "tr-refused: Could not write register \"tr\"; remote failure reply 'E.write of tr: tr is read-only"
expect "dr7-refused: Could not write register \"dr7\"; remote failure reply 'E.write of dr7: dr7 0x100000400: bits 63:32 must be zero (VMRUN check)'"
expect "dr7-refused: Could not write register \"dr7\"; remote failure reply 'E.write of dr7: dr7 0x800: reserved bits 0x800 must be zero'"
expect "dr1-after=0x100000 gdtr-after=$(sym gdt)"
expect "alias-read=0x1234abcd"
expect "data-page-pa=$dpa"
expect "phys-read=0x5a5a1234"
expect "Old value = 0"
expect "New value = 1"
expect "after-watch counter=1"
expect "New value = 2"
# The second call read DR7 while GDB's watchpoint was armed: intercepted, the guest's own value.
expect_re "^after-watch counter=2 guest-dr7=0x400$"
expect_re "^exits_dr7-read=[1-9]"
expect "received signal SIGINT"
expect_re "^after-interrupt eip=0x"
# monitor walk: the guest L1 entry and the shadow L1 entry both map the data page's frame.
dfr=$(printf '%x' $((dpa >> 12)))
expect_re "^L1 .*0x0*${dfr}[0-9a-f]{3} .*\| .*0x0*${dfr}[0-9a-f]{3} "
# monitor trace (issue 17 item 3): on from the first stop, the guest's paging
# setup and first accesses leave CR3 loads, shadows made and fixed faults.
tr=$(sed -n '/^=== trace/,/^=== end trace/p' "$work/out")
for k in cr3-miss shadow-made fault-fixed; do
    printf '%s\n' "$tr" | grep -qE "^ *[0-9]+ $k " || fail "monitor trace dump shows no $k event"
done
printf '%s\n' "$tr" | grep -qE '^trace on: [1-9][0-9]* events recorded, ring 1024' || fail "monitor trace dump: no header"
expect_re "^trace off, ring 1024 events, [1-9][0-9]* recorded$"
# vmmap: the alias VA 0x80000000 and every other VA of the data page's frame (issue 17 item 2)
expect_re "^0x80000000-0x80001000 +4K rw. s . 4K (shadowed|rw-held|unshadowed) +gpa $dpa\$"
[ "$(sed -n '/^=== vmmap/,/^=== end vmmap/p' "$work/out" | grep -c "gpa $dpa\$")" -ge 3 ] ||
    fail "vmmap does not show the data page's frame in the full map, -frame and the range"
expect_re "^vmmap: [0-9]+ ranges, [0-9]+ leaves, [0-9]+ KiB$"
expect "umbra: graph: svm.png"
expect_re "^exits_intr=[1-9]"
expect_re "^exits_(exception-3|swint)=[1-9]"   # int3: #BP on hardware and Bochs, INT n in QEMU TCG
expect "audit: 0 errors"
# monitor stats by group, non-zero by default, then -d, then a refused flag (issue 17 item 11)
expect_re "^\\[faults\\]$"
expect_re "^\\[exits\\]$"
expect_re "^stats: [0-9]+ of [0-9]+ counters shown \\(non-zero; -a all, -d changed\\)$"
expect_re "^stats: [0-9]+ of [0-9]+ counters shown \\(changed since the last stats\\)$"
expect "usage: stats [-a | -d]"
[ "$(sed -n '/^\[faults\]$/,/^stats: /p' "$work/out" | grep -cE '^[a-z_0-9-]+=0$')" -eq 0 ] ||
    fail "monitor stats showed a zero counter by default"
expect_re "^attach-eip=0x[0-9a-f]+ cr0=0x80000011$"
[ "$(grep -c 'audit: 0 errors' "$work/out")" -eq 3 ] || fail "the audits after the reattach (before and after monitor blow) did not pass"
# monitor blow says what monitor shadows and monitor pool list next (issue 17 item 9).
kept=$(sed -n 's/^blow: [0-9]* of [0-9]* shadows torn down; \([0-9]*\) kept .*/\1/p' "$work/out")
[ -n "$kept" ] || fail "monitor blow did not answer"
[ "$(sed -n 's/^shadows: //p' "$work/out" | tail -n 1)" = "$kept" ] || fail "blow kept $kept, shadows lists another count"
[ "$(sed -n 's/^pool total [0-9]* free [0-9]* shadows \([0-9]*\) .*/\1/p' "$work/out" | tail -n 1)" = "$kept" ] ||
    fail "blow kept $kept, pool counts another"
expect_com1 "umbra: gdb: GDB detached, guest running"
expect_re "exited (normally|with code 00)"
expect "=== done"
expect_com1 "gdbguest: mailbox 0x600df00d seen"
expect_com1 "umbra: exit reason=port-f4 status=0"
# The graph: the guest's top level and its shadow.  Under PAE the shadowed
# top level is each PD the guest's PDPT points to (the PDPT itself is loaded
# into the vCPU's own shadow PDPT): pd0 must be a guest node, linked to an
# in-use l2_pae shadow node.
[ -s "$work/svm.png" ] || fail "no PNG"
g0=g_$(printf '%x' $(( $(sym pd0) >> 12 )))
grep -q "^ *$g0 \[label=\"guest gfn" "$work/svm.dot" || fail "guest top-level pd0 ($g0) not in the DOT text"
s0=$(sed -n "s/^ *$g0 -> \(s_[0-9a-f]*\) .*/\1/p" "$work/svm.dot" | head -n 1)
[ -n "$s0" ] || fail "pd0 has no shadow edge in the DOT text"
grep -qE "^ *$s0 \[label=\"smfn [^\"]*l2_pae[^\"]*in-use" "$work/svm.dot" || fail "pd0's shadow $s0 is not an in-use l2_pae node"
# ... labelled with the VA range it maps (PDPT entry 0: the first GiB), and a legend (issue 17 item 11)
grep -qE "^ *$s0 \[label=\"smfn [^\"]*in-use\\\\nva 0x0-0x3fffffff\"" "$work/svm.dot" || fail "pd0's shadow $s0 has no VA label"
grep -q "subgraph cluster_legend" "$work/svm.dot" || fail "no legend in the graph"
# No debugger: the PAE demo guest runs to the end with the stub on (INTR
# intercepted, interrupt windows), and without a COM2 the stub stays off.
demo=$top_builddir/test/guests/demo/demo.elf
out=$(QEMU_ARGS="-serial null" TIMEOUT=60 sh "$srcdir_abs/test/e2e/run-guest.sh" qemu umbra "$demo" gdb=com2)
rc=$?
[ $rc -eq 1 ] || fail "demo with gdb=com2 and no debugger: exit status $rc"
printf '%s\n' "$out" | grep -q '^not ok' && fail "demo with gdb=com2: a test failed"
printf '%s\n' "$out" | grep -q '^ok 10 ' || fail "demo with gdb=com2: no ok 10"
printf '%s\n' "$out" | grep -qE '^umbra: gdb: 0 packets, 0 stops, 0 Ctrl-C, [1-9][0-9]* interrupt windows' ||
    fail "demo with gdb=com2: no interrupt window"
out=$(TIMEOUT=60 sh "$srcdir_abs/test/e2e/run-guest.sh" qemu umbra "$demo" gdb=com2)
rc=$?
[ $rc -eq 1 ] || fail "demo with gdb=com2 and no COM2: exit status $rc"
printf '%s\n' "$out" | grep -q '^umbra: gdb: no UART at COM2' || fail "no COM2 not reported"
pk=$(grep -c . "$work/out")
echo "PASS: gdb_svm_qemu ($pk lines of gdb output, session $((t1 - t0)) s)"
grep -E '^umbra: (gdb|exits):' "$work/com1.out" | tr -d '\r'
exit 0
