//! Feeds arbitrary bytes to every `vrrp::wire` parser: nothing may panic, and whatever parses must
//! re-encode to bytes that parse back to the same value.
//!
//! Run: `cargo +nightly fuzz run vrrp_packet` (from the repo root). Without cargo-fuzz, build with
//! nightly and `RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4
//! -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table
//! -Cllvm-args=-sanitizer-coverage-trace-compares -Coverflow-checks"` and
//! `--release --target x86_64-unknown-linux-gnu --bin vrrp_packet` in fuzz/. Good seeds: the
//! frames in src/vrrp/wire/captured.rs (whole frame, IPv4 datagram, and bare VRRP message).
#![no_main]

use keepalived::vrrp::wire::vrrp::{self, ChecksumMode};
use keepalived::vrrp::wire::{Family, arp, ethernet, ipv4, ipv6, ndisc};
use libfuzzer_sys::fuzz_target;
use std::net::{Ipv4Addr, Ipv6Addr};

const SRC4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SRC6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

/// A VRRP message on its own (what an IPv6 raw socket returns, or an IPv4 payload).
fn vrrp_message(data: &[u8]) {
    let Ok(packet) = vrrp::Packet::new_checked(data) else { return };
    let _ = (packet.auth_data(), packet.addr_v4(255), packet.addr_v6(255), packet.reserved());
    let _ = packet.detect_ipv4_checksum(SRC4, Ipv4Addr::new(10, 0, 0, 2), ipv4::VRRP_GROUP);
    let _ = packet.verify_checksum(&ChecksumMode::Ipv6PseudoHeader { src: SRC6, dst: ipv6::VRRP_GROUP });
    for family in [Family::Ipv4, Family::Ipv6] {
        let Ok(repr) = vrrp::Repr::parse(&packet, family) else { continue };
        let _ = repr.to_string();
        let mode = match family {
            Family::Ipv4 => ChecksumMode::Ipv4PseudoHeader { src: SRC4, dst: ipv4::VRRP_GROUP },
            Family::Ipv6 => ChecksumMode::Ipv6PseudoHeader { src: SRC6, dst: ipv6::VRRP_GROUP },
        };
        let bytes = repr.to_bytes(&mode).expect("a parsed advert re-encodes");
        assert_eq!(bytes.len(), data.len());
        let again = vrrp::Packet::new_checked(&bytes[..]).expect("re-encoded header");
        assert!(again.verify_checksum(&mode));
        assert_eq!(vrrp::Repr::parse(&again, family).as_ref(), Ok(&repr));
    }
}

/// An IPv4 datagram as the raw IPPROTO_VRRP socket returns it.
fn ipv4_datagram(data: &[u8]) {
    let Ok(packet) = ipv4::Packet::new_checked(data) else { return };
    vrrp_message(packet.payload());
    let Ok(repr) = ipv4::Repr::parse(&packet) else { return };
    let mut out = vec![0u8; repr.buffer_len()];
    let mut rebuilt = ipv4::Packet::new_unchecked(&mut out[..]);
    repr.emit(&mut rebuilt).expect("a parsed header re-encodes");
    rebuilt.payload_mut().copy_from_slice(packet.payload());
    let again = ipv4::Packet::new_checked(&out[..]).expect("re-encoded header");
    assert_eq!(ipv4::Repr::parse(&again), Ok(repr));
    assert_eq!(again.payload(), packet.payload());
    if let Ok((ip, msg)) = vrrp::split_ipv4_datagram(data) {
        assert_eq!(ip, repr);
        if let Ok(advert) = vrrp::Repr::parse(&msg, Family::Ipv4) {
            let mode = ChecksumMode::Ipv4PseudoHeader { src: ip.src_addr, dst: ip.dst_addr };
            let datagram = advert.to_ipv4_datagram(ip.src_addr, ip.dst_addr, ip.ttl, &mode).expect("re-encodes");
            let (ip2, msg2) = vrrp::split_ipv4_datagram(&datagram).expect("re-encoded datagram splits");
            assert_eq!((ip2.src_addr, ip2.dst_addr, ip2.ttl), (ip.src_addr, ip.dst_addr, ip.ttl));
            assert!(msg2.verify_checksum(&mode));
            assert_eq!(vrrp::Repr::parse(&msg2, Family::Ipv4), Ok(advert));
        }
    }
}

/// Ethernet frames: ARP, NA, and the IPv4/IPv6 headers underneath.
fn ethernet_frame(data: &[u8]) {
    if let Ok(repr) = arp::FrameRepr::parse(data) {
        assert_eq!(arp::FrameRepr::parse(&repr.to_bytes()), Ok(repr));
    }
    if let Ok(repr) = ndisc::FrameRepr::parse(data) {
        assert_eq!(ndisc::FrameRepr::parse(&repr.to_bytes()), Ok(repr));
    }
    let Ok(frame) = ethernet::Frame::new_checked(data) else { return };
    ipv4_datagram(frame.payload());
    if let Ok(ip) = ipv6::Packet::new_checked(frame.payload()) {
        let _ = ipv6::Repr::parse(&ip);
        vrrp_message(ip.payload());
        if let Ok(na) = ndisc::Packet::new_checked(ip.payload()) {
            let _ = (ndisc::Repr::parse(&na), na.target_lladdr());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    vrrp_message(data);
    ipv4_datagram(data);
    ethernet_frame(data);
});
