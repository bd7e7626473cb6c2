#!/bin/sh
# Umbra from the same hybrid ISO under UEFI firmware (OVMF): GRUB's EFI
# build, the EFI memory map, the relocated image.  OVMF leaves only about
# 2 MiB of RAM below the image's load address, so the default shadow pool
# shrinks to what fits (and an explicit size that does not fit is refused).
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"
[ -n "${OVMF:-}" ] && [ -f "$OVMF" ] || { echo "FAIL: no OVMF firmware (apt-get install ovmf)"; exit 1; }

run UEFI=1 "$RUN" qemu umbra "$DEMO"
expect_rc 1
expect '^umbra: Umbra [0-9.]+, image at \[0x[0-9a-f]+, 0x[0-9a-f]+\) \(load-base tag 0x'
expect '^ok 6 - '
expect '^umbra: exit reason=port-f4 status=0$'
expect '^umbra: shadow pool: the default 8192K does not fit below the image: [0-9]+K$'
expect_counter made_l1_pae

run UEFI=1 "$RUN" qemu umbra "$DEMO" shadow_pool=8M
expect_rc 255
expect '^umbra: no room for shadow_pool=8192K below the image$'
finish
