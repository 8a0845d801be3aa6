#!/bin/bash
# Runs inside the VM (see run-in-vm.sh): the ipvs_kernel test binary against the real
# kernel, then once more for the info test after reloading ip_vs with conn_tab_bits=20.
# Usage: kernel-suite.sh PATH/TO/ipvs_kernel-HASH [extra libtest args]
set -u
BIN=$1; shift
export KARD_IN_VM=1
start=$(date +%s%N)
"$BIN" --include-ignored --test-threads=2 --nocapture "$@"
rc=$?
echo "vm-suite: kernel tests took $(( ($(date +%s%N) - start) / 1000000 )) ms (rc=$rc)"
[ $rc = 0 ] || exit $rc
[ $# = 0 ] || exit 0  # a filtered run skips the reload

# The module can go once the test namespaces (and their services) are gone.
for try in 1 2 3 4 5 6 7 8 9 10; do
  for m in $(ls /sys/module | grep '^ip_vs_'); do rmmod "$m" 2>/dev/null; done
  rmmod ip_vs 2>/dev/null && break
  sleep 1
done
[ -d /sys/module/ip_vs ] && { echo "vm-suite: could not unload ip_vs"; exit 1; }
modprobe -d "${KARD_VM_MODDIR:-/}" ip_vs conn_tab_bits=20 || { echo "vm-suite: modprobe ip_vs conn_tab_bits=20 failed"; exit 1; }
KARD_EXPECT_CONN_TAB_SIZE=1048576 "$BIN" --include-ignored --exact info_reports_version_and_conn_tab_size --nocapture
