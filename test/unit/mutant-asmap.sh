#!/bin/sh
# The hosted tests must notice a walker that sets A before the SMAP check.
# test_shadow_ad_asmap is test_shadow_ad linked against libshadow_asmap.a
# (multi.c with SHADOW_MUTANT_A_BEFORE_SMAP=1).  It must fail, in the SMAP
# case of every page-table shape, and nowhere else.
b="${top_builddir:-.}/test/unit/test_shadow_ad_asmap"
[ -x "$b" ] || { echo "missing $b (make check builds it)"; exit 1; }
out=$(CK_FORK=yes "$b" 2>&1)
rc=$?
printf '%s\n' "$out" | grep -E '^[0-9]+%|:F:|:E:' | head -n 12
if [ "$rc" -eq 0 ]; then
    echo "FAIL: test_shadow_ad passes against the A-before-SMAP walker"
    exit 1
fi
smap=$(printf '%s\n' "$out" | grep -c ':F:ad_on_success:smap_sets_no_a:' || true)
other=$(printf '%s\n' "$out" | grep -E ':[FE]:' | grep -vc ':smap_sets_no_a:' || true)
if [ "$smap" -ne 7 ] || [ "$other" -ne 0 ]; then
    echo "FAIL: want the SMAP case of all 7 shapes to fail and nothing else ($smap SMAP, $other other)"
    exit 1
fi
echo "ok: the A-before-SMAP mutant fails smap_sets_no_a in all $smap page-table shapes"
# The randomised differential test must notice it too (S6), in every paging mode.
r="${top_builddir:-.}/test/unit/test_shadow_random_asmap"
[ -x "$r" ] || { echo "missing $r (make check builds it)"; exit 1; }
out=$(CK_RUN_CASE=random UMBRA_SEEDS=100 "$r" 2>&1)
rc=$?
printf '%s\n' "$out" | grep -E '^[0-9]+%|:F:' | head -n 6
modes=$(printf '%s\n' "$out" | grep -E ':F:random:random_(2level|pae|long):' | grep -c 'faulted but set A/D' || true)
if [ "$rc" -eq 0 ] || [ "$modes" -ne 3 ]; then
    echo "FAIL: test_shadow_random did not catch the A-before-SMAP walker in all 3 paged modes (rc=$rc, $modes)"
    exit 1
fi
echo "ok: the randomised test catches it in 2-level, PAE and long mode (S6)"
