#!/bin/sh
# The PAE demo guest under Umbra in QEMU TCG (EPYC: NPT, no NRIPS), compared
# with the same guest bare: under shadow paging (the default, its own page
# tables shadowed) and under nested paging (paging=npt); the hypercall ABI;
# multiboot modules; shadow paging on a CPU without nested paging (qemu64).
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"

run "$RUN" qemu bare "$DEMO"
expect_rc 1
expect '^ok 6 - '
bare_tap=$(tap)

# Both paging modes: the same guest-visible behaviour.
for mode in shadow npt; do
    if [ $mode = shadow ]; then run "$RUN" qemu umbra "$DEMO"; else run "$RUN" qemu umbra "$DEMO" paging=npt; fi
    expect_rc 1
    expect '^umbra: svm: revision [0-9]+, [0-9]+ ASIDs, NP=1 NRIPS=0'
    expect "^umbra: guest: entry 0x10000c, info 0x[0-9a-f]+, paging=$mode, nRIP from instruction lengths\$"
    expect '^# hypervisor: UmbraUmbraUm$'
    expect '^demo: guest paging mode: PAE \(CR0.PG=1 CR4.PAE=1\)$'
    expect '^umbra: exit reason=port-f4 status=0$'
    expect '^umbra: exits: cpuid=2$'
    expect '^umbra: exits: msr=3$'
    expect '^umbra: exits: hlt=[1-9][0-9]*$'
    expect '^ok 10 - PIT timer interrupts reach the guest in HLT$'
    expect '^umbra: guest paging at exit: PAE \(cr0=0x80000011 cr4=0x20 efer=0\)$'
    expect '^umbra: exits: vmrun=1$'
    expect '^# cpuid: SVM hidden$'
    expect '^# cpuid: MONITORX hidden$'
    expect '^# wrmsr EFER reserved bit: #GP\(0\)$'
    expect '^umbra: exits: ioio=1$'
    expect_not '^not ok'
    if [ "$(tap)" = "$bare_tap" ]; then echo "ok: TAP lines identical bare and under Umbra ($mode)"; else bad "TAP differs from the bare run ($mode)"; fi
    if [ $mode = shadow ]; then
        # CR0 (PE->PG), CR3 and CR4 (PAE) writes intercepted and decoded; the
        # guest's tables shadowed: l2/l1 PAE shadows, a splintered 2 MiB page.
        expect '^umbra: paging=shadow: pool \[0x[0-9a-f]+, 0x[0-9a-f]+\), 2048 frames$'
        expect '^umbra: exits: cr0-write=[1-9][0-9]*$'
        expect '^umbra: exits: cr3-write=[1-9][0-9]*$'
        expect '^umbra: exits: cr4-write=[1-9][0-9]*$'
        expect '^umbra: exits: exception-14=[1-9][0-9]*$'
        expect_shadow_pae
        expect_not '^umbra: exits: npf='
    else
        expect '^umbra: paging=npt: identity map'
        expect '^umbra: tlb: full flushes=1$'
        expect_not '^umbra: exits: exception-14='
        expect_not '^umbra: shadow: '
    fi
done

printf 'first module\n' > "${TMPDIR:-/tmp}/core-mod1.$$"
run GUEST_ARGS=hypercall GUEST_MODULES="${TMPDIR:-/tmp}/core-mod1.$$ $top_srcdir/bochsrc" "$RUN" qemu umbra "$DEMO"
rm -f "${TMPDIR:-/tmp}/core-mod1.$$"
expect_rc 7
expect '^# cmdline: /boot/demo.elf hypercall$'
expect "^# module 0: core-mod1\.$$, 13 bytes, starts with 'f'$"
expect "^# module 1: bochsrc, [0-9]+ bytes, starts with '#'$"
expect '^umbra: guest: hello from the demo guest$'
expect '^umbra: exit reason=hypercall status=3$'
expect '^umbra: exits: vmmcall=2$'
expect_not 'still running after HC_EXIT'
# The flat-binary build: placed only by the multiboot header's a.out-kludge fields.
run "$RUN" qemu umbra "$top_builddir/test/guests/demo/demo.bin"
expect_rc 1
expect '^umbra: loader: kernel \[0x100000, 0x[0-9a-f]+\) entry 0x100020, 0 module\(s\)'
expect '^ok 6 - '
expect '^umbra: exit reason=port-f4 status=0$'

# A page-table write the emulator cannot do (SETcc): its target frame is unshadowed and
# the guest retries natively; the write lands, the table keeps working.
run GUEST_ARGS=pt-setcc "$RUN" qemu bare "$DEMO"
expect '^demo: setcc wrote the page table$'
expect '^demo: table still maps the alias$'
run GUEST_ARGS=pt-setcc "$RUN" qemu umbra "$DEMO"
expect_rc 1
expect '^demo: setcc wrote the page table$'
expect '^demo: table still maps the alias$'
expect '^umbra: shadow: unemulated writes retried natively: after unshadowing the target=1, after blowing the shadows=0$'
expect_count unshadow_targeted -eq 1
expect_count teardowns -eq 0
expect_not '^not ok'

# Shadow paging needs no nested paging: qemu64 has SVM without NP.
run QEMU_CPU=qemu64 "$RUN" qemu umbra "$DEMO"
expect_rc 1
expect 'NP=0 NRIPS=0'
expect '^ok 10 - '
expect_not '^not ok'
expect_shadow_pae

# Teardowns under interrupts (see core-demo-bochs.sh): QEMU reports the tick
# cut short by a #PF on its IDT gate right in EXITINTINFO, so Umbra's
# gate-address fallback for Bochs never fires here.
run GUEST_ARGS=tick-churn "$RUN" qemu umbra "$DEMO" shadow_pool=128K
expect_rc 1
expect '^demo: tick-churn: 200 ticks during [0-9]+ passes$'
expect_count teardowns -ge 2
expect '^umbra: events: cut short by an exit: redelivered=[1-9][0-9]*, '
expect_not '^umbra: events: not as EXITINTINFO reported: idt-gate='
expect_not '^not ok'

# console=none: Umbra prints nothing, the guest's output and status are unchanged.
run "$RUN" qemu umbra "$DEMO" console=none
expect_rc 1
expect '^ok 6 - '
expect_not '^umbra: '
finish
