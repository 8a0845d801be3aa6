#!/bin/bash
# The whole test suite: unit tests, the differential tests against keepalived 2.2.7, the netns
# tests and the VM (real IPVS kernel) tests. Installs what it needs with apt when run as root on
# Debian; suites whose prerequisites are missing say SKIPPED.
# Usage: tests/run.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=()
command -v keepalived >/dev/null || [ -x /usr/sbin/keepalived ] || pkgs+=(keepalived)
command -v ipvsadm >/dev/null || [ -x /usr/sbin/ipvsadm ] || pkgs+=(ipvsadm)
command -v ip >/dev/null || pkgs+=(iproute2)
command -v qemu-system-x86_64 >/dev/null || pkgs+=(qemu-system-x86)
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || pkgs+=(busybox-static)
command -v depmod >/dev/null || [ -x /usr/sbin/depmod ] || [ -x /sbin/depmod ] || pkgs+=(kmod)
command -v cpio >/dev/null || pkgs+=(cpio)
if [ ${#pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing: ${pkgs[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
  else
    echo "not root or no apt: missing ${pkgs[*]}; the suites that need them will say SKIPPED"
  fi
fi
cargo test "$@"
