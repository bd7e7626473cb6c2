# Shared by gdb_svm_qemu.sh, gdb_svm_bochs.sh and gdb_debug.sh (sourced, POSIX sh):
# the ISO of Umbra (paging=shadow gdb=com2 gdb_wait) with the GDB test guest,
# free TCP ports, and the checks on GDB's output.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
srcdir_abs=$(cd "$top_srcdir" && pwd)
GDB=${GDB:-gdb}
GUEST=${GUEST:-$top_builddir/test/e2e/gdb_svm_guest.elf}
UMBRA_ELF=${UMBRA_ELF:-$top_builddir/umbra.elf}
export UMBRA_ELF
UMBRA_GDB_OPTS=${UMBRA_GDB_OPTS:-paging=shadow gdb=com2 gdb_wait}

# make_iso OUT.iso: Umbra + $GUEST with $UMBRA_GDB_OPTS.
make_iso() {
    sh "$srcdir_abs/test/e2e/mkiso.sh" "$1" "$GUEST" $UMBRA_GDB_OPTS
}

# free_port: a TCP port nobody listens on now (the kernel picks it; the
# emulator binds it a moment later, so callers retry if that bind fails).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# sym NAME: the address of a guest symbol, 0x-prefixed.
sym() {
    v=$(nm "$GUEST" | awk -v n="$1" '$3 == n { print $1 }')
    printf '0x%x' "0x$v"
}

# qemu_wait_gdb: boot $work/umbra.iso in QEMU (COM1 to $work/com1.out, COM2 a
# TCP server on a free port) until Umbra says it waits for GDB; up to 5 tries,
# since the port may be taken between free_port and QEMU's bind.  Sets port and
# qpid (the caller's cleanup kills it); false if Umbra never waited.
qemu_wait_gdb() {
    started=
    for try in 1 2 3 4 5; do
        port=$(free_port)
        : >"$work/com1.out"
        timeout -s KILL 120 "$QEMU" -cpu EPYC -m 128 -display none -no-reboot -cdrom "$work/umbra.iso" \
            -serial "file:$work/com1.out" -serial "tcp:127.0.0.1:$port,server,nowait,nodelay=on" \
            -device isa-debug-exit,iobase=0xf4,iosize=0x04 2>"$work/qemu.err" &
        qpid=$!
        i=0
        while [ $i -lt 300 ]; do
            grep -q 'umbra: gdb: waiting for GDB' "$work/com1.out" && { started=1; break; }
            kill -0 $qpid 2>/dev/null || break
            sleep 0.05; i=$((i + 1))
        done
        [ -n "$started" ] && return 0
        kill -9 $qpid 2>/dev/null; wait $qpid 2>/dev/null; qpid=
    done
    return 1
}

# The gdb command line that attaches to Umbra on 127.0.0.1:PORT (symbols of the guest, umbra.py).
gdb_attach_args() {
    echo "-ex 'set remotetimeout 30' -ex 'symbol-file $GUEST' -ex 'target remote 127.0.0.1:$1' -ex 'source $srcdir_abs/tools/gdb/umbra.py'"
}

# bochsrc FILE ISO PORT COM1FILE LOGFILE: Bochs (ryzen, SVM) booting ISO, COM1 to a file,
# COM2 a socket server on PORT (Bochs blocks at start until a client connects).
bochsrc() {
    cat >"$1" <<EOB
megs: 128
cpu: model=ryzen, count=1, ips=50000000, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=$2, status=inserted
boot: cdrom
display_library: term
com1: enabled=1, mode=file, dev=$4
com2: enabled=1, mode=socket-server, dev=localhost:$3
clock: sync=none, time0=local
log: $5
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
EOB
}

# bochs_pty_drain PID: in bochs-boot.sh (every Bochs run needs it).
. "$srcdir_abs/test/e2e/bochs-boot.sh"

# Checks on the session's output ($work/out) and COM1 ($work/com1.out); fail() is the caller's.
expect() { grep -qF -- "$1" "$work/out" || fail "missing in gdb output: $1"; }
expect_re() { grep -qE -- "$1" "$work/out" || fail "no gdb output line matches /$1/"; }
expect_com1() { tr -d '\r' < "$work/com1.out" | grep -qE -- "$1" || fail "no COM1 line matches /$1/"; }
