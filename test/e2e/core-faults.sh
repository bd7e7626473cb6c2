#!/bin/sh
# Guest faults Umbra must report and end cleanly: a triple fault (status
# 126 -> QEMU exit 253), and a read of Umbra's reserve (nested page fault,
# status 127 -> QEMU exit 255).  QEMU only: Bochs 2.7 panics on a guest
# triple fault before it checks the SVM SHUTDOWN intercept (see run-guest.sh).
. "${top_srcdir:-$(dirname "$0")/../..}/test/e2e/lib.sh"

run GUEST_ARGS=triple-fault "$RUN" qemu umbra "$DEMO"
expect_rc 253
expect '^demo: triple fault now$'
expect '^umbra: guest triple fault: exit shutdown \(code 0x7f\)'
expect '^umbra: exit reason=triple-fault status=126$'
expect '^umbra: exits: shutdown=1$'

run GUEST_ARGS=touch-above "$RUN" qemu umbra "$DEMO"
expect_rc 255
expect "^umbra: npf: guest read 0x[0-9a-f]+ \(Umbra's reserve\) at rip="
expect '^umbra: nested page fault: exit npf \(code 0x400\)'
expect '^umbra: exit reason=npf status=127$'
expect_not '^exit status'
finish
