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
# Env: SOAK_SUITES, SOAK_KUT (labels), SOAK_LINUX=0 to leave parts out;
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

# account NAME LOG VERDICT SECONDS: one line from Umbra's lines in LOG.
account() {
    name=$1 log=$2 verdict=$3 secs=$4
    a=$(tr -d '\r' <"$log" | sed -n 's/^umbra: shadow: audits=\([0-9]*\)$/\1/p' | tail -n 1)
    e=$(tr -d '\r' <"$log" | sed -n 's/^umbra: shadow: audit_errors=\([0-9]*\)$/\1/p' | tail -n 1)
    found=$(tr -d '\r' <"$log" | sed -n 's/^umbra: shadow: audit [0-9]* found \([0-9]*\) error.*/\1/p' |
        awk '{ s += $1 } END { print s + 0 }')
    x=$(tr -d '\r' <"$log" | sed -n 's/^umbra: exit reason=\([^ ]*\).*/\1/p' | tail -n 1)
    a=${a:-0}; e=${e:-0}
    [ "$found" -gt "$e" ] && e=$found
    [ "$a" -gt 0 ] && [ "$e" -eq 0 ] || verdict=FAIL
    echo "soak: $name audits=$a errors=$e exit=${x:-none} guest=$verdict ${secs} s"
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
