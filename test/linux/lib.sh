# Helpers shared by linux-qemu.sh and linux-bochs.sh (sourced after
# test/e2e/lib.sh, whose run/expect/bad they use).

# markers: the compared lines of the last run's output.
markers() { printf '%s\n' "$out" | grep '^linux-test: '; }
now() { date +%s.%N; }

# report LABEL START: wall time, the kernel's power-off time, Umbra's counters.
report() {
    wall=$(awk -v a="$(now)" -v b="$2" 'BEGIN { printf "%.1f", a - b }')
    kt=$(printf '%s\n' "$out" | sed -n 's/^\[ *\([0-9.]*\)\] reboot: Power down.*/\1/p' | tail -n 1)
    echo "# $1: wall ${wall}s, guest power-off at ${kt:-?}s kernel time"
    printf '%s\n' "$out" | grep -E '^umbra: (exits|events|tlb|exit reason|guest paging at exit)|^umbra: shadow: ([a-z_0-9]+=[1-9]|\[)|^init: |^run-guest: bochs ticks=' |
        sed "s/^/# $1: /"
}

# expect_linux_umbra OPTS KARGS PM1A: what every run under Umbra must show:
# the final marker, the ACPI power-off (PM1a control port PM1A) ending the
# run, the kernel's own paging (PAE with PGE and NXE) at the end, CPUID
# (hypervisor bit, no SVM), one CPU in the guest (and no INIT/SIPI sent:
# Linux does not try to start a CPU its MADT does not list), and under shadow paging the shadow counters:
# faults handled, 2 MiB kernel mappings splintered (fl1 shadows), no stop and
# a clean audit; with a small pool, reclaim (preallocation unpinning top
# levels); with pti=on, PTI enabled.
expect_linux_umbra() {
    expect_rc 1
    expect '^linux-test: done$'
    expect "^umbra: linux: guest entered ACPI sleep type [0-9] \\(PM1a_CNT $3\\): power off\$"
    expect '^umbra: exit reason=poweroff status=0$'
    pg=$(printf '%s\n' "$out" | sed -n 's/^umbra: guest paging at exit: PAE (cr0=\(0x[0-9a-f]*\) cr4=\(0x[0-9a-f]*\) efer=\(0x[0-9a-f]*\))$/\1 \2 \3/p')
    # shellcheck disable=SC2086
    set -- "$1" "$2" "$3" $pg
    if [ $# -eq 6 ] && [ $(($5 & 0xa0)) -eq $((0xa0)) ] && [ $(($6 & 0x800)) -ne 0 ]; then
        echo "ok: guest paging at exit: PAE, CR4.PGE, EFER.NXE (cr0=$4 cr4=$5 efer=$6)"
    else
        bad "no 'guest paging at exit: PAE' line with CR4.PAE|PGE and EFER.NXE"
    fi
    expect '^init: cpu flags: .*hypervisor'
    expect_not '^init: cpu flags: .*svm'
    # One vCPU whatever QEMU_ARGS' -smp says: Umbra parks the APs and shows a one-CPU MADT.
    expect '^init: cpus: 1 in /proc/cpuinfo, online 0$'
    expect '^umbra: cpus: '
    expect '^umbra: apic: IPIs that reached no CPU: INIT=0 SIPI=0 '
    case "$1" in *paging=npt*) ;; *)
        for c in faults fault_fixed made_l1_pae made_l2_pae made_fl1_pae cr3_hits; do
            expect_count $c -gt 0
        done
        expect_count fault_stopped -eq 0
        expect_count audit_errors -eq 0 ;;
    esac
    case "$1" in *shadow_pool=*) expect_count reclaim_unpins -gt 0 ;; esac
    case "$2" in *pti=on*)
        expect '^\[ *[0-9.]+\] Kernel/User page tables isolation: enabled$' ;;
    esac
}

# compare_markers NAME REFERENCE-FILE: the run's marker lines equal the bare run's.
compare_markers() {
    if markers | cmp -s - "$2"; then
        echo "ok: marker lines identical bare and under Umbra ($1)"
    else
        bad "marker lines differ from the bare run ($1)"
        markers | diff "$2" - | sed 's/^/    diff: /'
    fi
}
