#!/bin/sh
# bench/callgrind.sh MICRO_SHADOW  (make bench-callgrind; bench/README.md)
#   Instructions per shadow operation, counted by callgrind (repeatable for one
#   binary, whatever the machine's load).  micro_shadow switches collection on
#   around the measured call only, so the total over N operations / N is the
#   cost of one, setup and the simulated hardware walk excluded.
#     callgrind: OP instructions/op=X (N ops, T in all)
b=${1:?usage: callgrind.sh MICRO_SHADOW}
N=${CALLGRIND_OPS:-2000}
command -v valgrind >/dev/null || { echo "callgrind: valgrind is not installed (tools/deps.sh)"; exit 1; }
out=$(mktemp "${TMPDIR:-/tmp}/umbra-cg.XXXXXX")
trap 'rm -f "$out"' EXIT
status=0
for op in fault_fixed fault_new_l1 fault_reflected cr3_cached pt_write invlpg_insn oos_resync cr3_oos cr3_oos_dirty unshadow reclaim; do
    if ! valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$out" "$b" "$op" "$N" \
            >/dev/null 2>&1; then
        echo "callgrind: $op: the benchmark failed"; status=1; continue
    fi
    t=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out" | tail -n 1)
    [ -n "$t" ] || t=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out" | tail -n 1)
    echo "callgrind: $op instructions/op=$((t / N)) ($N ops, $t in all)"
done
exit $status
