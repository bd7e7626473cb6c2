#!/bin/sh
# Guest faults Umbra must report and end cleanly: a triple fault (status
# 126 -> QEMU exit 253), and a read of Umbra's reserve (status 127 -> QEMU
# exit 255): under shadow paging the shadow refuses to map the frame, under
# paging=npt it is a nested page fault.  QEMU only: Bochs 2.7 panics on a
# guest triple fault before it checks the SVM SHUTDOWN intercept (see run-guest.sh).
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"

for mode in shadow npt; do
    run GUEST_ARGS=triple-fault "$RUN" qemu umbra "$DEMO" paging=$mode
    expect_rc 253
    expect '^demo: triple fault now$'
    expect '^umbra: guest triple fault: exit shutdown \(code 0x7f\)'
    expect '^umbra: exit reason=triple-fault status=126$'
    expect '^umbra: exits: shutdown=1$'
done

run GUEST_ARGS=touch-above "$RUN" qemu umbra "$DEMO"
expect_rc 255
expect "^umbra: shadow: stopping the guest at va 0x[0-9a-f]+: guest maps a frame that is not the guest's"
expect '^umbra: shadow refused a fault: exit exception-14 \(code 0x4e\)'
expect '^umbra: exit reason=shadow status=127$'
expect_count fault_stopped -eq 1
expect_not '^exit status'

run GUEST_ARGS=touch-above "$RUN" qemu umbra "$DEMO" paging=npt
expect_rc 255
expect "^umbra: npf: guest read 0x[0-9a-f]+ \(Umbra's reserve\) at rip="
expect '^umbra: nested page fault: exit npf \(code 0x400\)'
expect '^umbra: exit reason=npf status=127$'
expect_not '^exit status'
finish
