#!/bin/sh
# Install every Debian package Umbra needs to build, test and run (as root, Debian 12).
# Idempotent: packages already present are skipped by apt-get.
set -eu
PKGS="build-essential autoconf automake pkg-config check gdb
      bochs bochs-term bochsbios vgabios seabios
      qemu-system-x86 ovmf
      grub-pc-bin grub-efi-amd64-bin grub-common xorriso mtools
      graphviz python3 clang libclang-rt-14-dev valgrind"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $missing
else
    echo "deps: all packages present"
fi
# The Linux guest test (test/linux/) fetches Debian's i386 kernel and
# busybox-static with `apt-get download` at test time: it needs the i386
# architecture in dpkg and its package lists.  Both steps are idempotent.
if ! dpkg --print-foreign-architectures | grep -qx i386; then
    echo "deps: adding the i386 architecture"
    $SUDO dpkg --add-architecture i386
fi
if ! apt-cache show busybox-static:i386 linux-image-686-pae:i386 >/dev/null 2>&1; then
    # A mirror in mid-sync can fail one index (e.g. the security suite) while
    # the main suite is fine: judge by what we need, not by apt-get's status.
    $SUDO apt-get update -q || echo "deps: apt-get update reported errors"
    apt-cache show busybox-static:i386 linux-image-686-pae:i386 >/dev/null || {
        echo "deps: no i386 package lists (busybox-static:i386, linux-image-686-pae:i386)" >&2
        exit 1
    }
fi
