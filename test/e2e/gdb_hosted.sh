#!/bin/sh
# The real GDB (`gdb -batch`) attached over TCP to the real stub serving the
# fake target (test/unit/test_gdb_server): i386 registers from the target
# description, memory by VA, software/hardware breakpoints, single-step,
# a write watchpoint, monitor commands and tools/gdb/umbra.py.
# Exit 0 pass, 1 fail (a missing gdb is a failure).
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
GDB=${GDB:-gdb}
server=$top_builddir/test/unit/test_gdb_server
work=$(mktemp -d "${TMPDIR:-/tmp}/gdb_hosted.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; echo "--- gdb output:"; cat "$work/out" 2>/dev/null; echo "--- server:"; cat "$work/server.err" 2>/dev/null; exit 1; }

command -v "$GDB" >/dev/null 2>&1 || fail "gdb not found ($GDB)"
[ -x "$server" ] || fail "missing $server"

run_session() {   # $1 = server flags, $2 = gdb script, $3 = a gdb setting before connecting
    rm -f "$work/port"
    timeout -s KILL 60 "$server" $1 "$work/port" 2>"$work/server.err" &
    spid=$!
    i=0
    while [ ! -s "$work/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    [ -s "$work/port" ] || fail "server did not start"
    port=$(cat "$work/port")
    (cd "$work" && rm -f tools && ln -s "$top_srcdir/tools" tools
     timeout -s KILL 60 "$GDB" -nx -batch -ex "set remotetimeout 5" -ex "${3:-echo}" \
        -ex "target remote 127.0.0.1:$port" -x "$2") >"$work/out" 2>&1
    grc=$?
    wait $spid
    src=$?
    [ $grc -eq 0 ] || fail "gdb exit status $grc"
    [ $src -eq 0 ] || fail "server exit status $src"
}

expect() {   # $1 = fixed string that must appear in the gdb output
    grep -qF -- "$1" "$work/out" || fail "missing: $1"
}
expect_re() {   # $1 = extended regex a line of the gdb output must match
    grep -qE -- "$1" "$work/out" || fail "no line matches /$1/"
}

# --- session 1: a PAE guest, i386 layout -------------------------------------
run_session "" "$(cd "$top_srcdir" && pwd)/test/e2e/gdb_hosted.gdb"
expect 'The target architecture is set to "auto" (currently "i386")'
expect 'eip=0x400000 esp=0x402ff0 cr3=0x1000 efer=0x800'
expect '0x400000:	0xb8	0x00	0x00	0x00'
expect '0x401000:	0x03020100	0x07060504'
expect '0x402000:	0x12345678'
expect 'at-bp eip=0x400005 eax=0'
expect 'step1 eip=0x400006 eax=1'
expect 'step2 eip=0x400007 ebx=1'
expect 'bp-again eip=0x400005 eax=1'
expect 'Thread 1 hit Breakpoint 2, 0x00400006 in ?? ()'
expect 'adj1 eip=0x400006'
expect 'Thread 1 hit Breakpoint 3, 0x00400007 in ?? ()'
expect 'adj2 eip=0x400007'
expect 'at-hbp eip=0x40000c'
expect 'Hardware watchpoint 5: *(int *)0x401000'
expect 'after-watch eip=0x40000c mem=3 eax=3'
expect 'eax-now=1000'
expect 'Thread 1 received signal SIGINT, Interrupt.'
expect 'after-interrupt eip=0x4000'
expect 'Thread 2'
expect 'vCPU 1, PAE'
expect 'walk     VA                 guest walk and shadow walk of VA side by side'
expect 'L1  0x3000             1    0x11003            P RW'
expect 'guest:  0x401000 -> gpa 0x11000'
expect "umbra: monitor: unknown command 'bogus'"
expect 'walk 0x401004 cpu '
expect 'guest:  0x401004 -> gpa 0x11004'
expect 'smfn 0x80       gfn 0x1        type l3_pae   level 3 ref 1    pinned in-use'
expect 'shadows: 3'
expect 'insns='
expect 'stats: 5 of 5 counters shown (all)'
expect 'pool total 64 free 61 shadows 3 pinned 1'
expect 'audit: 0 errors'
expect 'umbra: graph: gdb_hosted.png (6 nodes)'
expect '[  4] shadow 0x8000000000014021 P A NX'
expect 'gdb layout i386 (override auto), memory virtual'
expect 'gdb layout i386 (override auto), memory virtual'
# every monitor command has an umbra wrapper; numbers are GDB expressions (issue 17 item 8)
# registers as flags (issue 17 item 4); the fake's eflags is 0x2 plus what the toy program set
expect_re '^\$[0-9]+ = \[ .*IOPL=0.* \]$'
expect_re '^\$[0-9]+ = \[ PE ET PG \]$'
expect_re '^\$[0-9]+ = 0x80000011$'
expect_re '^\$[0-9]+ = \[ PAE \]$'
expect_re '^\$[0-9]+ = \[ NXE \]$'
expect_re '^cr0 +0x80000011 +\[ PE ET PG \]$'
# the guest's debug and descriptor-table registers (the fake's values), dr7 with its flags
expect_re '^dr7 +0x401 +\[ L0 RW0=0 LEN0=0 RW1=0 LEN1=0 RW2=0 LEN2=0 RW3=0 LEN3=0 \]$'
expect_re '^gdtr_base +0x9000 *$'
expect_re '^idtr_limit +0x7ff *$'
expect_re '^tr_base +0x9400 *$'
expect_re '^efer +0x800 +\[ NXE \]$'
expect_re '^fs_base +0x0 *$'
pc=$(sed -n 's/^after-interrupt eip=\(0x[0-9a-f]*\)$/\1/p' "$work/out")
expect "walk $pc cpu "
expect 'entries: 4 shown of 512 (4 present, 4 non-empty)'
expect 'nothing refused since Umbra started'
expect 'memory access physical'
expect 'memory access virtual'
expect 'arch override auto'
expect 'umbra: dot: gdb_hosted_dot.txt'
expect 'why                         the last request refused'
expect 'umbra: monitor: usage: walk VA (VA: a number: 0x-prefixed hex or decimal; for a GDB expression ($pc, &var) use `umbra walk $pc`)'
expect 'walk 0x401000 cpu '
expect 'blow: 3 of 3 shadows torn down; 0 kept'
expect 'shadows: 0'
# umbra cache (issue 17 item 4): by default x reads through GDB's dcache (one
# 4 KiB line: one `m` for x/8xw), with it off one `m` per value; the region
# exists only while x runs; malformed forms are refused with the usage.
expect 'umbra cache: x (cached while an x command runs), line 4096 bytes'
mcount() { awk -v b="=== $1-begin" -v e="=== $1-end" '$0 == b { on = 1 } $0 == e { on = 0 }
    on && /Sending packet: \$m/ { n++ } END { print n + 0 }' "$work/out"; }
[ "$(mcount cache-x)" -eq 1 ] || fail "x/8xw with umbra cache x: $(mcount cache-x) m packets, want 1"
[ "$(mcount cache-off)" -eq 8 ] || fail "x/8xw with umbra cache off: $(mcount cache-off) m packets, want 8"
grep -A3 '^=== cache-x-end' "$work/out" | grep -q 'There are no memory regions defined' ||
    fail "the cache region outlived the x command"
expect 'umbra cache: off, line 4096 bytes'
expect 'umbra cache: on (always), line 64 bytes (mem region'
expect_re '^[0-9]+ +y +.*0x0+ .*rw cache'
expect 'umbra cache: x (cached while an x command runs), line 64 bytes'
usage='usage: umbra cache [x | on | off] [LINE] (LINE: a power of two from 64 to 4096 bytes)'
expect "$usage"
for l in 100 8192 32 0x; do expect "umbra cache: bad LINE '$l'; $usage"; done
[ "$(grep -cF -- "$usage" "$work/out")" -eq 7 ] || fail "want 7 refusals of umbra cache, got $(grep -cF -- "$usage" "$work/out")"
grep -q '^digraph umbra' "$work/gdb_hosted_dot.txt" || fail "umbra dot FILE wrote no graph"
# umbra graph / dot with a VA range: only the subtree (issue 17 item 11)
expect 'umbra: graph: gdb_hosted_sub.png (4 nodes)'
grep -q '// va 0x0-0xfff: 2 of 3 shadows' "$work/gdb_hosted_sub.dot" || fail "umbra graph START END drew more than the subtree"
grep -q '// va 0x400000-0x400000: 3 of 3 shadows' "$work/gdb_hosted_sub.txt" || fail "umbra dot FILE START: no subtree"
expect 'graph-refused: usage: umbra graph FILE.png [START [END]]'
expect 'graph-refused: umbra: END 0x1000 is not above START 0x2000; usage: umbra graph FILE.png [START [END]]'
expect_re '^graph-refused: .*No symbol'
[ -e "$work/gdb_hosted_bad.png" ] && fail "a refused umbra graph wrote a file"
expect '=== done'
grep -q 'naks=0 noack-used=1' "$work/server.err" || fail "session 1 should run in no-ack mode"
[ -s "$work/gdb_hosted.png" ] || fail "no PNG rendered"
head -c 8 "$work/gdb_hosted.png" | od -An -c | grep -q 'P   N   G' || fail "not a PNG"
grep -q 'g_2 -> s_81' "$work/gdb_hosted.dot" || fail "DOT lacks the guest->shadow link"
echo "session 1 (i386): $(grep -c . "$work/out") lines of gdb output; $(cat "$work/server.err")"

# --- session 2: a long-mode guest, x86-64 layout, GDB kept in ack mode -------
cat >"$work/lm.gdb" <<'EOG'
set pagination off
set confirm off
show architecture
printf "rip=0x%lx rsi=0x%lx\n", $rip, $rsi
x/2xg 0x401000
stepi
printf "rip-after=0x%lx\n", $rip
monitor walk 0x400000
kill
EOG
run_session "--long" "$work/lm.gdb" "set remote noack-packet off"
expect 'The target architecture is set to "auto" (currently "i386:x86-64")'
expect 'rip=0x400000 rsi=0x1122334455667788'
expect '0x401000:	0x0706050403020100	0x0f0e0d0c0b0a0908'
expect 'rip-after=0x400005'
expect 'walk 0x400000 cpu 0 paging long'
expect 'L4  0x4000             0    0x5007             P RW US'
grep -q 'naks=0 noack-used=0' "$work/server.err" || fail "NAKs on a clean link, or no-ack mode"
echo "session 2 (x86-64, acks): ok; $(cat "$work/server.err")"
echo "PASS: gdb_hosted"
exit 0
