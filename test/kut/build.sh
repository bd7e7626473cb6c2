#!/bin/sh
# build.sh KUT_SRC OUTDIR
#   Builds kvm-unit-tests twice for x86_64 and i386 from KUT_SRC (the shared
#   folder with the upstream tarball and its build.sh):
#     OUTDIR/plain/ARCH/*.flat    unmodified, by KUT_SRC/build.sh
#     OUTDIR/patched/ARCH/*.flat  with test/kut/patches/*.patch applied
#   (Bochs needs 0001 to boot at all; 0002 gives access_test its shard=I/N).
#   Each has its unittests.cfg beside the flats.  Idempotent: a tree is rebuilt
#   only when the tarball or (for the patched one) a patch changed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=${1:?usage: build.sh KUT_SRC OUTDIR}; out=${2:?usage: build.sh KUT_SRC OUTDIR}
[ -f "$src/build.sh" ] || { echo "kut build: no $src/build.sh (set KUT_SRC)" >&2; exit 1; }
sh "$src/build.sh" "$out/plain"

tarball=$(ls "$src"/kvm-unit-tests-*.tar.gz)
sum=$(cat "$tarball" "$here"/patches/*.patch | sha256sum | cut -d' ' -f1)
[ "$(cat "$out/patched/.built" 2>/dev/null)" = "$sum" ] && exit 0
work=$(mktemp -d "${TMPDIR:-/tmp}/kut-patched.XXXXXX")
trap 'rm -rf "$work"' EXIT
for arch in x86_64 i386; do
    mkdir -p "$work/$arch"
    tar -xzf "$tarball" -C "$work/$arch"
    for p in "$here"/patches/*.patch; do
        patch -s -p1 -d "$work/$arch/kvm-unit-tests" < "$p" ||
            { echo "kut build: $p does not apply" >&2; exit 1; }
    done
    ( cd "$work/$arch/kvm-unit-tests" && ./configure --arch="$arch" >/dev/null && make -j"$(nproc)" >"$work/$arch.log" 2>&1 ) ||
        { tail -n 30 "$work/$arch.log" >&2; echo "kut build: patched kvm-unit-tests $arch build failed" >&2; exit 1; }
    rm -rf "${out:?}/patched/$arch"; mkdir -p "$out/patched/$arch"
    cp "$work/$arch/kvm-unit-tests/x86/"*.flat "$work/$arch/kvm-unit-tests/x86/unittests.cfg" "$out/patched/$arch/"
done
echo "$sum" > "$out/patched/.built"
echo "kut build: patched tests in $out/patched ($(ls "$out"/patched/x86_64/*.flat | wc -l) x86_64, $(ls "$out"/patched/i386/*.flat | wc -l) i386)"
