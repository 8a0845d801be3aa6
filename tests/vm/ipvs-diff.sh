#!/bin/bash
# Differential test of the IPVS table against keepalived 2.2.7, in two phases:
#
#   ipvs-diff.sh run OURS KEEPALIVED CONF...   inside the VM (see run-in-vm.sh): for each
#       config, in a fresh network namespace holding one unrelated service, keepalived 2.2.7
#       and then ours run `-C -n -l -G -f CONF`; once a daemon says "Startup complete" and
#       /proc/net/ip_vs holds still, its table is dumped (ipvsadm -Sn and -Ln --thresholds),
#       then it gets SIGTERM and must leave the table exactly as it found it.
#   ipvs-diff.sh compare CONF...               on the host, afterwards: both daemons must
#       have run cleanly and their sorted tables must be identical.
#
# Under TCG each fork+exec from the 9p root costs 0.2-1 s, so the VM phase execs only what it
# must (ip, ipvsadm, the daemons): waits use bash builtins, sorting and diffing are left to
# the host, and the configs run in KARD_DIFF_LANES (default 2) parallel lanes.
# Env: KARD_DIFF_LOGDIR (default target/ipvs-diff): per config NAME.{keepalived,ours}.{log,
# sn,ln} (daemon log, ipvsadm -Sn, ipvsadm -Ln --thresholds) and NAME.status.
# Exit status: 0 when everything ran (run) or matched (compare), else 1.
set -u
LOGDIR=${KARD_DIFF_LOGDIR:-target/ipvs-diff}
MODE=${1:-}
shift || true

# The compared form of a dump: every service and destination, then each destination's
# connection thresholds when set (ipvsadm -S does not save them).
normalize() {
  sort "$1.sn"
  awk '$1 ~ /^(TCP|UDP|SCTP|FWM)$/ { svc = $1 " " $2 }
       $1 == "->" && $3 ~ /^[0-9]+$/ && ($3 != 0 || $4 != 0) { print "thresholds " svc " -> " $2 " u=" $3 " l=" $4 }' \
    "$1.ln" | sort
}

if [ "$MODE" = compare ]; then
  failed=()
  for conf in "$@"; do
    name=$(basename "$conf" .conf)
    st=$LOGDIR/$name.status
    if [ "$(grep -c ' ok ' "$st" 2>/dev/null)" != 2 ]; then
      echo "ipvs-diff: $name: a daemon did not run cleanly:"
      sed 's/^/    /' "$st" 2>/dev/null || echo "    (no status: the VM phase did not reach it)"
      failed+=("$name")
      continue
    fi
    if diff -u --label "keepalived 2.2.7" --label ours \
      <(normalize "$LOGDIR/$name.keepalived") <(normalize "$LOGDIR/$name.ours") >"$LOGDIR/$name.diff"; then
      echo "ipvs-diff: $name: identical ($(normalize "$LOGDIR/$name.ours" | grep -c .) lines)"
    else
      echo "ipvs-diff: $name: tables differ:"
      sed 's/^/    /' "$LOGDIR/$name.diff"
      failed+=("$name")
    fi
  done
  echo "ipvs-diff: $# configs compared, ${#failed[@]} differ${failed[*]:+: ${failed[*]}}"
  [ ${#failed[@]} = 0 ]
  exit
fi

[ "$MODE" = run ] || [ "$MODE" = one ] || { echo "usage: $0 run OURS KEEPALIVED CONF... | compare CONF..." >&2; exit 2; }
OURS=$1 REF=$2
shift 2
mkdir -p "$LOGDIR" /run/ipvs-diff
# A sleep without exec: read with a timeout from a FIFO that nobody writes.
NAPFIFO=/run/ipvs-diff/nap.$$
mkfifo "$NAPFIFO" && exec {NAP}<>"$NAPFIFO" && rm -f "$NAPFIFO"
nap() { read -r -t "$1" -u "$NAP" _; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# Start one daemon, wait for its "Startup complete" and then for /proc/net/ip_vs to hold
# still over 3 reads 100 ms apart, dump the table to $out.{sn,ln}, SIGTERM it and check that
# /proc/net/ip_vs is back to $base. Runs inside the config's namespace; reports one line.
run_daemon() {
  local who=$1 bin=$2 conf=$3 out=$4 base=$5
  local run=/run/ipvs-diff/$who.$BASHPID log=$out.log
  local t0 pid prev cur same=0 i L up
  : >"$log"  # before the child truncates it: no stale "Startup complete"
  t0=$(now_ms)
  "$bin" -C -n -l -G -f "$conf" -p "$run.pid" -c "$run.checkers.pid" -r "$run.vrrp.pid" >"$log" 2>&1 &
  pid=$!
  for ((i = 0; ; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$who failed: exited before 'Startup complete' (see $log)"
      return 1
    fi
    mapfile -t L <"$log"
    [[ "${L[*]}" == *"Startup complete"* ]] && break
    if [ $i -ge 600 ]; then
      kill -KILL "$pid"
      echo "$who failed: no 'Startup complete' within 30 s (see $log)"
      return 1
    fi
    nap 0.05
  done
  mapfile -t L </proc/net/ip_vs
  prev="${L[*]}"
  while [ $same -lt 2 ]; do
    nap 0.1
    mapfile -t L </proc/net/ip_vs
    cur="${L[*]}"
    if [ "$cur" = "$prev" ]; then same=$((same + 1)); else same=0; fi
    prev=$cur
  done
  up=$(($(now_ms) - t0))
  ipvsadm -Sn >"$out.sn"
  ipvsadm -Ln --thresholds >"$out.ln"
  kill -TERM "$pid"
  for ((i = 0; i < 200; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    nap 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    echo "$who failed: still running 10 s after SIGTERM"
    return 1
  fi
  wait "$pid" 2>/dev/null
  mapfile -t L </proc/net/ip_vs
  if [ "${L[*]}" != "$base" ]; then
    echo "$who failed: the table after SIGTERM is not the one it found:"
    printf '    %s\n' "${L[@]}"
    return 1
  fi
  echo "$who ok ${up} ms to a stable table, cleaned up on SIGTERM"
}

if [ "$MODE" = one ]; then
  conf=$1
  name=$(basename "$conf" .conf)
  st=$LOGDIR/$name.status
  ip link set lo up
  # Someone else's service: both daemons must leave it alone.
  printf '%s\n' "-A -t 192.0.2.1:9999 -s rr" "-a -t 192.0.2.1:9999 -r 192.0.2.2:9999 -m -w 3" | ipvsadm -R || exit 1
  mapfile -t L </proc/net/ip_vs
  base="${L[*]}"
  rc=0
  run_daemon keepalived "$REF" "$conf" "$LOGDIR/$name.keepalived" "$base" >"$st" || rc=1
  run_daemon ours "$OURS" "$conf" "$LOGDIR/$name.ours" "$base" >>"$st" || rc=1
  exit $rc
fi

start=$(now_ms)
LANES=${KARD_DIFF_LANES:-2}
confs=("$@")
for ((lane = 0; lane < LANES; lane++)); do
  (
    for ((i = lane; i < ${#confs[@]}; i += LANES)); do
      conf=${confs[$i]}
      name=$(basename "$conf" .conf)
      ns=ipvsdiff$i
      rm -f "$LOGDIR/$name.status"
      if ip netns add "$ns"; then
        ip netns exec "$ns" "$0" one "$OURS" "$REF" "$conf"
        ip netns del "$ns"
      fi
      L=("no status")
      mapfile -t L 2>/dev/null <"$LOGDIR/$name.status"
      for l in "${L[@]}"; do echo "ipvs-diff: $name: $l"; done
    done
  ) &
done
wait
echo "ipvs-diff: ran ${#confs[@]} configs in $(($(now_ms) - start)) ms"
