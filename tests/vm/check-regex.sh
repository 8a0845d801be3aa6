#!/bin/bash
# Runs inside the VM (from check-director.sh, or alone): HTTP_GET with a url `regex`, for
# keepalived 2.2.7 and for ours, in a fresh netns with a python web server on 127.0.0.1:8080
# serving "hello world". For each pattern (found, absent, absent with regex_no_match, found
# with caseless) prints "REGEX <impl> <pattern> present|absent": whether the real server is in
# the IPVS table after three delay_loops. check_vm.rs compares ours with keepalived's.
# Usage: check-regex.sh OUR_KEEPALIVED [REFERENCE_KEEPALIVED]
set -u
OURS=$1
REF=${2:-/usr/sbin/keepalived}
W=/tmp/regex
mkdir -p "$W/www"
echo "hello world" > "$W/www/index.html"
ip netns add rx || { echo "check-regex: ip netns add"; exit 1; }
ip -n rx link set lo up
ip netns exec rx python3 -m http.server 8080 --bind 127.0.0.1 --directory "$W/www" >/dev/null 2>&1 &
web=$!
# python starts slowly under TCG: wait until it answers.
for _ in $(seq 100); do
  ip netns exec rx bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' 2>/dev/null && break
  sleep 0.2
done
rc=0
# name|url lines
cases=("found|regex hello" "absent|regex goodbye" "no_match|regex goodbye
        regex_no_match" "caseless|regex HELLO
        regex_options caseless")
for impl in keepalived ours; do
  bin=$REF; [ $impl = ours ] && bin=$OURS
  for c in "${cases[@]}"; do
    name=${c%%|*} url=${c#*|}
    cat > "$W/k.conf" <<CONF
virtual_server 10.9.9.9 80 {
  delay_loop 1
  protocol TCP
  real_server 127.0.0.1 8080 {
    HTTP_GET {
      url {
        path /index.html
        status_code 200
        $url
      }
      connect_timeout 2
      retry 0
    }
  }
}
CONF
    rm -f "$W"/p*
    ip netns exec rx "$bin" -C -n -l -f "$W/k.conf" -p "$W/p1" -c "$W/p3" > "$W/$impl-$name.log" 2>&1 &
    pid=$!
    sleep 4
    table=$(ip netns exec rx ipvsadm -Ln 2>&1)
    if grep -q '127.0.0.1:8080' <<< "$table"; then st=present; else st=absent; fi
    echo "REGEX $impl $name $st"
    [ "${KARD_REGEX_DEBUG:-0}" = 1 ] && { echo "$table"; tail -5 "$W/$impl-$name.log"; }
    kill $pid; wait $pid 2>/dev/null
  done
done
kill $web
ip netns del rx
exit $rc
