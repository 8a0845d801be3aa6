//! Interface up/down: the initial state by ioctl, then changes from rtnetlink link
//! notifications (RTNLGRP_LINK), fanned out to every instance. "Up" is keepalived's test:
//! IFF_UP and IFF_RUNNING both set.

use std::io;
use std::os::fd::AsRawFd;

use log::{info, warn};
use neli::consts::socket::NlFamily;
use neli::socket::NlSocket;
use neli::utils::Groups;
use tokio::io::unix::AsyncFd;
use tokio::sync::broadcast;

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTMGRP_LINK: u32 = 1;

/// keepalived's notion of an interface being up.
pub fn flags_up(flags: u32) -> bool {
    let want = (libc::IFF_UP | libc::IFF_RUNNING) as u32;
    flags & want == want
}

/// Is `name` up right now?
pub fn is_up(name: &str) -> io::Result<bool> {
    let bytes = name.as_bytes();
    if bytes.len() >= libc::IFNAMSIZ {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: ifreq is plain data; zero is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    // SAFETY: SIOCGIFFLAGS only writes into the valid ifreq passed.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut ifr) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: SIOCGIFFLAGS fills ifru_flags.
    let flags = unsafe { ifr.ifr_ifru.ifru_flags } as u16;
    Ok(flags_up(u32::from(flags)))
}

/// (ifindex, up) for every link message in one netlink datagram; malformed tails are ignored.
pub fn parse_link_events(mut buf: &[u8]) -> Vec<(u32, bool)> {
    let mut out = Vec::new();
    while buf.len() >= 16 {
        let Some(len) = buf.get(0..4).and_then(|b| b.try_into().ok()).map(u32::from_ne_bytes) else { break };
        let len = len as usize;
        if len < 16 || len > buf.len() {
            break;
        }
        let kind = buf.get(4..6).and_then(|b| b.try_into().ok()).map(u16::from_ne_bytes).unwrap_or(0);
        let msg = buf.get(..len).unwrap_or(&[]);
        let index = msg.get(20..24).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes);
        let flags = msg.get(24..28).and_then(|b| b.try_into().ok()).map(u32::from_ne_bytes);
        match (kind, index, flags) {
            (RTM_NEWLINK, Some(i), Some(f)) if i > 0 => out.push((i as u32, flags_up(f))),
            (RTM_DELLINK, Some(i), _) if i > 0 => out.push((i as u32, false)),
            _ => {}
        }
        let next = (len + 3) & !3;
        buf = buf.get(next..).unwrap_or(&[]);
    }
    out
}

/// A non-blocking rtnetlink socket subscribed to multicast `groups` (RTMGRP_* bits), for the
/// link monitor here and ha_suspend's address watch.
pub struct Subscription(AsyncFd<NlSocket>);

impl Subscription {
    pub fn open(groups: u32) -> io::Result<Subscription> {
        let sock = NlSocket::connect(NlFamily::Route, None, Groups::new_bitmask(groups))?;
        sock.nonblock()?;
        // SAFETY: NlSocket owns its fd for its whole life and always returns the same one.
        Ok(Subscription(unsafe { AsyncFd::register(sock) }?))
    }

    /// The next datagram into `buf`: Ok(None) when a read came to nothing (spurious wake-up,
    /// or ENOBUFS: notifications were lost, the caller re-reads state anyway); Err when the
    /// socket is no longer usable.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let mut guard = self.0.readable().await?;
        let r = guard.try_io(|s| {
            // SAFETY: buffer valid for its length.
            let n = unsafe { libc::recv(s.get_ref().as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
        });
        Ok(r.ok().and_then(Result::ok))
    }
}

/// Reads link notifications forever and broadcasts (ifindex, up) on changes.
pub async fn monitor(tx: broadcast::Sender<(u32, bool)>) {
    let sub = match Subscription::open(RTMGRP_LINK) {
        Ok(s) => s,
        Err(e) => {
            warn!("cannot watch interfaces (netlink): {e}");
            return;
        }
    };
    let mut last: std::collections::HashMap<u32, bool> = std::collections::HashMap::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = match sub.recv(&mut buf).await {
            Ok(Some(n)) => n,
            Ok(None) => continue,
            Err(_) => return,
        };
        for (idx, up) in parse_link_events(buf.get(..n).unwrap_or(&[])) {
            if last.insert(idx, up) != Some(up) {
                let name = if_name(idx).unwrap_or_else(|| idx.to_string());
                info!("Netlink reports {name} {}", if up { "up" } else { "down" });
                let _ = tx.send((idx, up));
            }
        }
    }
}

fn if_name(idx: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IFNAMSIZ];
    // SAFETY: the buffer has IFNAMSIZ bytes as if_indextoname requires.
    let p = unsafe { libc::if_indextoname(idx, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: if_indextoname wrote a NUL-terminated name into `buf`.
    Some(unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link_msg(kind: u16, index: i32, flags: u32) -> Vec<u8> {
        let mut m = vec![0u8; 32];
        m[0..4].copy_from_slice(&32u32.to_ne_bytes());
        m[4..6].copy_from_slice(&kind.to_ne_bytes());
        m[20..24].copy_from_slice(&index.to_ne_bytes());
        m[24..28].copy_from_slice(&flags.to_ne_bytes());
        m
    }

    #[test]
    fn parses_link_messages() {
        let up = (libc::IFF_UP | libc::IFF_RUNNING) as u32;
        let mut b = link_msg(RTM_NEWLINK, 3, up);
        b.extend(link_msg(RTM_NEWLINK, 4, libc::IFF_UP as u32));
        b.extend(link_msg(RTM_DELLINK, 5, up));
        b.extend(link_msg(20, 6, up)); // RTM_NEWADDR: ignored
        assert_eq!(parse_link_events(&b), [(3, true), (4, false), (5, false)]);
        // Truncated or lying lengths stop the walk without panicking.
        assert_eq!(parse_link_events(&b[..20]), []);
        let mut bad = link_msg(RTM_NEWLINK, 3, up);
        bad[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert_eq!(parse_link_events(&bad), []);
        bad[0..4].copy_from_slice(&4u32.to_ne_bytes());
        assert_eq!(parse_link_events(&bad), []);
    }

    #[test]
    fn loopback_is_up_and_unknown_errors() {
        assert!(is_up("lo").unwrap_or(true));
        assert!(is_up("no-such-if0").is_err());
        assert!(is_up("a-name-that-is-far-too-long").is_err());
    }
}
