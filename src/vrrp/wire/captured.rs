//! Frames sent by keepalived 2.2.7 itself, captured on a veth peer inside a network namespace
//! (interface MAC 02:00:00:00:00:0a, address 10.9.0.1, peer 10.9.0.2, link-local
//! fe80::ff:fe00:a). Every frame must decode, verify under the checksum mode keepalived used,
//! and re-encode to the identical bytes. `tools/capture-keepalived-frames.sh` regenerates them.

use super::ethernet::{self, EtherType};
use super::vrrp::{self, Addresses, Auth, Body, ChecksumMode, Ipv4Checksum};
use super::{Family, MacAddr, arp, ipv4, ipv6, ndisc};
use std::net::{Ipv4Addr, Ipv6Addr};

/// v2, VRID 51, prio 100, auth PASS "1111", 192.168.112.10 (the seed instance).
const V2_PASS: &str = "01005e00001202000000000a080045c0002800010000ff70d0880a090001e0000012\
                       213364010101e6b4c0a8700a3131313100000000";
/// The same instance resigning on SIGTERM: priority 0.
const V2_PASS_STOP: &str = "01005e00001202000000000a080045c00028000a0000ff70d07f0a090001e0000012\
                            2133000101014ab5c0a8700a3131313100000000";
/// v3 multicast, VRID 42, prio 150, advert_int 0.5 (50 cs), two VIPs.
const V3_MCAST: &str = "01005e00001202000000000a080045c0002400010000ff70d08c0a090001e0000012\
                        312a96020032ea9cc0a8710ac0a8710b";
/// v3 unicast to 10.9.0.2, VRID 43, prio 120: pseudo-header with the peer as destination.
const V3_UCAST: &str = "02000000000b02000000000a080045c0002000010000ff70a6980a0900010a090002\
                        312b780100640f2bc0a8720a";
/// v3 unicast, VRID 44, `old_unicast_checksum`: pseudo-header destination 224.0.0.18.
const V3_UCAST_OLD: &str = "02000000000b02000000000a080045c0002000010000ff70a6980a0900010a090002\
                            312c780100643822c0a8730a";
/// v3 over IPv6, VRID 45, prio 110, fd00:1::10 (IPv6 header and checksum built by the kernel).
const V3_IPV6: &str = "33330000001202000000000a86dd6c0272b8001870fffe80000000000000000000fffe00000a\
                       ff020000000000000000000000000012312d6e0100646633fd000001000000000000000000000010";
/// Gratuitous ARP for 192.168.112.10.
const GARP: &str = "ffffffffffff02000000000a0806000108000604000102000000000ac0a8700affffffffffffc0a8700a";
/// Unsolicited NA for fd00:1::10.
const NA: &str = "33330000000102000000000a86dd6000000000203afffd000001000000000000000000000010\
                  ff02000000000000000000000000000188005a7220000000fd000001000000000000000000000010\
                  020102000000000a";

/// The same NA with `net.ipv6.conf.all.forwarding=1`: keepalived sets the Router flag.
const NA_ROUTER: &str = "33330000000102000000000a86dd6000000000203afffd000001000000000000000000000010\
                         ff0200000000000000000000000000018800da71a0000000fd000001000000000000000000000010\
                         020102000000000a";

const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0a]);
const SRC: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
}

/// Decodes an Ethernet/IPv4/VRRP frame, checks the header keepalived writes, verifies the
/// checksum with `mode`, and rebuilds the whole frame from the Reprs.
fn v4_advert(frame_hex: &str, mode: impl Fn(&ipv4::Repr) -> ChecksumMode) -> (ipv4::Repr, vrrp::Repr) {
    let bytes = hex(frame_hex);
    let eth = ethernet::Frame::new_checked(&bytes[..]).unwrap();
    let eth_repr = ethernet::Repr::parse(&eth).unwrap();
    assert_eq!(eth_repr.ethertype, EtherType::Ipv4);
    assert_eq!(eth_repr.src_addr, MAC);
    let ip = ipv4::Packet::new_checked(eth.payload()).unwrap();
    let ip_repr = ipv4::Repr::parse(&ip).unwrap();
    assert_eq!((ip_repr.tos, ip_repr.ttl, ip_repr.protocol), (0xc0, 255, ipv4::PROTO_VRRP));
    let msg = vrrp::Packet::new_checked(ip.payload()).unwrap();
    let mode = mode(&ip_repr);
    assert!(msg.verify_checksum(&mode));
    let repr = vrrp::Repr::parse(&msg, Family::Ipv4).unwrap();

    let mut out = vec![0u8; ethernet::HEADER_LEN + ip_repr.buffer_len()];
    let mut f = ethernet::Frame::new_unchecked(&mut out[..]);
    eth_repr.emit(&mut f).unwrap();
    let mut p = ipv4::Packet::new_unchecked(f.payload_mut());
    ip_repr.emit(&mut p).unwrap();
    repr.emit(&mut vrrp::Packet::new_unchecked(p.payload_mut()), &mode).unwrap();
    assert_eq!(out, bytes);
    (ip_repr, repr)
}

fn one_v4(a: [u8; 4]) -> Addresses {
    Addresses::V4(vec![Ipv4Addr::from(a)])
}

#[test]
fn v2_pass_advert_and_stop() {
    let (ip, repr) = v4_advert(V2_PASS, |_| ChecksumMode::MessageOnly);
    assert_eq!((ip.src_addr, ip.dst_addr, ip.payload_len), (SRC, ipv4::VRRP_GROUP, 20));
    let expected = vrrp::Repr {
        vrid: 51,
        priority: 100,
        body: Body::V2 { adver_int: 1, auth: Auth::pass(b"1111"), addrs: vec![Ipv4Addr::new(192, 168, 112, 10)] },
    };
    assert_eq!(repr, expected);
    let (_, stop) = v4_advert(V2_PASS_STOP, |_| ChecksumMode::MessageOnly);
    assert_eq!(stop, vrrp::Repr { priority: vrrp::PRIORITY_STOP, ..expected });
}

#[test]
fn v3_multicast() {
    let (_, repr) = v4_advert(V3_MCAST, |ip| ChecksumMode::Ipv4PseudoHeader { src: ip.src_addr, dst: ip.dst_addr });
    assert_eq!(
        repr.to_string(),
        "VRRPv3, Advertisement, vrid 42, prio 150, intvl 50cs, addrs(2): 192.168.113.10 192.168.113.11"
    );
}

#[test]
fn v3_unicast_default_checksum_uses_the_peer() {
    let (ip, repr) = v4_advert(V3_UCAST, |ip| ChecksumMode::Ipv4PseudoHeader { src: ip.src_addr, dst: ip.dst_addr });
    assert_eq!(ip.dst_addr, PEER);
    assert_eq!(repr.body, Body::V3 { max_adver_int: 100, addrs: one_v4([192, 168, 114, 10]) });
    let bytes = hex(V3_UCAST);
    let msg = vrrp::Packet::new_unchecked(&bytes[34..]);
    assert_eq!(msg.detect_ipv4_checksum(SRC, PEER, ipv4::VRRP_GROUP), Some(Ipv4Checksum::PseudoHeader));
}

#[test]
fn v3_unicast_old_checksum_uses_the_group() {
    let (_, repr) = v4_advert(V3_UCAST_OLD, |ip| ChecksumMode::old_unicast(ip.src_addr, ipv4::VRRP_GROUP));
    assert_eq!(repr.vrid, 44);
    let bytes = hex(V3_UCAST_OLD);
    let msg = vrrp::Packet::new_unchecked(&bytes[34..]);
    assert!(!msg.verify_checksum(&ChecksumMode::Ipv4PseudoHeader { src: SRC, dst: PEER }));
    assert_eq!(msg.detect_ipv4_checksum(SRC, PEER, ipv4::VRRP_GROUP), Some(Ipv4Checksum::OldUnicast));
}

#[test]
fn v3_ipv6_kernel_checksum_matches_ours() {
    let bytes = hex(V3_IPV6);
    let eth = ethernet::Frame::new_checked(&bytes[..]).unwrap();
    assert_eq!(eth.dst_addr(), MacAddr::ipv6_multicast(&ipv6::VRRP_GROUP));
    let ip = ipv6::Packet::new_checked(eth.payload()).unwrap();
    let ip_repr = ipv6::Repr::parse(&ip).unwrap();
    assert_eq!((ip_repr.hop_limit, ip_repr.traffic_class, ip_repr.next_header), (255, 0xc0, 112));
    assert_eq!(ip_repr.dst_addr, ipv6::VRRP_GROUP);
    let msg = vrrp::Packet::new_checked(ip.payload()).unwrap();
    let mode = ChecksumMode::Ipv6PseudoHeader { src: ip_repr.src_addr, dst: ip_repr.dst_addr };
    assert!(msg.verify_checksum(&mode));
    let repr = vrrp::Repr::parse(&msg, Family::Ipv6).unwrap();
    let vip: Ipv6Addr = "fd00:1::10".parse().unwrap();
    assert_eq!(repr.body, Body::V3 { max_adver_int: 100, addrs: Addresses::V6(vec![vip]) });
    assert_eq!(repr.to_bytes(&mode).unwrap(), ip.payload());
}

#[test]
fn gratuitous_arp() {
    let bytes = hex(GARP);
    let repr = arp::FrameRepr::parse(&bytes).unwrap();
    assert_eq!(repr, arp::FrameRepr::gratuitous(MAC, Ipv4Addr::new(192, 168, 112, 10)));
    assert_eq!(repr.to_bytes(), bytes);
}

#[test]
fn unsolicited_na() {
    let bytes = hex(NA);
    let repr = ndisc::FrameRepr::parse(&bytes).unwrap();
    assert_eq!(repr, ndisc::FrameRepr::unsolicited(MAC, "fd00:1::10".parse().unwrap(), false));
    assert_eq!(repr.to_bytes(), bytes);
}

#[test]
fn unsolicited_na_from_a_router() {
    let bytes = hex(NA_ROUTER);
    let repr = ndisc::FrameRepr::parse(&bytes).unwrap();
    assert_eq!(repr, ndisc::FrameRepr::unsolicited(MAC, "fd00:1::10".parse().unwrap(), true));
    assert_eq!(repr.to_bytes(), bytes);
}

#[test]
fn datagram_helpers_match_keepalived() {
    for (frame_hex, vrid) in [(V2_PASS, 51), (V3_MCAST, 42), (V3_UCAST, 43)] {
        let bytes = hex(frame_hex);
        let (ip, msg) = vrrp::split_ipv4_datagram(&bytes[ethernet::HEADER_LEN..]).unwrap();
        let mode = if msg.version() == vrrp::Version::V2 {
            ChecksumMode::MessageOnly
        } else {
            ChecksumMode::Ipv4PseudoHeader { src: ip.src_addr, dst: ip.dst_addr }
        };
        assert!(msg.verify_checksum(&mode));
        let repr = vrrp::Repr::parse(&msg, Family::Ipv4).unwrap();
        assert_eq!(repr.vrid, vrid);
        let mut built = repr.to_ipv4_datagram(ip.src_addr, ip.dst_addr, ip.ttl, &mode).unwrap();
        // keepalived leaves ident to the kernel; patch the captured one in and fix the checksum.
        let mut p = ipv4::Packet::new_unchecked(&mut built[..]);
        p.set_ident(ip.ident);
        p.fill_checksum();
        assert_eq!(built, bytes[ethernet::HEADER_LEN..]);
    }
    let mut arp_bytes = hex(GARP);
    arp_bytes.resize(60, 0);
    assert!(vrrp::split_ipv4_datagram(&arp_bytes).is_err());
    let mut not_vrrp = hex(V2_PASS)[ethernet::HEADER_LEN..].to_vec();
    let mut p = ipv4::Packet::new_unchecked(&mut not_vrrp[..]);
    p.set_protocol(ipv4::PROTO_AH);
    p.fill_checksum();
    assert_eq!(
        vrrp::split_ipv4_datagram(&not_vrrp).err(),
        Some(super::Error::Unsupported("IPv4 protocol is not VRRP"))
    );
}
