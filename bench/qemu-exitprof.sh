#!/bin/sh
# bench/qemu-exitprof.sh ISO OUT [DELAY] [VAR=VALUE...]   (bench/README.md)
#   Instructions Umbra executes per #VMEXIT, by exit code and by function:
#   boots ISO (mkiso.sh: Umbra and a guest) in QEMU TCG with QEMU's own
#   gdbstub, and bench/exitprof.py single-steps the host from the instruction
#   after VMRUN to the next VMRUN for the sampled exits.  DELAY > 0: QEMU runs
#   free for DELAY seconds first and gdb attaches then (for long guests such
#   as Linux); DELAY 0 (default): gdb holds the CPU from reset.  Exits
#   stepped are slow (a few ms an instruction), so a guest that watches the
#   clock (Linux's soft-lockup detector) may complain; the counts are exact.
#   VARs: EXIT_CODE (0x4e = #PF, default; "any"), WARM (exits let by first),
#   EVERY (sample every N-th matching exit), SAMPLES, UMBRA_ELF (the ELF in
#   the ISO, for symbols and the VMRUN address), MEM, QEMU_CPU.
#   Prints per exit "exit N: code C I instructions", then per code the mean
#   and per function the mean instructions per sampled exit.
iso=${1:?usage: qemu-exitprof.sh ISO OUT [DELAY] [VAR=VALUE...]}; out=${2:?}; delay=${3:-0}
[ $# -ge 3 ] && shift 3 || shift 2
here=$(cd "$(dirname "$0")" && pwd)
elf=${UMBRA_ELF:-${top_builddir:-.}/umbra.elf}
for a in "$@"; do case $a in UMBRA_ELF=*) elf=${a#UMBRA_ELF=};; esac; done
pcs=$(objdump -d "$elf" | awk '/<svm_vmrun>:/ { f = 1 }
    f && /\tvmrun/ { sub(":", "", $1); printf "VMRUN_PC=0x%s ", $1 }
    f && /\tvmsave/ { sub(":", "", $1); print "VMSAVE_PC=0x" $1; exit }')
case $pcs in *VMSAVE_PC=0x*) ;; *) echo "qemu-exitprof: no VMRUN/VMSAVE in $elf's svm_vmrun" >&2; exit 2;; esac
port=$((20000 + $$ % 10000))
hold=-S; [ "$delay" -gt 0 ] && hold=
timeout 3600 qemu-system-x86_64 -display none -no-reboot -m "${MEM:-256}" -cpu "${QEMU_CPU:-EPYC}" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 -serial "file:$out.com1" -cdrom "$iso" \
    -gdb tcp::$port $hold > "$out.qemu" 2>&1 &
q=$!
sleep $((delay > 0 ? delay : 1))
# gdb's stepi echoes source lines even when captured: keep only the script's own lines.
env $pcs UMBRA_ELF="$elf" PORT=$port "$@" gdb -batch -x "$here/exitprof.py" 2>&1 |
    grep -aE '^(exit [0-9]+:|exits=|code 0x|vmrun at| +[0-9]+\.[0-9] )' > "$out"
rc=$?
kill $q 2>/dev/null
cat "$out"
[ $rc = 0 ]
