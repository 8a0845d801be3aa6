#!/bin/sh
# Captures the frames the real keepalived sends (adverts v2/v3, unicast, old unicast checksum,
# IPv6, gratuitous ARP, unsolicited NA) so src/vrrp/wire/captured.rs can be checked against them.
# Needs root, keepalived and python3; everything happens inside throw-away network and mount
# namespaces (veth a = 10.9.0.1 running keepalived, veth b = 10.9.0.2 in a peer netns capturing).
# Usage: sudo tools/capture-keepalived-frames.sh [SECONDS] [IPV6_FORWARDING(0|1)]
set -eu
SECS=${1:-12}
FWD=${2:-0}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT

cat > "$DIR/cap.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
s.settimeout(0.5)
end = time.time() + float(sys.argv[2])
seen = set()
while time.time() < end:
    try:
        d, a = s.recvfrom(65535)
    except socket.timeout:
        continue
    et = d[12:14].hex()
    if et == '0800' and d[23] == 112: key = ('vrrp4', d[30:34].hex(), d[34:37].hex())
    elif et == '0806': key = ('arp', d[28:32].hex(), d[38:42].hex())
    elif et == '86dd' and d[20] == 112: key = ('vrrp6', d[54:57].hex())
    elif et == '86dd' and d[20] == 58 and d[54] == 136: key = ('na', d[62:78].hex())
    else: continue
    if key not in seen:
        seen.add(key)
        print(*key, d.hex(), flush=True)
EOF

cat > "$DIR/k.conf" <<'EOF'
vrrp_instance V2PASS {
  interface a
  virtual_router_id 51
  priority 100
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass 1111
  }
  virtual_ipaddress {
    192.168.112.10
  }
}
vrrp_instance V3MC {
  version 3
  interface a
  virtual_router_id 42
  priority 150
  advert_int 0.5
  virtual_ipaddress {
    192.168.113.10
    192.168.113.11
  }
}
vrrp_instance V3UC {
  version 3
  interface a
  virtual_router_id 43
  priority 120
  unicast_src_ip 10.9.0.1
  unicast_peer {
    10.9.0.2
  }
  virtual_ipaddress {
    192.168.114.10
  }
}
vrrp_instance V3UCOLD {
  version 3
  interface a
  virtual_router_id 44
  priority 120
  old_unicast_checksum
  unicast_src_ip 10.9.0.1
  unicast_peer {
    10.9.0.2
  }
  virtual_ipaddress {
    192.168.115.10
  }
}
vrrp_instance V6 {
  version 3
  interface a
  virtual_router_id 45
  priority 110
  virtual_ipaddress {
    fd00:1::10
  }
}
EOF

cat > "$DIR/run.sh" <<EOF
set -e
mount -t tmpfs none /run
ip link set lo up
ip netns add peer
ip link add name a address 02:00:00:00:00:0a type veth peer name b address 02:00:00:00:00:0b
ip link set dev b netns peer
sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
sysctl -qw net.ipv6.conf.all.forwarding=$FWD
ip netns exec peer sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip link set dev a up
ip netns exec peer ip link set dev lo up
ip netns exec peer ip link set dev b up
ip addr add 10.9.0.1/24 dev a
ip netns exec peer ip addr add 10.9.0.2/24 dev b
sleep 1
ip netns exec peer python3 $DIR/cap.py b $((SECS + 2)) &
CAP=\$!
sleep 0.5
keepalived -n -l -D -P -f $DIR/k.conf -p $DIR/k.pid -r $DIR/v.pid > $DIR/ka.log 2>&1 &
KA=\$!
sleep $SECS
kill \$KA
wait \$KA || true
wait \$CAP
EOF
unshare -n -m sh "$DIR/run.sh"
