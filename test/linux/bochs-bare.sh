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
. "$here/../e2e/bochs-boot.sh"
bochs_boot "$dir" 256 "${TIMEOUT:-1800}" ||
    { echo "bochs-bare: timeout after ${TIMEOUT:-1800}s" >&2; exit 124; }
exit 0
