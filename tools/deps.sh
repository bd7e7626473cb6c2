#!/bin/sh
# Install every Debian package Umbra needs to build, test and run (as root, Debian 12).
# Idempotent: packages already present are skipped by apt-get.
set -eu
PKGS="build-essential autoconf automake pkg-config check gdb
      bochs bochs-term bochsbios vgabios seabios
      qemu-system-x86 ovmf
      grub-pc-bin grub-efi-amd64-bin grub-common xorriso mtools
      graphviz python3"
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
