#!/bin/bash
# The seed deployment (tests/corpus/seed/keepalived.{master,backup}.conf, unchanged), whole,
# in network namespaces inside the VM: two LVS-DR directors running IMPL, three real servers
# holding the VIP on lo (tests/seed/lvs_dr_rs.sh) with an HTTP page naming each, one client.
# Runs once per IMPL given, each on a fresh topology, and prints one machine-readable line per
# measurement:   SEED <label> <step> <value>      (value: ms since the step began, or a word)
#
# usage: seed-deploy.sh [nocheck:]IMPL...   (label "keepalived" for /usr/sbin/keepalived,
#        "ours" otherwise; "nocheck:" skips the health-check step for that implementation)
#
# Topology: namespace br holds bridge br0; director1 (192.168.112.11), director2 (.12),
# rs1..rs3 (.13-.15) and client (.100) each have eth0 on it. IPVS tables are per namespace.
# Steps (each polls every 100 ms):
#   first_answer  director1 started, director2 1 s later (both BACKUP+nopreempt: the first to
#                 start wins, so director1 is master): ms until the client's HTTP GET via the VIP
#                 succeeds.
#   rr            9 GETs: how many reached each real server.
#   vip_moved / failover   kill -9 every process in director1 and take its eth0 down (the node
#                 is gone: otherwise its VIP and IPVS table outlive the daemon and keep serving):
#                 ms until director2 holds the VIP / until the client gets an answer again.
#   rs_removed / rs_restored  kill rs1's HTTP listener: ms until 192.168.112.13:80 leaves
#                 director2's `ipvsadm -Ln`; restart it: ms until it is back.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SEED=$ROOT/tests/corpus/seed
RS=$ROOT/tests/seed/lvs_dr_rs.sh
VIP=192.168.112.10
DIR=/tmp/seed-deploy
NODES="director1:11 director2:12 rs1:13 rs2:14 rs3:15 client:100"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# poll NS START_MS TIMEOUT_S SHELL-CONDITION: evaluates the condition inside NS every 100 ms
# (one `ip netns exec` for the whole loop); prints ms since START_MS when it holds, or fails.
poll() {
    local ns=$1 start=$2 tmo=$3
    ip netns exec "$ns" bash -c '
        start=$1; end=$(( start + $2 * 1000 ))
        while :; do
            if eval "$3" >/dev/null 2>&1; then echo $(( $(date +%s%N) / 1000000 - start )); exit 0; fi
            [ $(( $(date +%s%N) / 1000000 )) -ge $end ] && exit 1
            sleep 0.1
        done' _ "$start" "$tmo" "$4"
}
GET="curl -sf --connect-timeout 0.5 --max-time 1 -o /dev/null http://$VIP/"
HAS_VIP="ip -o addr show dev eth0 | grep -q ' $VIP/'"
RS1_LISTED="ipvsadm -Ln | grep -q ' 192.168.112.13:80 '"

up() {
    ip netns add br
    ip -n br link add br0 type bridge
    ip -n br link set br0 up
    local i=0 n
    for n in $NODES; do
        i=$((i + 1))
        ip netns add "${n%%:*}"
        ip link add "v$i" netns br type veth peer name eth0 netns "${n%%:*}"
        ip -n br link set "v$i" master br0 up
        ip -n "${n%%:*}" link set lo up
        ip -n "${n%%:*}" addr add "192.168.112.${n##*:}/24" dev eth0
        ip -n "${n%%:*}" link set eth0 up
    done
    for i in 1 2 3; do "$RS" start "rs$i" "rs$i" "$DIR/rs$i" || return 1; done
}

down() {
    local n pid
    for n in $NODES; do
        for pid in $(ip netns pids "${n%%:*}" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        ip netns del "${n%%:*}" 2>/dev/null
    done
    ip netns del br 2>/dev/null
    sleep 0.5
}

start_director() {  # N IMPL CONF
    ip netns exec "director$1" "$2" -n -l -f "$3" -p "$DIR/d$1.pid" -r "$DIR/d$1-vrrp.pid" \
        -c "$DIR/d$1-check.pid" >"$DIR/d$1.log" 2>&1 &
}

result() { echo "SEED $label $1 $2"; }

holders() {  # which directors hold the VIP now (the first call also records the master)
    local d h=""
    for d in director1 director2; do ip netns exec $d bash -c "$HAS_VIP" 2>/dev/null && h="$h $d"; done
    echo "seed: $label: VIP held by:${h:- nobody}"
    [ "${1:-}" = master ] && result master "${h# }"
}

show_logs() {
    local f
    for f in "$DIR"/d1.log "$DIR"/d2.log; do
        echo "--- $label: $f (last 25 lines)"; tail -n 25 "$f" 2>/dev/null
    done
    echo "--- $label: director2 ipvsadm -Ln"; ip netns exec director2 ipvsadm -Ln 2>&1
}

scenario() {  # IMPL CHECK(0/1)
    local impl=$1 check=$2 t ms i body
    down
    rm -rf "$DIR"; mkdir -p "$DIR"
    up || { echo "seed: topology setup failed"; result setup failed; return 1; }
    # The real servers answer directly (sanity: rules out the lab for later failures).
    for i in 13 14 15; do
        ip netns exec client curl -sf --max-time 2 -o /dev/null "http://192.168.112.$i/" \
            || { echo "seed: real server .$i does not answer"; result setup failed; return 1; }
    done

    t=$(now_ms)
    start_director 1 "$impl" "$SEED/keepalived.master.conf"
    # director2 once director1's VRRP runs: under TCG a cold start can take over a second,
    # and with nopreempt whoever's master-down timer fires first keeps the VIP.
    for i in $(seq 100); do grep -q 'Entering BACKUP STATE' "$DIR/d1.log" 2>/dev/null && break; sleep 0.1; done
    start_director 2 "$impl" "$SEED/keepalived.backup.conf"
    if ms=$(poll client "$t" 60 "$GET"); then result first_answer "$ms"
    else result first_answer timeout; show_logs; return 1; fi
    holders master

    # Round robin: fresh connections, so each goes to the next real server.
    body=$(ip netns exec client bash -c "for i in 1 2 3 4 5 6 7 8 9; do curl -s --max-time 2 http://$VIP/; echo; done")
    result rr "$(for i in 1 2 3; do printf 'rs%s=%s,' "$i" "$(grep -c "^rs$i\$" <<<"$body")"; done | sed 's/,$//')"

    holders
    ip netns exec client ip -ts monitor neigh >"$DIR/client-neigh.log" 2>&1 &
    local mon=$!
    ip netns pids director1 >"$DIR/d1.pids"
    t=$(now_ms)
    kill -9 $(cat "$DIR/d1.pids") 2>/dev/null
    echo "seed: $label: director1 killed at $(date +%T.%N)"
    ip -n director1 link set eth0 down
    if ms=$(poll director2 "$t" 30 "$HAS_VIP"); then result vip_moved "$ms"; else result vip_moved timeout; fi
    if ms=$(poll client "$t" 30 "$GET"); then result failover "$ms"
    else result failover timeout; show_logs; return 1; fi
    kill $mon 2>/dev/null
    echo "seed: $label: client neighbour events during failover:"; sed 's/^/seed:   /' "$DIR/client-neigh.log"
    holders

    if [ "$check" = 1 ]; then
        if ! ip netns exec director2 bash -c "$RS1_LISTED"; then
            result rs_removed "not-listed"; show_logs; return 1
        fi
        t=$(now_ms)
        kill "$(cat "$DIR/rs1/httpd.pid")"
        if ms=$(poll director2 "$t" 60 "! $RS1_LISTED"); then result rs_removed "$ms"
        else result rs_removed timeout; show_logs; return 1; fi
        t=$(now_ms)
        "$RS" httpd rs1 rs1 "$DIR/rs1"
        if ms=$(poll director2 "$t" 40 "$RS1_LISTED"); then result rs_restored "$ms"
        else result rs_restored timeout; show_logs; return 1; fi
    else
        result rs_removed n/a
        result rs_restored n/a
    fi
    [ "${KARD_SEED_LOGS:-0}" = 1 ] && show_logs
    return 0
}

# The bridge module ships in the VM's initrd but /init does not load it (run-in-vm.sh).
[ -d /sys/module/bridge ] || modprobe -d "${KARD_VM_MODDIR:-/}" bridge \
    || { echo "seed: cannot load the bridge module"; exit 1; }
# A syslog sink: without /dev/log keepalived's syslog() falls back to /dev/console.
syslogd=
[ -S /dev/log ] || { busybox syslogd -n -O /tmp/seed-syslog.log & syslogd=$!; sleep 0.3; }
rc=0
for arg in "$@"; do
    check=1 impl=$arg
    case "$arg" in nocheck:*) check=0 impl=${arg#nocheck:} ;; esac
    if [ "$impl" = /usr/sbin/keepalived ]; then label=keepalived; else label=ours; fi
    echo "seed: === $label ($impl) ==="
    scenario "$impl" "$check"
    st=$?
    result done "$st"
    [ $st = 0 ] || rc=1
done
down
[ -z "$syslogd" ] || kill "$syslogd"
exit $rc
