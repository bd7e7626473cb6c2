#!/bin/sh
# Hostile memory cases (issue 13): test/guests/hostile_mem.elf tries to reach
# Umbra's reserve through a 4 KiB, a 2 MiB (PAE), a 4 MiB (PSE) mapping and
# with paging off, reading (looking for a string of Umbra's image) and
# writing, and through the hypercalls with bad arguments.  One QEMU boot per
# case and column: bare, under Umbra with paging=shadow and with paging=npt.
# A cell passes when the case ended as hardware would (its TAP line is
# "ok") or as a clean stop that Umbra reported (a shadow or NPF refusal
# naming the address); it fails when the guest REACHED Umbra's memory or
# ended any other way.  Then umbra-mutant-reserve.elf (an Umbra whose p2m does
# not refuse its reserve) must make the 4k-read case report REACHED: the
# cases can tell.  Prints the table.  Env: HOSTILE_CASES (default: all),
# HOSTILE_PROFILE=real: every run on the "real machine" profile (q35, OVMF,
# -smp 4, -m 6144, the AMD IOMMU) instead of the default PC.
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"
GUEST="$top_builddir/test/guests/hostile_mem.elf"
MUTANT="$top_builddir/umbra-mutant-reserve.elf"
for f in "$GUEST" "$MUTANT"; do [ -f "$f" ] || { echo "missing $f (run make)"; exit 1; }; done
if [ "${HOSTILE_PROFILE:-}" = real ]; then
    UEFI=1 MEM=6144 QEMU_ARGS="-machine q35 -smp 4 -device amd-iommu"
    export UEFI MEM QEMU_ARGS
fi
CASES=${HOSTILE_CASES:-"4k-read 4k-write 2m-read 2m-write 4m-read 4m-write nopg-read nopg-write hypercall"}

# cell OUT RC: one table cell for a run's output; sets $verdict (pass|FAIL).
cell() {
    o=$1
    if printf '%s\n' "$o" | grep -q '^not ok'; then
        verdict=FAIL
        printf '%s\n' "$o" | sed -n 's/^not ok [0-9]* - mem [^:]*: //p' | head -n 1
    elif printf '%s\n' "$o" | grep -q '^umbra: shadow: stopping the guest'; then
        verdict=pass
        printf '%s\n' "$o" | sed -n 's/^umbra: shadow: stopping the guest at va \(0x[0-9a-f]*\): \(.*\)/stopped by Umbra (shadow), va \1: \2/p' | head -n 1
    elif printf '%s\n' "$o" | grep -q '^umbra: npf: guest'; then
        verdict=pass
        printf '%s\n' "$o" | sed -n 's/^umbra: npf: guest \([a-z]*\) \(0x[0-9a-f]*\) (\([^)]*\)).*/stopped by Umbra (NPF): \1 \2, \3/p' | head -n 1
    elif printf '%s\n' "$o" | grep -q '^exit status 0$' && printf '%s\n' "$o" | grep -q '^ok '; then
        verdict=pass
        n=$(printf '%s\n' "$o" | grep -c '^ok ')
        printf '%s\n' "$o" | sed -n 's/^ok [0-9]* - mem [^:]*: //p' | head -n 1 | sed "s/\$/ ($n ok)/"
    else
        verdict=FAIL
        echo "ended otherwise (rc=$2)"
    fi
}

table=""
for c in $CASES; do
    row="| $c |"
    for col in bare shadow npt; do
        case $col in
        bare) run GUEST_ARGS="case=$c" TIMEOUT=120 "$RUN" qemu bare "$GUEST" ;;
        *) run GUEST_ARGS="case=$c" TIMEOUT=120 "$RUN" qemu umbra "$GUEST" paging=$col ;;
        esac
        text=$(cell "$out" "$rc")
        cell "$out" "$rc" >/dev/null
        if [ "$verdict" = pass ]; then echo "ok: $c $col: $text"; else bad "$c $col: $text"; fi
        row="$row $text |"
    done
    table="$table
$row"
done

run GUEST_ARGS="case=4k-read" TIMEOUT=120 UMBRA_ELF="$MUTANT" "$RUN" qemu umbra "$GUEST"
expect '^not ok 1 - mem 4k-read: REACHED Umbra.s memory: marker "exit reason=%s status=%u" read at physical 0x'
mutant=$(printf '%s\n' "$out" | sed -n 's/^not ok 1 - mem 4k-read: //p')

echo
echo "| case | bare (QEMU) | under Umbra, paging=shadow | under Umbra, paging=npt |"
echo "|---|---|---|---|"
printf '%s\n' "$table" | sed '/^$/d'
echo "| 4k-read, mutant Umbra (reserve not refused) | | ${mutant:-(not reached: FAIL)} | |"
finish
