#!/bin/sh
# bochs-bare.sh BZIMAGE INITRD "KERNEL ARGS"
#   Boot Linux bare in Bochs (GRUB's linux/initrd commands from a rescue ISO,
#   SeaBIOS, the ryzen model, 256 MiB) and print COM1 (CRs removed).  Bochs
#   ends by itself on the guest's ACPI power-off; its exit status says
#   nothing (always 1), so the caller judges the output.  TIMEOUT (s, default 1800).
set -u
[ $# -eq 3 ] || { echo "usage: $0 BZIMAGE INITRD 'KERNEL ARGS'" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
BOCHS=${BOCHS:-bochs}
dir=$(mktemp -d "${TMPDIR:-/tmp}/umbra-lxb.XXXXXX")
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/iso/boot/grub"
cp "$1" "$dir/iso/boot/bzImage"
cp "$2" "$dir/iso/boot/initrd.gz"
cat > "$dir/iso/boot/grub/grub.cfg" <<EOC
set timeout=0
set timeout_style=hidden
menuentry linux {
  linux /boot/bzImage $3
  initrd /boot/initrd.gz
  boot
}
EOC
grub-mkrescue -o "$dir/boot.iso" "$dir/iso" >"$dir/log" 2>&1 || { cat "$dir/log" >&2; exit 2; }
: > "$dir/com1"
cat > "$dir/bochsrc" <<EOB
megs: 256
cpu: model=${BOCHS_CPU:-ryzen}, count=1, ips=50000000, reset_on_triple_fault=0
romimage: file=/usr/share/seabios/bios.bin
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=$dir/boot.iso, status=inserted
boot: cdrom
display_library: term
com1: enabled=1, mode=file, dev=$dir/com1
clock: sync=none, time0=local
log: $dir/bochs.log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
EOB
(cd "$dir" && timeout -s KILL "${TIMEOUT:-1800}" "$BOCHS" -q -f "$dir/bochsrc" -rc "$here/../e2e/bochs-cont.rc" \
    </dev/null >"$dir/stdout" 2>&1)
rc=$?
tr -d '\r' < "$dir/com1"
[ $rc -eq 137 ] && { echo "bochs-bare: timeout after ${TIMEOUT:-1800}s" >&2; exit 124; }
exit 0
