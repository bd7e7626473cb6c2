#!/bin/sh
# make check: bench/qemu-exitprof.sh works.  The demo guest under Umbra in
# QEMU, the 11th to 13th exits stepped (the first ones make the shadows and
# take tens of thousands of steps): each must be counted (a non-zero
# instruction count), the per-code mean printed, and the profile must name
# what every exit runs: svm_handle_exit (C) and svm_vmrun (assembly).
. "${top_srcdir:-$(dirname "$0")/..}/test/e2e/lib.sh"
t=$(mktemp -d "${TMPDIR:-/tmp}/umbra-exitprof.XXXXXX")
trap 'rm -rf "$t"' EXIT
UMBRA_ELF="$top_builddir/umbra.elf" sh "$top_srcdir/test/e2e/mkiso.sh" "$t/demo.iso" "$DEMO" >/dev/null 2>&1 ||
    bad "mkiso.sh failed"
out=$(timeout 600 sh "$top_srcdir/bench/qemu-exitprof.sh" "$t/demo.iso" "$t/prof" 0 \
    UMBRA_ELF="$top_builddir/umbra.elf" EXIT_CODE=any WARM=10 SAMPLES=3 MEM=64 2>&1)
rc=$?
printf '%s\n' "$out"
[ $rc -eq 0 ] || bad "qemu-exitprof.sh exited $rc"
expect '^exit 3: code 0x[0-9a-f]+ [1-9][0-9]* instructions$'
expect '^exits=3 mean=[1-9][0-9]* '
expect '^code 0x[0-9a-f]+: n=[1-3] mean=[1-9]'
expect '^ +[0-9]+\.[0-9] svm_handle_exit$'
expect '^ +[0-9]+\.[0-9] svm_vmrun \(asm\)$'
finish
