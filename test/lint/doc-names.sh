#!/bin/sh
# test/lint/doc-names.sh [FILE.md ...]  (make check; README.md, "make check")
#
# Every function a document names in backticks exists in the code, so a
# rename cannot leave the docs pointing at nothing.
#
# What counts as a function name: inside a `...` span (lines of ``` fenced
# blocks are skipped), every C identifier written directly before "(":
# `sh_prealloc()`, `shadow_walk_va(v, va, &wi)`, `SH_NAME(walk)`.  Not when
# "$" (a GDB convenience function, a make function), "." or "->" (a member)
# stands right before it.  Bare identifiers (`walk`, `unshadow_links`) are
# not checked: as often as not they are counters, fields, options, types.
#
# It exists if a line of the code (*.c *.h *.S *.py *.sh *.gdb under src/
# include/ test/ bench/ tools/) defines or declares it: a line starting in
# column 0 with NAME( on it (definition, prototype), "#define NAME", Python
# "def NAME(" / "class NAME".  A name made by token pasting counts if the
# paste exists: `gl1e_val()` when some macro pastes "##_val(" and some macro
# call has gl1e as an argument (entry.h's SH_ENTRY_TYPE); a placeholder
# (`NAME_val()`, `_has()`: upper case or "_" before the first "_x") when some
# macro pastes that suffix.  Other projects' names (Xen, KVM, libc) go in
# test/lint/doc-names.allow, one a line, with why.
#
# Without arguments: docs/*.md, README.md and bench/*.md, after a
# self-check that a planted wrong name fails.  Exit 0 if every name is
# found; else 1, with "FILE:LINE: NAME" for each miss.
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 2
allow=test/lint/doc-names.allow
tmp=$(mktemp -d "${TMPDIR:-/tmp}/umbra-docnames.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The code's defining lines, once.
find src include test bench tools -type f \( -name '*.c' -o -name '*.h' -o -name '*.S' \
        -o -name '*.py' -o -name '*.sh' -o -name '*.gdb' \) 2>/dev/null \
    | grep -v '^test/lint/' | sort | xargs grep -hE \
        '^[A-Za-z_].*[A-Za-z0-9_] *\(|^[ \t]*#[ \t]*define[ \t]|^[ \t]*(def|class) [A-Za-z_]|##' \
    > "$tmp/code"

# FILE:LINE NAME for each function name in a backtick span of the files.
names() {
    for f in "$@"; do
        awk -v F="$f" '
            /^[ \t]*```/ { fence = !fence; next }
            fence { next }
            {
                line = $0
                while (match(line, /`[^`]+`/)) {
                    s = substr(line, RSTART + 1, RLENGTH - 2)
                    line = substr(line, RSTART + RLENGTH)
                    while (match(s, /[A-Za-z_][A-Za-z0-9_]*\(/)) {
                        name = substr(s, RSTART, RLENGTH - 1)
                        before = RSTART > 1 ? substr(s, RSTART - 1, 1) : ""
                        s = substr(s, RSTART + RLENGTH)
                        if (before != "$" && before != "." && before != ">")
                            print F ":" NR " " name
                    }
                }
            }' "$f"
    done
}

# Does the code define NAME?
defined() {
    n=$1
    grep -qE "(^|[^A-Za-z0-9_])$n *\(|#[ \t]*define[ \t]+$n([^A-Za-z0-9_]|\$)|(def|class) $n[(:]" "$tmp/code" \
        && return 0
    case $n in
    [A-Z]*_[a-z]*|_[a-z]*)              # a placeholder: NAME_val, _has
        suf=_${n#*_}
        grep -qF "##$suf(" "$tmp/code" && return 0 ;;
    *_*)                                 # pasted: gl1e_val from gl1e + ##_val(
        pre=${n%_*} suf=_${n##*_}
        grep -qF "##$suf(" "$tmp/code" \
            && grep -qE "[A-Z_]+\((.*[ ,])?$pre[ ,)]" "$tmp/code" && return 0 ;;
    esac
    [ -f "$allow" ] && grep -qE "^$n([ \t]|\$)" "$allow"
}

# Check the files; print the misses; exit status 1 if any.
check() {
    names "$@" > "$tmp/names"
    : > "$tmp/miss"
    while read -r where n; do
        defined "$n" || echo "$where: $n" >> "$tmp/miss"
    done < "$tmp/names"
    cat "$tmp/miss"
    [ ! -s "$tmp/miss" ]
}

if [ $# -eq 0 ]; then
    # The lint must be able to fail: a planted wrong name next to a right one.
    printf 'Call `sh_prealloc()` and `sh_no_such_function(d)` first.\n' > "$tmp/planted.md"
    if out=$(check "$tmp/planted.md") || [ "$out" != "$tmp/planted.md:1: sh_no_such_function" ]; then
        echo "doc-names: the self-check did not catch exactly the planted name: ${out:-nothing}"
        exit 1
    fi
    set -- docs/*.md README.md bench/*.md
fi
if ! check "$@"; then
    echo "doc-names: $(wc -l < "$tmp/miss") function name(s) in backticks that the code does not define"
    exit 1
fi
echo "doc-names: $(wc -l < "$tmp/names") function names in backticks in $*, all defined"
