#!/bin/sh
# make check: every micro-benchmark operation of bench/micro_shadow, natively,
# a few hundred times: each one checks it took the path it measures (a fixed
# hidden fault, a reflected fault, a cached CR3 switch, an emulated PTE write,
# an out-of-sync PTE write resynced at INVLPG, a cached CR3 switch with a
# clean out-of-sync table,
# an unshadow, a reclaiming CR3 load) and ends with a clean audit.
b=${top_builddir:-.}/bench/micro_shadow
fails=0
for op in fault_fixed fault_new_l1 fault_reflected cr3_cached pt_write invlpg_insn oos_resync cr3_oos cr3_oos_dirty oos_lost_d unshadow reclaim; do
    "$b" "$op" 600 || { echo "FAIL: micro_shadow $op"; fails=$((fails + 1)); }
done
[ $fails -eq 0 ]
