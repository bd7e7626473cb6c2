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
# "exit status N" line bare.  124 = timeout or no status found.  A Bochs run
# ends its output with "run-guest: bochs ticks=N (...)": Bochs' clock at the
# end (instructions plus halted time; deterministic with clock sync=none).
# Environment: TIMEOUT (seconds, default 120), GUEST_ARGS, GUEST_MODULES
#   (see mkiso.sh), QEMU, BOCHS (emulator binaries), QEMU_CPU (default EPYC),
#   QEMU_ARGS (extra QEMU options), BOCHS_CPU (default ryzen), BOCHS_CPUS (default 1),
#   BOCHS_BIOS (default SeaBIOS), MEM (MiB, default 128), UEFI=1 (QEMU with
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
    . "$here/bochs-boot.sh"
    bochs_boot "$dir" "$MEM" "$TIMEOUT" ||
        { echo "run-guest: timeout after ${TIMEOUT}s" >&2; exit 124; }
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
