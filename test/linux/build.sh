#!/bin/sh
# build.sh OUTDIR
#   Make OUTDIR/bzImage and OUTDIR/initrd.gz for the Linux guest test:
#   Debian's i386 kernel (the one linux-image-686-pae:i386 depends on today:
#   the versioned name changes with point releases) and busybox-static:i386,
#   fetched with `apt-get download` into a cache outside the build tree
#   (${UMBRA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/umbra}/linux) so repeated
#   runs don't fetch again, and an initramfs around test/linux/init.sh.
#   Needs the i386 package lists: tools/deps.sh adds them.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR}
cache=${UMBRA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/umbra}/linux
mkdir -p "$out" "$cache"
# Concurrent runs (make -j2 check, another checkout sharing the cache) take
# turns: one lock for the shared download cache, one for OUTDIR.
exec 8>"$cache/.lock" 9>"$out/.lock"
flock 8
flock 9

need_lists() {
    echo "linux: no i386 package lists for $1: run tools/deps.sh (dpkg --add-architecture i386; apt-get update)" >&2
    exit 1
}
# The versioned kernel package, e.g. linux-image-6.1.0-50-686-pae.
kpkg=$(apt-cache depends linux-image-686-pae:i386 2>/dev/null |
       sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\)\(:i386\)\{0,1\}$/\1/p' | head -n 1)
[ -n "$kpkg" ] || need_lists linux-image-686-pae:i386
kver=$(apt-cache show --no-all-versions "$kpkg:i386" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
bver=$(apt-cache show --no-all-versions busybox-static:i386 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
[ -n "$kver" ] || need_lists "$kpkg:i386"
[ -n "$bver" ] || need_lists busybox-static:i386

# fetch PKG VERSION FILE-IN-PACKAGE CACHED-NAME: extract one file from the .deb, once.
fetch() {
    dest="$cache/$4"
    [ -s "$dest" ] && return 0
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/umbra-deb.XXXXXX")
    # apt-get download runs as the _apt user when it can write here.
    chmod 777 "$tmp"
    echo "linux: apt-get download $1:i386 ($2)" >&2
    if ! (cd "$tmp" && apt-get download -q "$1:i386=$2" >&2); then
        rm -rf "$tmp"; echo "linux: apt-get download $1:i386=$2 failed" >&2; exit 1
    fi
    dpkg-deb -x "$tmp"/*.deb "$tmp/x"
    [ -s "$tmp/x/$3" ] || { rm -rf "$tmp"; echo "linux: $1 has no $3" >&2; exit 1; }
    cp "$tmp/x/$3" "$dest.tmp" && mv "$dest.tmp" "$dest"
    rm -rf "$tmp"
}
kname=${kpkg#linux-image-}
fetch "$kpkg" "$kver" "boot/vmlinuz-$kname" "vmlinuz-$kname"
fetch busybox-static "$bver" bin/busybox "busybox-$(echo "$bver" | tr ':' '_')"

cp "$cache/vmlinuz-$kname" "$out/bzImage.tmp" && mv "$out/bzImage.tmp" "$out/bzImage"
flock -u 8
python3 "$here/mkinitramfs.py" "$out/initrd.gz.tmp" "$cache/busybox-$(echo "$bver" | tr ':' '_')" "$here/init.sh"
mv "$out/initrd.gz.tmp" "$out/initrd.gz"
echo "$kpkg $kver" > "$out/VERSION"
echo "linux: $out/bzImage ($kpkg $kver), $out/initrd.gz (busybox-static $bver)" >&2
