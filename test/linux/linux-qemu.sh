#!/bin/sh
# A real Linux guest (Debian's i386 686-pae kernel, busybox initramfs running
# test/linux/init.sh) booted BARE in QEMU TCG (-kernel/-initrd) and UNDER
# UMBRA (GRUB ISO, the bzImage as Umbra's guest module, the initramfs as the
# second), once per entry of LINUX_UMBRA_MODES: '|'-separated entries of the
# form "UMBRA_OPTS[;EXTRA KERNEL ARGS]".  The default covers nested paging,
# shadow paging, shadow paging with a small pool and with the kernel's page
# table isolation forced on (pti=on: a CR3 switch on every kernel entry/exit).
# Asserts: the final marker, identical "linux-test:" lines bare and under
# Umbra, Umbra ending on the guest's ACPI power-off, the loader's refusals,
# and /proc/cmdline equal to the module string, whole (the first run under
# Umbra pads it to 2000 bytes; a 4 KiB one is refused with cmdline_size named).
# Prints boot times (wall and the kernel's last timestamp) and Umbra's exit
# counters for the report.  Fetching the packages needs the i386 lists
# (tools/deps.sh); without them this test fails, it does not skip.
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"
. "$top_srcdir/test/linux/lib.sh"
LX="$top_builddir/test/linux/out"
sh "$top_srcdir/test/linux/build.sh" "$LX" || { echo "FAIL: could not build the Linux guest"; exit 1; }
MODES=${LINUX_UMBRA_MODES:-paging=npt|paging=shadow|paging=shadow shadow_pool=256K;pti=on}
export MEM=256 QEMU_CPU=${QEMU_CPU:-EPYC} TIMEOUT=${LINUX_TIMEOUT:-400}
export GUEST_MODULES="$LX/initrd.gz"
# panic=-1: a panicking kernel resets at once (Umbra stops on the reset) instead of spinning until the timeout.
export GUEST_ARGS="console=ttyS0 panic=-1"

t0=$(now)
run "$RUN" qemu bare "$LX/bzImage"
expect_rc 0
expect '^linux-test: done$'
expect '^\[ *[0-9.]+\] reboot: Power down'
expect '^init: cpu flags: pae nx hypervisor svm $'
expect "^init: cmdline: $GUEST_ARGS\$"
report bare "$t0"
bare_file=$(mktemp "${TMPDIR:-/tmp}/lx-bare.XXXXXX")
trap 'rm -f "$bare_file"' EXIT
markers > "$bare_file"
[ "$(wc -l < "$bare_file")" -ge 10 ] || bad "bare run printed fewer than 10 marker lines"

# A module-parameter-shaped word (ignored by the kernel) that makes the first
# run's command line exactly 2000 bytes: below cmdline_size (2047).
pad="umbra.pad="
while [ $(( ${#GUEST_ARGS} + 1 + ${#pad} )) -lt 2000 ]; do pad="${pad}p"; done
first=1
IFS='|'
for mode in $MODES; do
    unset IFS
    opts=${mode%%;*}
    kargs=""
    [ "$opts" = "$mode" ] || kargs=${mode#*;}
    [ $first = 1 ] && kargs="$pad${kargs:+ $kargs}"
    first=0
    t0=$(now)
    # shellcheck disable=SC2086
    run GUEST_ARGS="$GUEST_ARGS $kargs" "$RUN" qemu umbra "$LX/bzImage" $opts
    expect '^umbra: loader: Linux boot protocol 2\.[0-9]+, kernel [0-9]+ bytes at 0x1000000 .*initrd [0-9]+ bytes'
    expect_linux_umbra "$opts" "$kargs" 0x604
    # The command line whole: exactly the module string (GRUB joins words with one space).
    want="$GUEST_ARGS${kargs:+ $kargs}"
    got=$(printf '%s\n' "$out" | sed -n 's/^init: cmdline: //p')
    if [ "$got" = "$want" ]; then echo "ok: /proc/cmdline is the module string, whole (${#got} bytes)"
    else bad "/proc/cmdline (${#got} bytes) is not the module string (${#want} bytes)"; fi
    report "umbra $mode" "$t0"
    compare_markers "$mode" "$bare_file"
    IFS='|'
done
unset IFS

# A reset ends the run too: with no init in the initramfs the kernel looks
# for a root device, panics and (panic=-1) restarts the machine through the
# FADT reset register or the keyboard controller.
run GUEST_ARGS="$GUEST_ARGS rdinit=/no-such-init" TIMEOUT=120 "$RUN" qemu umbra "$LX/bzImage" paging=npt
expect_rc 1
expect 'Kernel panic - not syncing: '
expect '^umbra: linux: guest reset the machine \((port 0xcf9 <- 0x[0-9a-f]+|keyboard controller 0x64 <- 0xfe)\)$'
expect '^umbra: exit reason=reboot status=0$'

# The loader's refusals (each stops before the guest runs: status 0x7F = QEMU 255).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lx-bad.XXXXXX")
head -c 1000000 "$LX/bzImage" > "$tmp/truncated"
run GUEST_MODULES= TIMEOUT=60 "$RUN" qemu umbra "$tmp/truncated"
expect_rc 255
expect '^umbra: loader: Linux image truncated: 1000000 bytes, setup [0-9]+ \+ kernel [0-9]+ expected$'
# Boot protocol 2.05 (version word at 0x206).
cp "$LX/bzImage" "$tmp/old"
printf '\005\002' | dd of="$tmp/old" bs=1 seek=518 conv=notrunc 2>/dev/null
run GUEST_MODULES= TIMEOUT=60 "$RUN" qemu umbra "$tmp/old"
expect_rc 255
expect '^umbra: loader: Linux boot protocol 2\.05 is older than 2\.06$'
# A 4 KiB command line: longer than the kernel's cmdline_size, refused by that name (never cut).
long=$(printf '%04096d' 0 | tr 0 q)
run GUEST_ARGS="$long" TIMEOUT=60 "$RUN" qemu umbra "$LX/bzImage"
expect_rc 255
expect "^umbra: loader: Linux command line \(4096 bytes\) is longer than the kernel's cmdline_size 2047$"
rm -rf "$tmp"
finish
