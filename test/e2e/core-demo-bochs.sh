#!/bin/sh
# The PAE demo guest under Umbra in Bochs (SeaBIOS), compared with the guest
# run bare in Bochs: the ryzen model (NRIPS: next RIP from the VMCB) under
# shadow paging (the default), and phenom_8650_toliman (no NRIPS: fixed
# instruction lengths) under paging=npt.
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"

run BOCHS_CPU=ryzen "$RUN" bochs bare "$DEMO"
expect_rc 1
expect '^ok 6 - '
# Bochs' ryzen offers MONITORX (whose MWAITX never wakes on its timer); Umbra hides it.
expect '^# cpuid: MONITORX visible$'
bare_tap=$(tap)

run BOCHS_CPU=ryzen "$RUN" bochs umbra "$DEMO"
expect_rc 1
expect '^umbra: svm: revision 1, 32768 ASIDs, NP=1 NRIPS=1'
expect 'paging=shadow, nRIP from VMCB \(NRIPS\)$'
expect '^demo: guest paging mode: PAE'
expect '^umbra: exit reason=port-f4 status=0$'
expect '^umbra: exits: cpuid=2$'
expect '^umbra: exits: msr=3$'
expect '^umbra: exits: hlt=[1-9][0-9]*$'
expect '^umbra: exits: cr3-write=[1-9][0-9]*$'
expect '^umbra: exits: exception-14=[1-9][0-9]*$'
expect '^ok 10 - PIT timer interrupts reach the guest in HLT$'
expect '^umbra: guest paging at exit: PAE \(cr0=0x80000011 cr4=0x20 efer=0\)$'
expect '^umbra: exits: vmrun=1$'
expect '^# cpuid: SVM hidden$'
expect '^# cpuid: MONITORX hidden$'
expect '^# wrmsr EFER reserved bit: #GP\(0\)$'
expect_shadow_pae
expect_not '^not ok'
if [ "$(tap)" = "$bare_tap" ]; then echo "ok: TAP identical bare and under Umbra (ryzen, shadow)"; else bad "TAP differs (ryzen, shadow)"; fi

# Teardowns under interrupts: with the PIT ticking, the guest's working set of
# 2 MiB pages outgrows a 32-frame pool, so the shadows (the IDT's among them)
# are torn down again and again and timer ticks fault on their IDT gate while
# being delivered.  Bochs 2.7 reports such an interrupt in EXITINTINFO as the
# last event it recorded (here the guest's earlier #GP from the EFER test):
# re-injected as is, the guest took a #GP it never raised and IRQ0 was never
# acknowledged again.  Umbra takes the vector from the faulting gate (rule G
# in event.h); when fixing that fault tears the stack's shadow down too, the
# re-injected interrupt can then fault on the stack, reported as the event
# Umbra injected (Bochs records injections).  Which of the two happens depends
# on where the ticks fall (Bochs is deterministic for one binary, but any
# change to Umbra moves them): this run must end cleanly either way.
run BOCHS_CPU=ryzen GUEST_ARGS=tick-churn "$RUN" bochs umbra "$DEMO" shadow_pool=128K
expect_rc 1
expect '^demo: tick-churn: 200 ticks during [0-9]+ passes$'
expect_count teardowns -ge 2
expect '^umbra: events: not as EXITINTINFO reported: idt-gate=[1-9][0-9]*$'
expect '^umbra: exit reason=port-f4 status=0$'
expect_not '^not ok'

# ignore_bad_msrs=0: Bochs raises #GP for VM_CR, which it does not implement;
# rdmsr_safe() must survive it.
run BOCHS_CPU="phenom_8650_toliman, ignore_bad_msrs=0" GUEST_ARGS=hypercall "$RUN" bochs umbra "$DEMO" paging=npt
expect_rc 7
expect '^umbra: svm: VM_CR not readable, assuming SVM is enabled$'
expect 'NP=1 NRIPS=0'
expect 'paging=npt, nRIP from instruction lengths$'
expect '^umbra: guest: hello from the demo guest$'
expect '^umbra: exit reason=hypercall status=3$'
expect '^umbra: exits: cpuid=2$'
expect '^umbra: exits: vmmcall=2$'
if [ "$(tap)" = "$bare_tap" ]; then echo "ok: TAP identical bare and under Umbra (phenom, npt)"; else bad "TAP differs (phenom, npt)"; fi
finish
