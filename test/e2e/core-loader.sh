#!/bin/sh
# The multiboot v1 loader as lenient as GRUB and command lines whole or
# refused by name (issue 12, item 6):
#   - test/e2e/lowhdr.elf, linked with `ld -Ttext=0x100000` (an extra LOAD
#     segment for its ELF headers at 0xff000, its .bss a filesz-0 segment),
#     boots bare under GRUB's `multiboot` and under Umbra in QEMU;
#   - a guest command line (module string) of exactly 4096 bytes arrives
#     whole; 4097 bytes is refused with Umbra's limit named;
#   - Umbra's own command line of 4096 bytes is taken whole (an unknown option
#     at its very end is refused by name, not dropped); 4097 bytes is refused
#     with the limit named.
# Cost: five QEMU boots of a tiny guest (about 15 s).
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"
LOWHDR="$top_builddir/test/e2e/lowhdr.elf"
[ -f "$LOWHDR" ] || { echo "missing $LOWHDR (run make)"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/core-loader.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The premise: the linker made the segments the test is about.
out=$(readelf -lW "$LOWHDR")
expect '^ +LOAD +0x000000 0x000ff000 0x000ff000 0x[0-9a-f]+ 0x[0-9a-f]+ R '
expect '^ +LOAD +0x[0-9a-f]+ 0x[0-9a-f]+ 0x[0-9a-f]+ 0x00000 0x[0-9a-f]+ RW '

# Bare, under GRUB's own multiboot (v1) command, in QEMU.
sh "$top_srcdir/test/e2e/mkiso.sh" --bare "$tmp/bare.iso" "$LOWHDR" || bad "mkiso --bare failed"
echo "--- run QEMU: GRUB multiboot $LOWHDR"
timeout -s KILL 60 "${QEMU:-qemu-system-x86_64}" -display none -no-reboot -cpu EPYC -m 128 \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 -serial "file:$tmp/com1" -cdrom "$tmp/bare.iso" 2>/dev/null
rc=$?
out=$(tr -d '\r' < "$tmp/com1")
expect_rc 1
expect '^lowhdr: magic 0x2badb002, entry at 0x10[0-9a-f]{4}, bss zeroed$'
expect '^lowhdr: cmdline 1[67] bytes: /boot/lowhdr.elf ?$'
bare_ff000=$(printf '%s\n' "$out" | grep '^lowhdr: 0xff000 ')
echo "# bare under GRUB: $bare_ff000"

# Under Umbra: the same lines, the header segment loaded where it says.
run "$RUN" qemu umbra "$LOWHDR"
expect_rc 1
expect '^umbra: loader: kernel \[0xff000, 0x10[0-9a-f]{4}\) entry 0x10000c, 0 module\(s\)'
expect '^lowhdr: magic 0x2badb002, entry at 0x10[0-9a-f]{4}, bss zeroed$'
expect '^lowhdr: cmdline 1[67] bytes: /boot/lowhdr.elf ?$'
expect '^umbra: exit reason=port-f4 status=0$'
line=$(printf '%s\n' "$out" | grep '^lowhdr: 0xff000 ')
[ -n "$line" ] && [ "$line" = "$bare_ff000" ] && echo "ok: as under GRUB: $line" ||
    bad "the 0xff000 line differs from GRUB's: '$bare_ff000'"

# A segment that leaves the guest's RAM is refused, saying where: the .text
# segment (program header 1, p_paddr at file offset 52 + 32 + 12) moved to
# the local APIC's page.
cp "$LOWHDR" "$tmp/apic.elf"
printf '\000\000\340\376' | dd of="$tmp/apic.elf" bs=1 seek=96 conv=notrunc 2>/dev/null
run "$RUN" qemu umbra "$tmp/apic.elf"
expect_rc 255
expect "^umbra: loader: segment \[0xfee00000, 0xfee00[0-9a-f]{3}\) leaves the guest's RAM at 0xfee00000 \(not RAM in its memory map\)$"

# The guest's command line is its module string: "/boot/lowhdr.elf " (17
# bytes) and GUEST_ARGS: 4079 bytes of 9-letter words make it 4096.
args=xxxxxxxxx
i=1
while [ $i -lt 407 ]; do args="$args xxxxxxxxx"; i=$((i + 1)); done
args="$args yyyyyyyyy"
[ ${#args} -eq 4079 ] || bad "test bug: args are ${#args} bytes"
run GUEST_ARGS="$args" "$RUN" qemu umbra "$LOWHDR"
expect_rc 1
expect '^lowhdr: cmdline 4096 bytes: /boot/lowhdr.elf x{9}( x{9})+ y{9}$'
line=$(printf '%s\n' "$out" | sed -n 's/^lowhdr: cmdline 4096 bytes: //p')
[ "$line" = "/boot/lowhdr.elf $args" ] && echo "ok: the 4096-byte command line arrived whole" ||
    bad "the 4096-byte command line arrived altered"
run GUEST_ARGS="${args}z" "$RUN" qemu umbra "$LOWHDR"
expect_rc 255
expect "^umbra: loader: the guest's command line \\(module 0's string\\) is 4097 bytes: longer than Umbra's limit of 4096$"
expect_not '^lowhdr:'

# Umbra's own command line: 2 x "paging=shadow" + 313 x "console=com1",
# space-separated = 4096 bytes, every word valid; then the same with its last
# word replaced by an unknown option; then one byte more.
opts="paging=shadow paging=shadow"
i=0
while [ $i -lt 313 ]; do opts="$opts console=com1"; i=$((i + 1)); done
[ ${#opts} -eq 4096 ] || bad "test bug: options are ${#opts} bytes"
# shellcheck disable=SC2086
run "$RUN" qemu umbra "$LOWHDR" $opts
expect_rc 1
expect '^lowhdr: magic 0x2badb002'
# shellcheck disable=SC2086
run "$RUN" qemu umbra "$LOWHDR" ${opts%console=com1}bogus=1xxxxx
expect_rc 255
expect "^umbra: command line: unknown option 'bogus'$"
# shellcheck disable=SC2086
run "$RUN" qemu umbra "$LOWHDR" $opts x
expect_rc 255
expect "^umbra: command line: the command line is 4098 bytes: longer than Umbra's limit of 4096$"
finish
