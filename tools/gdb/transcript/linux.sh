#!/bin/sh
# linux.sh qemu|bochs OUT [UMBRA_OPTS...]: linux.gdb against Umbra + the Linux
# guest of test/linux (built into test/linux/out by test/linux/build.sh).
# UMBRA_LX_WAIT: seconds of boot before the first Ctrl-C (default 20 in QEMU).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
emu=$1 out=$2
shift 2
LX=${LX:-$PWD/test/linux/out}
sh "$top/test/linux/build.sh" "$LX" >/dev/null || { echo "could not build the Linux guest" >&2; exit 1; }
export MEM=256 GUEST_MODULES="$LX/initrd.gz" GUEST_ARGS="console=ttyS0 panic=-1" GDB_FILE=none
export TIMEOUT=${TIMEOUT:-1500} UMBRA_LX_WAIT=${UMBRA_LX_WAIT:-20}
exec sh "$here/session.sh" "$emu" "$LX/bzImage" "$here/linux.gdb" "$out" "$@"
