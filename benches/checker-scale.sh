#!/bin/bash
# Checker-scale benchmark: CPU and memory of keepalived 2.2.7 and ours (`-C -n`) running
# VS x RS TCP_CHECKs at delay_loop 1 (default 1,000 x 10 = 10,000 checks a second), in one QEMU
# VM (tests/vm/run-in-vm.sh; both daemons program IPVS, which only the VM kernel has). Each
# daemon runs in a fresh network namespace whose real servers are distinct 127.0.0.0/8 addresses
# answered by one listener on 0.0.0.0:9000 (python3: accept, close, count). After WARMUP seconds
# the CPU time (utime+stime of every process of the daemon, from /proc/PID/stat) is sampled over
# WINDOW seconds, with the listener's accepts over the same window (checks done per second);
# peak RSS is VmHWM from /proc/PID/status at the end of the window.
#
# With STRACE_SECS=N (default 10; 0 skips), each daemon then runs again on a small config (10 x 10
# TCP_CHECKs, 100 checks a second) with `strace -c -f` attached to its checker process for N
# seconds: syscalls per check (counted by the listener's accepts), printed as "NAME strace ..."
# lines and the summary tables.
#
# Usage: benches/checker-scale.sh [VS] [RS] [WARMUP] [WINDOW]   (defaults 1000 10 15 60)
# Needs: keepalived 2.2.7 at /usr/sbin/keepalived (or $KEEPALIVED_REF), python3, qemu (the VM
# script installs it).
set -euo pipefail

if [ "${1:-}" != --in-vm ]; then
  cd "$(dirname "$0")/.."
  VS=${1:-1000} RS=${2:-10} WARMUP=${3:-15} WINDOW=${4:-60}
  REF=${KEEPALIVED_REF:-/usr/sbin/keepalived}
  [ -x "$REF" ] || { echo "keepalived 2.2.7 not found at $REF (apt-get install keepalived)"; exit 1; }
  cargo build --release -q --bin keepalived --example genconf
  OUT=target/checker-bench
  mkdir -p "$OUT"
  CONF=$OUT/checkers-${VS}x${RS}.conf
  target/release/examples/genconf --checker-scale "$VS" "$RS" >"$CONF"
  SMALL=$OUT/checkers-10x10.conf
  target/release/examples/genconf --checker-scale 10 10 >"$SMALL"
  # A copy, so a rebuild while the VM runs does not swap the binary under test.
  cp target/release/keepalived "$OUT/keepalived-under-test"
  echo "config: $(wc -l <"$CONF") lines, $VS virtual servers x $RS real servers, TCP_CHECK delay_loop 1"
  echo "warm-up ${WARMUP} s, window ${WINDOW} s"
  rc=0
  tests/vm/run-in-vm.sh --timeout $((900 + 4 * (WARMUP + WINDOW) + 4 * ${STRACE_SECS:-10})) -- "$PWD/benches/checker-scale.sh" --in-vm \
    "$PWD/$OUT/keepalived-under-test" "$REF" "$PWD/$CONF" "$WARMUP" "$WINDOW" "$PWD/$SMALL" "${STRACE_SECS:-10}" || rc=$?
  [ $rc = 77 ] && echo "SKIPPED: cannot run a QEMU VM here"
  exit $rc
fi

# ---- inside the VM ----
shift
OURS=$1 REF=$2 CONF=$3 WARMUP=$4 WINDOW=$5 SMALL=$6 STRACE_SECS=$7
TCK=$(getconf CLK_TCK)
W=/run/checker-bench
mkdir -p $W

# The listener: accept and close on 0.0.0.0:9000; on SIGUSR1 write the accept count to $1.
cat >$W/listener.py <<'PY'
import signal, socket, sys
n = 0
def dump(*_):
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(n))
    import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
signal.signal(signal.SIGUSR1, dump)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9000))
s.listen(4096)
open(sys.argv[1] + ".ready", "w").close()
while True:
    c, _ = s.accept()
    c.close()
    n += 1
PY

# PID and all its descendants.
tree() {
  local p=$1 k
  echo "$p"
  for k in $(cat /proc/$p/task/*/children 2>/dev/null); do tree "$k"; done
}
ticks() {  # utime+stime of one process (all its threads); fields after the ")" of comm
  local s
  s=$(cat /proc/$1/stat 2>/dev/null) || { echo 0; return; }
  s=${s##*) }
  set -- $s
  echo $((${12} + ${13}))
}
ust() {  # "utime stime" of one process
  local s
  s=$(cat /proc/$1/stat 2>/dev/null) || { echo "0 0"; return; }
  s=${s##*) }
  set -- $s
  echo "${12} ${13}"
}
hwm() { awk '/^VmHWM/ { print $2 }' /proc/$1/status 2>/dev/null || echo 0; }
accepts() {  # ask the listener for its count
  rm -f $W/count
  kill -USR1 "$LPID"
  for ((i = 0; i < 100; i++)); do [ -s $W/count ] && break; sleep 0.1; done
  cat $W/count 2>/dev/null || echo 0
}

run() {  # NAME BIN: one run in its own namespace; prints "NAME key=value..." lines
  local name=$1 bin=$2
  ip link set lo up
  python3 $W/listener.py $W/count &
  LPID=$!
  until [ -e $W/count.ready ]; do sleep 0.1; done
  rm -f $W/count.ready
  "$bin" -C -n -l -G -f "$CONF" -p $W/$name.pid -c $W/$name.checkers.pid -r $W/$name.vrrp.pid \
    >$W/$name.log 2>&1 &
  local pid=$! n_rs waited
  # The warm-up starts once every checker has run (start-up of 10,000 checkers under TCG takes
  # a while, for keepalived longer: its checker process parses the config again after forking).
  n_rs=$(grep -c real_server "$CONF")
  for ((waited = 0; waited < 600; waited++)); do
    [ "$(accepts)" -ge "$n_rs" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 1
  done
  echo "$name: all $n_rs checkers ran after ~${waited} s"
  sleep "$WARMUP"
  kill -0 $pid 2>/dev/null || { echo "$name: exited during warm-up:"; tail -5 $W/$name.log; kill $LPID; return 1; }
  local procs p t0=0 t1=0 c0 c1 child=0 ch0=0 ch1=0 lc0 lc1
  procs=$(tree $pid)
  # keepalived -C: the parent forks the checker process; ours is one process.
  [ -s $W/$name.checkers.pid ] && child=$(cat $W/$name.checkers.pid)
  [ "$child" = "$pid" ] && child=0
  local e0 e1
  e0=${EPOCHREALTIME/./}
  lc0=$(ticks $LPID)
  for p in $procs; do t0=$((t0 + $(ticks $p))); done
  [ "$child" != 0 ] && ch0=$(ticks $child)
  local checker=$pid us0 us1
  [ "$child" != 0 ] && checker=$child
  us0=$(ust $checker)
  c0=$(accepts)
  sleep "$WINDOW"
  c1=$(accepts)
  for p in $procs; do t1=$((t1 + $(ticks $p))); done
  [ "$child" != 0 ] && ch1=$(ticks $child)
  us1=$(ust $checker)
  echo "$name checker process utime_ticks=$((${us1% *} - ${us0% *})) stime_ticks=$((${us1#* } - ${us0#* }))"
  lc1=$(ticks $LPID)
  e1=${EPOCHREALTIME/./}
  local rss=0 chrss=0 line=""
  for p in $procs; do
    rss=$((rss + $(hwm $p)))
    line+=" pid$p:comm=$(cat /proc/$p/comm),hwm_kb=$(hwm $p),rss_kb=$(awk '/^VmRSS/ { print $2 }' /proc/$p/status)"
  done
  [ "$child" != 0 ] && chrss=$(hwm $child)
  echo "$name procs:$line"
  # Check outcomes the daemon logged (a saturated run fails checks: those cost CPU too).
  echo "$name log: lines=$(wc -l <$W/$name.log) failed=$(grep -c 'failed' $W/$name.log || true)" \
    "success=$(grep -c 'success' $W/$name.log || true) removing=$(grep -c 'Removing service' $W/$name.log || true)"
  echo "$name cpu_ticks=$((t1 - t0)) child_ticks=$((ch1 - ch0)) hwm_kb=$rss child_hwm_kb=$chrss accepts=$((c1 - c0)) listener_ticks=$((lc1 - lc0)) elapsed_ms=$(((e1 - e0) / 1000)) ipvs_entries=$(($(wc -l </proc/net/ip_vs) - 3))"
  kill -TERM $pid
  for ((i = 0; i < 600; i++)); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  kill -KILL $pid 2>/dev/null || true
  kill $LPID; wait $LPID 2>/dev/null || true
}

strace_run() {  # NAME BIN: the small config under strace -c; prints "NAME strace ..." and the table
  local name=$1 bin=$2
  ip link set lo up
  python3 $W/listener.py $W/count &
  LPID=$!
  until [ -e $W/count.ready ]; do sleep 0.1; done
  rm -f $W/count.ready
  "$bin" -C -n -l -G -f "$SMALL" -p $W/s$name.pid -c $W/s$name.checkers.pid -r $W/s$name.vrrp.pid \
    >$W/s$name.log 2>&1 &
  local pid=$! target c0 c1
  sleep 8
  # keepalived -C: its checker process is the daemon's child; ours is the daemon itself.
  target=$(pgrep -P $pid -n || echo $pid)
  c0=$(accepts)
  timeout -s INT "$STRACE_SECS" strace -c -f -p "$target" -o $W/s$name.strace || true
  c1=$(accepts)
  local calls
  calls=$(awk '$NF == "total" { print $4 }' $W/s$name.strace)
  echo "$name strace: target=$target checks=$((c1 - c0)) syscalls=$calls" \
    "per_check=$(awk -v s="$calls" -v c=$((c1 - c0)) 'BEGIN { if (c > 0) printf "%.2f", s / c }')"
  sed "s/^/$name strace| /" $W/s$name.strace
  kill -TERM $pid
  for ((i = 0; i < 100; i++)); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  kill -KILL $pid 2>/dev/null || true
  kill $LPID; wait $LPID 2>/dev/null || true
}

if [ "${8:-}" = run ]; then  # inside the fresh namespace
  run "$9" "${10}"
  exit $?
fi
if [ "${8:-}" = strace ]; then
  strace_run "$9" "${10}"
  exit $?
fi

ns=0
measure() {  # NAME BIN
  ns=$((ns + 1))
  ip netns add "chkbench$ns"
  ip netns exec "chkbench$ns" "$0" --in-vm "$OURS" "$REF" "$CONF" "$WARMUP" "$WINDOW" "$SMALL" "$STRACE_SECS" "$MODE" "$@" || true
  ip netns del "chkbench$ns"
}
MODE=run
r_ref=$(measure keepalived "$REF"); echo "$r_ref"
r_ours=$(measure ours "$OURS"); echo "$r_ours"
if [ "$STRACE_SECS" != 0 ] && command -v strace >/dev/null; then
  MODE=strace
  measure keepalived "$REF"
  measure ours "$OURS"
fi
val() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<"$1" | tail -1; }
# Rates are over each run's measured window (sampling itself is slow under TCG).
awk -v tck="$TCK" -v rw="$(val "$r_ref" elapsed_ms)" -v ow="$(val "$r_ours" elapsed_ms)" \
  -v rc="$(val "$r_ref" cpu_ticks)" -v rcc="$(val "$r_ref" child_ticks)" \
  -v rm="$(val "$r_ref" hwm_kb)" -v rcm="$(val "$r_ref" child_hwm_kb)" -v ra="$(val "$r_ref" accepts)" \
  -v oc="$(val "$r_ours" cpu_ticks)" -v om="$(val "$r_ours" hwm_kb)" -v oa="$(val "$r_ours" accepts)" 'BEGIN {
  rw /= 1000; ow /= 1000
  if (rw <= 0 || ow <= 0) { print "no measurement"; exit }
  printf "keepalived 2.2.7: %.2f CPU s/min (checker child %.2f), peak RSS %d KiB (checker child %d KiB), %.0f checks/s over %.1f s\n", rc / tck * 60 / rw, rcc / tck * 60 / rw, rm, rcm, ra / rw, rw
  printf "ours:             %.2f CPU s/min, peak RSS %d KiB, %.0f checks/s over %.1f s\n", oc / tck * 60 / ow, om, oa / ow, ow
  if (rc > 0) printf "CPU s/min ratio ours/keepalived(all) = %.3f, ours/keepalived(checker) = %.3f (target <= 0.3)\n", (oc / ow) / (rc / rw), (rcc > 0 ? (oc / ow) / (rcc / rw) : 0)
  if (rcm > 0) printf "RSS ratio ours/keepalived checker child = %.3f (target <= 1)\n", om / rcm
  if (ra > 0 && oa > 0) printf "CPU per 1,000 checks: keepalived %.1f ms, ours %.1f ms\n", rc / tck * 1000 / ra * 1000, oc / tck * 1000 / oa * 1000
}'
