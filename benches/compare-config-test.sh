#!/bin/bash
# Time our `keepalived -t` against keepalived 2.2.7's on the same generated ~115,000-line config
# (2,000 virtual servers x 10 real servers with TCP_CHECK, 200 VRRP instances) and print the ratio.
# Usage: benches/compare-config-test.sh [RUNS]   (needs: apt-get install keepalived hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
REF=${KEEPALIVED_REF:-/usr/sbin/keepalived}
[ -x "$REF" ] || { echo "keepalived 2.2.7 not found at $REF (apt-get install keepalived)"; exit 1; }
cargo build --release -q --bin keepalived --example genconf
OURS=target/release/keepalived
IFACE=$(ip -o -4 route show default 2>/dev/null | awk '{print $5; exit}')
[ -n "$IFACE" ] || IFACE=$(ip -o link show up | awk -F": " '$2 != "lo" {print $2; exit}' | cut -d@ -f1)
CONF=$(mktemp --suffix=.conf)
trap 'rm -f "$CONF"' EXIT
target/release/examples/genconf 2000 10 200 "${IFACE:-eth0}" > "$CONF"
echo "config: $(wc -l < "$CONF") lines; interface ${IFACE:-eth0}"
rc_ours=0; "$OURS" -t -f "$CONF" 2>/dev/null || rc_ours=$?
rc_ref=0; "$REF" -t -f "$CONF" >/dev/null 2>&1 || rc_ref=$?
echo "exit codes: ours $rc_ours, keepalived $rc_ref"
# Best-of-N wall time of each, measured alternately so both see the same machine load.
best() { sort -n | head -1; }
t_ours=(); t_ref=()
for _ in $(seq "$RUNS"); do
  s=$(date +%s%N); "$OURS" -t -f "$CONF" >/dev/null 2>&1 || true; e=$(date +%s%N); t_ours+=($(( (e - s) / 1000 )))
  s=$(date +%s%N); "$REF" -t -f "$CONF" >/dev/null 2>&1 || true; e=$(date +%s%N); t_ref+=($(( (e - s) / 1000 )))
done
o=$(printf '%s\n' "${t_ours[@]}" | best); r=$(printf '%s\n' "${t_ref[@]}" | best)
echo "best of $RUNS: ours ${o} us, keepalived ${r} us"
awk -v o="$o" -v r="$r" 'BEGIN { printf "ratio ours/keepalived = %.3f (target <= 0.3)\n", o / r }'
# Peak memory of each (max RSS, KiB) via GNU time if present.
if [ -x /usr/bin/time ]; then
  mo=$(/usr/bin/time -f %M "$OURS" -t -f "$CONF" 2>&1 >/dev/null | tail -1)
  mr=$(/usr/bin/time -f %M "$REF" -t -f "$CONF" 2>&1 >/dev/null | tail -1)
  echo "max RSS: ours ${mo} KiB, keepalived ${mr} KiB"
fi
