#!/bin/sh
# The Linux guest in Bochs (make check-linux-bochs; see README.md):
# bare (GRUB linux/initrd) and under Umbra with LINUX_BOCHS_MODES
# ('|'-separated Umbra option sets, default nested and shadow paging), the
# same assertions as linux-qemu.sh: the final marker, identical marker lines,
# Umbra ending on the guest's ACPI power-off.
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"
LX="$top_builddir/test/linux/out"
sh "$top_srcdir/test/linux/build.sh" "$LX" || { echo "FAIL: could not build the Linux guest"; exit 1; }
MODES=${LINUX_BOCHS_MODES:-paging=npt|paging=shadow}
export TIMEOUT=${LINUX_TIMEOUT:-3000}
# clearcpuid=mwaitx: Bochs' ryzen model offers MONITORX/MWAITX, so Linux
# makes udelay() an MWAITX with the TSC timer; Bochs' MWAITX never wakes on
# that timer (the CPU sleeps with IF=0 and emulated time runs off), so the
# first udelay in start_kernel hangs forever (see README.md).
KARGS="console=ttyS0 panic=-1 clearcpuid=mwaitx"
markers() { printf '%s\n' "$out" | grep '^linux-test: '; }
now() { date +%s; }

t0=$(now)
run "$top_srcdir/test/linux/bochs-bare.sh" "$LX/bzImage" "$LX/initrd.gz" "$KARGS"
expect '^linux-test: done$'
expect '^\[ *[0-9.]+\] reboot: Power down'
echo "# bochs bare: wall $(( $(now) - t0 ))s"
printf '%s\n' "$out" | grep '^init: ' | sed 's/^/# bochs bare: /'
bare=$(markers)

IFS='|'
for opts in $MODES; do
    unset IFS
    t0=$(now)
    # shellcheck disable=SC2086
    run MEM=256 GUEST_ARGS="$KARGS" GUEST_MODULES="$LX/initrd.gz" "$RUN" bochs umbra "$LX/bzImage" $opts
    expect_rc 1
    expect '^linux-test: done$'
    expect '^umbra: exit reason=poweroff status=0$'
    echo "# bochs umbra $opts: wall $(( $(now) - t0 ))s"
    printf '%s\n' "$out" | grep -E '^umbra: (exits|tlb)|^umbra: shadow: [a-z_0-9]+=[1-9]|^init: ' |
        sed "s/^/# bochs umbra $opts: /"
    if [ "$(markers)" = "$bare" ]; then echo "ok: marker lines identical bare and under Umbra ($opts)"
    else bad "marker lines differ from the bare run ($opts)"; fi
    IFS='|'
done
unset IFS
finish
