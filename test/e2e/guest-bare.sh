#!/bin/sh
# guest-bare.sh EMU GUEST.elf -- boot a multiboot v1 guest kernel bare in
# EMU (qemu|bochs), print its COM1 output on stdout, exit with the guest's
# status taken from its last "exit status N" line (Bochs' own exit status
# is always 1, QEMU's is (N<<1)|1).  No such line: exit 3.
# Env: TIMEOUT (seconds, default 300), QEMU, BOCHS, GUEST_ARGS (kernel
# command line).  Used by suite-run.sh when test/e2e/run-guest.sh is absent.
set -u
emu=$1 elf=$2
: "${TIMEOUT:=300}" "${QEMU:=qemu-system-x86_64}" "${BOCHS:=bochs}" "${GUEST_ARGS:=}"
[ -f "$elf" ] || { echo "guest-bare: no such guest: $elf" >&2; exit 3; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/guest-bare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

case $emu in
qemu)
    timeout "$TIMEOUT" "$QEMU" -accel tcg -cpu EPYC -m 256 -kernel "$elf" \
        ${GUEST_ARGS:+-append "$GUEST_ARGS"} -display none -serial "file:$tmp/com1" \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot -monitor none \
        </dev/null >"$tmp/qemu.log" 2>&1
    ;;
bochs)
    command -v grub-mkrescue >/dev/null || { echo "guest-bare: grub-mkrescue missing" >&2; exit 3; }
    mkdir -p "$tmp/iso/boot/grub"
    cp "$elf" "$tmp/iso/boot/guest.elf"
    cat >"$tmp/iso/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_output serial
menuentry guest {
    multiboot /boot/guest.elf $GUEST_ARGS
    boot
}
CFG
    grub-mkrescue -o "$tmp/guest.iso" "$tmp/iso" >/dev/null 2>&1 ||
        { echo "guest-bare: grub-mkrescue failed" >&2; exit 3; }
    cat >"$tmp/bochsrc" <<RC
megs: 128
cpu: model=ryzen, count=1, ips=50000000, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=$tmp/guest.iso, status=inserted
boot: cdrom
display_library: term
com1: enabled=1, mode=file, dev=$tmp/com1
port_e9_hack: enabled=1
clock: sync=none, time0=local
log: $tmp/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
RC
    echo c >"$tmp/cont.rc"
    (cd "$tmp" && timeout -s KILL "$TIMEOUT" "$BOCHS" -q -f bochsrc -rc cont.rc \
        </dev/null >"$tmp/bochs.out" 2>&1)
    ;;
*)
    echo "guest-bare: unknown emulator $emu" >&2; exit 3 ;;
esac

[ -f "$tmp/com1" ] || { echo "guest-bare: $emu produced no COM1 output" >&2; exit 3; }
# GRUB's serial output precedes the guest's in Bochs; keep it, it is harmless
# to the TAP counters (no line starts with "ok" or "not ok").
tr -d '\r' <"$tmp/com1"
st=$(tr -d '\r' <"$tmp/com1" | sed -n 's/^exit status \([0-9]*\)$/\1/p' | tail -n 1)
[ -n "$st" ] || exit 3
exit "$st"
