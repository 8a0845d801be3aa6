#!/bin/bash
# Run the daemon in the foreground on the seed's master director config, unchanged, inside a
# throwaway network namespace whose only interface is a veth named eth0: the VIP, the adverts and
# the gratuitous ARPs stay on this machine. Needs root. Ctrl-C (SIGINT) stops it; the namespace
# is removed on exit. Without IPVS in the kernel it runs VRRP only (-P).
# Usage: examples/demo.sh [CONFIG] [extra keepalived options]
set -euo pipefail
cd "$(dirname "$0")/.."
CONF=${1:-examples/seed-master.conf}
shift || true
# Built (or brought up to date) unless a binary is given.
if [ -z "${KEEPALIVED_BIN:-}" ]; then cargo build --release --bin keepalived; fi
BIN=${KEEPALIVED_BIN:-target/release/keepalived}
NS=kard-demo-$$
HOSTIF=kd$$
cleanup() { ip netns del "$NS" 2>/dev/null || true; ip link del "$HOSTIF" 2>/dev/null || true; rm -rf "$RUN"; }
RUN=$(mktemp -d)
trap cleanup EXIT
ip netns add "$NS"
ip link add "$HOSTIF" type veth peer name eth0 netns "$NS"
ip link set "$HOSTIF" up
ip -n "$NS" link set lo up
ip -n "$NS" addr add 192.168.112.11/24 dev eth0
ip -n "$NS" link set eth0 up
mode=()
if [ ! -e /proc/net/ip_vs ] && ! modprobe ip_vs 2>/dev/null; then
  echo "no IPVS in this kernel: running VRRP only (-P)"
  mode=(-P)
fi
echo "running $BIN on $CONF in netns $NS (watch the VIP: ip -n $NS addr show eth0)"
ip netns exec "$NS" "$BIN" -n -l -D "${mode[@]}" -f "$CONF" \
  -p "$RUN/keepalived.pid" -r "$RUN/vrrp.pid" -c "$RUN/checkers.pid" "$@" || true
