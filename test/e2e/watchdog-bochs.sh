#!/bin/sh
# watchdog-bochs.sh (make check-bochs): the watchdog CPU in Bochs.  Bochs 2.7
# (Debian) has SMP, but SeaBIOS on it lists one CPU in the MADT; Bochs' own
# BIOS lists both (docs/notes/2026-12-03/watchdog.md).  So: cpu count=2,
# BIOS-bochs-latest, hostile_spin.elf (`cli; jmp .`) under watchdog=2 with
# paging=shadow: Umbra must start the watchdog CPU and end the guest with
# its diagnostic at the spin loop, status 125.  Cost: one Bochs run, about
# 4 min here.  Exit 0 pass, 1 fail.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}" "${top_builddir:=$(pwd)}"
export top_srcdir top_builddir
GUEST=$top_builddir/test/guests/hostile_spin.elf
[ -f "$GUEST" ] || { echo "watchdog-bochs: missing $GUEST (run make)"; exit 1; }
spin=$(printf '0x%x' "0x$(nm "$GUEST" | awk '$3 == "spin_here" { print $1 }')")
out=$(BOCHS_CPUS=2 BOCHS_BIOS=${BOCHS_BIOS:-/usr/share/bochs/BIOS-bochs-latest} TIMEOUT=${TIMEOUT:-900} \
      sh "$here/run-guest.sh" bochs umbra "$GUEST" paging=shadow watchdog=2)
rc=$?
fails=0
bad() { printf 'FAIL: %s\n' "$1"; fails=$((fails + 1)); }
[ $rc -eq 251 ] || bad "exit code $rc, want 251 (status 125)"
for re in '^umbra: cpus: 2 in the MADT \(APIC IDs 0 1\)' \
          '^umbra: watchdog: APIC ID 1 is Umbra.s watchdog CPU' \
          "^umbra: watchdog: the guest ran 2\\.[0-9]{2} s with interrupts off at rip=$spin without an exit \\(watchdog=2\\): stopped\$" \
          '^umbra: exit reason=watchdog status=125$' \
          '^umbra: watchdog: ticks=[0-9]+, NMIs sent=([0-9]+) seen=\1 '; do
    printf '%s\n' "$out" | grep -qE -- "$re" && printf 'ok: /%s/\n' "$re" || bad "no line matches /$re/"
done
[ $fails -eq 0 ] || { printf '%s\n' "$out" | grep -v '^umbra: shadow:' | tail -n 40; exit 1; }
printf '%s\n' "$out" | grep -E '^umbra: (watchdog|exits: nmi)|^run-guest: bochs ticks'
echo "watchdog-bochs: PASS"
