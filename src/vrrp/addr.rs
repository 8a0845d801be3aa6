//! Virtual addresses over rtnetlink: RTM_NEWADDR / RTM_DELADDR on one long-lived socket.
//!
//! neli's `NlSocket` carries the bytes; the two small messages are encoded here (as the IPVS
//! client does for its family) so the encoding is unit-tested without a kernel.

use std::io;
use std::net::IpAddr;
use std::sync::Mutex;

use neli::consts::socket::{Msg, NlFamily};
use neli::socket::NlSocket;
use neli::utils::Groups;

use crate::config::vrrp::IpAddress;

const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const NLMSG_ERROR: u16 = 2;
const NLA_F_NESTED: u16 = 0x8000;
pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_EXCL: u16 = 0x200;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_BROADCAST: u16 = 4;
const IFA_CACHEINFO: u16 = 6;
const IFA_FLAGS: u16 = 8;
const IFA_F_NODAD: u32 = 0x02;
const IFA_F_HOMEADDRESS: u32 = 0x10;
const IFA_F_MANAGETEMPADDR: u32 = 0x100;
const IFA_F_NOPREFIXROUTE: u32 = 0x200;

/// One address to add or remove, resolved to an interface index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    pub addr: IpAddr,
    pub prefix: u8,
    pub ifindex: u32,
    pub dev: String,
    pub scope: u8,
    pub label: Option<String>,
    pub brd: Option<std::net::Ipv4Addr>,
    pub flags: u32,
    /// Added with preferred_lft 0 (never chosen as a source address).
    pub deprecated: bool,
}

impl Vip {
    /// From a `virtual_ipaddress` line; `dev` is the line's device or the instance's interface.
    pub fn from_config(a: &IpAddress, dev: &str, ifindex: u32) -> Vip {
        let brd = match (a.addr, a.brd.as_deref()) {
            (IpAddr::V4(v4), Some("+")) => {
                let host = if a.prefix >= 32 { 0 } else { u32::MAX >> a.prefix };
                Some(std::net::Ipv4Addr::from(u32::from(v4) | host))
            }
            (IpAddr::V4(_), Some("-")) => None,
            (IpAddr::V4(_), Some(b)) => b.parse().ok(),
            _ => None,
        };
        let mut flags = 0;
        // keepalived adds every IPv6 VIP without DAD (seen as "nodad" in `ip addr`): a backup
        // taking over must not wait for, or fail, duplicate detection against the old master.
        if a.nodad || a.addr.is_ipv6() {
            flags |= IFA_F_NODAD;
        }
        if a.home {
            flags |= IFA_F_HOMEADDRESS;
        }
        if a.mngtmpaddr {
            flags |= IFA_F_MANAGETEMPADDR;
        }
        if a.noprefixroute {
            flags |= IFA_F_NOPREFIXROUTE;
        }
        Vip {
            addr: a.addr,
            prefix: a.prefix,
            ifindex,
            dev: dev.to_string(),
            scope: a.scope.number(),
            label: a.label.clone(),
            brd,
            flags,
            // keepalived deprecates /128 IPv6 addresses unless told `preferred_lft forever`.
            deprecated: match a.preferred_lft.as_deref() {
                Some("0") => true,
                Some(_) => false,
                None => a.addr.is_ipv6() && a.prefix == 128,
            },
        }
    }
}

/// Appends one rtattr (length, type, data, padding to 4 bytes).
pub(crate) fn push_attr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(data);
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
}

/// Starts a netlink message: header with the length left to [`finish`].
pub(crate) fn begin(kind: u16, flags: u16, seq: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(128);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&kind.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    b
}

/// Writes the total length into the header `begin` made.
pub(crate) fn finish(mut b: Vec<u8>) -> Vec<u8> {
    let len = (b.len() as u32).to_ne_bytes();
    for (d, s) in b.iter_mut().zip(len) {
        *d = s;
    }
    b
}

/// Opens a nested attribute; close it with [`end_nest`] and the offset returned.
pub(crate) fn begin_nest(buf: &mut Vec<u8>, kind: u16) -> usize {
    let at = buf.len();
    push_attr(buf, kind | NLA_F_NESTED, &[]);
    at
}

pub(crate) fn end_nest(buf: &mut [u8], at: usize) {
    let len = ((buf.len() - at) as u16).to_ne_bytes();
    if let Some(d) = buf.get_mut(at..at + 2) {
        d.copy_from_slice(&len);
    }
}

pub(crate) fn addr_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

/// Encodes an RTM_NEWADDR (`add`) or RTM_DELADDR request with sequence `seq`.
pub fn encode(v: &Vip, add: bool, seq: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(96);
    b.extend_from_slice(&[0; 4]); // length, patched below
    let (kind, flags) = if add {
        (RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
    } else {
        (RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK)
    };
    b.extend_from_slice(&kind.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    // ifaddrmsg
    let family = if v.addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 } as u8;
    b.extend_from_slice(&[family, v.prefix, (v.flags & 0xff) as u8, v.scope]);
    b.extend_from_slice(&v.ifindex.to_ne_bytes());
    let ab = addr_bytes(&v.addr);
    push_attr(&mut b, IFA_LOCAL, &ab);
    push_attr(&mut b, IFA_ADDRESS, &ab);
    if add {
        if let Some(brd) = v.brd {
            push_attr(&mut b, IFA_BROADCAST, &brd.octets());
        }
        if let Some(l) = &v.label {
            let mut s = l.as_bytes().to_vec();
            s.push(0);
            push_attr(&mut b, IFA_LABEL, &s);
        }
        if v.flags > 0xff {
            push_attr(&mut b, IFA_FLAGS, &v.flags.to_ne_bytes());
        }
        if v.deprecated {
            // ifa_cacheinfo: preferred 0, valid forever, timestamps unused.
            let mut ci = Vec::with_capacity(16);
            ci.extend_from_slice(&0u32.to_ne_bytes());
            ci.extend_from_slice(&u32::MAX.to_ne_bytes());
            ci.extend_from_slice(&[0; 8]);
            push_attr(&mut b, IFA_CACHEINFO, &ci);
        }
    }
    let len = b.len() as u32;
    b[..4].copy_from_slice(&len.to_ne_bytes());
    b
}

/// The errno of the first NLMSG_ERROR in a reply (0 = ACK); None if the reply holds none.
pub fn decode_ack(reply: &[u8]) -> Option<i32> {
    let kind = u16::from_ne_bytes(reply.get(4..6)?.try_into().ok()?);
    if kind != NLMSG_ERROR {
        return None;
    }
    let err = i32::from_ne_bytes(reply.get(16..20)?.try_into().ok()?);
    Some(-err)
}

/// The one rtnetlink socket of the VRRP side.
pub struct Netlink {
    inner: Mutex<(NlSocket, u32)>,
}

impl Netlink {
    pub fn open() -> io::Result<Netlink> {
        let sock = NlSocket::connect(NlFamily::Route, None, Groups::empty())?;
        sock.block()?;
        Ok(Netlink { inner: Mutex::new((sock, 1)) })
    }

    fn request(&self, v: &Vip, add: bool) -> io::Result<()> {
        self.call(|seq| encode(v, add, seq)).map(|_| ())
    }

    /// Sends the message `build(seq)` makes and returns the first reply datagram; an
    /// NLMSG_ERROR with a non-zero errno becomes that error. Other rtnetlink modules (links,
    /// routes, rules) share this socket through it.
    pub fn call(&self, build: impl FnOnce(u32) -> Vec<u8>) -> io::Result<Vec<u8>> {
        let mut g = self.inner.lock().map_err(|_| io::Error::other("netlink lock poisoned"))?;
        g.1 = g.1.wrapping_add(1);
        let msg = build(g.1);
        g.0.send(&msg[..], Msg::empty())?;
        let mut buf = vec![0u8; 16384];
        let (n, _) = g.0.recv(&mut buf[..], Msg::empty())?;
        buf.truncate(n);
        match decode_ack(&buf) {
            Some(0) | None => Ok(buf),
            Some(errno) => Err(io::Error::from_raw_os_error(errno)),
        }
    }

    /// Adds the address; an address already present is not an error.
    pub fn add(&self, v: &Vip) -> io::Result<()> {
        match self.request(v, true) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
            r => r,
        }
    }

    /// Removes the address; an address already gone is not an error.
    pub fn del(&self, v: &Vip) -> io::Result<()> {
        match self.request(v, false) {
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => Ok(()),
            r => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vrrp::Scope;

    fn vip() -> Vip {
        Vip {
            addr: "10.1.2.3".parse().unwrap(),
            prefix: 24,
            ifindex: 7,
            dev: "eth0".into(),
            scope: 0,
            label: Some("eth0:1".into()),
            brd: Some("10.1.2.255".parse().unwrap()),
            flags: 0,
            deprecated: false,
        }
    }

    #[test]
    fn encodes_newaddr_like_iproute2() {
        let b = encode(&vip(), true, 9);
        assert_eq!(u32::from_ne_bytes(b[0..4].try_into().unwrap()) as usize, b.len());
        assert_eq!(u16::from_ne_bytes(b[4..6].try_into().unwrap()), RTM_NEWADDR);
        assert_eq!(u32::from_ne_bytes(b[8..12].try_into().unwrap()), 9);
        assert_eq!(&b[16..20], &[libc::AF_INET as u8, 24, 0, 0]);
        assert_eq!(u32::from_ne_bytes(b[20..24].try_into().unwrap()), 7);
        // IFA_LOCAL, IFA_ADDRESS, IFA_BROADCAST, IFA_LABEL("eth0:1\0" padded to 8).
        assert_eq!(b.len(), 24 + 8 + 8 + 8 + 12);
        assert_eq!(&b[24..32], &[8, 0, 2, 0, 10, 1, 2, 3]);
        let d = encode(&vip(), false, 10);
        assert_eq!(u16::from_ne_bytes(d[4..6].try_into().unwrap()), RTM_DELADDR);
        assert_eq!(d.len(), 24 + 16, "delete carries only the address");
    }

    #[test]
    fn brd_plus_and_flags_from_config() {
        let mut a = IpAddress {
            pos: crate::config::Pos::none(),
            addr: "10.1.2.3".parse().unwrap(),
            prefix: 22,
            brd: Some("+".into()),
            dev: None,
            scope: Scope::Link,
            label: None,
            peer: None,
            home: false,
            nodad: true,
            mngtmpaddr: false,
            noprefixroute: true,
            autojoin: false,
            no_track: false,
            use_vmac: false,
            preferred_lft: None,
        };
        let v = Vip::from_config(&a, "eth0", 3);
        assert_eq!(v.brd, Some("10.1.3.255".parse().unwrap()));
        assert_eq!(v.scope, 253);
        assert_eq!(v.flags, IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
        let b = encode(&v, true, 1);
        assert_eq!(b[18], IFA_F_NODAD as u8);
        assert!(b.len() > 24 + 16 + 8, "IFA_FLAGS for flags above 8 bits");
        a.brd = Some("-".into());
        assert_eq!(Vip::from_config(&a, "eth0", 3).brd, None);
    }

    #[test]
    fn ipv6_vips_nodad_and_slash128_deprecated() {
        let mut a = IpAddress {
            pos: crate::config::Pos::none(),
            addr: "fd00::100".parse().unwrap(),
            prefix: 128,
            brd: None,
            dev: None,
            scope: Scope::Global,
            label: None,
            peer: None,
            home: false,
            nodad: false,
            mngtmpaddr: false,
            noprefixroute: false,
            autojoin: false,
            no_track: false,
            use_vmac: false,
            preferred_lft: None,
        };
        let v = Vip::from_config(&a, "eth0", 2);
        assert_eq!(v.flags, IFA_F_NODAD);
        assert!(v.deprecated);
        let b = encode(&v, true, 1);
        // IFA_LOCAL + IFA_ADDRESS (20 each), IFA_CACHEINFO: preferred 0, valid forever.
        assert_eq!(b.len(), 24 + 20 + 20 + 20);
        assert_eq!(&b[64..68], &[20, 0, IFA_CACHEINFO as u8, 0]);
        assert_eq!(&b[68..72], &0u32.to_ne_bytes());
        assert_eq!(&b[72..76], &u32::MAX.to_ne_bytes());
        a.preferred_lft = Some("forever".into());
        assert!(!Vip::from_config(&a, "eth0", 2).deprecated);
        a.prefix = 64;
        a.preferred_lft = None;
        assert!(!Vip::from_config(&a, "eth0", 2).deprecated);
        a.preferred_lft = Some("0".into());
        assert!(Vip::from_config(&a, "eth0", 2).deprecated);
        a.addr = "10.0.0.1".parse().unwrap();
        a.preferred_lft = None;
        assert_eq!(Vip::from_config(&a, "eth0", 2).flags, 0, "no nodad for IPv4");
        assert!(!encode(&Vip::from_config(&a, "eth0", 2), false, 1).is_empty());
    }

    #[test]
    fn ack_decoding() {
        let mut r = vec![0u8; 36];
        r[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        assert_eq!(decode_ack(&r), Some(0));
        r[16..20].copy_from_slice(&(-libc::EEXIST).to_ne_bytes());
        assert_eq!(decode_ack(&r), Some(libc::EEXIST));
        assert_eq!(decode_ack(&r[..10]), None);
        r[4..6].copy_from_slice(&3u16.to_ne_bytes());
        assert_eq!(decode_ack(&r), None);
    }
}
