#!/bin/sh
# make check: every fuzz target over its committed inputs (seeds and
# regression inputs, each once), then FUZZ_CHECK_SECONDS (default 3) of
# fuzzing from them into a scratch corpus.  Fails on any crash.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
fails=0
for t in ${FUZZ_TARGETS:-mb1 linux mb2 opts rsp x86 event shadow acpi ivrs mptable}; do
    sh "$top_srcdir/test/fuzz/fuzz-run.sh" "$t" "${FUZZ_CHECK_SECONDS:-3}" check || fails=$((fails + 1))
done
[ $fails -eq 0 ] && echo "fuzz: all targets clean" || echo "FAIL: fuzz: $fails target(s) crashed"
exit $fails
