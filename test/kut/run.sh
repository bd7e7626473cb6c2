#!/bin/sh
# run.sh EMU ARCH NAME MODE
#   Boots kvm-unit-tests' test NAME (an entry of ARCH's unittests.cfg) once in
#   EMU (qemu | bochs), MODE = bare | shadow (under Umbra, paging=shadow) |
#   npt (under Umbra, paging=npt), with what unittests.cfg gives the entry:
#   its -cpu (QEMU; Bochs always runs its ryzen model), -m, -smp, test_args
#   (the guest's argv after its name) and other QEMU options, plus the devices
#   upstream's x86/run adds to every test (pc-testdev, pci-testdev,
#   isa-debug-exit).  Prints the guest's COM1 output (Umbra's own lines
#   included) and exits like test/e2e/run-guest.sh: (status << 1) | 1, 124 on
#   a timeout.  Under Umbra the CPU model gets +svm,+npt added: Umbra needs
#   them and hides SVM from the guest, so the guest sees the model it sees bare.
# Environment:
#   KUT_DIR      unmodified build (KUT_DIR/ARCH/*.flat, unittests.cfg)
#   KUT_PATCHED  our patched build (test/kut/patches); Bochs runs take every
#                test from it, QEMU runs only the tests in KUT_PATCHED_TESTS
#                (default: access_test, whose shard argument is ours)
#   KUT_ARGS     replaces the cfg's test_args (e.g. shard=0/64 for access_test)
#   KUT_BOCHS_ARGS  appended to the arguments in Bochs only (vmexit's goal=N, patch 0005)
#   KUT_CPU      replaces the cfg's QEMU CPU model
#   KUT_SMP      replaces the cfg's -smp under Umbra (QEMU; bare keeps the cfg's:
#                bare, the library starts every AP and then hangs); the test is told of one
#                CPU (NR_CPUS=1 in its environment, as in Bochs): under Umbra
#                the guest sees one, and the library would wait for the others
#   UMBRA_OPTS   more words for Umbra's command line (e.g. watchdog=60 or
#                gdb=com2: the watchdog CPU, which needs KUT_SMP=2)
#   TIMEOUT      seconds (default: the cfg's timeout, x4 under Umbra, x10 in Bochs)
#   UMBRA_ELF, QEMU, BOCHS, BOCHS_CPU as for run-guest.sh.
set -u
here=$(cd "$(dirname "$0")" && pwd)
emu=${1:?usage: run.sh qemu|bochs ARCH NAME bare|shadow|npt}; arch=${2:?}; name=${3:?}; mode=${4:?}
KUT_DIR=${KUT_DIR:?KUT_DIR names the kvm-unit-tests build}
KUT_PATCHED=${KUT_PATCHED:-}
KUT_PATCHED_TESTS=${KUT_PATCHED_TESTS:-access_test}

entry=$(sh "$here/cfg.sh" "$KUT_DIR/$arch/unittests.cfg" "$arch" "$name") ||
    { echo "run.sh: no test $name for $arch in $KUT_DIR/$arch/unittests.cfg" >&2; exit 2; }
IFS='|' read -r _ file smp params args _ _ tmo <<EOT
$entry
EOT
[ -n "${KUT_ARGS+set}" ] && args=$KUT_ARGS
[ "$emu" = bochs ] && [ -n "${KUT_BOCHS_ARGS:-}" ] && args="${args:+$args }$KUT_BOCHS_ARGS"

dir=$KUT_DIR
case "$emu" in
bochs) dir=${KUT_PATCHED:?Bochs needs the patched build (KUT_PATCHED)} ;;
qemu) for t in $KUT_PATCHED_TESTS; do
          [ "$t" = "${file%.flat}" ] && dir=${KUT_PATCHED:?$file needs the patched build (KUT_PATCHED)}
      done ;;
*) echo "run.sh: EMU must be qemu or bochs" >&2; exit 2 ;;
esac
flat=$dir/$arch/$file
[ -f "$flat" ] || { echo "run.sh: $flat was not built" >&2; exit 2; }

# Split the cfg's QEMU options: -cpu and -m go to run-guest.sh's QEMU_CPU and MEM.
cpu=qemu64; mem=128; rest=""
set -f
set -- $params
set +f
while [ $# -gt 0 ]; do
    case "$1" in
    -cpu) cpu=$2; shift 2 ;;
    -m) mem=$2; shift 2
        case "$mem" in *[gG]) mem=$(( ${mem%?} * 1024 ));; *[mM]) mem=${mem%?};; esac ;;
    *) rest="$rest $1"; shift ;;
    esac
done
[ -n "${KUT_CPU:-}" ] && cpu=$KUT_CPU
[ -n "${KUT_SMP:-}" ] && [ "$mode" != bare ] && smp=$KUT_SMP

case "$mode" in
bare) how=bare; opts="" ;;
shadow) how=umbra; opts="paging=shadow ${UMBRA_OPTS:-}"; cpu="$cpu,+svm,+npt" ;;
npt) how=umbra; opts="paging=npt ${UMBRA_OPTS:-}"; cpu="$cpu,+svm,+npt" ;;
*) echo "run.sh: MODE must be bare, shadow or npt" >&2; exit 2 ;;
esac

if [ "$emu" = bochs ]; then
    # No fw_cfg in Bochs: the library reads the CPU count from its environment
    # (a multiboot module of KEY=VALUE lines), or it waits for APs forever.
    envf=$(mktemp "${TMPDIR:-/tmp}/kut-env.XXXXXX")
    trap 'rm -f "$envf"' EXIT
    echo NR_CPUS=1 > "$envf"
    GUEST_MODULES=$envf; export GUEST_MODULES
    : "${TIMEOUT:=$((tmo * 10))}"
else
    if [ -n "${KUT_SMP:-}" ] && [ "$mode" != bare ]; then
        envf=$(mktemp "${TMPDIR:-/tmp}/kut-env.XXXXXX")
        trap 'rm -f "$envf"' EXIT
        echo NR_CPUS=1 > "$envf"
        GUEST_MODULES=$envf; export GUEST_MODULES
    fi
    QEMU_CPU=$cpu
    QEMU_ARGS="-smp $smp -device pc-testdev -device pci-testdev$rest"
    export QEMU_CPU QEMU_ARGS
    [ "$how" = umbra ] && : "${TIMEOUT:=$((tmo * 4))}"
    : "${TIMEOUT:=$tmo}"
fi
MEM=$mem; GUEST_ARGS=$args; export MEM GUEST_ARGS TIMEOUT
echo "kut-run: $emu $arch $name $mode: ${QEMU_CPU:-${BOCHS_CPU:-ryzen}} -m $mem -smp $smp${QEMU_ARGS:+ ($QEMU_ARGS)} $file $args"
sh "$here/../e2e/run-guest.sh" "$emu" "$how" "$flat" $opts
