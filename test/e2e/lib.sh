# Shared helpers for the core end-to-end tests (sourced, POSIX sh).
# Each test boots a guest with run-guest.sh and asserts lines of its COM1
# output and its exit status; on any failure the output is shown.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
RUN="$top_srcdir/test/e2e/run-guest.sh"
DEMO="$top_builddir/test/guests/demo/demo.elf"
UMBRA_ELF="$top_builddir/umbra.elf"
export UMBRA_ELF
fails=0
out=""
rc=0

for f in "$DEMO" "$UMBRA_ELF"; do
    [ -f "$f" ] || { echo "missing $f (run make)"; exit 1; }
done

# run [VAR=value...] EMU MODE GUEST [UMBRA_OPTS...]: sets $out and $rc.
run() {
    echo "--- run $*"
    out=$(env "$@")
    rc=$?
}

bad() {
    echo "FAIL: $1"
    printf '%s\n' "$out" | sed 's/^/    | /'
    fails=$((fails + 1))
}

# expect REGEX: some output line matches (grep -E).
expect() {
    if printf '%s\n' "$out" | grep -qE -- "$1"; then echo "ok: /$1/"; else bad "no line matches /$1/"; fi
}

# expect_not REGEX: no output line matches.
expect_not() {
    if printf '%s\n' "$out" | grep -qE -- "$1"; then bad "a line matches /$1/"; else echo "ok: not /$1/"; fi
}

# expect_rc N: the run's exit status (QEMU's isa-debug-exit encoding, see run-guest.sh).
expect_rc() {
    if [ "$rc" -eq "$1" ]; then echo "ok: exit status $1"; else bad "exit status $rc, expected $1"; fi
}

# counter NAME: the shadow counter NAME of the last output's exit summary, in
# either form: "umbra: shadow: NAME=N" (summary=full) or a word NAME=N of a
# grouped "umbra: shadow: [GROUP] ..." line (the default); in the grouped form
# a counter not shown is 0.  Prints nothing if the output has no summary.
counter() {
    printf '%s\n' "$out" | awk -v n="$1=" '
        /^umbra: shadow: [0-9]+ of [0-9]+ counters non-zero/ { grouped = 1 }
        /^umbra: shadow: (\[[a-z0-9]+\] |[a-z_0-9]+=[0-9]+$)/ {
            for (i = 3; i <= NF; i++)
                if (index($i, n) == 1 && substr($i, length(n) + 1) ~ /^[0-9]+$/) { v = substr($i, length(n) + 1); found = 1 }
        }
        END { if (found) print v; else if (grouped) print 0 }'
}

# expect_count NAME OP N: shadow counter NAME (see counter) compares with N by test(1)'s OP (-eq -gt -ge).
expect_count() {
    v=$(counter "$1")
    if [ -n "$v" ] && [ "$v" "$2" "$3" ]; then echo "ok: shadow counter $1=$v ($2 $3)"
    else bad "shadow counter $1=${v:-missing (no exit summary)}, expected $2 $3"; fi
}

# expect_counter NAME: shadow counter NAME of the last output is > 0.
expect_counter() {
    expect_count "$1" -gt 0
}

# expect_shadow_pae: the shadow counters of a PAE guest that ran on its own shadowed tables.
expect_shadow_pae() {
    expect '^umbra: shadow: guest paging mode PAE; hardware cr0=0x8001[0-9a-f]{4} cr3=0x[0-9a-f]+ cr4=0x[0-9a-f]*[2367abef]0 efer=0x1000$'
    for c in faults fault_fixed ad_set cr3_loads cr3_misses mode_changes made_l1_pae made_l2_pae \
             made_fl1_pae made_phys_l1 live pinned; do
        expect_counter $c
    done
    expect_count fault_stopped -eq 0
    expect_count audit_errors -eq 0
}

# tap: the TAP lines of the last output.
tap() { printf '%s\n' "$out" | grep -E '^(ok|not ok|1\.\.)'; }

finish() {
    if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
    echo "all checks passed"
    exit 0
}
