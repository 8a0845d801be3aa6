#!/bin/sh
# Stand-in for /proc/sys/kernel/modprobe during the VM's "module missing" test: logs each
# call (so the test can see that the client retried through modprobe) and loads from the
# VM kernel's modules, which live under $KARD_VM_MODDIR (default /run/vm) in the chroot.
echo "$*" >>/tmp/kard-modprobe.log
exec modprobe -d "${KARD_VM_MODDIR:-/run/vm}" "$@"
