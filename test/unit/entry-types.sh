#!/bin/sh
# The typed entries of the shadow template (src/shadow/entry.h) must refuse
# to mix: each snippet below compiles multi.c for one guest level and adds
# one function that mixes kinds (a guest PTE, a guest entry of level >= 2, a
# shadow leaf, a shadow link, an integer); each must fail to compile, with
# the error naming the types, while the control (typed right) compiles.
# About 2 s (syntax only, 3 levels x 9 snippets).
top_srcdir=${top_srcdir:-.}
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/umbra-entry.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
try() {   # LEVEL NAME BODY -> 0 if it compiles
    printf '#define GUEST_LEVELS %s\n#include "multi.c"\n%s\n' "$1" "$3" >"$tmp/$2.c"
    "$cc" -std=gnu11 -Werror=incompatible-pointer-types -I"$top_srcdir/include" -I"$top_srcdir/src/shadow" \
        -fsyntax-only "$tmp/$2.c" >"$tmp/$2.err" 2>&1
}
for lv in 2 3 4; do
    if ! try $lv control 'void t(struct shadow_domain *d, struct shadow_vcpu *v, gl1e_t g1, glne_t gn,
            sl1e_t *le, slne_t *ne)
        { *le = l1e_propagate_from_guest(d, v, g1); install(d, 0, 0, ne, slne_mk(gl1e_val(g1)));
          (void)glne_has(gn, P); (void)child_of(v, gn, 2, &(uint64_t){ 0 }); }'; then
        echo "FAIL: level $lv: the control does not compile:"; head -n 5 "$tmp/control.err"; fail=1
        continue
    fi
    for case in \
        'guest_in_shadow:void t(gl1e_t ge, sl1e_t *se) { *se = ge; }' \
        'upper_as_pte:sl1e_t t(struct shadow_domain *d, struct shadow_vcpu *v, glne_t e) { return l1e_propagate_from_guest(d, v, e); }' \
        'pte_as_upper:bool t(struct shadow_vcpu *v, gl1e_t e) { return superpage(v, 2, e); }' \
        'leaf_as_link:void t(struct shadow_domain *d, slne_t *se, sl1e_t l) { install(d, 0, 0, se, l); }' \
        'link_as_leaf:void t(struct shadow_domain *d, sl1e_t *se, slne_t l) { set_l1e(d, 0, 0, se, l); }' \
        'integer_entry:void t(sl1e_t *se) { *se = 0x63; }' \
        'raw_bit_test:int t(glne_t ge) { return (ge & P) != 0; }' \
        'link_ptr_as_leaf_ptr:void t(struct shadow_domain *d, slne_t *se) { set_l1e(d, 0, 0, se, sl1e_mk(0)); }'
    do
        name=${case%%:*} body=${case#*:}
        if try $lv "$name" "$body"; then
            echo "FAIL: level $lv: $name compiles"; fail=1
        elif ! grep -qE 'incompatible|invalid operands' "$tmp/$name.err"; then
            echo "FAIL: level $lv: $name fails for another reason:"; head -n 3 "$tmp/$name.err"; fail=1
        fi
    done
done
[ $fail = 0 ] && echo "ok: 8 ways of mixing guest PTEs, guest upper entries, shadow leaves and links fail to compile at levels 2, 3 and 4; the control compiles"
exit $fail
