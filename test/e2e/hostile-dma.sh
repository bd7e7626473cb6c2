#!/bin/sh
# Hostile DMA (issue 13): test/guests/hostile_dma.elf programs a PIIX3 IDE
# controller for ATAPI READs by bus-master DMA, once aimed just above the top
# of its RAM -- under Umbra the reserve's lowest frame, Umbra's guard page.
# QEMU -machine q35 (the AMD IOMMU needs it), a 4-sector data CD on the PIIX3's
# secondary channel.  Four runs, about 3 s each:
#   bare, with the IOMMU device:   the three TAP cases pass (reference);
#   Umbra with the IOMMU:          the same TAP; the IOMMU is on, the guard page
#                                  is intact, the IOMMU refused a request, its
#                                  PCI function is hidden from the guest (bare
#                                  the guest sees it);
#   Umbra without an IOMMU:        the warning; the aimed read DOES land in
#                                  Umbra's guard page (what the IOMMU prevents);
#   Umbra without, iommu=require:  Umbra refuses to start;
#   the "real machine" profile:    OVMF (UEFI), -smp 4, -m 6144 (RAM above
#                                  4 GiB), the IOMMU: as the second run.
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"
GUEST="$top_builddir/test/guests/hostile_dma.elf"
[ -f "$GUEST" ] || { echo "missing $GUEST (run make)"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hostile-dma.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Sector LBA byte i = ((7 i + 13 LBA + 0x5a) ^ (i >> 8)) & 0xff, as the guest's dma_byte().
python3 -c '
import sys
sys.stdout.buffer.write(bytes(((i * 7 + lba * 13 + 0x5a) ^ (i >> 8)) & 0xff
                              for lba in range(4) for i in range(2048)))' >"$tmp/cd.img" || exit 1
IDE="-device piix3-ide,id=pide -drive if=none,id=cd2,media=cdrom,format=raw,file=$tmp/cd.img -device ide-cd,bus=pide.1,drive=cd2"

run QEMU_ARGS="-machine q35 -device amd-iommu $IDE" TIMEOUT=60 "$RUN" qemu bare "$GUEST"
expect_rc 1
expect '^1\.\.4$'
expect_not '^not ok'
expect '^# dma: IOMMU function 00:[0-9a-f]+\.[0-7] visible'
bare_tap=$(tap)
printf '%s\n' "$out" | grep -E '^# dma: |^(ok|not ok) '

run QEMU_ARGS="-machine q35 -device amd-iommu $IDE" TIMEOUT=60 "$RUN" qemu umbra "$GUEST"
expect_rc 1
expect '^umbra: iommu: IOMMU 0 on: control=0x[0-9a-f]*5 '
expect '^umbra: iommu: IVRS hidden from the guest'
expect '^ok 2 - dma: the same read aimed just above the top of guest RAM ends'
expect '^umbra: iommu: guard page at 0x[0-9a-f]+ \(the reserve.s lowest frame\) intact$'
expect '^umbra: iommu: IOMMU 0: PCI status 0x[0-9a-f]+ \(signalled target abort'
expect '^umbra: pci: config port accesses=[0-9]+, of the IOMMU.s function: reads hidden=[1-9]'
expect '^# dma: no IOMMU function in configuration space$'
if [ "$(tap)" = "$bare_tap" ]; then echo "ok: the TAP lines equal the bare run's"; else bad "TAP differs from bare"; fi
# The guest aimed at the guard page itself.
g=$(printf '%s\n' "$out" | sed -n 's/^umbra: iommu: guard page at \(0x[0-9a-f]*\) .*/\1/p')
expect "^# dma: aiming sector 2 at $g, just above the top of guest RAM$"
printf '%s\n' "$out" | grep -E '^umbra: (iommu|pci): |^# dma: |^(ok|not ok) '

run QEMU_ARGS="-machine q35 $IDE" TIMEOUT=60 "$RUN" qemu umbra "$GUEST"
expect_rc 1
expect "^umbra: iommu: WARNING: no IOMMU \(no ACPI IVRS table\): guest DMA can reach Umbra's memory$"
expect '^umbra: iommu: guard page at 0x[0-9a-f]+ \(the reserve.s lowest frame\) OVERWRITTEN'
printf '%s\n' "$out" | grep -E '^umbra: iommu:|^# dma: |^(ok|not ok) '

run QEMU_ARGS="-machine q35 $IDE" TIMEOUT=60 "$RUN" qemu umbra "$GUEST" iommu=require
expect_rc 255
expect '^umbra: iommu: no IOMMU \(no ACPI IVRS table\) and iommu=require: refusing to start$'
expect '^umbra: exit reason=error status=127$'
expect_not '^1\.\.'

run UEFI=1 MEM=6144 QEMU_ARGS="-machine q35 -smp 4 -device amd-iommu $IDE" TIMEOUT=120 "$RUN" qemu umbra "$GUEST"
expect_rc 1
expect '^umbra: iommu: IOMMU 0 on: control=0x[0-9a-f]*5 '
expect '^umbra: iommu: I/O page table: \[0, 8 GiB\) 1:1 except the reserve'
if [ "$(tap)" = "$bare_tap" ]; then echo "ok: the TAP lines equal the bare run's"; else bad "TAP differs from bare"; fi
g=$(printf '%s\n' "$out" | sed -n 's/^umbra: iommu: guard page at \(0x[0-9a-f]*\) .*intact$/\1/p')
[ -n "$g" ] && expect "^# dma: aiming sector 2 at $g, just above the top of guest RAM$" || bad "guard page not intact"
expect '^umbra: iommu: IOMMU 0: PCI status 0x[0-9a-f]+ \(signalled target abort'
printf '%s\n' "$out" | grep -E '^umbra: (iommu|pci): |^# dma: |^(ok|not ok) '
finish
