//! The fixed IPv6 header, needed for the unsolicited Neighbour Advertisement frames keepalived
//! builds for its packet socket. (VRRP over IPv6 uses a raw socket that never shows this header.)

use super::{Error, Result};
use std::net::Ipv6Addr;

/// IPv6 VRRP multicast group (RFC 5798 §5.1.2.2).
pub const VRRP_GROUP: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// All-nodes multicast, the destination of unsolicited NAs.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Next-header value of ICMPv6.
pub const NEXT_HEADER_ICMPV6: u8 = 58;

mod field {
    use crate::vrrp::wire::Field;
    pub const VER_TC_FLOW: Field = 0..4;
    pub const LENGTH: Field = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Field = 8..24;
    pub const DST: Field = 24..40;
}

pub const HEADER_LEN: usize = field::DST.end;

/// A view of an IPv6 packet (no extension headers are interpreted).
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the fixed header and the declared payload length fit; trailing bytes are allowed.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN || len < HEADER_LEN + usize::from(self.payload_len()) {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn word0(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::VER_TC_FLOW];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    fn addr_at(&self, f: super::Field) -> Ipv6Addr {
        let mut o = [0u8; 16];
        o.copy_from_slice(&self.buffer.as_ref()[f]);
        Ipv6Addr::from(o)
    }

    pub fn version(&self) -> u8 {
        (self.word0() >> 28) as u8
    }

    pub fn traffic_class(&self) -> u8 {
        (self.word0() >> 20) as u8
    }

    pub fn flow_label(&self) -> u32 {
        self.word0() & 0x000f_ffff
    }

    /// Payload length as declared; reads the raw field, so it is safe once the fixed header fits.
    pub fn payload_len(&self) -> u16 {
        match self.buffer.as_ref().get(field::LENGTH) {
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            _ => 0,
        }
    }

    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NXT_HDR]
    }

    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    pub fn src_addr(&self) -> Ipv6Addr {
        self.addr_at(field::SRC)
    }

    pub fn dst_addr(&self) -> Ipv6Addr {
        self.addr_at(field::DST)
    }

    /// The declared payload (padding excluded).
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..HEADER_LEN + usize::from(self.payload_len())).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Writes version 6, the traffic class and the flow label (masked to 20 bits).
    pub fn set_version_tc_flow(&mut self, traffic_class: u8, flow_label: u32) {
        let w = (6u32 << 28) | (u32::from(traffic_class) << 20) | (flow_label & 0x000f_ffff);
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&w.to_be_bytes());
    }

    pub fn set_payload_len(&mut self, len: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&len.to_be_bytes());
    }

    pub fn set_next_header(&mut self, next: u8) {
        self.buffer.as_mut()[field::NXT_HDR] = next;
    }

    pub fn set_hop_limit(&mut self, hops: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = hops;
    }

    pub fn set_src_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.octets());
    }

    pub fn set_dst_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.octets());
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        self.buffer.as_mut().get_mut(HEADER_LEN..end).unwrap_or(&mut [])
    }
}

/// A parsed fixed IPv6 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src_addr: Ipv6Addr,
    pub dst_addr: Ipv6Addr,
    pub next_header: u8,
    pub hop_limit: u8,
    pub traffic_class: u8,
    /// 20 bits.
    pub flow_label: u32,
    pub payload_len: usize,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        if packet.version() != 6 {
            return Err(Error::BadVersion(packet.version()));
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
            payload_len: usize::from(packet.payload_len()),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the header; the payload is left as it is.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<()> {
        let len = u16::try_from(self.payload_len).map_err(|_| Error::Malformed("IPv6 payload too long"))?;
        if packet.buffer.as_ref().len() < self.buffer_len() {
            return Err(Error::Truncated);
        }
        packet.set_version_tc_flow(self.traffic_class, self.flow_label);
        packet.set_payload_len(len);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static HEADER: [u8; 40] = [
        0x6c, 0x02, 0x72, 0xb8, // version 6, traffic class 0xc0, flow label 0x272b8
        0x00, 0x18, // payload length 24
        0x70, // next header 112 (VRRP)
        0xff, // hop limit 255
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 0x0a, // src fe80::ff:fe00:a
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, // dst ff02::12
    ];

    fn repr() -> Repr {
        Repr {
            src_addr: "fe80::ff:fe00:a".parse().unwrap(),
            dst_addr: VRRP_GROUP,
            next_header: 112,
            hop_limit: 255,
            traffic_class: 0xc0,
            flow_label: 0x272b8,
            payload_len: 24,
        }
    }

    #[test]
    fn golden_parse_and_emit() {
        let mut bytes = HEADER.to_vec();
        bytes.extend_from_slice(&[0x5a; 24]);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!((p.version(), p.traffic_class(), p.flow_label()), (6, 0xc0, 0x272b8));
        assert_eq!(p.payload(), &[0x5a; 24]);
        assert_eq!(Repr::parse(&p), Ok(repr()));
        let mut out = [0u8; 64];
        repr().emit(&mut Packet::new_unchecked(&mut out[..])).unwrap();
        assert_eq!(out[..40], HEADER);
    }

    #[test]
    fn errors() {
        let mut bytes = HEADER.to_vec();
        bytes.extend_from_slice(&[0; 24]);
        for len in 0..bytes.len() {
            assert_eq!(Packet::new_checked(&bytes[..len]).err(), Some(Error::Truncated), "len {len}");
        }
        bytes[0] = 0x4c;
        assert_eq!(Repr::parse(&Packet::new_unchecked(&bytes[..])), Err(Error::BadVersion(4)));
        let mut short = [0u8; 63];
        assert_eq!(repr().emit(&mut Packet::new_unchecked(&mut short[..])), Err(Error::Truncated));
        let huge = Repr { payload_len: 65_536, ..repr() };
        assert!(matches!(huge.emit(&mut Packet::new_unchecked(&mut vec![0u8; 65_576][..])), Err(Error::Malformed(_))));
    }
}
