#!/bin/sh
# soak.sh: make soak.  Every guest suite (test/guests, GUEST_SUITES), the
# kvm-unit-tests make check runs in QEMU (test/kut/tests, EMU qemu or both)
# and the Linux guest (test/linux), each in QEMU TCG under umbra-audit.elf
# with paging=shadow: shadow_audit() runs after every #VMEXIT and the first
# audit error stops the guest ("exit reason=audit").  One line per guest:
#   soak: NAME audits=N errors=N exit=REASON guest=PASS|FAIL SECONDS s
# (audits: Umbra's own count; errors: its audit_errors counter plus every
# "audit N found E error(s)" line; guest: the guest's own verdict, the same
# one make check asks for), then
#   soak: G guests, A audits, E audit errors, F guests failed, T s
# Exit 0 only when every guest passed with audits > 0 and no audit error.
# A guest killed at its time limit prints no Umbra summary: its line says
# exit=timeout guest=FAIL, audits=N from umbra-audit.elf's last progress line
# (every 256 audits; marked "(progress line)"), errors=0: the first audit
# error would have stopped it with exit=audit before.
# The hostile guests (test/guests/hostile_*.c; each needs its own machine)
# run too: hostile_cpu on -smp 2, hostile_dma on q35 with the AMD IOMMU and a
# PIIX3 IDE CD (and the guard page must be intact), hostile_mem once per case
# (a case passes as in hostile-mem.sh: "ok", or a clean stop Umbra reports),
# hostile_spin on -smp 2 with watchdog=2 (Umbra's watchdog must stop it).
# Env: SOAK_SUITES, SOAK_KUT (labels), SOAK_HOSTILE (hostile_* names),
#   SOAK_LINUX=0 to leave parts out (SOAK_SUITES= etc. empty: none of them);
#   SOAK_TIMEOUT per guest (default 3600 s; SOAK_LINUX_TIMEOUT for Linux);
#   SOAK_LOGDIR (default $top_builddir/test/soak): each run's full output.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
UMBRA_ELF=$top_builddir/umbra-audit.elf
export UMBRA_ELF top_srcdir top_builddir
[ -f "$UMBRA_ELF" ] || { echo "soak: no $UMBRA_ELF (make umbra-audit.elf)"; exit 1; }
logdir=${SOAK_LOGDIR:-$top_builddir/test/soak}
mkdir -p "$logdir"
now() { date +%s; }
T0=$(now)
ng=0; na=0; ne=0; nf=0

# account NAME LOG VERDICT SECONDS: one line from Umbra's lines in LOG (and
# run-guest.sh's "timeout" line in LOG or LOG.err).
account() {
    name=$1 log=$2 verdict=$3 secs=$4
    # Umbra's counters: "umbra: shadow: audits=N" (one a line, summary=full) or
    # in the group line "umbra: shadow: [audit] audits=N audit_errors=N" (the
    # default summary lists only the non-zero ones).
    a=$(tr -d '\r' <"$log" | grep -v '^umbra: shadow: audit progress: ' |
        sed -n 's/^umbra: shadow: \(\[[a-z_]*\] \)\{0,1\}\(.* \)\{0,1\}audits=\([0-9]*\)\( .*\)\{0,1\}$/\3/p' | tail -n 1)
    e=$(tr -d '\r' <"$log" | grep -v '^umbra: shadow: audit progress: ' |
        sed -n 's/^umbra: shadow: \(\[[a-z_]*\] \)\{0,1\}\(.* \)\{0,1\}audit_errors=\([0-9]*\)\( .*\)\{0,1\}$/\3/p' | tail -n 1)
    # No summary (the guest was killed at its time limit): umbra-audit.elf's
    # last "audit progress: audits=N audit_errors=0" line (one every 256
    # audits), so the line still says how far it got; the verdict stays FAIL.
    if [ -z "$a" ]; then
        a=$(tr -d '\r' <"$log" | sed -n 's/^umbra: shadow: audit progress: audits=\([0-9]*\) .*/\1/p' | tail -n 1)
        [ -n "$a" ] && prog=" (progress line)" || prog=
    else
        prog=
    fi
    found=$(tr -d '\r' <"$log" | sed -n 's/^umbra: shadow: audit [0-9]* found \([0-9]*\) error.*/\1/p' |
        awk '{ s += $1 } END { print s + 0 }')
    x=$(tr -d '\r' <"$log" | sed -n 's/^umbra: exit reason=\([^ ]*\).*/\1/p' | tail -n 1)
    a=${a:-0}; e=${e:-0}
    if [ -z "$x" ] && cat "$log" "$log.err" 2>/dev/null | grep -q '^run-guest: timeout after'; then
        x=timeout; verdict=FAIL
    fi
    [ "$found" -gt "$e" ] && e=$found
    [ "$a" -gt 0 ] && [ "$e" -eq 0 ] || verdict=FAIL
    echo "soak: $name audits=$a errors=$e exit=${x:-none} guest=$verdict ${secs} s$prog"
    ng=$((ng + 1)); na=$((na + a)); ne=$((ne + e))
    [ "$verdict" = PASS ] || nf=$((nf + 1))
}

# ---- the guest suites (suite-run.sh: every case passed, plan complete, exit status 0)
for s in ${SOAK_SUITES-pae 2level nopaging stress_fork stress_ws stress_rewrite stress_alias tss access_pae access_2level shapes long}; do
    t=$(now)
    v=PASS
    GUEST_LOGDIR=$logdir TIMEOUT=${SOAK_TIMEOUT:-3600} \
        sh "$top_srcdir/test/e2e/suite-run.sh" "$s" qemu umbra paging=shadow >"$logdir/$s.summary" 2>&1 || v=FAIL
    account "guests/$s" "$logdir/$s-qemu-umbra.log" $v $(($(now) - t))
done

# ---- kvm-unit-tests (check.sh: the run under Umbra ends like the bare run; known failures are XFAIL)
kut_labels=${SOAK_KUT-$(awk '!/^#/ && NF >= 4 && ($2 == "qemu" || $2 == "both") { print $1 }' "$top_srcdir/test/kut/tests")}
if [ -n "$kut_labels" ]; then
    KUT_DIR=${KUT_DIR:-$top_builddir/test/kut/build/plain}
    KUT_PATCHED=${KUT_PATCHED:-$top_builddir/test/kut/build/patched}
    KUT_LOGDIR=$logdir/kut
    export KUT_DIR KUT_PATCHED KUT_LOGDIR
    for l in $kut_labels; do
        t=$(now)
        out=$(KUT_MODES=shadow TIMEOUT=${SOAK_TIMEOUT:-3600} sh "$top_srcdir/test/kut/check.sh" qemu "$l" 2>&1)
        line=$(printf '%s\n' "$out" | grep "^kut: $l shadow: " | tail -n 1)
        case "$line" in *": PASS"*) v=PASS ;; *": XFAIL"*) v=XFAIL ;; *) v=FAIL ;; esac
        log=$KUT_LOGDIR/$(printf '%s' "$l" | tr / _)-shadow.out
        [ -f "$log" ] || { printf '%s\n' "$out" >"$logdir/kut-$(printf '%s' "$l" | tr / _).err"; log=/dev/null; }
        [ $v = XFAIL ] && v=PASS-XFAIL
        account "kut/$l" "$log" $v $(($(now) - t))
    done
fi

# ---- the hostile guests (each on its own machine; see the top)
hostile=${SOAK_HOSTILE-hostile_cpu hostile_dma hostile_mem hostile_spin}
for h in $hostile; do
    t=$(now)
    case $h in
    hostile_cpu)
        v=PASS
        GUEST_LOGDIR=$logdir QEMU_ARGS='-smp 2' TIMEOUT=${SOAK_TIMEOUT:-3600} \
            sh "$top_srcdir/test/e2e/suite-run.sh" hostile_cpu qemu umbra paging=shadow \
            >"$logdir/hostile_cpu.summary" 2>&1 || v=FAIL
        account "hostile/cpu" "$logdir/hostile_cpu-qemu-umbra.log" $v $(($(now) - t)) ;;
    hostile_dma)
        # The data CD of hostile-dma.sh: sector LBA byte i = ((7 i + 13 LBA + 0x5a) ^ (i >> 8)) & 0xff.
        python3 -c '
import sys
sys.stdout.buffer.write(bytes(((i * 7 + lba * 13 + 0x5a) ^ (i >> 8)) & 0xff
                              for lba in range(4) for i in range(2048)))' >"$logdir/hostile_dma-cd.img"
        ide="-device piix3-ide,id=pide -drive if=none,id=cd2,media=cdrom,format=raw,file=$logdir/hostile_dma-cd.img"
        ide="$ide -device ide-cd,bus=pide.1,drive=cd2"
        v=PASS
        GUEST_LOGDIR=$logdir QEMU_ARGS="-machine q35 -device amd-iommu $ide" TIMEOUT=${SOAK_TIMEOUT:-3600} \
            sh "$top_srcdir/test/e2e/suite-run.sh" hostile_dma qemu umbra paging=shadow \
            >"$logdir/hostile_dma.summary" 2>&1 || v=FAIL
        grep -q "^umbra: iommu: guard page at 0x[0-9a-f]* (the reserve.s lowest frame) intact" \
            "$logdir/hostile_dma-qemu-umbra.log" || v=FAIL
        account "hostile/dma" "$logdir/hostile_dma-qemu-umbra.log" $v $(($(now) - t)) ;;
    hostile_mem)
        for c in ${SOAK_MEM_CASES:-4k-read 4k-write 2m-read 2m-write 4m-read 4m-write nopg-read nopg-write hypercall}; do
            t=$(now)
            l=$logdir/hostile_mem-$c.log
            GUEST_ARGS="case=$c" TIMEOUT=${SOAK_TIMEOUT:-3600} \
                sh "$top_srcdir/test/e2e/run-guest.sh" qemu umbra "$top_builddir/test/guests/hostile_mem.elf" \
                paging=shadow >"$l" 2>"$l.err"
            # hostile-mem.sh's cell(): hardware's answer (ok, exit status 0) or a clean stop by Umbra.
            v=FAIL
            if grep -q '^not ok' "$l"; then v=FAIL
            elif grep -q '^umbra: shadow: stopping the guest' "$l"; then v=PASS
            elif grep -q '^exit status 0$' "$l" && grep -q '^ok ' "$l"; then v=PASS
            fi
            account "hostile/mem/$c" "$l" $v $(($(now) - t))
        done ;;
    hostile_spin)
        l=$logdir/hostile_spin.log
        QEMU_ARGS='-smp 2' TIMEOUT=${SOAK_TIMEOUT:-3600} \
            sh "$top_srcdir/test/e2e/run-guest.sh" qemu umbra "$top_builddir/test/guests/hostile_spin.elf" \
            paging=shadow watchdog=2 >"$l" 2>"$l.err"
        v=FAIL
        grep -q '^umbra: exit reason=watchdog status=125$' "$l" && v=PASS
        account "hostile/spin" "$l" $v $(($(now) - t)) ;;
    *) echo "soak: unknown hostile guest $h"; nf=$((nf + 1)) ;;
    esac
done

# ---- the Linux guest (the final marker; Umbra ends on the power-off: "exit reason=reboot status=0")
if [ "${SOAK_LINUX:-1}" != 0 ]; then
    t=$(now)
    LX=$top_builddir/test/linux/out
    v=FAIL
    if sh "$top_srcdir/test/linux/build.sh" "$LX" >"$logdir/linux-build.log" 2>&1; then
        MEM=256 QEMU_CPU=${QEMU_CPU:-EPYC} TIMEOUT=${SOAK_LINUX_TIMEOUT:-${SOAK_TIMEOUT:-3600}} \
            GUEST_MODULES="$LX/initrd.gz" GUEST_ARGS="console=ttyS0 panic=-1" \
            sh "$top_srcdir/test/e2e/run-guest.sh" qemu umbra "$LX/bzImage" paging=shadow \
            >"$logdir/linux.log" 2>"$logdir/linux.log.err"
        tr -d '\r' <"$logdir/linux.log" | grep -q '^linux-test: done$' &&
            tr -d '\r' <"$logdir/linux.log" | grep -q '^umbra: exit reason=reboot status=0$' && v=PASS
    else
        : >"$logdir/linux.log"
    fi
    account linux "$logdir/linux.log" $v $(($(now) - t))
fi

echo "soak: $ng guests, $na audits, $ne audit errors, $nf guests failed, $(($(now) - T0)) s"
[ $nf -eq 0 ]
