#!/bin/sh
# mkiso.sh OUT.iso GUEST.elf [UMBRA_OPTS...]
#   A GRUB rescue ISO (BIOS + UEFI) that boots Umbra with GUEST.elf as its
#   guest:  multiboot2 /boot/umbra.elf UMBRA_OPTS
#           module2 /boot/GUEST /boot/GUEST GUEST_ARGS
#   (GRUB drops a module's file name from its string, so the name is repeated:
#   the guest's command line then starts with its name, as under QEMU -kernel.
#   Not for a Linux bzImage: Umbra hands Linux its module string exactly as
#   written, and QEMU -kernel -append gives Linux GUEST_ARGS alone.)
# mkiso.sh --bare OUT.iso GUEST.elf
#   The guest alone, booted by GRUB's multiboot (v1) command (bare Bochs runs).
# Environment: GUEST_ARGS (guest command line after its name), GUEST_MODULES
#   (space-separated files handed to the guest as multiboot modules),
#   UMBRA_ELF (default $top_builddir/umbra.elf or ./umbra.elf).
set -eu
bare=0
if [ "${1:-}" = "--bare" ]; then bare=1; shift; fi
if [ $# -lt 2 ]; then
    echo "usage: $0 [--bare] OUT.iso GUEST.elf [UMBRA_OPTS...]" >&2
    exit 2
fi
out=$1; guest=$2; shift 2
umbra=${UMBRA_ELF:-${top_builddir:-.}/umbra.elf}
[ -f "$guest" ] || { echo "mkiso: no guest $guest" >&2; exit 2; }
[ $bare = 1 ] || [ -f "$umbra" ] || { echo "mkiso: no $umbra (make umbra.elf)" >&2; exit 2; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/umbra-iso.XXXXXX")
top="$dir"
trap 'rm -rf "$top"' EXIT
log="$dir/log"
dir="$dir/iso"
mkdir -p "$dir/boot/grub"
gname=$(basename "$guest")
cp "$guest" "$dir/boot/$gname"
mods=""
n=0
for m in ${GUEST_MODULES:-}; do
    n=$((n + 1))
    cp "$m" "$dir/boot/mod$n"
    mods="$mods mod$n:$(basename "$m")"
done
{
    echo "set timeout=0"
    echo "set timeout_style=hidden"
    echo "menuentry umbra {"
    if [ $bare = 1 ]; then
        echo "  multiboot /boot/$gname /boot/$gname ${GUEST_ARGS:-}"
        for m in $mods; do echo "  module /boot/${m%%:*} ${m#*:}"; done
    else
        cp "$umbra" "$dir/boot/umbra.elf"
        echo "  multiboot2 /boot/umbra.elf $*"
        name="/boot/$gname "
        [ "$(dd if="$guest" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ] && name=""
        echo "  module2 /boot/$gname $name${GUEST_ARGS:-}"
        for m in $mods; do echo "  module2 /boot/${m%%:*} ${m#*:}"; done
    fi
    echo "  boot"
    echo "}"
} > "$dir/boot/grub/grub.cfg"
grub-mkrescue -o "$out" "$dir" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
