#!/bin/bash
# Runs inside the VM (see run-in-vm.sh), in one boot:
#  1. the ipvs_kernel test binary against the real kernel (each test in its own netns);
#  2. with ip_vs unloaded and the kernel's own autoload made to fail, the test that
#     Ipvs::open() loads the module through its one modprobe retry;
#  3. the info test again after reloading ip_vs with conn_tab_bits=20.
# Usage: kernel-suite.sh PATH/TO/ipvs_kernel-HASH [libtest filter args]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$1; shift
export KARD_IN_VM=1
MODDIR=${KARD_VM_MODDIR:-/}
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

start=$(date +%s%N)
"$BIN" --include-ignored --test-threads=2 --nocapture --skip open_loads_ip_vs_when_missing "$@"
rc=$?
echo "vm-suite: kernel tests took $(ms "$start") ms (rc=$rc)"
[ $rc = 0 ] || exit $rc
[ $# = 0 ] || exit 0  # a filtered run skips the module reloads

unload() {
  # The module can go once the test namespaces (and their services) are gone.
  for try in 1 2 3 4 5 6 7 8 9 10; do
    for m in $(ls /sys/module | grep '^ip_vs_'); do rmmod "$m" 2>/dev/null; done
    rmmod ip_vs 2>/dev/null && return 0
    sleep 1
  done
  echo "vm-suite: could not unload ip_vs"; exit 1
}

unload
saved=$(cat /proc/sys/kernel/modprobe)
# The kernel runs this path in the initrd's root, where it does not exist, so its autoload
# fails; the client runs it in this root, where it does.
echo "$HERE/modprobe-vm.sh" >/proc/sys/kernel/modprobe
rm -f /tmp/kard-modprobe.log
KARD_EXPECT_MODPROBE_LOG=/tmp/kard-modprobe.log "$BIN" --include-ignored --exact open_loads_ip_vs_when_missing --nocapture || exit 1
echo "$saved" >/proc/sys/kernel/modprobe

unload
modprobe -d "$MODDIR" ip_vs conn_tab_bits=20 || { echo "vm-suite: modprobe ip_vs conn_tab_bits=20 failed"; exit 1; }
KARD_EXPECT_CONN_TAB_SIZE=1048576 "$BIN" --include-ignored --exact info_reports_version_and_conn_tab_size --nocapture
