#!/bin/sh
# The Linux guest in Bochs (make check-bochs; README.md), one run per call so
# make can run them side by side:
#   linux-bochs.sh bare
#       boots Linux bare (GRUB linux/initrd, SeaBIOS, ryzen, 256 MiB) and, if
#       it reaches the final marker, keeps its marker lines in
#       OUT/bochs-bare.markers for the runs under Umbra;
#   linux-bochs.sh umbra NAME "UMBRA_OPTS" ["EXTRA KERNEL ARGS"]
#       boots it under Umbra and compares its marker lines with the bare run's.
# The same assertions as linux-qemu.sh: the final marker, identical marker
# lines, Umbra ending on the guest's ACPI power-off, shadow counters.
# Prints (as # lines) wall time, the kernel's power-off time, exit counters.
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"
. "$top_srcdir/test/linux/lib.sh"
LX="$top_builddir/test/linux/out"
case "${1:-}" in bare|umbra) ;; *)
    echo "usage: $0 bare | umbra NAME 'UMBRA_OPTS' ['KERNEL ARGS']" >&2; exit 2 ;;
esac
sh "$top_srcdir/test/linux/build.sh" "$LX" || { echo "FAIL: could not build the Linux guest"; exit 1; }
export TIMEOUT=${LINUX_TIMEOUT:-3600}
# cryptomgr.notests noisapnp: skip the crypto self-tests and the ISA PnP scan,
# two thirds of the kernel's own boot in Bochs (initcall_debug: 2.0 s and 0.6 s
# of 4.3 s in QEMU); the workload in /init is untouched.
KARGS="console=ttyS0 panic=-1 cryptomgr.notests noisapnp"
case "${1:-}" in
bare)
    rm -f "$LX/bochs-bare.markers"
    t0=$(now)
    # Bare, the ryzen model offers MONITORX and Linux's udelay() then waits
    # in MWAITX for a TSC deadline Bochs never wakes it on (README.md):
    # clearcpuid=mwaitx.  Under Umbra the CPUID hides it.
    run sh "$top_srcdir/test/linux/bochs-bare.sh" "$LX/bzImage" "$LX/initrd.gz" "$KARGS clearcpuid=mwaitx"
    expect '^linux-test: done$'
    expect '^\[ *[0-9.]+\] reboot: Power down'
    report bare "$t0"
    [ "$(markers | wc -l)" -ge 10 ] || bad "bare run printed fewer than 10 marker lines"
    [ "$fails" -eq 0 ] && markers > "$LX/bochs-bare.markers"
    ;;
umbra)
    [ $# -ge 3 ] || { echo "usage: $0 umbra NAME 'UMBRA_OPTS' ['KERNEL ARGS']" >&2; exit 2; }
    name=$2 opts=$3 kargs=${4:-}
    [ -s "$LX/bochs-bare.markers" ] || { echo "FAIL: no bare run to compare with ($LX/bochs-bare.markers)"; exit 1; }
    t0=$(now)
    # shellcheck disable=SC2086
    run MEM=256 GUEST_ARGS="$KARGS $kargs" GUEST_MODULES="$LX/initrd.gz" "$RUN" bochs umbra "$LX/bzImage" $opts
    expect_linux_umbra "$opts" "$kargs" 0xb004
    report "umbra $name" "$t0"
    compare_markers "$name" "$LX/bochs-bare.markers"
    ;;
esac
finish
