#!/bin/sh
# The "real machine" profile (issue 13): the Linux guest under Umbra in QEMU
# on what an AMD server looks like and our default PC does not: UEFI firmware
# (OVMF: no RSDP in the BIOS area, RAM split by the firmware's own ranges), a
# q35 chipset, four CPUs, RAM above 4 GiB and an AMD IOMMU.  Asserts what
# linux-qemu.sh asserts of every run under Umbra (final marker, ACPI power-off
# through the FADT's PM1a port, one CPU in /proc/cpuinfo, no INIT/SIPI sent,
# clean shadow counters), and that Umbra parked the three APs, cut them from
# the MADT, found the FADT through the multiboot2 RSDP copy, and ran the
# guest behind the IOMMU.  About 4 minutes in QEMU TCG here.
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"
. "$top_srcdir/test/linux/lib.sh"
LX="$top_builddir/test/linux/out"
sh "$top_srcdir/test/linux/build.sh" "$LX" || { echo "FAIL: could not build the Linux guest"; exit 1; }
export UEFI=1 MEM=6144 QEMU_CPU=${QEMU_CPU:-EPYC} TIMEOUT=${LINUX_TIMEOUT:-900}
export QEMU_ARGS="-machine q35 -smp 4 -device amd-iommu"
export GUEST_MODULES="$LX/initrd.gz" GUEST_ARGS="console=ttyS0 panic=-1"

t0=$(now)
run "$RUN" qemu umbra "$LX/bzImage" paging=shadow
expect_linux_umbra paging=shadow "" '0x[0-9a-f]+'
expect '^umbra: cpus: 4 in the MADT \(APIC IDs 0 1 2 3\), boot CPU 0; 3 AP\(s\) parked'
expect '^umbra: cpus: the guest.s tables: MADT rewritten to the boot CPU \(3 CPU entries cut\)'
expect '^umbra: linux: ACPI FADT at 0x[0-9a-f]+: PM1a_CNT=0x[0-9a-f]+'
expect '^umbra: iommu: IOMMU 0 on: '
expect '^umbra: iommu: I/O page table: \[0, [0-9]+ GiB\) 1:1 except the reserve'
expect '^\[ *[0-9.]+\] smpboot: Allowing 1 CPUs, 0 hotplug CPUs$'
expect_not 'A valid RSDP was not found'
report "umbra real-machine profile" "$t0"
finish
