//! The datagram checkers: UDP_CHECK and DNS_CHECK over a connected UDP socket bound as
//! configured, so ICMP errors (port unreachable) come back as ECONNREFUSED.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use log::info;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use super::engine::{Probe, ProbeFuture, Seed, log_failed};
use crate::config::checker::{Checker, ConnOpts, DnsCheck, UdpCheck};

/// A connected UDP socket for `dest`, bound per bindto/bind_port/bind_if/fwmark.
pub fn connected(dest: SocketAddr, o: &ConnOpts) -> io::Result<UdpSocket> {
    let domain = if dest.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
    let s = Socket::new(domain, Type::DGRAM.nonblocking().cloexec(), Some(Protocol::UDP))?;
    if let Some(ifname) = &o.bind_if {
        s.bind_device(Some(ifname.as_bytes()))?;
    }
    if let Some(mark) = o.fwmark {
        s.set_mark(mark)?;
    }
    let any: std::net::IpAddr =
        if dest.is_ipv4() { std::net::Ipv4Addr::UNSPECIFIED.into() } else { std::net::Ipv6Addr::UNSPECIFIED.into() };
    s.bind(&SocketAddr::new(o.bindto.unwrap_or(any), o.bind_port.unwrap_or(0)).into())?;
    s.connect(&dest.into())?;
    UdpSocket::from_std(std::net::UdpSocket::from(s))
}

/// Send `req` and wait up to `t` for one datagram. Ok(None): nothing came back in time.
async fn exchange(dest: SocketAddr, o: &ConnOpts, t: Duration, req: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let s = connected(dest, o)?;
    s.send(req).await?;
    let mut buf = vec![0u8; 65536];
    match tokio::time::timeout(t, s.recv(&mut buf)).await {
        Ok(Ok(n)) => {
            buf.truncate(n);
            Ok(Some(buf))
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Ok(None),
    }
}

pub struct UdpProbe {
    dest: SocketAddr,
    opts: ConnOpts,
    timeout: Duration,
    cfg: UdpCheck,
    rng: Seed,
    label: String,
}

impl UdpProbe {
    pub fn new(c: &Checker, u: &UdpCheck, label: String) -> Self {
        UdpProbe {
            dest: c.dest,
            opts: c.conn.clone(),
            timeout: c.connect_timeout,
            cfg: u.clone(),
            rng: Seed::new(u64::from(c.dest.port()) << 32 | u64::from(std::process::id())),
            label,
        }
    }

    fn payload(&mut self) -> Vec<u8> {
        match &self.cfg.payload {
            Some(p) => p.clone(),
            None => (0..16).map(|_| self.rng.byte()).collect(),
        }
    }
}

/// Does a reply satisfy `require_reply`, the length limits and the masked pattern?
pub fn reply_ok(cfg: &UdpCheck, reply: &[u8]) -> bool {
    let len = reply.len();
    if len < usize::from(cfg.min_reply_length) || len > usize::from(cfg.max_reply_length) {
        return false;
    }
    let Some((want, mask)) = &cfg.reply else { return true };
    if len < want.len() {
        return false;
    }
    want.iter().zip(mask).zip(reply).all(|((w, m), r)| (w & m) == (r & m))
}

impl Probe for UdpProbe {
    fn check(&mut self) -> ProbeFuture<'_> {
        Box::pin(async move {
            let req = self.payload();
            match exchange(self.dest, &self.opts, self.timeout, &req).await {
                Ok(Some(r)) => !self.cfg.require_reply || reply_ok(&self.cfg, &r),
                // No answer: fine unless one is required (no ICMP error came back).
                Ok(None) => !self.cfg.require_reply,
                Err(e) => {
                    log::debug!("UDP_CHECK {}: {e}", self.label);
                    false
                }
            }
        })
    }

    fn log_up(&self) {
        info!("UDP connection to {} success.", self.label);
    }

    fn log_down(&self, retries: u32, first: bool) {
        log_failed("UDP_CHECK", &self.label, retries, first);
    }
}

pub struct DnsProbe {
    dest: SocketAddr,
    opts: ConnOpts,
    timeout: Duration,
    cfg: DnsCheck,
    rng: Seed,
    label: String,
}

impl DnsProbe {
    pub fn new(c: &Checker, d: &DnsCheck, label: String) -> Self {
        DnsProbe {
            dest: c.dest,
            opts: c.conn.clone(),
            timeout: c.connect_timeout,
            cfg: d.clone(),
            rng: Seed::new(u64::from(c.dest.port()) << 40 ^ u64::from(std::process::id())),
            label,
        }
    }
}

/// A DNS query with RD set for `name`/`qtype`, class IN. None if the name cannot be encoded.
pub fn dns_query(id: u16, name: &str, qtype: u16) -> Option<Vec<u8>> {
    let mut q = Vec::with_capacity(32 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        let len = u8::try_from(label.len()).ok().filter(|l| *l <= 63)?;
        q.push(len);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    (q.len() <= 512).then_some(q)
}

/// keepalived's verdict on a DNS reply: our id, QR set, RCODE 0.
pub fn dns_reply_ok(id: u16, r: &[u8]) -> bool {
    let (Some(h0), Some(h1), Some(f0), Some(f1)) = (r.first(), r.get(1), r.get(2), r.get(3)) else { return false };
    u16::from_be_bytes([*h0, *h1]) == id && f0 & 0x80 != 0 && f1 & 0x0f == 0
}

impl Probe for DnsProbe {
    fn check(&mut self) -> ProbeFuture<'_> {
        Box::pin(async move {
            let id = u16::from(self.rng.byte()) << 8 | u16::from(self.rng.byte());
            let Some(q) = dns_query(id, &self.cfg.name, self.cfg.qtype.qtype()) else {
                log::warn!("DNS_CHECK {}: cannot encode name {}", self.label, self.cfg.name);
                return false;
            };
            match exchange(self.dest, &self.opts, self.timeout, &q).await {
                Ok(Some(r)) => dns_reply_ok(id, &r),
                Ok(None) => false,
                Err(e) => {
                    log::debug!("DNS_CHECK {}: {e}", self.label);
                    false
                }
            }
        })
    }

    fn log_up(&self) {
        info!("DNS connection to {} success.", self.label);
    }

    fn log_down(&self, retries: u32, first: bool) {
        log_failed("DNS_CHECK", &self.label, retries, first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding() {
        let q = dns_query(0x1234, "www.example.com", 1).unwrap();
        assert_eq!(&q[..12], &[0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&q[12..], b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        // The root: one zero byte.
        assert_eq!(&dns_query(1, ".", 6).unwrap()[12..], &[0, 0, 6, 0, 1]);
        assert!(dns_query(1, &"a".repeat(64), 1).is_none(), "label over 63 bytes");
        assert!(dns_query(1, &["abc"; 200].join("."), 1).is_none(), "over 512 bytes");
    }

    #[test]
    fn reply_verdicts() {
        assert!(dns_reply_ok(7, &[0, 7, 0x81, 0x80]));
        assert!(!dns_reply_ok(7, &[0, 8, 0x81, 0x80]), "other id");
        assert!(!dns_reply_ok(7, &[0, 7, 0x01, 0x80]), "not a response");
        assert!(!dns_reply_ok(7, &[0, 7, 0x81, 0x83]), "NXDOMAIN");
        assert!(!dns_reply_ok(7, &[0, 7, 0x81]), "short");
    }

    #[test]
    fn udp_reply_matching() {
        let mut c = UdpCheck { require_reply: true, ..UdpCheck::default() };
        assert!(reply_ok(&c, b"anything"));
        c.min_reply_length = 3;
        assert!(!reply_ok(&c, b"ab"));
        c.max_reply_length = 4;
        assert!(!reply_ok(&c, b"abcde"));
        c.max_reply_length = 255;
        // "4x" pattern: high nibble must be 4.
        c.reply = Some((vec![0x40, 0x01], vec![0xf0, 0xff]));
        assert!(reply_ok(&c, &[0x4f, 0x01, 9]));
        assert!(!reply_ok(&c, &[0x5f, 0x01, 9]));
        assert!(!reply_ok(&c, &[0x4f, 0x02, 9]));
        c.min_reply_length = 0;
        assert!(!reply_ok(&c, &[0x4f]), "shorter than the pattern");
    }
}
