#!/bin/sh
# Umbra refuses clearly and ends the run (status 127 -> QEMU exit 255):
# unknown or bad options, a CPU without SVM, without nested paging (for
# paging=npt), a shadow pool too small to run a guest, malformed guest modules.
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/core-errors.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

run "$RUN" qemu umbra "$DEMO" console=com1 bogus=1
expect_rc 255
expect "^umbra: command line: unknown option 'bogus'$"
expect '^umbra: exit reason=error status=127$'
expect_not '^demo:'

run "$RUN" qemu umbra "$DEMO" paging=maybe
expect_rc 255
expect "^umbra: command line: bad value for paging: 'maybe'$"

run QEMU_CPU=qemu64,-svm "$RUN" qemu umbra "$DEMO"
expect_rc 255
expect '^umbra: svm: not available: CPUID 8000_0001 ECX\[2\] \(SVM\) is clear'
expect '^umbra: exit reason=error status=127$'

run QEMU_CPU=qemu64 "$RUN" qemu umbra "$DEMO" paging=npt
expect_rc 255
expect '^umbra: paging=npt: this CPU has no nested paging'
expect '^umbra: exit reason=error status=127$'

run "$RUN" qemu umbra "$DEMO" shadow_pool=8K
expect_rc 255
expect '^umbra: paging=shadow: shadow_pool=8K is too small \(or not below 4 GiB\)$'
expect '^umbra: exit reason=error status=127$'
expect_not '^demo:'

# Not a kernel at all.
printf 'this is not a kernel\n' > "$tmp/text.elf"
run "$RUN" qemu umbra "$tmp/text.elf"
expect_rc 255
expect "^umbra: loader: guest module '/boot/text.elf' is not a multiboot v1 kernel"
expect '^umbra: exit reason=error status=127$'

# The demo cut inside its code segment (the header still in its first 8 KiB).
head -c 4400 "$DEMO" > "$tmp/cut.elf"
run "$RUN" qemu umbra "$tmp/cut.elf"
expect_rc 255
expect '^umbra: loader: segment 0 truncated'

# The demo with its segment moved into Umbra's reserve (p_paddr of the first
# program header, file offset 0x40, set to 0x7c10000: QEMU -m 128 puts the
# image at 0x7c00000).
cp "$DEMO" "$tmp/moved.elf"
printf '\000\000\301\007' | dd of="$tmp/moved.elf" bs=1 seek=64 conv=notrunc 2>/dev/null
run "$RUN" qemu umbra "$tmp/moved.elf"
expect_rc 255
expect "^umbra: loader: segment \[0x7c10000, 0x[0-9a-f]+\) overlaps Umbra's reserve"

# No guest module at all.
mkdir -p "$tmp/iso/boot/grub"
cp "$UMBRA_ELF" "$tmp/iso/boot/umbra.elf"
printf 'set timeout=0\nmenuentry umbra {\n  multiboot2 /boot/umbra.elf\n  boot\n}\n' \
    > "$tmp/iso/boot/grub/grub.cfg"
grub-mkrescue -o "$tmp/nomod.iso" "$tmp/iso" >/dev/null 2>&1 || bad "grub-mkrescue failed"
echo "--- run QEMU with an ISO without module2"
timeout -s KILL 60 "${QEMU:-qemu-system-x86_64}" -display none -no-reboot -cpu EPYC -m 128 \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 -serial "file:$tmp/com1" -cdrom "$tmp/nomod.iso" 2>/dev/null
rc=$?
out=$(tr -d '\r' < "$tmp/com1")
expect_rc 255
expect "^umbra: loader: no guest module \(grub.cfg needs 'module2 /boot/GUEST ARGS'\)$"
expect '^umbra: exit reason=error status=127$'
finish
