# Sourced by run-guest.sh, test/linux/bochs-bare.sh and gdb_svm_lib.sh: one
# way to boot an ISO in Bochs headless, and bochs_pty_drain.
#
# bochs_boot DIR MEM TIMEOUT
#   boots DIR/boot.iso (SeaBIOS or $BOCHS_BIOS, CPU model $BOCHS_CPU or ryzen, $BOCHS_CPUS CPUs or 1, ips=50000000,
#   clock sync=none, MEM MiB), COM1 to a file, and prints COM1 (CRs removed)
#   followed by "run-guest: bochs ticks=N (S s emulated at ips=50000000)":
#   Bochs' clock at the end, from its log -- one tick per instruction plus the
#   time a halted CPU skips, deterministic for one binary, so runs compare
#   exactly.  The emulated RTC starts at a fixed date (time0, 2026-01-01
#   00:00 UTC): with time0=local the firmware's waits for an RTC edge start
#   at the host's fraction of a second, and the demo under Umbra took
#   250,159,228 or 250,282,954 ticks on two runs; fixed, three runs gave
#   250,159,228 each.  Returns 124 on a timeout, else 0: Bochs' own exit status is
#   always 1, the caller judges the output.  BOCHS names the binary.
# Bochs 2.7 raises its "3rd exception with no resolution" panic *before* it
# checks the SVM SHUTDOWN intercept, so a guest triple fault under Umbra ends
# Bochs (fatal panic) without a #VMEXIT; with panic=report it crashes
# (SIGSEGV).  Such a run ends without the guest's status line.
bochs_boot() {
    : > "$1/com1"
    cat > "$1/bochsrc" <<EOB
megs: $2
cpu: model=${BOCHS_CPU:-ryzen}, count=${BOCHS_CPUS:-1}, ips=50000000, reset_on_triple_fault=0
romimage: file=${BOCHS_BIOS:-/usr/share/seabios/bios.bin}
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=$1/boot.iso, status=inserted
boot: cdrom
display_library: term
com1: enabled=1, mode=file, dev=$1/com1
port_e9_hack: enabled=1
clock: sync=none, time0=1767225600
log: $1/bochs.log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
EOB
    bochs_rc_file=$(cd "$(dirname "$0")/../e2e" && pwd)/bochs-cont.rc
    (cd "$1" && exec timeout -s KILL "$3" "${BOCHS:-bochs}" -q -f "$1/bochsrc" -rc "$bochs_rc_file" \
        </dev/null >"$1/stdout" 2>&1) &
    bochs_pid=$!
    bochs_drain=$(bochs_pty_drain "$bochs_pid")     # else a chatty VGA console stalls Bochs
    wait "$bochs_pid"
    bochs_rc=$?
    [ -n "$bochs_drain" ] && kill "$bochs_drain" 2>/dev/null
    tr -d '\r' < "$1/com1"
    # (Bochs pads the tick count with zeros: strip them, or sh reads octal.)
    bochs_ticks=$(sed -n 's/^0*\([0-9][0-9]*\)i\[SIM *\] quit_sim called.*/\1/p' "$1/bochs.log" | tail -n 1)
    [ -n "$(tail -c 1 "$1/com1")" ] && echo       # COM1 may end mid-line
    [ -n "$bochs_ticks" ] &&
        echo "run-guest: bochs ticks=$bochs_ticks ($((bochs_ticks / 50000000)) s emulated at ips=50000000)"
    [ $bochs_rc -eq 137 ] && return 124
    return 0
}

# bochs_pty_drain PID: Bochs' term display (the only headless one here, see
# /work/shared/EMULATORS.md) draws into a pseudo-terminal it opens itself
# (/dev/ptmx) that nobody reads; once ~20 KB of screen updates (Linux's VGA
# console moving its cursor) fill it, Bochs blocks in write() for good: the
# guest stops, and so does GDB's Ctrl-C.  Find that pty among PID and its
# descendants and read it away in the background; prints the reader's pid
# (nothing if there is no such pty within 5 s, or PID ends first).
bochs_pty_drain() {
    i=0
    while [ $i -lt 50 ] && kill -0 "$1" 2>/dev/null; do
        for p in "$1" $(pgrep -P "$1") $(for c in $(pgrep -P "$1"); do pgrep -P "$c"; done); do
            for fd in /proc/"$p"/fd/*; do
                [ "$(readlink "$fd" 2>/dev/null)" = /dev/ptmx ] || continue
                n=$(sed -n 's/^tty-index:[[:space:]]*//p' "/proc/$p/fdinfo/${fd##*/}" 2>/dev/null)
                [ -n "$n" ] && [ -c "/dev/pts/$n" ] || continue
                cat "/dev/pts/$n" >/dev/null 2>&1 &
                echo $!
                return 0
            done
        done
        sleep 0.1; i=$((i + 1))
    done
}
