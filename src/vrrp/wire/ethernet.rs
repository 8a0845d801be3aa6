//! The 14-byte Ethernet II header keepalived writes itself on its `SOCK_RAW` packet sockets, so
//! that a VMAC can be the source address.

use super::{Error, MacAddr, Result, enum_with_unknown};

enum_with_unknown! {
    /// EtherType values we send or recognise.
    pub enum EtherType(u16) {
        Ipv4 = 0x0800,
        Arp = 0x0806,
        Ipv6 = 0x86dd,
    }
}

mod field {
    use crate::vrrp::wire::{Field, Rest};
    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: Rest = 14..;
}

pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// A view of an Ethernet II frame.
#[derive(Debug, Clone)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Frame<T>> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN { Err(Error::Truncated) } else { Ok(()) }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn mac(&self, f: super::Field) -> MacAddr {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.buffer.as_ref()[f]);
        MacAddr(m)
    }

    pub fn dst_addr(&self) -> MacAddr {
        self.mac(field::DESTINATION)
    }

    pub fn src_addr(&self) -> MacAddr {
        self.mac(field::SOURCE)
    }

    pub fn ethertype(&self) -> EtherType {
        let b = &self.buffer.as_ref()[field::ETHERTYPE];
        EtherType::from(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Everything after the header, Ethernet padding included.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    pub fn set_dst_addr(&mut self, mac: MacAddr) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&mac.0);
    }

    pub fn set_src_addr(&mut self, mac: MacAddr) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&mac.0);
    }

    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&u16::from(ethertype).to_be_bytes());
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// An Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src_addr: MacAddr,
    pub dst_addr: MacAddr,
    pub ethertype: EtherType,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<Repr> {
        frame.check_len()?;
        Ok(Repr { src_addr: frame.src_addr(), dst_addr: frame.dst_addr(), ethertype: frame.ethertype() })
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header; the payload is left untouched.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) -> Result<()> {
        frame.check_len()?;
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        frame.set_ethertype(self.ethertype);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static FRAME: [u8; 16] = [
        0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, // dst 01:00:5e:00:00:12 (224.0.0.18)
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, // src 02:00:00:00:00:0a
        0x08, 0x00, // ethertype IPv4
        0xaa, 0xbb, // payload
    ];

    #[test]
    fn deconstruct_and_parse() {
        let frame = Frame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(frame.dst_addr(), MacAddr([0x01, 0x00, 0x5e, 0, 0, 0x12]));
        assert_eq!(frame.src_addr(), MacAddr([2, 0, 0, 0, 0, 0x0a]));
        assert_eq!(frame.ethertype(), EtherType::Ipv4);
        assert_eq!(frame.payload(), &[0xaa, 0xbb]);
        let repr = Repr::parse(&frame).unwrap();
        let mut out = [0u8; 16];
        out[14..].copy_from_slice(&[0xaa, 0xbb]);
        repr.emit(&mut Frame::new_unchecked(&mut out[..])).unwrap();
        assert_eq!(out, FRAME);
    }

    #[test]
    fn short_buffers() {
        for len in 0..HEADER_LEN {
            assert_eq!(Frame::new_checked(&FRAME[..len]).err(), Some(Error::Truncated));
        }
        let repr = Repr { src_addr: MacAddr::BROADCAST, dst_addr: MacAddr::BROADCAST, ethertype: EtherType::Arp };
        let mut short = [0u8; 13];
        assert_eq!(repr.emit(&mut Frame::new_unchecked(&mut short[..])), Err(Error::Truncated));
    }

    #[test]
    fn unknown_ethertype_kept() {
        let mut f = FRAME;
        f[12..14].copy_from_slice(&[0x88, 0xcc]);
        assert_eq!(Frame::new_checked(&f[..]).unwrap().ethertype(), EtherType::Unknown(0x88cc));
    }
}
