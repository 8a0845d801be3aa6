//! The IPv4 header keepalived writes itself on its VRRP raw socket (`IP_HDRINCL`) and that the
//! receive socket hands back: TOS 0xC0 (network control), TTL 255, protocol 112, no options.

use super::{Error, Result, checksum};
use std::net::Ipv4Addr;

/// IP protocol number of VRRP.
pub const PROTO_VRRP: u8 = 112;
/// IP protocol number of the Authentication Header (keepalived `auth_type AH`).
pub const PROTO_AH: u8 = 51;
/// IPv4 VRRP multicast group (RFC 5798 §5.1.1.2).
pub const VRRP_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// TOS keepalived sets on adverts: precedence 6 (internetwork control).
pub const TOS_NETWORK_CONTROL: u8 = 0xc0;
/// TTL adverts are sent with and must arrive with (multicast).
pub const VRRP_TTL: u8 = 255;

mod field {
    use crate::vrrp::wire::Field;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC: Field = 12..16;
    pub const DST: Field = 16..20;
}

/// Header length without options.
pub const HEADER_LEN: usize = field::DST.end;

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A view of an IPv4 packet.
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

    /// Checks the buffer holds the fixed header, the header length (IHL) and the total length.
    /// Bytes past the total length (Ethernet padding) are allowed and ignored.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            return Err(Error::Malformed("IPv4 header length below 20"));
        }
        let total = usize::from(self.total_len());
        if total < header_len {
            return Err(Error::Malformed("IPv4 total length below header length"));
        }
        if len < total {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u16_at(&self, f: super::Field) -> u16 {
        let b = &self.buffer.as_ref()[f];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn addr_at(&self, f: super::Field) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[f];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    pub fn total_len(&self) -> u16 {
        self.u16_at(field::LENGTH)
    }

    pub fn ident(&self) -> u16 {
        self.u16_at(field::IDENT)
    }

    pub fn dont_frag(&self) -> bool {
        self.u16_at(field::FLG_OFF) & FLAG_DF != 0
    }

    pub fn more_frags(&self) -> bool {
        self.u16_at(field::FLG_OFF) & FLAG_MF != 0
    }

    /// Fragment offset in 8-byte units.
    pub fn frag_offset(&self) -> u16 {
        self.u16_at(field::FLG_OFF) & OFFSET_MASK
    }

    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }

    pub fn src_addr(&self) -> Ipv4Addr {
        self.addr_at(field::SRC)
    }

    pub fn dst_addr(&self) -> Ipv4Addr {
        self.addr_at(field::DST)
    }

    /// True when the header checksum (options included) verifies.
    pub fn verify_checksum(&self) -> bool {
        self.buffer.as_ref().get(..self.header_len()).is_some_and(|h| checksum::data(h) == 0xffff)
    }

    /// The payload: from the end of the header to the total length (padding excluded).
    pub fn payload(&self) -> &[u8] {
        let total = usize::from(self.total_len());
        self.buffer.as_ref().get(self.header_len()..total).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version 4 and the header length in bytes (rounded down to 4-byte units).
    pub fn set_version_and_header_len(&mut self, header_len: usize) {
        let ihl = ((header_len / 4) & 0x0f) as u8;
        self.buffer.as_mut()[field::VER_IHL] = 0x40 | ihl;
    }

    pub fn set_tos(&mut self, tos: u8) {
        self.buffer.as_mut()[field::TOS] = tos;
    }

    pub fn set_total_len(&mut self, len: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&len.to_be_bytes());
    }

    pub fn set_ident(&mut self, ident: u16) {
        self.buffer.as_mut()[field::IDENT].copy_from_slice(&ident.to_be_bytes());
    }

    /// Sets the flags/offset word: DF as given, MF clear, offset 0 (adverts are never fragmented).
    pub fn set_unfragmented(&mut self, dont_frag: bool) {
        let v = if dont_frag { FLAG_DF } else { 0 };
        self.buffer.as_mut()[field::FLG_OFF].copy_from_slice(&v.to_be_bytes());
    }

    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    pub fn set_protocol(&mut self, protocol: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = protocol;
    }

    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.octets());
    }

    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.octets());
    }

    /// Computes and stores the header checksum.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let header_len = self.header_len();
        let sum = self.buffer.as_ref().get(..header_len).map_or(0, checksum::data);
        self.set_checksum(!sum);
    }

    /// The payload area up to the total length.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        let total = usize::from(self.total_len());
        self.buffer.as_mut().get_mut(start..total).unwrap_or(&mut [])
    }
}

/// A parsed, unfragmented IPv4 header (options are skipped on parse and never emitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src_addr: Ipv4Addr,
    pub dst_addr: Ipv4Addr,
    pub protocol: u8,
    pub tos: u8,
    /// Exposed for the receive-side TTL == 255 check (RFC 5798 §7.1).
    pub ttl: u8,
    pub ident: u16,
    pub dont_frag: bool,
    pub payload_len: usize,
}

impl Repr {
    /// The header keepalived sends an advert with: TOS 0xC0, TTL 255 (or `unicast_ttl`),
    /// protocol 112, ident 0 (the kernel fills it in), DF clear.
    pub fn vrrp(src_addr: Ipv4Addr, dst_addr: Ipv4Addr, ttl: u8, payload_len: usize) -> Repr {
        Repr {
            src_addr,
            dst_addr,
            protocol: PROTO_VRRP,
            tos: TOS_NETWORK_CONTROL,
            ttl,
            ident: 0,
            dont_frag: false,
            payload_len,
        }
    }

    /// Parses a checked packet; rejects non-v4, a bad header checksum and fragments.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        if packet.version() != 4 {
            return Err(Error::BadVersion(packet.version()));
        }
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        if packet.more_frags() || packet.frag_offset() != 0 {
            return Err(Error::Unsupported("IPv4 fragment"));
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            tos: packet.tos(),
            ttl: packet.ttl(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
        })
    }

    /// Header length this Repr emits.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Header plus payload.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the header (checksum included); the payload bytes are left as they are.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<()> {
        let total = u16::try_from(self.buffer_len()).map_err(|_| Error::Malformed("IPv4 payload too long"))?;
        if packet.buffer.as_ref().len() < self.buffer_len() {
            return Err(Error::Truncated);
        }
        packet.set_version_and_header_len(HEADER_LEN);
        packet.set_tos(self.tos);
        packet.set_total_len(total);
        packet.set_ident(self.ident);
        packet.set_unfragmented(self.dont_frag);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The IPv4 header of keepalived 2.2.7's v2 PASS advert (VRID 51) as captured on a veth.
    static HEADER: [u8; 20] = [
        0x45, // version 4, IHL 5
        0xc0, // TOS: network control
        0x00, 0x28, // total length 40 = 20 + 20 VRRP
        0x00, 0x01, // ident 1
        0x00, 0x00, // no flags, offset 0
        0xff, // TTL 255
        0x70, // protocol 112
        0xd0, 0x88, // header checksum
        0x0a, 0x09, 0x00, 0x01, // src 10.9.0.1
        0xe0, 0x00, 0x00, 0x12, // dst 224.0.0.18
    ];

    fn packet_bytes() -> Vec<u8> {
        let mut v = HEADER.to_vec();
        v.extend_from_slice(&[0u8; 20]);
        v
    }

    fn repr() -> Repr {
        Repr { ident: 1, ..Repr::vrrp(Ipv4Addr::new(10, 9, 0, 1), VRRP_GROUP, 255, 20) }
    }

    #[test]
    fn deconstruct() {
        let bytes = packet_bytes();
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!((p.version(), p.header_len(), p.tos(), p.total_len()), (4, 20, 0xc0, 40));
        assert_eq!((p.ident(), p.dont_frag(), p.more_frags(), p.frag_offset()), (1, false, false, 0));
        assert_eq!((p.ttl(), p.protocol(), p.checksum()), (255, 112, 0xd088));
        assert_eq!((p.src_addr(), p.dst_addr()), (Ipv4Addr::new(10, 9, 0, 1), VRRP_GROUP));
        assert!(p.verify_checksum());
        assert_eq!(p.payload().len(), 20);
    }

    #[test]
    fn parse_and_emit_golden() {
        let bytes = packet_bytes();
        assert_eq!(Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()), Ok(repr()));
        let mut out = vec![0u8; repr().buffer_len()];
        repr().emit(&mut Packet::new_unchecked(&mut out[..])).unwrap();
        assert_eq!(out[..20], HEADER);
    }

    #[test]
    fn padding_is_excluded_from_payload() {
        let mut bytes = packet_bytes();
        bytes.extend_from_slice(&[0xee; 6]);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.payload(), &[0u8; 20]);
        assert_eq!(Repr::parse(&p).unwrap().payload_len, 20);
    }

    #[test]
    fn options_are_skipped() {
        // The golden header with IHL 6 and four NOP option bytes, then a 4-byte payload.
        let mut bytes = HEADER.to_vec();
        bytes.extend_from_slice(&[1, 1, 1, 1]); // NOP options
        bytes.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]); // payload
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_version_and_header_len(24);
        p.set_total_len(28);
        p.fill_checksum();
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.header_len(), 24);
        assert!(p.verify_checksum());
        assert_eq!(p.payload(), &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(Repr::parse(&p).unwrap(), Repr { payload_len: 4, ..repr() });
    }

    #[test]
    fn errors() {
        let good = packet_bytes();
        for len in 0..good.len() {
            assert_eq!(Packet::new_checked(&good[..len]).err(), Some(Error::Truncated), "len {len}");
        }
        let mut b = good.clone();
        b[0] = 0x44; // IHL 4
        assert!(matches!(Packet::new_checked(&b[..]).err(), Some(Error::Malformed(_))));
        let mut b = good.clone();
        b[2..4].copy_from_slice(&[0, 16]); // total length below header length
        assert!(matches!(Packet::new_checked(&b[..]).err(), Some(Error::Malformed(_))));
        let mut b = good.clone();
        b[0] = 0x65;
        assert_eq!(Repr::parse(&Packet::new_unchecked(&b[..])), Err(Error::BadVersion(6)));
        let mut b = good.clone();
        b[8] = 254; // TTL changed, checksum now stale
        assert_eq!(Repr::parse(&Packet::new_unchecked(&b[..])), Err(Error::BadChecksum));
        let mut b = good.clone();
        Packet::new_unchecked(&mut b[..]).buffer[6] = 0x20; // MF
        Packet::new_unchecked(&mut b[..]).fill_checksum();
        assert_eq!(Repr::parse(&Packet::new_unchecked(&b[..])), Err(Error::Unsupported("IPv4 fragment")));
        let mut short = [0u8; 39];
        assert_eq!(repr().emit(&mut Packet::new_unchecked(&mut short[..])), Err(Error::Truncated));
        let huge = Repr { payload_len: 70_000, ..repr() };
        assert!(matches!(huge.emit(&mut Packet::new_unchecked(&mut vec![0u8; 70_020][..])), Err(Error::Malformed(_))));
    }

    #[test]
    fn dont_frag_round_trips() {
        let r = Repr { dont_frag: true, ident: 0xbeef, ttl: 64, ..repr() };
        let mut out = vec![0u8; r.buffer_len()];
        r.emit(&mut Packet::new_unchecked(&mut out[..])).unwrap();
        assert_eq!(out[6], 0x40);
        assert_eq!(Repr::parse(&Packet::new_checked(&out[..]).unwrap()), Ok(r));
    }

    #[test]
    fn generated_round_trip() {
        let mut seed = 3u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 32) as u32
        };
        for _ in 0..2000 {
            let r = Repr {
                src_addr: Ipv4Addr::from(next()),
                dst_addr: Ipv4Addr::from(next()),
                protocol: next() as u8,
                tos: next() as u8,
                ttl: next() as u8,
                ident: next() as u16,
                dont_frag: next() % 2 == 0,
                payload_len: (next() % 600) as usize,
            };
            let mut out = vec![0u8; r.buffer_len()];
            r.emit(&mut Packet::new_unchecked(&mut out[..])).unwrap();
            assert_eq!(Repr::parse(&Packet::new_checked(&out[..]).unwrap()), Ok(r));
        }
    }
}
