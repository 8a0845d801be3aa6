//! PING_CHECK: one ICMP echo over an unprivileged datagram ICMP socket (the kernel fills in
//! the identifier and checksum); success = an echo reply within `connect_timeout`. The socket
//! needs our group in net.ipv4.ping_group_range: as keepalived does, the range is widened to
//! include our group when the socket is refused.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use log::info;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use super::engine::{Probe, ProbeFuture, log_failed};
use crate::config::checker::{Checker, ConnOpts};

pub struct PingProbe {
    dest: SocketAddr,
    opts: ConnOpts,
    timeout: Duration,
    seq: u16,
    label: String,
}

impl PingProbe {
    pub fn new(c: &Checker, label: String) -> Self {
        let dest = SocketAddr::new(c.dest.ip(), 0);
        PingProbe { dest, opts: c.conn.clone(), timeout: c.connect_timeout, seq: 0, label }
    }

    fn socket(&self) -> io::Result<UdpSocket> {
        let (domain, proto) =
            if self.dest.is_ipv4() { (Domain::IPV4, Protocol::ICMPV4) } else { (Domain::IPV6, Protocol::ICMPV6) };
        let s = Socket::new(domain, Type::DGRAM.nonblocking().cloexec(), Some(proto))?;
        if let Some(ifname) = &self.opts.bind_if {
            s.bind_device(Some(ifname.as_bytes()))?;
        }
        if let Some(mark) = self.opts.fwmark {
            s.set_mark(mark)?;
        }
        if let Some(ip) = self.opts.bindto {
            s.bind(&SocketAddr::new(ip, 0).into())?;
        }
        s.connect(&self.dest.into())?;
        // A connected datagram socket: tokio's UdpSocket send/recv work on any datagram fd.
        UdpSocket::from_std(std::net::UdpSocket::from(s))
    }

    async fn ping(&mut self) -> io::Result<bool> {
        let s = match self.socket() {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied && allow_our_group() => self.socket()?,
            r => r?,
        };
        self.seq = self.seq.wrapping_add(1);
        let req = echo_request(self.dest.is_ipv6(), self.seq);
        s.send(&req).await?;
        let mut buf = [0u8; 1500];
        let end = tokio::time::Instant::now() + self.timeout;
        loop {
            match tokio::time::timeout_at(end, s.recv(&mut buf)).await {
                Err(_) => return Ok(false),
                Ok(Err(e)) => return Err(e),
                Ok(Ok(n)) => {
                    if is_echo_reply(self.dest.is_ipv6(), self.seq, buf.get(..n).unwrap_or_default()) {
                        return Ok(true);
                    }
                }
            }
        }
    }
}

const PING_GROUP_RANGE: &str = "/proc/sys/net/ipv4/ping_group_range";

/// Widen ping_group_range to our effective group; true if it was changed.
fn allow_our_group() -> bool {
    // SAFETY: getegid has no preconditions.
    let gid = unsafe { libc::getegid() };
    let Ok(cur) = std::fs::read_to_string(PING_GROUP_RANGE) else { return false };
    let Some(new) = widened(&cur, gid) else { return false };
    match std::fs::write(PING_GROUP_RANGE, &new) {
        Ok(()) => {
            info!("Set net.ipv4.ping_group_range to {new} for PING_CHECK");
            true
        }
        Err(_) => false,
    }
}

/// The range `cur` ("lo hi"; empty when lo > hi) extended to `gid`, or None if it has it.
pub fn widened(cur: &str, gid: u32) -> Option<String> {
    let mut it = cur.split_ascii_whitespace().map(|v| v.parse::<u32>().ok());
    let (Some(Some(lo)), Some(Some(hi))) = (it.next(), it.next()) else { return Some(format!("{gid} {gid}")) };
    if lo > hi {
        return Some(format!("{gid} {gid}"));
    }
    if (lo..=hi).contains(&gid) {
        return None;
    }
    Some(format!("{} {}", lo.min(gid), hi.max(gid)))
}

/// Echo request: type, code, checksum (kernel), id (kernel), sequence, a short payload.
pub fn echo_request(v6: bool, seq: u16) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0, 0, 0];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(b"keepalived");
    p
}

pub fn is_echo_reply(v6: bool, seq: u16, r: &[u8]) -> bool {
    let want = if v6 { 129 } else { 0 };
    r.first() == Some(&want) && r.get(6..8) == Some(&seq.to_be_bytes()[..])
}

impl Probe for PingProbe {
    fn check(&mut self) -> ProbeFuture<'_> {
        Box::pin(async move {
            match self.ping().await {
                Ok(ok) => ok,
                Err(e) => {
                    log::debug!("PING_CHECK {}: {e}", self.label);
                    false
                }
            }
        })
    }

    fn log_up(&self) {
        info!("ICMP connection to {} success.", self.label);
    }

    fn log_down(&self, retries: u32, first: bool) {
        log_failed("PING_CHECK", &self.label, retries, first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_range() {
        assert_eq!(widened("1\t0\n", 0).as_deref(), Some("0 0"), "the kernel's empty default");
        assert_eq!(widened("0 2147483647", 0), None);
        assert_eq!(widened("100 200", 50).as_deref(), Some("50 200"));
        assert_eq!(widened("100 200", 300).as_deref(), Some("100 300"));
        assert_eq!(widened("garbage", 7).as_deref(), Some("7 7"));
    }

    #[test]
    fn echo_packets() {
        let r = echo_request(false, 0x0102);
        assert_eq!(&r[..8], &[8, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(echo_request(true, 1)[0], 128);
        assert!(is_echo_reply(false, 0x0102, &[0, 0, 0xaa, 0xbb, 0x12, 0x34, 1, 2]));
        assert!(!is_echo_reply(false, 0x0103, &[0, 0, 0xaa, 0xbb, 0x12, 0x34, 1, 2]), "other sequence");
        assert!(!is_echo_reply(false, 0x0102, &[8, 0, 0, 0, 0, 0, 1, 2]), "a request");
        assert!(is_echo_reply(true, 5, &[129, 0, 0, 0, 0, 0, 0, 5]));
        assert!(!is_echo_reply(true, 5, &[129, 0, 0]), "short");
    }
}
