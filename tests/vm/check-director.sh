#!/bin/bash
# Runs inside the VM (see run-in-vm.sh): our checker director against keepalived 2.2.7 on the
# same topology, one after the other. A director netns with three real servers behind veths
# (10.0.N.2:80, each a listener that logs the time of every accepted check).
# For each implementation and each mode (plain, inhibit_on_failure): start `-C -n -l`, kill
# rs2's listener just after one of its checks, see it leave the table (or go to weight 0),
# restart it, see it come back.
#
# The TCG VM is slow (a process start can take 100s of ms), so nothing on the timed path
# forks: times come from bash's $EPOCHREALTIME, a poller reads /proc/net/ip_vs with builtins
# and logs each change of rs2, and the lags are measured from the RS's own accept log:
#   down lag = removal - last accepted check before the kill (delay_loop + retry x dbr expected)
#   up lag   = return  - first accepted check after the restart (about 0 expected)
# With the busybox fallback the accept log lags by a fork (~0.5 s in TCG), the same for both.
# Usage: check-director.sh OUR_KEEPALIVED [REFERENCE_KEEPALIVED]
set -u
OURS=$1
REF=${2:-/usr/sbin/keepalived}
W=/tmp/chk
mkdir -p "$W"
DBR_MS=1000
mkfifo "$W/tick"
exec 8<>"$W/tick"
now() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }
nap() { read -r -t "$1" -u 8 _; }
die() { echo "check-director: $*"; exit 1; }

ip netns add dir || die "ip netns add"
ip -n dir link set lo up
for i in 1 2 3; do
  ip netns add rs$i
  ip link add d$i type veth peer name r$i
  ip link set d$i netns dir
  ip link set r$i netns rs$i
  ip -n dir addr add 10.0.$i.1/24 dev d$i
  ip -n dir link set d$i up
  ip -n rs$i addr add 10.0.$i.2/24 dev r$i
  ip -n rs$i link set r$i up
  ip -n rs$i link set lo up
  printf '#!/bin/bash\nt=${EPOCHREALTIME/./}\necho $((t / 1000)) >> %s/acc%s.log\n' "$W" "$i" > "$W/acc$i.sh"
  chmod +x "$W/acc$i.sh"
done

# The poller: in the director netns, logs "ms state" for 10.0.2.2:80 (0A000202:0050) on
# every change; state is the weight or "absent".
cat > "$W/poll.sh" <<'POLL'
#!/bin/bash
exec 8<>"$1"
prev=
while :; do
  st=absent
  while read -r a b c d e; do
    [ "$a" = "->" ] && [ "$b" = "0A000202:0050" ] && st=$d
  done < /proc/net/ip_vs
  if [ "$st" != "$prev" ]; then t=${EPOCHREALTIME/./}; echo "$((t / 1000)) $st" >> "$2"; prev=$st; fi
  read -r -t 0.02 -u 8 _
done
POLL
chmod +x "$W/poll.sh"

# A real server: one long-lived python listener that logs each accept (no fork per check, so
# the log is within ms of the accept); busybox nc with a logging script where python is missing.
cat > "$W/rs.py" <<'PY'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 80))
s.listen(64)
open(sys.argv[2], "w").close()
log = open(sys.argv[1], "a", buffering=1)
while True:
    c, _ = s.accept()
    log.write("%d\n" % (time.time() * 1000))
    c.close()
PY
start_rs() {
  if [ -x /usr/bin/python3 ]; then
    rm -f "$W/ready$1"
    ip netns exec rs$1 /usr/bin/python3 "$W/rs.py" "$W/acc$1.log" "$W/ready$1" & echo $! > "$W/rs$1.pid"
    local end=$(( $(now) + 20000 ))
    while [ ! -e "$W/ready$1" ] && [ "$(now)" -lt $end ]; do nap 0.02; done
  else
    ip netns exec rs$1 busybox nc -ll -p 80 -e "$W/acc$1.sh" & echo $! > "$W/rs$1.pid"
  fi
}
stop_rs() { local p; p=$(<"$W/rs$1.pid"); kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; }
count() { local n=0; [ -f "$1" ] && while read -r _; do n=$((n + 1)); done < "$1"; echo $n; }
line() { local n=0 l; while read -r l; do n=$((n + 1)); [ $n = "$2" ] && { echo "$l"; return; }; done < "$1"; }
# Wait up to $2 s for the poller to log state $1 after line $3; prints that line's time.
wait_state() {
  local end=$(( $(now) + $2 * 1000 )) n t s i
  while [ "$(now)" -lt $end ]; do
    n=0
    while read -r t s; do
      n=$((n + 1))
      [ $n -gt "$3" ] && [ "$s" = "$1" ] && { echo "$t"; return 0; }
    done < "$W/states"
    nap 0.05
  done
  echo "timeout waiting for rs2 $1" >&2
  return 1
}

config() {
  echo "global_defs { router_id chk }"
  echo "virtual_server 10.9.9.9 80 {"
  echo " delay_loop 2"
  echo " lb_algo rr"
  echo " lb_kind NAT"
  echo " protocol TCP"
  [ "$1" = 1 ] && echo " inhibit_on_failure"
  for i in 1 2 3; do
    echo " real_server 10.0.$i.2 80 {"
    echo "  weight 1"
    echo "  TCP_CHECK { connect_timeout 1 retry 1 delay_before_retry 1 }"
    echo " }"
  done
  echo "}"
}

# run_one NAME BINARY INHIBIT -> "RESULT name mode down_lag up_lag" (ms) and the details.
run_one() {
  local name=$1 bin=$2 mode=plain down_state=absent
  [ "$3" = 1 ] && { mode=inhibit; down_state=0; }
  config "$3" > "$W/$mode.conf"
  rm -f "$W"/acc*.log "$W/states"; touch "$W/states" "$W/acc2.log"
  for i in 1 2 3; do start_rs $i; done
  ip netns exec dir "$W/poll.sh" "$W/tick" "$W/states" & local poller=$!
  ip netns exec dir "$bin" -C -n -l -f "$W/$mode.conf" -p "$W/$name.pid" -c "$W/$name-c.pid" \
    > "$W/$name-$mode.log" 2>&1 &
  local daemon=$!
  wait_state 1 30 0 > /dev/null || die "$name/$mode: rs2 never in the table"
  # Kill rs2 just after one of its checks (the second seen), so the next is a delay_loop away.
  local end=$(( $(now) + 15000 )) n
  while [ "$(count "$W/acc2.log")" -lt 2 ] && [ "$(now)" -lt $end ]; do nap 0.01; done
  n=$(count "$W/acc2.log")
  [ "$n" -ge 2 ] || die "$name/$mode: no checks seen on rs2"
  local last kill_t mark down start first up
  last=$(line "$W/acc2.log" "$n")
  kill_t=$(now); stop_rs 2
  mark=$(count "$W/states")
  down=$(wait_state "$down_state" 20 "$mark") || die "$name/$mode: rs2 not taken out"
  n=$(count "$W/acc2.log")
  mark=$(count "$W/states")
  start=$(now); start_rs 2  # python's start (in TCG, a second or more) is not on the timed path
  up=$(wait_state 1 20 "$mark") || die "$name/$mode: rs2 not back"
  # The accept logger (a fork per check) may write after the table changed: wait for it.
  end=$(( $(now) + 5000 ))
  while [ "$(count "$W/acc2.log")" -le "$n" ] && [ "$(now)" -lt $end ]; do nap 0.01; done
  first=$(line "$W/acc2.log" $((n + 1)))
  [ -n "$first" ] || die "$name/$mode: rs2 back without a check seen"
  kill -TERM $daemon; wait $daemon
  kill $poller; wait $poller 2>/dev/null
  for i in 1 2 3; do stop_rs $i; done
  ip netns exec dir ipvsadm -C
  echo "RESULT $name $mode $((down - last)) $((up - first))"
  echo "--- $name $mode: killed $((kill_t - last)) ms after the last check; out at +$((down - last)); restarted at +$((start - last)); first check after restart at +$((first - last)); back at +$((up - last))"
  echo "    rs2 checks seen (ms from the last before the kill): $(while read -r t; do printf '%d ' $((t - last)); done < "$W/acc2.log")"
  grep -E "TCP|Removing|Adding|Disabling|Enabling" "$W/$name-$mode.log" | sed 's/^/    /' | head -12
}

rc=0
for inhibit in 0 1; do
  r_ref=$(run_one keepalived-2.2.7 "$REF" $inhibit) || { echo "$r_ref"; exit 1; }
  r_ours=$(run_one ours "$OURS" $inhibit) || { echo "$r_ours"; exit 1; }
  echo "$r_ref"; echo "$r_ours"
  read -r _ _ mode rd ru <<< "$(echo "$r_ref" | grep '^RESULT')"
  read -r _ _ _ od ou <<< "$(echo "$r_ours" | grep '^RESULT')"
  dd=$(( od > rd ? od - rd : rd - od )); du=$(( ou > ru ? ou - ru : ru - ou ))
  echo "COMPARE $mode: down lag ours ${od} ms vs keepalived ${rd} ms (|d|=$dd); up lag ours ${ou} ms vs keepalived ${ru} ms (|d|=$du)"
  [ $dd -le $DBR_MS ] && [ $du -le $DBR_MS ] || { echo "FAIL: $mode differs by more than delay_before_retry"; rc=1; }
done
# misc_dynamic weights and notify/quorum scripts, in the same boot.
"$(dirname "$0")/check-dynamic.sh" "$OURS" "$REF" || rc=1
# HTTP_GET url regex, in the same boot.
"$(dirname "$0")/check-regex.sh" "$OURS" "$REF" || rc=1
# SIGHUP with a changed LVS section.
"$(dirname "$0")/check-reload.sh" "$OURS" "$REF" || rc=1
exit $rc
