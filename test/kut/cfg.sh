#!/bin/sh
# cfg.sh UNITTESTS.CFG ARCH [NAME]
#   Prints one line per test of kvm-unit-tests' unittests.cfg that applies to
#   ARCH (x86_64 or i386): the entries without "arch =" or with "arch = ARCH",
#   as the upstream runner (scripts/runtime.bash) selects them:
#     NAME|FILE|SMP|QEMU_PARAMS|TEST_ARGS|ACCEL|GROUPS|TIMEOUT
#   SMP defaults to 1 and TIMEOUT to 90 (upstream's 90s), without the unit.
#   Quotes around a value are removed (test_args = "a b" -> a b).  With NAME,
#   only that entry (exit status 1 when there is none).
set -eu
cfg=${1:?usage: cfg.sh UNITTESTS.CFG ARCH [NAME]}
arch=${2:?usage: cfg.sh UNITTESTS.CFG ARCH [NAME]}
want=${3:-}
awk -v arch="$arch" -v want="$want" '
function flush() {
    if (name != "" && (a == "" || a == arch) && (want == "" || want == name)) {
        print name "|" f["file"] "|" (f["smp"] == "" ? 1 : f["smp"]) "|" f["qemu_params"] "|" \
            f["test_args"] "|" f["accel"] "|" f["groups"] "|" (t == "" ? 90 : t)
        found = 1
    }
    name = ""; a = ""; t = ""; split("", f)
}
/^[ \t]*#/ || /^[ \t]*$/ { next }
/^\[.*\]/ { flush(); name = $0; gsub(/^\[|\][ \t]*$/, "", name); next }
{
    k = $0; sub(/[ \t]*=.*/, "", k)
    v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]*$/, "", v)
    if (v ~ /^".*"$/ || v ~ /^\047.*\047$/) v = substr(v, 2, length(v) - 2)
    if (k == "arch") a = v
    else if (k == "timeout") { t = v; sub(/s$/, "", t) }
    else f[k] = v
}
END { flush(); exit(found ? 0 : 1) }
' "$cfg"
