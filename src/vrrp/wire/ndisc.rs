//! ICMPv6 Neighbour Advertisement (RFC 4861 §4.4) and the unsolicited NA frame keepalived sends
//! for each IPv6 VIP on becoming master. From a keepalived 2.2.7 capture: Ethernet dst
//! 33:33:00:00:00:01, IPv6 src = the VIP itself (not the link-local address), dst ff02::1,
//! hop limit 255, traffic class and flow label 0, flags Override only (Router when the interface
//! forwards), target = VIP, one Target Link-Layer Address option = the (V)MAC.

use super::ethernet::{self, EtherType};
use super::ipv6::{self, ALL_NODES, NEXT_HEADER_ICMPV6};
use super::{Error, MacAddr, Result, checksum};
use std::net::Ipv6Addr;

/// ICMPv6 type of a Neighbour Advertisement.
pub const TYPE_NEIGHBOR_ADVERT: u8 = 136;
/// Option type "Target Link-Layer Address".
pub const OPT_TARGET_LLADDR: u8 = 2;
/// Hop limit neighbour discovery requires (RFC 4861 §7.1.2).
pub const HOP_LIMIT: u8 = 255;

const FLAG_ROUTER: u8 = 0x80;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;

mod field {
    use crate::vrrp::wire::{Field, Rest};
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const FLAGS: usize = 4;
    pub const RESERVED: Field = 5..8;
    pub const TARGET: Field = 8..24;
    pub const OPTIONS: Rest = 24..;
}

/// Length of an NA without options.
pub const HEADER_LEN: usize = field::OPTIONS.start;
/// Length of a Target Link-Layer Address option for Ethernet.
pub const LLADDR_OPT_LEN: usize = 8;

/// A view of an ICMPv6 Neighbour Advertisement (the ICMPv6 message, without the IPv6 header).
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

    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN { Err(Error::Truncated) } else { Ok(()) }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    pub fn router_flag(&self) -> bool {
        self.flags() & FLAG_ROUTER != 0
    }

    pub fn solicited_flag(&self) -> bool {
        self.flags() & FLAG_SOLICITED != 0
    }

    pub fn override_flag(&self) -> bool {
        self.flags() & FLAG_OVERRIDE != 0
    }

    pub fn target_addr(&self) -> Ipv6Addr {
        let mut o = [0u8; 16];
        o.copy_from_slice(&self.buffer.as_ref()[field::TARGET]);
        Ipv6Addr::from(o)
    }

    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS]
    }

    /// Walks the options (type, length in 8-byte units, data) and returns the Target
    /// Link-Layer Address if present. A zero length or an option running past the end is
    /// malformed (RFC 4861 §4.6 says to discard such packets).
    pub fn target_lladdr(&self) -> Result<Option<MacAddr>> {
        let mut rest = self.options();
        let mut found = None;
        while !rest.is_empty() {
            let (kind, units) = match rest {
                [kind, units, ..] => (*kind, usize::from(*units)),
                _ => return Err(Error::Malformed("truncated ND option")),
            };
            if units == 0 {
                return Err(Error::Malformed("zero-length ND option"));
            }
            let opt = rest.get(..units * 8).ok_or(Error::Malformed("ND option past the end"))?;
            if kind == OPT_TARGET_LLADDR && found.is_none() {
                found = opt.get(2..8).and_then(MacAddr::from_bytes);
            }
            rest = rest.get(units * 8..).unwrap_or(&[]);
        }
        Ok(found)
    }

    /// True when the ICMPv6 checksum verifies with the IPv6 pseudo-header for `src` -> `dst`.
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        let data = self.buffer.as_ref();
        let pseudo = checksum::pseudo_header_v6(src, dst, NEXT_HEADER_ICMPV6, data.len() as u32);
        checksum::combine(&[pseudo, checksum::data(data)]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_msg_type(&mut self, value: u8) {
        self.buffer.as_mut()[field::TYPE] = value;
    }

    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    /// Writes the R/S/O flags and zeroes the 29 reserved bits.
    pub fn set_flags(&mut self, router: bool, solicited: bool, override_: bool) {
        let mut f = 0;
        if router {
            f |= FLAG_ROUTER;
        }
        if solicited {
            f |= FLAG_SOLICITED;
        }
        if override_ {
            f |= FLAG_OVERRIDE;
        }
        self.buffer.as_mut()[field::FLAGS] = f;
        self.buffer.as_mut()[field::RESERVED].fill(0);
    }

    pub fn set_target_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::TARGET].copy_from_slice(&addr.octets());
    }

    pub fn options_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::OPTIONS]
    }

    /// Computes the checksum over the whole buffer with the IPv6 pseudo-header.
    pub fn fill_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let pseudo = checksum::pseudo_header_v6(src, dst, NEXT_HEADER_ICMPV6, data.len() as u32);
        let sum = checksum::combine(&[pseudo, checksum::data(data)]);
        self.set_checksum(!sum);
    }
}

/// A Neighbour Advertisement. Only the Target Link-Layer Address option is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub router: bool,
    pub solicited: bool,
    pub override_: bool,
    pub target_addr: Ipv6Addr,
    pub target_lladdr: Option<MacAddr>,
}

impl Repr {
    /// Parses the message; the checksum is checked by the caller, who knows the addresses.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        if packet.msg_type() != TYPE_NEIGHBOR_ADVERT {
            return Err(Error::BadType(packet.msg_type()));
        }
        if packet.msg_code() != 0 {
            return Err(Error::Malformed("ICMPv6 NA code not 0"));
        }
        Ok(Repr {
            router: packet.router_flag(),
            solicited: packet.solicited_flag(),
            override_: packet.override_flag(),
            target_addr: packet.target_addr(),
            target_lladdr: packet.target_lladdr()?,
        })
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + if self.target_lladdr.is_some() { LLADDR_OPT_LEN } else { 0 }
    }

    /// Writes the first `buffer_len()` bytes and fills the checksum for `src` -> `dst`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
    ) -> Result<()> {
        let buf = packet.buffer.as_mut().get_mut(..self.buffer_len()).ok_or(Error::Truncated)?;
        let mut p = Packet::new_unchecked(buf);
        p.set_msg_type(TYPE_NEIGHBOR_ADVERT);
        p.set_msg_code(0);
        p.set_flags(self.router, self.solicited, self.override_);
        p.set_target_addr(self.target_addr);
        if let Some(mac) = self.target_lladdr {
            let opt = p.options_mut();
            opt[0] = OPT_TARGET_LLADDR;
            opt[1] = 1; // one 8-byte unit
            opt[2..8].copy_from_slice(&mac.0);
        }
        p.fill_checksum(src, dst);
        Ok(())
    }
}

/// A whole NA frame for a `SOCK_RAW` packet socket: Ethernet + IPv6 + ICMPv6 NA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRepr {
    pub src_mac: MacAddr,
    pub dst_mac: MacAddr,
    pub src_addr: Ipv6Addr,
    pub dst_addr: Ipv6Addr,
    /// Exposed so receivers can apply RFC 4861's hop limit == 255 rule.
    pub hop_limit: u8,
    pub na: Repr,
}

impl FrameRepr {
    /// keepalived's unsolicited NA for `vip` from `mac` (interface MAC or VMAC). `router` is the
    /// interface's IPv6 forwarding state (keepalived sets the R flag from the `forwarding` sysctl).
    pub fn unsolicited(mac: MacAddr, vip: Ipv6Addr, router: bool) -> FrameRepr {
        FrameRepr {
            src_mac: mac,
            dst_mac: MacAddr::ipv6_multicast(&ALL_NODES),
            src_addr: vip,
            dst_addr: ALL_NODES,
            hop_limit: HOP_LIMIT,
            na: Repr { router, solicited: false, override_: true, target_addr: vip, target_lladdr: Some(mac) },
        }
    }

    /// Parses and verifies a frame: IPv6 ethertype, next header ICMPv6, an NA with a valid
    /// checksum. Ethernet padding is ignored.
    pub fn parse(frame: &[u8]) -> Result<FrameRepr> {
        let eth = ethernet::Frame::new_checked(frame)?;
        let header = ethernet::Repr::parse(&eth)?;
        if header.ethertype != EtherType::Ipv6 {
            return Err(Error::Unsupported("not an IPv6 frame"));
        }
        let ip = ipv6::Packet::new_checked(eth.payload())?;
        let ip_repr = ipv6::Repr::parse(&ip)?;
        if ip_repr.next_header != NEXT_HEADER_ICMPV6 {
            return Err(Error::Unsupported("IPv6 payload not ICMPv6"));
        }
        let icmp = Packet::new_checked(ip.payload())?;
        let na = Repr::parse(&icmp)?;
        if !icmp.verify_checksum(&ip_repr.src_addr, &ip_repr.dst_addr) {
            return Err(Error::BadChecksum);
        }
        Ok(FrameRepr {
            src_mac: header.src_addr,
            dst_mac: header.dst_addr,
            src_addr: ip_repr.src_addr,
            dst_addr: ip_repr.dst_addr,
            hop_limit: ip_repr.hop_limit,
            na,
        })
    }

    pub const fn buffer_len(&self) -> usize {
        ethernet::HEADER_LEN + ipv6::HEADER_LEN + self.na.buffer_len()
    }

    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let buf = buf.get_mut(..self.buffer_len()).ok_or(Error::Truncated)?;
        let mut eth = ethernet::Frame::new_unchecked(buf);
        ethernet::Repr { src_addr: self.src_mac, dst_addr: self.dst_mac, ethertype: EtherType::Ipv6 }.emit(&mut eth)?;
        let ip_repr = ipv6::Repr {
            src_addr: self.src_addr,
            dst_addr: self.dst_addr,
            next_header: NEXT_HEADER_ICMPV6,
            hop_limit: self.hop_limit,
            traffic_class: 0,
            flow_label: 0,
            payload_len: self.na.buffer_len(),
        };
        let mut ip = ipv6::Packet::new_unchecked(eth.payload_mut());
        ip_repr.emit(&mut ip)?;
        self.na.emit(&mut Packet::new_unchecked(ip.payload_mut()), &self.src_addr, &self.dst_addr)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = vec![0u8; self.buffer_len()];
        // Cannot fail: the buffer is exactly buffer_len().
        let _ = self.emit(&mut buf);
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0a]);

    fn vip() -> Ipv6Addr {
        "fd00:1::10".parse().unwrap()
    }

    /// keepalived's unsolicited NA for fd00:1::10 from 02:00:00:00:00:0a, not a router.
    static NA: [u8; 86] = [
        0x33, 0x33, 0x00, 0x00, 0x00, 0x01, // Ethernet dst: all-nodes multicast MAC
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, // Ethernet src
        0x86, 0xdd, // ethertype IPv6
        0x60, 0x00, 0x00, 0x00, // version 6, traffic class 0, flow label 0
        0x00, 0x20, // payload length 32
        0x3a, // next header ICMPv6
        0xff, // hop limit 255
        0xfd, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, // src fd00:1::10 (the VIP)
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // dst ff02::1
        0x88, // type 136
        0x00, // code 0
        // Checksum. Pseudo-header: fd00+0001+0010 + ff02+0001 + length 0020 + next header 003a
        // = 0x1fc6e. Message: 8800 + 2000 + fd00+0001+0010 + 0201 + 0200+0000+000a = 0x1a91c.
        // Total 0x3a58a -> 0xa58a + 3 = 0xa58d; complement 0x5a72.
        0x5a, 0x72, //
        0x20, 0x00, 0x00, 0x00, // flags: Override; Router and Solicited clear
        0xfd, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, // target fd00:1::10
        0x02, 0x01, // option: Target Link-Layer Address, 1 unit
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, // the MAC
    ];

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&NA[54..]).unwrap();
        assert_eq!((p.msg_type(), p.msg_code(), p.checksum()), (136, 0, 0x5a72));
        assert_eq!((p.router_flag(), p.solicited_flag(), p.override_flag()), (false, false, true));
        assert_eq!(p.target_addr(), vip());
        assert_eq!(p.target_lladdr(), Ok(Some(MAC)));
        assert!(p.verify_checksum(&vip(), &ALL_NODES));
        assert!(!p.verify_checksum(&"fe80::ff:fe00:a".parse().unwrap(), &ALL_NODES));
    }

    #[test]
    fn golden_frame() {
        let repr = FrameRepr::unsolicited(MAC, vip(), false);
        assert_eq!(repr.buffer_len(), 86);
        assert_eq!(repr.to_bytes(), NA);
        assert_eq!(FrameRepr::parse(&NA), Ok(repr));
        let mut padded = NA.to_vec();
        padded.extend_from_slice(&[0; 4]);
        assert_eq!(FrameRepr::parse(&padded), Ok(repr));
    }

    #[test]
    fn router_flag_is_a_parameter() {
        let repr = FrameRepr::unsolicited(MAC, vip(), true);
        let bytes = repr.to_bytes();
        assert_eq!(bytes[58], 0xa0); // Router + Override
        assert_ne!(bytes[56..58], NA[56..58]); // checksum changes with the flag
        assert_eq!(FrameRepr::parse(&bytes), Ok(repr));
    }

    #[test]
    fn checksum_independent() {
        let mut all = Vec::new();
        all.extend_from_slice(&NA[22..54]); // src + dst
        all.extend_from_slice(&[0, 0, 0, 32, 0, 0, 0, 58]);
        let mut msg = NA[54..].to_vec();
        msg[2..4].fill(0);
        all.extend_from_slice(&msg);
        let mut acc: u32 = all.chunks(2).map(|w| u32::from(w[0]) << 8 | u32::from(w[1])).sum();
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        assert_eq!(!(acc as u16), 0x5a72);
    }

    #[test]
    fn options_other_than_tlla() {
        // No option at all.
        let repr = Repr { target_lladdr: None, ..FrameRepr::unsolicited(MAC, vip(), false).na };
        assert_eq!(repr.buffer_len(), 24);
        let mut buf = [0u8; 24];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &vip(), &ALL_NODES).unwrap();
        assert_eq!(Repr::parse(&Packet::new_checked(&buf[..]).unwrap()), Ok(repr));
        // An unknown 16-byte option before the TLLA is skipped.
        let mut msg = NA[54..78].to_vec();
        msg.extend_from_slice(&[99, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        msg.extend_from_slice(&NA[78..]);
        assert_eq!(Packet::new_unchecked(&msg[..]).target_lladdr(), Ok(Some(MAC)));
    }

    #[test]
    fn errors() {
        for len in 0..NA.len() {
            assert!(FrameRepr::parse(&NA[..len]).is_err(), "len {len}");
        }
        let mut b = NA;
        b[12..14].copy_from_slice(&[0x08, 0x00]);
        assert!(matches!(FrameRepr::parse(&b), Err(Error::Unsupported(_))));
        let mut b = NA;
        b[20] = 17; // UDP
        assert!(matches!(FrameRepr::parse(&b), Err(Error::Unsupported(_))));
        let mut b = NA;
        b[54] = 135; // neighbour solicitation
        assert_eq!(FrameRepr::parse(&b), Err(Error::BadType(135)));
        let mut b = NA;
        b[55] = 1;
        assert!(matches!(FrameRepr::parse(&b), Err(Error::Malformed(_))));
        let mut b = NA;
        b[79] = 0; // zero-length option
        assert!(matches!(FrameRepr::parse(&b), Err(Error::Malformed(_))));
        let mut b = NA;
        b[79] = 2; // option claims 16 bytes, 8 present
        assert!(matches!(FrameRepr::parse(&b), Err(Error::Malformed(_))));
        let mut b = NA.to_vec();
        b.push(2);
        b[19] += 1; // one stray option byte inside the payload
        assert!(matches!(FrameRepr::parse(&b), Err(Error::Malformed(_))));
        let mut b = NA;
        b[58] = 0x60; // flags changed, checksum stale
        assert_eq!(FrameRepr::parse(&b), Err(Error::BadChecksum));
        let mut short = [0u8; 85];
        assert_eq!(FrameRepr::unsolicited(MAC, vip(), false).emit(&mut short), Err(Error::Truncated));
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 11u32;
        let mut rand = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        };
        for len in 0..160 {
            for _ in 0..20 {
                let mut b: Vec<u8> = (0..len).map(|_| rand()).collect();
                if len >= 78 && rand() % 2 == 0 {
                    // Keep the plausible headers, randomise the rest, fix the lengths/checksum.
                    b[..78].copy_from_slice(&NA[..78]);
                    let plen = (len - 54) as u16;
                    b[18..20].copy_from_slice(&plen.to_be_bytes());
                    let (src, dst) = (vip(), ALL_NODES);
                    Packet::new_unchecked(&mut b[54..]).fill_checksum(&src, &dst);
                }
                if let Ok(r) = FrameRepr::parse(&b) {
                    assert_eq!(FrameRepr::parse(&r.to_bytes()), Ok(r));
                }
                if let Ok(p) = Packet::new_checked(&b[..]) {
                    let _ = (Repr::parse(&p), p.target_lladdr());
                }
            }
        }
    }

    #[test]
    fn generated_round_trip() {
        let mut seed = 23u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 32) as u32
        };
        for _ in 0..2000 {
            let mut addr = || {
                Ipv6Addr::from([next(), next(), next(), next()].map(u128::from).iter().fold(0u128, |a, w| a << 32 | w))
            };
            let (src_addr, dst_addr, target_addr) = (addr(), addr(), addr());
            let bits = next();
            let b = bits.to_be_bytes();
            let mac = MacAddr([b[0], b[1], b[2], b[3], b[1], b[0]]);
            let repr = FrameRepr {
                src_mac: mac,
                dst_mac: MacAddr::ipv6_multicast(&dst_addr),
                src_addr,
                dst_addr,
                hop_limit: b[2],
                na: Repr {
                    router: bits & 1 != 0,
                    solicited: bits & 2 != 0,
                    override_: bits & 4 != 0,
                    target_addr,
                    target_lladdr: if bits & 8 != 0 { Some(mac) } else { None },
                },
            };
            assert_eq!(FrameRepr::parse(&repr.to_bytes()), Ok(repr));
        }
    }
}
