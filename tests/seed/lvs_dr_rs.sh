#!/bin/sh
# An LVS-DR real server in network namespace NS, after the seed's lvs_dr_rs.sh: the VIP on lo
# as a /32 host address, and arp_ignore=1/arp_announce=2 on lo and all, so the real server
# accepts packets for the VIP but never answers ARP for it nor uses it as an ARP source.
# (The seed used ifconfig lo:0 + route add -host; `ip addr add VIP/32 dev lo` is the same.)
# Then it serves HTTP on port 80 with a page naming the server (busybox httpd, in the
# foreground; its pid goes to DIR/httpd.pid so a test can kill just the listener).
# usage: lvs_dr_rs.sh start NS NAME DIR   |   lvs_dr_rs.sh httpd NS NAME DIR
set -e
VIP=${SNS_VIP:-192.168.112.10}
cmd=$1 ns=$2 name=$3 dir=$4
case "$cmd" in
start)
    ip -n "$ns" addr add "$VIP/32" dev lo
    ip netns exec "$ns" sh -c '
        echo 1 >/proc/sys/net/ipv4/conf/lo/arp_ignore
        echo 2 >/proc/sys/net/ipv4/conf/lo/arp_announce
        echo 1 >/proc/sys/net/ipv4/conf/all/arp_ignore
        echo 2 >/proc/sys/net/ipv4/conf/all/arp_announce'
    "$0" httpd "$ns" "$name" "$dir"
    ;;
httpd)
    mkdir -p "$dir/www"
    echo "$name" >"$dir/www/index.html"
    ip netns exec "$ns" busybox httpd -f -p 80 -h "$dir/www" >"$dir/httpd.log" 2>&1 &
    echo $! >"$dir/httpd.pid"
    ;;
*)
    echo "usage: $0 start|httpd NS NAME DIR" >&2; exit 2 ;;
esac
