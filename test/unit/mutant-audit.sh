#!/bin/sh
# mutant-audit.sh (by hand, not in make check: it edits src/ in place, then
# restores it): each mutant below disables or bends one check of the faster
# audit (2026-12-03 evening); test_shadow_audit must turn red on every one
# (the last two through its clean set-up audit)
# and be green again at the end.  Run from the build tree after make:
#   sh test/unit/mutant-audit.sh
# One line per mutant: NAME: Check's summary, red: the failing tests.
set -u
cd "${top_srcdir:-$(dirname "$0")/../..}" || exit 1
keep=$(mktemp); fail=0
while IFS='@' read -r name file from to; do
    [ -n "$name" ] || continue
    cp "$file" "$keep"
    python3 - "$file" "$from" "$to" <<'PY' || { echo "$name: the text to mutate is gone"; fail=1; continue; }
import sys
p, a, b = sys.argv[1:4]
s = open(p).read()
if a not in s:
    sys.exit(1)
open(p, 'w').write(s.replace(a, b, 1))
PY
    if make -s test/unit/test_shadow_audit >/dev/null 2>&1; then
        out=$(./test/unit/test_shadow_audit 2>&1)
        red=$(printf '%s\n' "$out" | grep -oE ':[FE]:planted:[a-z0-9_]+' | sed 's/.*planted://' | tr '\n' ' ')
        echo "$name: $(printf '%s\n' "$out" | grep -E '^[0-9]+%') red: $red"
        printf '%s\n' "$out" | grep -q '^100%' && fail=1
    else
        echo "$name: does not build"; fail=1
    fi
    cp "$keep" "$file"
done <<'LIST'
no-reserved@src/shadow/multi_audit.inc.c@(gr & rs[!!(gr & PS)])@(0)
reserved-ignores-PS@src/shadow/multi_audit.inc.c@(gr & rs[!!(gr & PS)])@(gr & rs[0])
no-nx@src/shadow/multi_audit.inc.c@if (nx && (gr@if (0 && (gr
filter-says-no@src/shadow/private.h@return ((sh_audit_ptf[b / 64] >> (b % 64)) & 1) && sh_is_protected_pt(d, gfn);@return 0 && sh_is_protected_pt(d, gfn);
filter-empty@src/shadow/audit.c@                sh_audit_ptf[bit / 64] |= 1ULL << (bit % 64);@                sh_audit_ptf[bit / 64] |= 0;
inuse-always-match@src/shadow/audit.c@    return nslots == sum;@    return true;
inuse-sum-only@src/shadow/audit.c@            if (t < d->first || d->pg[t].inuse != audit_inuse_slots(d, t))@            if (t < d->first)
no-back-link@src/shadow/rmap.c@            if (n[0] != prev)@            if (0)
no-bucket@src/shadow/rmap.c@            else if (rhash(d, mfn) != b)@            else if (0)
no-dead-slot@src/shadow/rmap.c@            if (si - d->first >= d->frames - d->first || k >= nent_of[d->pg[si].type]) {@            if (si - d->first >= d->frames - d->first) {
count-lost@src/shadow/multi_audit.inc.c@        sh_audit_writable += writable;@        sh_audit_writable += 0;
count-all-present@src/shadow/multi_audit.inc.c@        writable += (se & RW) != 0;@        writable += 1;
LIST
rm -f "$keep"
make -s test/unit/test_shadow_audit >/dev/null 2>&1 && ./test/unit/test_shadow_audit 2>&1 | tail -n 1 | grep -q '^100%' ||
    { echo "FAIL: test_shadow_audit is not green on the restored sources"; fail=1; }
[ $fail = 0 ] && echo "ok: every mutant caught" || echo "FAIL: a mutant was not caught"
exit $fail
