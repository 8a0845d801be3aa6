#!/bin/bash
# The seed deployment (tests/corpus/seed/keepalived.{master,backup}.conf, unchanged), whole,
# in network namespaces inside the VM: LVS-DR directors running IMPL, three real servers
# holding the VIP on lo (tests/seed/lvs_dr_rs.sh) with an HTTP page naming each, one client.
# Runs once per IMPL given, each on a fresh topology, and prints one machine-readable line per
# measurement:   SEED <label> <step> <value>      (value: ms since the step began, or a word)
#
# usage: seed-deploy.sh [-C] [nocheck:]IMPL...   (label "keepalived" for /usr/sbin/keepalived,
#        "ours" otherwise; "nocheck:" skips the health-check step for that implementation)
#
# Topology: namespace br holds bridge br0; director1 (192.168.112.11), director2 (.12),
# rs1..rs3 (.13-.15) and client (.100) each have eth0 on it. IPVS tables are per namespace.
#
# Default mode, both directors with VRRP. Steps (each polls every 100 ms):
#   first_answer  director1 started, director2 1 s later (both BACKUP+nopreempt: the first to
#                 start wins, so director1 is master): ms until the client's HTTP GET via the VIP
#                 succeeds.
#   rr            9 GETs: how many reached each real server.
#   vip_moved / failover   kill -9 every process in director1 and take its eth0 down (the node
#                 is gone: otherwise its VIP and IPVS table outlive the daemon and keep serving):
#                 ms until director2 holds the VIP / until the client gets an answer again.
#   rs_removed / rs_restored  kill rs1's HTTP listener: ms until 192.168.112.13:80 leaves
#                 director2's `ipvsadm -Ln`; restart it: ms until it is back.
#
# -C (checkers only): no director2; the VIP is put on director1's eth0 by hand, as the seed's
# `virtual_ipaddress { 192.168.112.10 }` would (/32, the instance's interface), and IMPL runs
# `-C -n -l -f keepalived.master.conf`. Steps:
#   first_answer, rr   as above.
#   table         `ipvsadm -Sn` while running (lines joined with ';').
#   rs_removed / rs_gone   rs1's httpd killed just after one of its health checks (seen as
#                 rs1's TCP PassiveOpens counter moving, with no client traffic then): ms until
#                 it leaves `ipvsadm -Ln` / until 3 consecutive GETs via the VIP all succeed.
#   down_lag      removal - rs1's last check before the kill (the check phase cancels out).
#   rs_restored / rs_back  httpd restarted as soon as the removal is seen: ms until rs1 is in
#                 `ipvsadm -Ln` again / until a GET via the VIP reaches it.
#   up_lag        return - rs1's first check after the restart.
#   cpu, cpu_wall the daemon's CPU time (ms, all its processes) from its start to the SIGTERM,
#                 and that wall time.
#   after_stop    `ipvsadm -Sn` after SIGTERM and exit ("empty", or lines joined with ';').
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SEED=$ROOT/tests/corpus/seed
RS=$ROOT/tests/seed/lvs_dr_rs.sh
VIP=192.168.112.10
DIR=/tmp/seed-deploy
MODE=deploy
[ "${1:-}" = -C ] && { MODE=checkers; shift; }
if [ $MODE = checkers ]; then NODES="director1:11 rs1:13 rs2:14 rs3:15 client:100"
else NODES="director1:11 director2:12 rs1:13 rs2:14 rs3:15 client:100"; fi
# Sub-second waits without forking sleep (a fork costs 10s of ms under TCG): read -t on a fifo.
mkfifo /tmp/seed-tick 2>/dev/null
exec 8<>/tmp/seed-tick
nap() { read -r -t "$1" -u 8 _; }

now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }

# poll NS START_MS TIMEOUT_S SHELL-CONDITION: evaluates the condition inside NS every 100 ms
# (one `ip netns exec` for the whole loop, no other fork but the condition's); prints ms since
# START_MS when it holds, or fails.
poll() {
    local ns=$1 start=$2 tmo=$3
    ip netns exec "$ns" bash -c '
        exec 8<>/tmp/seed-tick
        ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }
        start=$1; end=$(( start + $2 * 1000 ))
        while :; do
            if eval "$3" >/dev/null 2>&1; then echo $(( $(ms) - start )); exit 0; fi
            [ "$(ms)" -ge $end ] && exit 1
            read -r -t 0.1 -u 8 _
        done' _ "$start" "$tmo" "$4"
}
GET="curl -sf --connect-timeout 0.5 --max-time 1 -o /dev/null http://$VIP/"
HAS_VIP="ip -o addr show dev eth0 | grep -q ' $VIP/'"
RS1_LISTED="ipvsadm -Ln | grep -q ' 192.168.112.13:80 '"
# GET / via the VIP with bash's /dev/tcp, the page's last line (the real server's name) into
# $body. No fork: under TCG a process start costs up to a second, which would blur the
# client-side timings. (Exported for the polls' bash.)
fetch() {
    local l
    body=
    exec 3<>"/dev/tcp/$VIP/80" || return 1
    printf 'GET / HTTP/1.0\r\n\r\n' >&3
    while IFS= read -r -t 1 -u 3 l; do body=${l%$'\r'}; done
    exec 3<&-
    [ -n "$body" ]
}
rs1_skipped() { fetch && fetch && fetch; }  # rr: 3 connections in a row, none to a dead rs1
rs1_hit() { local i; for i in 1 2 3; do fetch && [ "$body" = rs1 ] && return 0; done; return 1; }
export VIP
export -f fetch rs1_skipped rs1_hit

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

start_director() {  # N IMPL CONF [OPTION...]
    ip netns exec "director$1" "$2" "${@:4}" -n -l -f "$3" -p "$DIR/d$1.pid" -r "$DIR/d$1-vrrp.pid" \
        -c "$DIR/d$1-check.pid" >"$DIR/d$1.log" 2>&1 &
}

result() { echo "SEED $label $1 $2"; }
phase() { echo "seed: $label: +$(( ($(now_ms) - t0) / 1000 )) s: $*"; }  # t0: the scenario's start

holders() {  # which directors hold the VIP now (the first call also records the master)
    local d h=""
    for d in director1 director2; do ip netns exec $d bash -c "$HAS_VIP" 2>/dev/null && h="$h $d"; done
    echo "seed: $label: VIP held by:${h:- nobody}"
    [ "${1:-}" = master ] && result master "${h# }"
}

show_logs() {  # [DIRECTOR whose table to show, default director2]
    local f
    for f in "$DIR"/d1.log "$DIR"/d2.log; do
        [ -f "$f" ] || continue
        echo "--- $label: $f (last 25 lines)"; tail -n 25 "$f"
    done
    echo "--- $label: ${1:-director2} ipvsadm -Ln"; ip netns exec "${1:-director2}" ipvsadm -Ln 2>&1
}

setup() {  # a fresh topology, the real servers answering directly (rules out the lab)
    local i
    down
    rm -rf "$DIR"; mkdir -p "$DIR"
    up || { echo "seed: topology setup failed"; result setup failed; return 1; }
    for i in 13 14 15; do
        ip netns exec client curl -sf --max-time 2 -o /dev/null "http://192.168.112.$i/" \
            || { echo "seed: real server .$i does not answer"; result setup failed; return 1; }
    done
}

round_robin() {  # 9 fresh connections via the VIP, so each goes to the next real server
    local body i
    body=$(ip netns exec client bash -c "for i in 1 2 3 4 5 6 7 8 9; do curl -s --max-time 2 http://$VIP/; echo; done")
    result rr "$(for i in 1 2 3; do printf 'rs%s=%s,' "$i" "$(grep -c "^rs$i\$" <<<"$body")"; done | sed 's/,$//')"
}

scenario() {  # IMPL CHECK(0/1)
    local impl=$1 check=$2 t ms i
    setup || return 1

    t=$(now_ms)
    start_director 1 "$impl" "$SEED/keepalived.master.conf"
    # director2 once director1's VRRP runs: under TCG a cold start can take over a second,
    # and with nopreempt whoever's master-down timer fires first keeps the VIP.
    for i in $(seq 100); do grep -q 'Entering BACKUP STATE' "$DIR/d1.log" 2>/dev/null && break; sleep 0.1; done
    start_director 2 "$impl" "$SEED/keepalived.backup.conf"
    if ms=$(poll client "$t" 60 "$GET"); then result first_answer "$ms"
    else result first_answer timeout; show_logs; return 1; fi
    holders master

    round_robin

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

# Logs (ms) each move of NS's TCP PassiveOpens counter to FILE: one line per accepted
# connection burst. With no client traffic, that is the health checks reaching the real server.
# With PID: kills it at the first move (within ~30 ms of a check, whatever the host's load) and
# writes the time of the kill to FILE.killed.
opens_log() {  # NS FILE [PID]
    ip netns exec "$1" bash -c '
        exec 8<>/tmp/seed-tick
        ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }
        prev= pid=$2
        while :; do
            v=
            while read -r -a f; do
                [ "${f[0]}" = Tcp: ] && [[ ${f[6]} =~ ^[0-9]+$ ]] && v=${f[6]}
            done </proc/net/snmp
            if [ "$v" != "$prev" ]; then
                if [ -n "$prev" ]; then
                    ms >>"$1"
                    [ -n "$pid" ] && { kill "$pid"; ms >"$1.killed"; pid=; }
                fi
                prev=$v
            fi
            read -r -t 0.03 -u 8 _
        done' _ "$2" "${3:-}" &
}
lines() { local n=0; [ -f "$1" ] && while read -r _; do n=$((n + 1)); done <"$1"; echo $n; }
line() { local n=0 l; while read -r l; do n=$((n + 1)); [ $n = "$2" ] && { echo "$l"; return; }; done <"$1"; }
table() { local t; t=$(ip netns exec director1 ipvsadm -Sn 2>&1 | tr '\n' ';'); echo "${t%;}"; }

# Checkers only (-C), the VIP by hand: see the header.
scenario_c() {  # IMPL
    local impl=$1 t ms n last first daemon logger cpid start
    setup || return 1
    ip -n director1 addr add "$VIP/32" dev eth0 || { result setup failed; return 1; }
    phase "topology up, starting the daemon"
    t=$(now_ms); start=$t
    start_director 1 "$impl" "$SEED/keepalived.master.conf" -C
    daemon=$!
    if ms=$(poll client "$t" 60 "$GET"); then result first_answer "$ms"
    else result first_answer timeout; show_logs director1; return 1; fi
    round_robin
    result table "$(table)"
    phase "served round robin"

    # Kill rs1's httpd just after a check, so both implementations start from the same phase.
    opens_log rs1 "$DIR/rs1-opens" "$(<"$DIR/rs1/httpd.pid")"
    logger=$!
    local end=$(( $(now_ms) + 20000 ))
    while [ ! -s "$DIR/rs1-opens.killed" ] && [ "$(now_ms)" -lt $end ]; do nap 0.05; done
    [ -s "$DIR/rs1-opens.killed" ] \
        || { echo "seed: $label: no health check seen on rs1"; result rs_removed no-check; kill $logger; return 1; }
    t=$(<"$DIR/rs1-opens.killed")
    last=$(line "$DIR/rs1-opens" 1)
    phase "rs1 httpd killed $((t - last)) ms after its last check"
    ( poll client "$t" 60 rs1_skipped >"$DIR/gone" ) &
    cpid=$!
    if ms=$(poll director1 "$t" 60 "! $RS1_LISTED"); then result rs_removed "$ms"; result down_lag $((t + ms - last))
    else result rs_removed timeout; show_logs director1; kill $logger; return 1; fi
    wait $cpid && result rs_gone "$(<"$DIR/gone")" || result rs_gone timeout

    n=$(lines "$DIR/rs1-opens")
    phase "restarting rs1 httpd"
    t=$(now_ms)
    "$RS" httpd rs1 rs1 "$DIR/rs1"
    ( poll client "$t" 60 rs1_hit >"$DIR/back" ) &
    cpid=$!
    if ms=$(poll director1 "$t" 60 "$RS1_LISTED"); then result rs_restored "$ms"
    else result rs_restored timeout; show_logs director1; kill $logger; return 1; fi
    first=$(line "$DIR/rs1-opens" $((n + 1)))
    if [ -n "$first" ]; then result up_lag $((t + ms - first)); else result up_lag no-check; fi
    wait $cpid && result rs_back "$(<"$DIR/back")" || result rs_back timeout
    kill $logger

    # CPU time the daemon used since its start, in ms: user + system of each of its processes
    # (director1's only processes now), plus that of their reaped children (cutime + cstime).
    local p cpu=0 st hz
    hz=$(getconf CLK_TCK)
    for p in $(ip netns pids director1); do
        read -r -a st <"/proc/$p/stat" 2>/dev/null && cpu=$(( cpu + st[13] + st[14] + st[15] + st[16] ))
    done
    result cpu $(( cpu * 1000 / hz ))
    result cpu_wall $(( $(now_ms) - start ))
    phase "stopping the daemon"
    kill -TERM "$daemon"
    end=$(( $(now_ms) + 20000 ))
    while kill -0 "$daemon" 2>/dev/null && [ "$(now_ms)" -lt $end ]; do nap 0.05; done
    if kill -0 "$daemon" 2>/dev/null; then result after_stop still-running; show_logs director1; return 1; fi
    wait "$daemon"
    echo "seed: $label: exit status after SIGTERM: $?"
    t=$(table)
    result after_stop "${t:-empty}"
    [ "${KARD_SEED_LOGS:-0}" = 1 ] && show_logs director1
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
    t0=$(now_ms)
    if [ $MODE = checkers ]; then scenario_c "$impl"; else scenario "$impl" "$check"; fi
    st=$?
    echo "seed: $label: scenario took $(( ($(now_ms) - t0) / 1000 )) s"
    result done "$st"
    [ $st = 0 ] || rc=1
done
down
[ -z "$syslogd" ] || kill "$syslogd"
exit $rc
