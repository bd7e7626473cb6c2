#!/bin/sh
# run-guest.sh EMU MODE GUEST.elf [UMBRA_OPTS...]
#   EMU  = qemu | bochs
#   MODE = bare  (QEMU: -kernel GUEST.elf; Bochs: GRUB multiboot v1 ISO)
#        | umbra (GRUB ISO: Umbra with GUEST.elf as its guest, UMBRA_OPTS on its command line)
# Prints the whole COM1 output (CRs removed) on stdout and exits with the
# guest's status in QEMU's isa-debug-exit encoding: (N << 1) | 1 for status N
# (so 1 = status 0).  QEMU's exit code is passed through as is; for Bochs
# (whose own exit code is always 1) it is derived from the last
# "umbra: exit ... status=N" line under Umbra, or the guest's last
# "exit status N" line bare.  124 = timeout or no status found.
# Environment: TIMEOUT (seconds, default 120), GUEST_ARGS, GUEST_MODULES
#   (see mkiso.sh), QEMU, BOCHS (emulator binaries), QEMU_CPU (default EPYC),
#   QEMU_ARGS (extra QEMU options), BOCHS_CPU (default ryzen), MEM (MiB, default 128), UEFI=1 (QEMU with
#   $OVMF firmware), KEEP=DIR (keep the run directory's files there).
set -u
if [ $# -lt 3 ]; then
    echo "usage: $0 qemu|bochs bare|umbra GUEST.elf [UMBRA_OPTS...]" >&2
    exit 2
fi
emu=$1; mode=$2; guest=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)
TIMEOUT=${TIMEOUT:-120}
MEM=${MEM:-128}
QEMU=${QEMU:-qemu-system-x86_64}
BOCHS=${BOCHS:-bochs}
[ -f "$guest" ] || { echo "run-guest: no guest $guest" >&2; exit 2; }
case "$mode" in bare|umbra) ;; *) echo "run-guest: MODE must be bare or umbra" >&2; exit 2;; esac

dir=$(mktemp -d "${TMPDIR:-/tmp}/umbra-run.XXXXXX")
cleanup() {
    if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp -r "$dir"/. "$KEEP"/; fi
    rm -rf "$dir"
}
trap cleanup EXIT
: > "$dir/com1"

if [ "$mode" = umbra ] || [ "$emu" = bochs ]; then
    flag=""
    [ "$mode" = bare ] && flag=--bare
    "$here/mkiso.sh" $flag "$dir/boot.iso" "$guest" "$@" || exit 2
fi

case "$emu" in
qemu)
    set -- -display none -no-reboot -m "$MEM" -cpu "${QEMU_CPU:-EPYC}" \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -serial "file:$dir/com1" ${QEMU_ARGS:-}
    if [ "$mode" = bare ]; then
        initrd=""
        for m in ${GUEST_MODULES:-}; do initrd="${initrd:+$initrd,}$m"; done
        if [ -n "$initrd" ]; then
            timeout -s KILL "$TIMEOUT" "$QEMU" "$@" -kernel "$guest" -append "${GUEST_ARGS:-}" \
                -initrd "$initrd" 2>"$dir/stderr"
        else
            timeout -s KILL "$TIMEOUT" "$QEMU" "$@" -kernel "$guest" -append "${GUEST_ARGS:-}" 2>"$dir/stderr"
        fi
    else
        if [ "${UEFI:-0}" = 1 ]; then
            set -- "$@" -bios "${OVMF:-/usr/share/ovmf/OVMF.fd}"
        fi
        timeout -s KILL "$TIMEOUT" "$QEMU" "$@" -cdrom "$dir/boot.iso" 2>"$dir/stderr"
    fi
    rc=$?
    tr -d '\r' < "$dir/com1"
    [ $rc -eq 137 ] && { echo "run-guest: timeout after ${TIMEOUT}s" >&2; exit 124; }
    exit $rc
    ;;
bochs)
    # Bochs 2.7 raises its "3rd exception with no resolution" panic *before*
    # it checks the SVM SHUTDOWN intercept, so a guest triple fault under
    # Umbra ends Bochs (fatal panic) without a #VMEXIT; with panic=report it
    # crashes (SIGSEGV).  Such a run ends without a status line (124).
    cat > "$dir/bochsrc" <<EOB
megs: $MEM
cpu: model=${BOCHS_CPU:-ryzen}, count=1, ips=50000000, reset_on_triple_fault=0
romimage: file=/usr/share/seabios/bios.bin
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=$dir/boot.iso, status=inserted
boot: cdrom
display_library: term
com1: enabled=1, mode=file, dev=$dir/com1
port_e9_hack: enabled=1
clock: sync=none, time0=local
log: $dir/bochs.log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
EOB
    (cd "$dir" && timeout -s KILL "$TIMEOUT" "$BOCHS" -q -f "$dir/bochsrc" -rc "$here/bochs-cont.rc" \
        </dev/null >"$dir/stdout" 2>&1)
    rc=$?
    tr -d '\r' < "$dir/com1"
    [ $rc -eq 137 ] && { echo "run-guest: timeout after ${TIMEOUT}s" >&2; exit 124; }
    if [ "$mode" = umbra ]; then
        n=$(tr -d '\r' < "$dir/com1" | sed -n 's/^umbra: exit reason=[^ ]* status=\([0-9]*\).*/\1/p' | tail -n 1)
    else
        n=$(tr -d '\r' < "$dir/com1" | sed -n 's/^exit status \([0-9]*\).*/\1/p' | tail -n 1)
    fi
    [ -n "$n" ] || { echo "run-guest: bochs ended without a status line" >&2; exit 124; }
    exit $(( ((n << 1) | 1) & 255 ))
    ;;
*)
    echo "run-guest: EMU must be qemu or bochs" >&2
    exit 2
    ;;
esac
