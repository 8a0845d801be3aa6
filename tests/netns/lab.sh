#!/bin/sh
# Test lab: N node namespaces, each with eth0 (10.77.X.N/24) on a bridge in its own namespace.
# usage: lab.sh up PREFIX NET N   |   lab.sh down PREFIX N
# Namespaces: PREFIX-br, PREFIX-1 .. PREFIX-N. Nothing is created outside them.
set -e
cmd=$1; p=$2
case "$cmd" in
up)
    net=$3; n=$4
    ip netns add "$p-br"
    ip -n "$p-br" link add br0 type bridge
    ip -n "$p-br" link set br0 up
    i=1
    while [ "$i" -le "$n" ]; do
        ip netns add "$p-$i"
        # No DAD: link-local sources and VIPs are usable at once (no tentative window).
        ip netns exec "$p-$i" sh -c 'echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad; echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad'
        ip link add "v$i" netns "$p-br" type veth peer name eth0 netns "$p-$i"
        ip -n "$p-br" link set "v$i" master br0 up
        ip -n "$p-$i" link set lo up
        ip -n "$p-$i" addr add "10.77.$net.$i/24" dev eth0
        ip -n "$p-$i" link set eth0 up
        i=$((i + 1))
    done
    ;;
down)
    n=$3
    i=1
    while [ "$i" -le "$n" ]; do
        for pid in $(ip netns pids "$p-$i" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "$p-$i" 2>/dev/null || true
        i=$((i + 1))
    done
    ip netns del "$p-br" 2>/dev/null || true
    ;;
*)
    echo "usage: $0 up PREFIX NET N | down PREFIX N" >&2; exit 2 ;;
esac
