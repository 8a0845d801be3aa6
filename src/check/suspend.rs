//! `ha_suspend`: the checkers of a virtual server run only while its address is configured on
//! this host (in practice: while this node is the VRRP master holding it).
//!
//! 2.2.7, measured in the VM: at start a suspended checker logs "Deactivating healthchecker for
//! service ... for VS ..." instead of "Activating ..."; the real server keeps its start state
//! and no check runs. When the address comes, "Netlink reflector reports IP A added" and
//! "Activating healthchecker ..."; when it goes, "... removed" and "Suspending healthchecker
//! ...", and checks stop again, the server's state left as it was.
//!
//! The local addresses are read with getifaddrs(3) at start and again on every rtnetlink
//! address notification, and shared with the checkers through a watch channel.

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use log::{info, warn};
use tokio::sync::watch;

use crate::vrrp::link::Subscription;

const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;

/// The addresses configured on this host's interfaces.
pub type Addrs = Arc<BTreeSet<IpAddr>>;

/// What a suspendable checker needs: its virtual server's address and the live address set.
pub struct Suspend {
    pub addr: IpAddr,
    pub rx: watch::Receiver<Addrs>,
    /// keepalived's names for its log lines.
    pub rs_label: String,
    pub vs_label: String,
}

impl Suspend {
    pub fn active(&self) -> bool {
        self.rx.borrow().contains(&self.addr)
    }

    pub fn log(&self, active: bool) {
        let what = if active { "Activating" } else { "Suspending" };
        info!("{what} healthchecker for service {} for VS {}", self.rs_label, self.vs_label);
    }
}

/// Every address on the host's interfaces (an error gives the empty set: all suspended).
pub fn local_addrs() -> BTreeSet<IpAddr> {
    let mut out = BTreeSet::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        warn!("getifaddrs: {}", io::Error::last_os_error());
        return out;
    }
    let mut p = head;
    while !p.is_null() {
        // SAFETY: p is a node of the list getifaddrs returned, valid until freeifaddrs.
        let ifa = unsafe { &*p };
        if !ifa.ifa_addr.is_null() {
            // SAFETY: ifa_addr points to a sockaddr whose family says its real type.
            let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
            if family == libc::AF_INET {
                // SAFETY: AF_INET means a sockaddr_in.
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                out.insert(IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))));
            } else if family == libc::AF_INET6 {
                // SAFETY: AF_INET6 means a sockaddr_in6.
                let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                out.insert(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
            }
        }
        p = ifa.ifa_next;
    }
    // SAFETY: head came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out
}

/// The "Netlink reflector reports" lines for the watched addresses that came or went.
pub fn changes(watched: &BTreeSet<IpAddr>, old: &BTreeSet<IpAddr>, new: &BTreeSet<IpAddr>) -> Vec<String> {
    watched
        .iter()
        .filter_map(|a| match (old.contains(a), new.contains(a)) {
            (false, true) => Some(format!("Netlink reflector reports IP {a} added")),
            (true, false) => Some(format!("Netlink reflector reports IP {a} removed")),
            _ => None,
        })
        .collect()
}

/// Re-reads the addresses on every rtnetlink address notification and publishes changes,
/// logging those of the `watched` addresses; returns when nobody listens any more.
pub async fn watch_addrs(tx: watch::Sender<Addrs>, watched: BTreeSet<IpAddr>) {
    let sub = match Subscription::open(RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR) {
        Ok(s) => s,
        Err(e) => {
            warn!("ha_suspend: cannot watch addresses (netlink): {e}");
            return;
        }
    };
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        // The content does not matter, only that something changed: the addresses are re-read.
        tokio::select! {
            _ = tx.closed() => return,
            r = sub.recv(&mut buf) => if r.is_err() { return },
        }
        let new = local_addrs();
        let old = tx.borrow().clone();
        if *old != new {
            for l in changes(&watched, &old, &new) {
                info!("{l}");
            }
            let _ = tx.send(Arc::new(new));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_local() {
        assert!(local_addrs().contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }

    #[test]
    fn reflector_lines_only_for_watched_addresses() {
        let a: IpAddr = [10, 9, 9, 9].into();
        let b: IpAddr = [10, 9, 9, 10].into();
        let other: IpAddr = [192, 0, 2, 1].into();
        let watched: BTreeSet<_> = [a, b].into();
        let old: BTreeSet<_> = [b].into();
        let new: BTreeSet<_> = [a, other].into();
        assert_eq!(
            changes(&watched, &old, &new),
            ["Netlink reflector reports IP 10.9.9.9 added", "Netlink reflector reports IP 10.9.9.10 removed"]
        );
        assert!(changes(&watched, &new, &new).is_empty());
    }
}
