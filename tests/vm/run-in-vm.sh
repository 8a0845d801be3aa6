#!/bin/bash
# Run one command inside a throwaway QEMU VM whose kernel (Debian's linux-image) has IPVS.
# The host's root filesystem is shared read-only over 9p, /tmp and /run are fresh tmpfs,
# and the current directory is shared writable, so a test binary built here runs there.
# The VM has no network device (-nic none): tests use network namespaces inside it.
#
# Usage: tests/vm/run-in-vm.sh [--mem MB] [--smp N] [--timeout SECS] -- COMMAND [ARGS...]
# Exit status: the command's, 124 on timeout, 125 if the VM never reported one,
# 77 if the VM cannot be run here (no qemu and no way to install it): callers skip on 77.
# Env: KARD_VM_CACHE (default /var/cache/keepalived-rs-vm, or ~/.cache/... when not root),
# KARD_VM_ACCEL (default tcg); KARD_* and RUST_* are passed into the VM.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" = 0 ]; then CACHE=${KARD_VM_CACHE:-/var/cache/keepalived-rs-vm}
else CACHE=${KARD_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-rs-vm}; fi
MEM=1024 SMP=2 TIMEOUT=540
while [ $# -gt 0 ]; do
  case "$1" in
    --mem) MEM=$2; shift 2 ;;
    --smp) SMP=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--mem MB] [--smp N] [--timeout S] -- COMMAND..." >&2; exit 2; }
skip() { echo "SKIP: $*" >&2; exit 77; }

# Host tools: install what is missing (Debian), or report that the VM cannot run.
need=()
for c in qemu-system-x86_64:qemu-system-x86 busybox:busybox-static depmod:kmod cpio:cpio ip:iproute2 ipvsadm:ipvsadm; do
  command -v "${c%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${c%%:*}" ] || need+=("${c##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; } || skip "missing ${need[*]} and cannot apt-get install"
  apt-get update -q >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
    || skip "apt-get install ${need[*]} failed"
fi
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 unavailable"
# busybox-static installs /bin/busybox; a dynamic busybox would not run from the initrd.
BUSYBOX=$(command -v busybox)
ldd "$BUSYBOX" >/dev/null 2>&1 && skip "$BUSYBOX is not static (install busybox-static)"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9  # concurrent test runs share one cache; build it once

# Modules in the initrd that /init does not load: a test loads them with `modprobe -d /run/vm`
# (bridge: tests/vm/seed-deploy.sh puts six namespaces on one L2 segment).
EXTRA_MODULES="bridge"
WANT="$(sed -n 's/^MODULES="\(.*\)"$/\1/p' "$HERE/init") $EXTRA_MODULES"

# Kernel + modules: Debian's current linux-image, unpacked once (again when the module list grows).
if [ ! -f "$CACHE/vmlinuz" ] || [ ! -d "$CACHE/initrd/lib/modules" ] \
  || [ "$(cat "$CACHE/modules.list" 2>/dev/null)" != "$WANT" ]; then
  tmp=$(mktemp -d "$CACHE/build.XXXXXX")
  (
    cd "$tmp"
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
    if [ -z "$pkg" ]; then apt-get update -q >/dev/null 2>&1 || true
      pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}'); fi
    [ -n "$pkg" ] || { echo "no linux-image package found" >&2; exit 1; }
    apt-get download "$pkg" >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1; apt-get download "$pkg" >/dev/null; }
    mkdir root && dpkg-deb -x "$pkg"_*.deb root
    KV=$(ls root/lib/modules)
    depmod -b root "$KV"
    mkdir -p initrd/bin initrd/proc initrd/sys initrd/dev initrd/host "initrd/lib/modules/$KV"
    cp "$BUSYBOX" initrd/bin/busybox
    for a in sh modprobe insmod rmmod ls mount umount mkdir chroot poweroff echo cat sleep sync; do
      ln -s busybox "initrd/bin/$a"; done
    # Only the modules /init loads, with their dependencies: a small initrd boots fast under TCG.
    for m in $WANT; do
      modprobe -d root -S "$KV" --show-depends "$m" 2>/dev/null | awk '$1 == "insmod" {print $2}'
    done | sort -u | sed "s|^$PWD/root/lib/modules/$KV/||; s|^root/lib/modules/$KV/||" >mods.txt
    [ -s mods.txt ] || { echo "no kernel modules resolved" >&2; exit 1; }
    (cd "root/lib/modules/$KV" && cpio -pdm --quiet "$tmp/initrd/lib/modules/$KV/" <"$tmp/mods.txt")
    cp root/lib/modules/"$KV"/modules.order root/lib/modules/"$KV"/modules.builtin* "initrd/lib/modules/$KV/"
    depmod -b initrd "$KV"
    cp root/boot/vmlinuz-* vmlinuz
  ) || { rm -rf "$tmp"; skip "could not fetch or unpack Debian's linux-image package"; }
  rm -rf "$CACHE/initrd" && mv "$tmp/initrd" "$CACHE/initrd" && mv "$tmp/vmlinuz" "$CACHE/vmlinuz"
  rm -rf "$tmp" "$CACHE/initrd.gz"
  echo "$WANT" >"$CACHE/modules.list"
fi
# The initrd is repacked whenever our /init changes.
if ! cmp -s "$HERE/init" "$CACHE/initrd/init" || [ ! -f "$CACHE/initrd.gz" ]; then
  install -m 0755 "$HERE/init" "$CACHE/initrd/init"
  (cd "$CACHE/initrd" && find . | cpio -o -H newc --quiet | gzip -1 >"$CACHE/initrd.gz.new")
  mv "$CACHE/initrd.gz.new" "$CACHE/initrd.gz"
fi
flock -u 9

WORK=$(pwd)
XCH=$(mktemp -d)
trap 'rm -rf "$XCH"' EXIT
{
  printf 'cd %q || exit 126\n' "$WORK"
  env | grep -E '^(KARD_|RUST_)[A-Za-z0-9_]*=' | while IFS= read -r kv; do printf 'export %q\n' "$kv"; done
  printf '%q ' "$@"; echo
} >"$XCH/cmd"

# TCG by default: /dev/kvm may exist without working (nested virtualisation), and then
# QEMU hangs instead of failing. KARD_VM_ACCEL=kvm opts in.
ACCEL=(-accel "${KARD_VM_ACCEL:-tcg}")
set +e
timeout "$TIMEOUT" qemu-system-x86_64 "${ACCEL[@]}" -m "$MEM" -smp "$SMP" -nographic -no-reboot -nic none \
  -kernel "$CACHE/vmlinuz" -initrd "$CACHE/initrd.gz" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$WORK,mount_tag=work,security_model=none" \
  -virtfs "local,path=$XCH,mount_tag=xch,security_model=none" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1" </dev/null |
  sed -u -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\x1bc//g' -e 's/\r$//' |
  grep --line-buffered -v -E '^(SeaBIOS|iPXE|Press Ctrl-B|Booting from ROM|\[ *[0-9.]+\] reboot: Power down|$)' |
  sed -u -e 's/^/vm| /'  # so the VM's test summaries are not taken for the host's
st=("${PIPESTATUS[@]}")
set -e
[ "${st[0]}" = 124 ] && { echo "VM timed out after ${TIMEOUT}s" >&2; exit 124; }
[ -f "$XCH/rc" ] || { echo "VM exited without reporting a status" >&2; exit 125; }
exit "$(cat "$XCH/rc")"
