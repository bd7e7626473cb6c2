#!/bin/sh
# The call and include graph of src/svm (issue 16), from the built objects.
#
#   sh tools/svmgraph.sh [calls|includes|cycles|size]   (default: all)
#
# calls:    "A -> B: sym sym ..." when A.o has an undefined symbol that B.o
#           defines (nm of kobj/src/svm/**.o, so it follows the code as
#           compiled, function pointers in tables included).  Files outside
#           src/svm and src/guest count as one node per room (kern, shadow, ...).
# includes: "A -> header" for every #include "..." and <umbra/...> in src/svm.
# cycles:   feeds the src/svm-internal call edges and the include edges to
#           tsort(1), which names a loop if there is one; exit status 1 then.
# size:     the largest file in src/ and the ten longest functions in src/
#           (a function's length: its opening line in column 0 to its "}").
# Run it from the top of a built in-tree build (kobj/ next to the sources).
set -e
what=${1:-all}
top=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

node() {   # object path -> graph node
    case $1 in
    kobj/src/svm/*|kobj/src/guest/*) echo "${1#kobj/}" | sed 's/\.o$/.c/; s/vmrun\.c$/vmrun.S/' ;;
    kobj/src/*) echo "$1" | sed 's|kobj/src/\([^/]*\)/.*|\1/|' ;;
    *) echo "other" ;;
    esac
}

# Only objects whose source still exists (a renamed file leaves its old .o).
for o in $(find kobj/src -name '*.o' | sort); do
    src=${o#kobj/}; src=${src%.o}
    if [ -f "$src.c" ] || [ -f "$src.S" ]; then echo "$o"; fi
done > "$tmp/objs"
: > "$tmp/defs"
: > "$tmp/uses"
while read -r o; do
    n=$(node "$o")
    nm "$o" | awk -v n="$n" '$2 ~ /^[TDBR]$/ { print $3, n }' >> "$tmp/defs"
    nm "$o" | awk -v n="$n" '$1 == "U" { print n, $2 }' >> "$tmp/uses"
done < "$tmp/objs"
sort -u "$tmp/defs" > "$tmp/defs.s"
# edges: user node, defining node, symbol
awk 'NR == FNR { def[$1] = $2; next } ($2 in def) && def[$2] != $1 { print $1, def[$2], $2 }' \
    "$tmp/defs.s" "$tmp/uses" | sort -u > "$tmp/edges"

calls() {
    grep -E '^src/(svm|guest)/' "$tmp/edges" | awk '
        { k = $1 " -> " $2; s[k] = s[k] " " $3 }
        END { for (k in s) print k ":" s[k] }' | sort
}

includes() {
    for f in $(find src/svm -name '*.[ch]' | sort); do
        sed -n 's/^#include [<"]\(umbra\/[^>"]*\|[^>"]*\)[>"].*/\1/p' "$f" |
            sed "s|^|$f -> |"
    done
}

cycles() {
    rc=0
    # Only src/svm-internal call edges: a call out to a room and back in is
    # a callback (a hook in a struct), not a circle between src/svm files.
    grep -E '^src/(svm|guest)/[^ ]* src/(svm|guest)/' "$tmp/edges" | awk '{ print $1, $2 }' | sort -u > "$tmp/svm-edges"
    if tsort "$tmp/svm-edges" > /dev/null 2> "$tmp/tsort.err"; then
        echo "calls in src/svm and src/guest: no cycle ($(wc -l < "$tmp/svm-edges") edges)"
    else
        echo "calls in src/svm and src/guest: CYCLE (tsort's first loop:" $(sed -n '2,/contains a loop/p' "$tmp/tsort.err" | grep -v 'contains a loop' | sed 's/^tsort: //') ")"; rc=1
    fi
    # The strongly connected sets: every file that reaches and is reached by another.
    awk '
        { e[$1] = e[$1] " " $2; n[$1]; n[$2] }
        function reach(a, b,   seen, q, h, t, x, i, m, k) {
            h = 0; t = 0; q[t++] = a
            while (h < t) { x = q[h++]; m = split(e[x], k, " ")
                for (i = 1; i <= m; i++) if (!(k[i] in seen)) {
                    if (k[i] == b) return 1; seen[k[i]]; q[t++] = k[i] } }
            return 0 }
        END { for (a in n) { if (a in done) continue; s = ""
                  for (b in n) if (b != a && reach(a, b) && reach(b, a)) { s = s " " b; done[b] }
                  if (s != "") print "  one circle:", a s } }' "$tmp/svm-edges" | sort
    includes | awk '{ print $1, $3 }' | sed 's|^\(src/svm/[^ ]*\) \([^/ ]*\.h\)$|\1 src/svm/\2|' |
        sed 's|\.\./shadow/|src/shadow/|' > "$tmp/inc-edges"
    if tsort "$tmp/inc-edges" > /dev/null 2> "$tmp/tsort.err"; then
        echo "includes in src/svm: no cycle"
    else
        echo "includes in src/svm: CYCLE"; sed 's/^/  /' "$tmp/tsort.err"; rc=1
    fi
    return $rc
}

size() {
    echo "largest files in src/ (lines):"
    find src -name '*.[chS]' | xargs wc -l | grep -v ' total$' | sort -rn | head -3 | sed 's/^/  /'
    echo "longest functions in src/ (lines, first line to closing brace):"
    for f in $(find src -name '*.c' | sort); do
        awk -v f="$f" '
            /^[a-zA-Z_][a-zA-Z_0-9 \*]*\(/ && !/;[ \t]*$/ && !/^(typedef|struct [a-z_]+ *\{)/ {
                name = $0; sub(/\(.*/, "", name); n = split(name, w, /[ \*]+/); name = w[n]; start = NR }
            /^\}/ && start { print NR - start + 1, f ":" start, name; start = 0 }' "$f"
    done | sort -rn | head -10 | sed 's/^/  /'
}

case $what in
calls) calls ;;
includes) includes ;;
cycles) cycles ;;
size) size ;;
all) echo "== calls (A -> B: what A uses from B)"; calls
     echo "== includes"; includes
     echo "== cycles"; cycles || true
     echo "== size"; size ;;
esac
