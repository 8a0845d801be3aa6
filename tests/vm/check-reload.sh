#!/bin/bash
# Runs inside the VM (from check-director.sh, or alone): SIGHUP with a changed LVS section, for
# keepalived 2.2.7 and for ours, each in a fresh netns. reload/a.conf -> reload/b.conf: a
# scheduler and a weight change, a real server dropped, one added, one that is down kept (it
# must stay out), a virtual server dropped and one added. A listener on 0.0.0.0:8080 makes the
# real servers on 8080 healthy (DR resets their IPVS port to 80; the checks keep 8080).
# Prints "RELOAD <impl> before|after <ipvsadm -Sn, sorted, ';'-joined>" and "RELOADLOG <impl>
# <line>" for the lines keepalived logs about the changes; check_vm.rs compares them.
# Usage: check-reload.sh OUR_KEEPALIVED [REFERENCE_KEEPALIVED]
set -u
OURS=$1
REF=${2:-/usr/sbin/keepalived}
HERE=$(cd "$(dirname "$0")" && pwd)
W=/tmp/reload
mkdir -p "$W"
table() { ip netns exec rl ipvsadm -Sn | sort | paste -sd';'; }
for impl in keepalived ours; do
  bin=$REF; [ $impl = ours ] && bin=$OURS
  ip netns add rl; ip -n rl link set lo up
  ip netns exec rl python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(100)
while True:
    c, _ = s.accept(); c.close()' &
  web=$!
  for _ in $(seq 100); do
    ip netns exec rl bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' 2>/dev/null && break
    sleep 0.2
  done
  cp "$HERE/reload/a.conf" "$W/k.conf"
  rm -f "$W"/p*
  ip netns exec rl "$bin" -C -n -l -f "$W/k.conf" -p "$W/p1" -c "$W/p3" > "$W/$impl.log" 2>&1 &
  pid=$!
  sleep 8
  echo "RELOAD $impl before $(table)"
  : > "$W/$impl.mark"; n=$(wc -l < "$W/$impl.log")
  cp "$HERE/reload/b.conf" "$W/k.conf"
  kill -HUP $pid
  sleep 8
  echo "RELOAD $impl after $(table)"
  tail -n +"$((n + 1))" "$W/$impl.log" | sed -E 's/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} [0-9]{4}: //' \
    | grep -E '^(Removing|service .* no longer exist|Changing weight|Gained quorum|Lost quorum)' \
    | sed "s/^/RELOADLOG $impl /"
  kill $pid; wait $pid 2>/dev/null
  kill $web; wait $web 2>/dev/null
  ip netns del rl
done
