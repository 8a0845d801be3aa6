#!/bin/bash
# Start-to-full-table benchmark: how long keepalived 2.2.7 and ours (`-C -n`) take from process
# start until the IPVS table holds all of a generated config's 1,000 virtual servers x 10 real
# servers (11,000 entries, no checkers, no VRRP), in one QEMU VM (tests/vm/run-in-vm.sh; IPVS
# in the build host's kernel is not needed). Each run is in a fresh network namespace; the
# table is polled by counting the lines of /proc/net/ip_vs every 20 ms. Then, once more each
# under strace, it counts the generic-netlink sendmsg/sendto calls each daemon made up to the
# full table, next to the round trips our director logs.
#
# Usage: benches/ipvs-start.sh [RUNS]   (RUNS timed starts of each, alternating; default 2)
# Needs: keepalived 2.2.7 at /usr/sbin/keepalived (or $KEEPALIVED_REF), qemu (the VM script
# installs it), strace for the syscall counts (skipped without it).
set -euo pipefail
VS=1000 RS=10

if [ "${1:-}" != --in-vm ]; then
  cd "$(dirname "$0")/.."
  RUNS=${1:-2}
  REF=${KEEPALIVED_REF:-/usr/sbin/keepalived}
  [ -x "$REF" ] || { echo "keepalived 2.2.7 not found at $REF (apt-get install keepalived)"; exit 1; }
  cargo build --release -q --bin keepalived --example genconf
  OUT=target/ipvs-bench
  mkdir -p "$OUT"
  target/release/examples/genconf --ipvs-only $VS $RS >"$OUT/ipvs-${VS}x${RS}.conf"
  echo "config: $(wc -l <"$OUT/ipvs-${VS}x${RS}.conf") lines, $VS virtual servers x $RS real servers, no checkers"
  rc=0
  tests/vm/run-in-vm.sh --timeout 1200 -- "$PWD/benches/ipvs-start.sh" --in-vm "$RUNS" \
    "$PWD/target/release/keepalived" "$REF" "$PWD/$OUT/ipvs-${VS}x${RS}.conf" "$PWD/$OUT" || rc=$?
  [ $rc = 77 ] && echo "SKIPPED: cannot run a QEMU VM here"
  exit $rc
fi

# ---- inside the VM ----
shift
RUNS=$1 OURS=$2 REF=$3 CONF=$4 OUT=$5
ENTRIES=$((VS + VS * RS))
mkdir -p /run/ipvs-bench
# Builtins only while polling (every exec is slow under TCG): a FIFO nobody writes is a sleep.
mkfifo /run/ipvs-bench/nap.$$ && exec {NAP}<>/run/ipvs-bench/nap.$$ && rm -f /run/ipvs-bench/nap.$$
nap() { read -r -t "$1" -u "$NAP" _ || true; }
usec() { echo "${EPOCHREALTIME/./}"; }
# Entries in the table: /proc/net/ip_vs lines less its 3 header lines.
entries() {
  local -a L
  mapfile -t L </proc/net/ip_vs
  echo $((${#L[@]} - 3))
}

if [ "$RUNS" = measure ]; then
  # Runs inside a fresh namespace: start, poll to full, report, stop. Args: NAME BIN [strace]
  name=$6 bin=$7 trace=${8:-}
  run=/run/ipvs-bench/$name.$BASHPID
  # Logs and traces on the VM's tmpfs: a write to the 9p share costs milliseconds.
  log=/run/ipvs-bench/$name.log
  # Without an address the namespace has no local routing table, and IPVS refuses every
  # IPv4 destination as "not unicast" (EINVAL).
  ip link set lo up
  cmd=("$bin" -C -n -l -G -f "$CONF" -p "$run.pid" -c "$run.checkers.pid" -r "$run.vrrp.pid")
  [ -n "$trace" ] && cmd=(strace -f -yy -qq -e trace=sendmsg,sendto -e signal=none -o "$trace" "${cmd[@]}")
  t0=$(usec)
  "${cmd[@]}" >"$log" 2>&1 &
  pid=$!
  n=0
  while :; do
    # One read of the table per 20 ms, counted in the shell (no exec).
    mapfile -t L </proc/net/ip_vs
    n=$((${#L[@]} - 3))
    [ $n -ge $ENTRIES ] && break
    kill -0 $pid 2>/dev/null || { echo "$name: exited with $n of $ENTRIES entries (see $log)"; exit 1; }
    [ $(($(usec) - t0)) -gt 600000000 ] && { echo "$name: $n of $ENTRIES entries after 600 s"; kill -KILL $pid; exit 1; }
    nap 0.02
  done
  t1=$(usec)
  if [ -n "$trace" ]; then
    nap 0.5  # the last ACKs are read after the last entry lands
    cp "$trace" "$trace.start"
  fi
  echo "$name full_ms=$(((t1 - t0) / 1000))"
  if [ -n "$trace" ]; then
    # Only the start is counted: kill the traced daemon and its children outright.
    target= kids=
    read -r target _ </proc/$pid/task/$pid/children || true
    [ -z "$target" ] || read -r kids </proc/$target/task/$target/children || true
    kill -KILL $kids $target 2>/dev/null || true
    wait $pid 2>/dev/null || true
    exit 0
  fi
  # Time from SIGTERM to exit, the daemon removing its entries.
  target=$pid
  s0=$(usec)
  kill -TERM "$target"
  for ((i = 0; i < 6000; i++)); do kill -0 "$pid" 2>/dev/null || break; nap 0.05; done
  kill -0 "$pid" 2>/dev/null && { kill -KILL "$target" "$pid" 2>/dev/null; echo "$name stop_ms=timeout"; exit 0; }
  echo "$name stop_ms=$((($(usec) - s0) / 1000)) left=$(entries)"
  # Keep our director's summary line.
  line=$(grep -m1 'netlink round trips' "$log" || true)
  [ -z "$line" ] || echo "$name log: ${line#*: }"
  exit 0
fi

ns=0
measure() {  # NAME BIN [TRACE]: one run in a new namespace; prints its result lines
  ns=$((ns + 1))
  ip netns add "ipvsbench$ns"
  ip netns exec "ipvsbench$ns" "$0" --in-vm measure "$OURS" "$REF" "$CONF" "$OUT" "$@" || true
  ip netns del "ipvsbench$ns"
}

declare -a T_REF T_OURS
for ((r = 1; r <= RUNS; r++)); do
  res=$(measure keepalived "$REF"); echo "$res" | sed "s/^/run $r: /"
  T_REF+=("$(sed -n 's/.*full_ms=\([0-9]*\).*/\1/p' <<<"$res")")
  res=$(measure ours "$OURS"); echo "$res" | sed "s/^/run $r: /"
  T_OURS+=("$(sed -n 's/.*full_ms=\([0-9]*\).*/\1/p' <<<"$res")")
  rt=$(sed -n 's/.*changes in \([0-9]*\) netlink round trips.*/\1/p' <<<"$res")
done
best() { printf '%s\n' "$@" | grep -E '^[0-9]+$' | sort -n | head -1; }
b_ref=$(best "${T_REF[@]}") b_ours=$(best "${T_OURS[@]}")

calls() {  # TRACE NAME: netlink sendmsg/sendto calls up to the full table
  # (strace cannot tell generic from route netlink here without the netlink_diag module.)
  local all nl
  all=$(grep -cE '^[0-9]+ +send(msg|to)\(' "$1" || true)
  nl=$(grep -cE '^[0-9]+ +send(msg|to)\([0-9]+<NETLINK:' "$1" || true)
  echo "$nl"
  echo "  $2: $nl netlink sendmsg/sendto calls to the full table ($all sendmsg/sendto in all)" >&2
}
c_ref=? c_ours=?
if command -v strace >/dev/null; then
  measure keepalived-strace "$REF" /run/ipvs-bench/keepalived.strace | sed 's/$/ (under strace)/'
  measure ours-strace "$OURS" /run/ipvs-bench/ours.strace | sed 's/$/ (under strace)/'
  c_ref=$(calls /run/ipvs-bench/keepalived.strace.start keepalived)
  c_ours=$(calls /run/ipvs-bench/ours.strace.start ours)
else
  echo "strace not installed: keepalived's count is estimated as one request + ACK per entry ($ENTRIES)"
  c_ref="~$ENTRIES (estimated)"
fi
echo "best of $RUNS: keepalived ${b_ref} ms, ours ${b_ours} ms to $ENTRIES entries"
awk -v o="$b_ours" -v r="$b_ref" 'BEGIN { if (r > 0) printf "ratio ours/keepalived = %.3f (target <= 0.2)\n", o / r }'
echo "SUMMARY ipvs-start ${VS}x${RS}: keepalived ${b_ref} ms, ours ${b_ours} ms, ratio $(awk -v o="$b_ours" -v r="$b_ref" 'BEGIN { if (r > 0) printf "%.3f", o / r }'); netlink sendmsg/sendto keepalived ${c_ref}, ours ${c_ours} (ours logs ${rt:-?} round trips)"
