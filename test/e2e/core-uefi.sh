#!/bin/sh
# Umbra from the same hybrid ISO under UEFI firmware (OVMF): GRUB's EFI
# build, the EFI memory map, the relocated image.
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"
[ -n "${OVMF:-}" ] && [ -f "$OVMF" ] || { echo "FAIL: no OVMF firmware (apt-get install ovmf)"; exit 1; }

run UEFI=1 "$RUN" qemu umbra "$DEMO"
expect_rc 1
expect '^umbra: Umbra [0-9.]+, image at \[0x[0-9a-f]+, 0x[0-9a-f]+\) \(load-base tag 0x'
expect '^ok 6 - '
expect '^umbra: exit reason=port-f4 status=0$'
finish
