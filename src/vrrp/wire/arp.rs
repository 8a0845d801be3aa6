//! ARP over Ethernet/IPv4 (RFC 826) and the gratuitous ARP frame keepalived sends for each IPv4
//! VIP on becoming master: an ARP *request* to the Ethernet broadcast address, sender = target
//! IP = the VIP, target hardware address = broadcast (verified on a keepalived 2.2.7 capture).

use super::ethernet::{self, EtherType};
use super::{Error, MacAddr, Result, enum_with_unknown};
use std::net::Ipv4Addr;

enum_with_unknown! {
    pub enum Operation(u16) {
        Request = 1,
        Reply = 2,
    }
}

/// Hardware type Ethernet.
pub const HTYPE_ETHERNET: u16 = 1;

mod field {
    use crate::vrrp::wire::Field;
    pub const HTYPE: Field = 0..2;
    pub const PTYPE: Field = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Field = 6..8;
    pub const SHA: Field = 8..14;
    pub const SPA: Field = 14..18;
    pub const THA: Field = 18..24;
    pub const TPA: Field = 24..28;
}

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = field::TPA.end;

/// A view of an ARP packet with 6-byte hardware and 4-byte protocol addresses.
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

    /// Checks the 28 bytes of an Ethernet/IPv4 ARP packet are present.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < PACKET_LEN { Err(Error::Truncated) } else { Ok(()) }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u16_at(&self, f: super::Field) -> u16 {
        let b = &self.buffer.as_ref()[f];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn mac_at(&self, f: super::Field) -> MacAddr {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.buffer.as_ref()[f]);
        MacAddr(m)
    }

    fn ip_at(&self, f: super::Field) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[f];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    pub fn hardware_type(&self) -> u16 {
        self.u16_at(field::HTYPE)
    }

    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(self.u16_at(field::PTYPE))
    }

    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    pub fn operation(&self) -> Operation {
        Operation::from(self.u16_at(field::OPER))
    }

    pub fn source_hardware_addr(&self) -> MacAddr {
        self.mac_at(field::SHA)
    }

    pub fn source_protocol_addr(&self) -> Ipv4Addr {
        self.ip_at(field::SPA)
    }

    pub fn target_hardware_addr(&self) -> MacAddr {
        self.mac_at(field::THA)
    }

    pub fn target_protocol_addr(&self) -> Ipv4Addr {
        self.ip_at(field::TPA)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn put(&mut self, f: super::Field, bytes: &[u8]) {
        self.buffer.as_mut()[f].copy_from_slice(bytes);
    }

    /// Writes htype Ethernet, ptype IPv4, hlen 6, plen 4.
    pub fn set_ethernet_ipv4(&mut self) {
        self.put(field::HTYPE, &HTYPE_ETHERNET.to_be_bytes());
        self.put(field::PTYPE, &u16::from(EtherType::Ipv4).to_be_bytes());
        self.buffer.as_mut()[field::HLEN] = 6;
        self.buffer.as_mut()[field::PLEN] = 4;
    }

    pub fn set_operation(&mut self, op: Operation) {
        self.put(field::OPER, &u16::from(op).to_be_bytes());
    }

    pub fn set_source_hardware_addr(&mut self, mac: MacAddr) {
        self.put(field::SHA, &mac.0);
    }

    pub fn set_source_protocol_addr(&mut self, ip: Ipv4Addr) {
        self.put(field::SPA, &ip.octets());
    }

    pub fn set_target_hardware_addr(&mut self, mac: MacAddr) {
        self.put(field::THA, &mac.0);
    }

    pub fn set_target_protocol_addr(&mut self, ip: Ipv4Addr) {
        self.put(field::TPA, &ip.octets());
    }
}

/// An Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub operation: Operation,
    pub source_hardware_addr: MacAddr,
    pub source_protocol_addr: Ipv4Addr,
    pub target_hardware_addr: MacAddr,
    pub target_protocol_addr: Ipv4Addr,
}

impl Repr {
    /// keepalived's gratuitous ARP body for `vip` owned by `mac`.
    pub fn gratuitous(mac: MacAddr, vip: Ipv4Addr) -> Repr {
        Repr {
            operation: Operation::Request,
            source_hardware_addr: mac,
            source_protocol_addr: vip,
            target_hardware_addr: MacAddr::BROADCAST,
            target_protocol_addr: vip,
        }
    }

    /// Sender IP equals target IP: the packet announces rather than asks (RFC 5227 §3).
    pub fn is_gratuitous(&self) -> bool {
        self.source_protocol_addr == self.target_protocol_addr
    }

    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        if packet.hardware_type() != HTYPE_ETHERNET
            || packet.protocol_type() != EtherType::Ipv4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(Error::Unsupported("ARP other than Ethernet/IPv4"));
        }
        Ok(Repr {
            operation: packet.operation(),
            source_hardware_addr: packet.source_hardware_addr(),
            source_protocol_addr: packet.source_protocol_addr(),
            target_hardware_addr: packet.target_hardware_addr(),
            target_protocol_addr: packet.target_protocol_addr(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<()> {
        packet.check_len()?;
        packet.set_ethernet_ipv4();
        packet.set_operation(self.operation);
        packet.set_source_hardware_addr(self.source_hardware_addr);
        packet.set_source_protocol_addr(self.source_protocol_addr);
        packet.set_target_hardware_addr(self.target_hardware_addr);
        packet.set_target_protocol_addr(self.target_protocol_addr);
        Ok(())
    }
}

/// A whole ARP frame for a `SOCK_RAW` packet socket: Ethernet header + ARP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRepr {
    pub src_addr: MacAddr,
    pub dst_addr: MacAddr,
    pub arp: Repr,
}

impl FrameRepr {
    /// The frame keepalived sends for `vip`: from `mac` (interface MAC, or the VMAC with
    /// `use_vmac`) to broadcast.
    pub fn gratuitous(mac: MacAddr, vip: Ipv4Addr) -> FrameRepr {
        FrameRepr { src_addr: mac, dst_addr: MacAddr::BROADCAST, arp: Repr::gratuitous(mac, vip) }
    }

    /// Parses a frame; trailing Ethernet padding is ignored.
    pub fn parse(frame: &[u8]) -> Result<FrameRepr> {
        let eth = ethernet::Frame::new_checked(frame)?;
        let header = ethernet::Repr::parse(&eth)?;
        if header.ethertype != EtherType::Arp {
            return Err(Error::Unsupported("not an ARP frame"));
        }
        let arp = Repr::parse(&Packet::new_checked(eth.payload())?)?;
        Ok(FrameRepr { src_addr: header.src_addr, dst_addr: header.dst_addr, arp })
    }

    /// 14 + 28 = 42 bytes; the NIC pads to the 60-byte minimum.
    pub const fn buffer_len(&self) -> usize {
        ethernet::HEADER_LEN + PACKET_LEN
    }

    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let buf = buf.get_mut(..self.buffer_len()).ok_or(Error::Truncated)?;
        let mut eth = ethernet::Frame::new_unchecked(buf);
        ethernet::Repr { src_addr: self.src_addr, dst_addr: self.dst_addr, ethertype: EtherType::Arp }
            .emit(&mut eth)?;
        self.arp.emit(&mut Packet::new_unchecked(eth.payload_mut()))
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
    const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 112, 10);

    /// keepalived's gratuitous ARP for 192.168.112.10 from 02:00:00:00:00:0a.
    static GARP: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // Ethernet dst: broadcast
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, // Ethernet src: interface MAC
        0x08, 0x06, // ethertype ARP
        0x00, 0x01, // htype Ethernet
        0x08, 0x00, // ptype IPv4
        0x06, 0x04, // hlen 6, plen 4
        0x00, 0x01, // operation: request
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, // sender MAC
        0xc0, 0xa8, 0x70, 0x0a, // sender IP = VIP
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // target MAC: broadcast
        0xc0, 0xa8, 0x70, 0x0a, // target IP = VIP
    ];

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&GARP[14..]).unwrap();
        assert_eq!(
            (p.hardware_type(), p.protocol_type(), p.hardware_len(), p.protocol_len()),
            (1, EtherType::Ipv4, 6, 4)
        );
        assert_eq!(p.operation(), Operation::Request);
        assert_eq!((p.source_hardware_addr(), p.source_protocol_addr()), (MAC, VIP));
        assert_eq!((p.target_hardware_addr(), p.target_protocol_addr()), (MacAddr::BROADCAST, VIP));
    }

    #[test]
    fn golden_frame() {
        let repr = FrameRepr::gratuitous(MAC, VIP);
        assert!(repr.arp.is_gratuitous());
        assert_eq!(repr.to_bytes(), GARP);
        assert_eq!(FrameRepr::parse(&GARP), Ok(repr));
        let mut padded = GARP.to_vec();
        padded.resize(60, 0);
        assert_eq!(FrameRepr::parse(&padded), Ok(repr));
    }

    #[test]
    fn errors() {
        for len in 0..GARP.len() {
            assert_eq!(FrameRepr::parse(&GARP[..len]), Err(Error::Truncated), "len {len}");
        }
        let mut b = GARP;
        b[13] = 0x00; // ethertype IPv4
        assert!(matches!(FrameRepr::parse(&b), Err(Error::Unsupported(_))));
        for (i, v) in [(15, 6u8), (17, 0xdd), (18, 8), (19, 16)] {
            let mut b = GARP;
            b[i] = v;
            assert!(matches!(FrameRepr::parse(&b), Err(Error::Unsupported(_))), "byte {i}");
        }
        let mut short = [0u8; 41];
        assert_eq!(FrameRepr::gratuitous(MAC, VIP).emit(&mut short), Err(Error::Truncated));
        assert_eq!(
            Repr::gratuitous(MAC, VIP).emit(&mut Packet::new_unchecked(&mut [0u8; 27][..])),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn reply_and_unknown_operations_round_trip() {
        for op in [Operation::Reply, Operation::Unknown(9)] {
            let repr = FrameRepr {
                arp: Repr { operation: op, ..Repr::gratuitous(MAC, VIP) },
                ..FrameRepr::gratuitous(MAC, VIP)
            };
            assert_eq!(FrameRepr::parse(&repr.to_bytes()), Ok(repr));
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 5u32;
        for len in 0..200 {
            for _ in 0..20 {
                let mut b: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        (seed >> 24) as u8
                    })
                    .collect();
                if len >= 22 && seed.is_multiple_of(2) {
                    b[12..22].copy_from_slice(&GARP[12..22]);
                }
                if let Ok(r) = FrameRepr::parse(&b) {
                    assert_eq!(FrameRepr::parse(&r.to_bytes()), Ok(r));
                }
            }
        }
    }

    #[test]
    fn generated_round_trip() {
        let mut seed = 17u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 32) as u32
        };
        for _ in 0..2000 {
            let w: Vec<[u8; 4]> = (0..8).map(|_| next().to_be_bytes()).collect();
            let mac = |a: [u8; 4], b: [u8; 4]| MacAddr([a[0], a[1], a[2], a[3], b[0], b[1]]);
            let repr = FrameRepr {
                src_addr: mac(w[0], w[1]),
                dst_addr: mac(w[2], w[3]),
                arp: Repr {
                    operation: Operation::from(u16::from(w[1][2] % 4)),
                    source_hardware_addr: mac(w[4], w[5]),
                    source_protocol_addr: Ipv4Addr::from(w[6]),
                    target_hardware_addr: mac(w[5], w[4]),
                    target_protocol_addr: Ipv4Addr::from(w[7]),
                },
            };
            assert_eq!(FrameRepr::parse(&repr.to_bytes()), Ok(repr));
        }
    }
}
