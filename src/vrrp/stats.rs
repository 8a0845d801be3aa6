//! Per-instance VRRP counters and the SIGUSR2 dump (`keepalived.stats`), in keepalived
//! 2.2.7's layout: monitoring scripts parse that file, so the labels and indentation are its.
//!
//! Each instance's runner owns an `Arc<Stats>` and bumps it with relaxed atomics; the signal
//! handler reads every instance through the shared [`Registry`] without stopping them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::validate::Reject;

/// The counters keepalived prints for an instance.
#[derive(Debug, Default)]
pub struct Stats {
    pub advert_rcvd: AtomicU64,
    pub advert_sent: AtomicU64,
    pub become_master: AtomicU64,
    pub release_master: AtomicU64,
    pub packet_len_err: AtomicU64,
    pub ip_ttl_err: AtomicU64,
    pub invalid_type_rcvd: AtomicU64,
    pub advert_interval_err: AtomicU64,
    pub addr_list_err: AtomicU64,
    pub invalid_authtype: AtomicU64,
    pub authtype_mismatch: AtomicU64,
    pub auth_failure: AtomicU64,
    pub pri_zero_rcvd: AtomicU64,
    pub pri_zero_sent: AtomicU64,
}

/// One more on `c`.
pub fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Stats {
    /// Counts a rejected advert under keepalived's heading for it. Rejections keepalived's
    /// file has no line for (version, checksum, unknown unicast peer, ...) are only logged.
    pub fn rejected(&self, r: &Reject) {
        let c = match r {
            Reject::Malformed(_) => &self.packet_len_err,
            Reject::Ttl(_) => &self.ip_ttl_err,
            Reject::Type(_) => &self.invalid_type_rcvd,
            Reject::IntervalMismatch { .. } => &self.advert_interval_err,
            Reject::AddrCount { .. } | Reject::VipMissing => &self.addr_list_err,
            Reject::InvalidAuthType(_) => &self.invalid_authtype,
            Reject::AuthTypeMismatch { .. } => &self.authtype_mismatch,
            Reject::AuthFailure => &self.auth_failure,
            Reject::Version(_)
            | Reject::OtherVrid(_)
            | Reject::Checksum
            | Reject::UnexpectedMulticast
            | Reject::UnknownPeer
            | Reject::Own => return,
        };
        bump(c);
    }

    /// The instance's block of `keepalived.stats`.
    fn render(&self, name: &str, out: &mut String) {
        use std::fmt::Write;
        let v = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let _ = write!(
            out,
            "VRRP Instance: {name}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  Became master: {}\n  \
             Released master: {}\n  Packet Errors:\n    Length: {}\n    TTL: {}\n    Invalid Type: {}\n    \
             Advertisement Interval: {}\n    Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    \
             Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    Sent: {}\n",
            v(&self.advert_rcvd),
            v(&self.advert_sent),
            v(&self.become_master),
            v(&self.release_master),
            v(&self.packet_len_err),
            v(&self.ip_ttl_err),
            v(&self.invalid_type_rcvd),
            v(&self.advert_interval_err),
            v(&self.addr_list_err),
            v(&self.invalid_authtype),
            v(&self.authtype_mismatch),
            v(&self.auth_failure),
            v(&self.pri_zero_rcvd),
            v(&self.pri_zero_sent),
        );
    }
}

/// An instance's name and counters.
type Entry = (String, Arc<Stats>);

/// The running instances' counters, in configuration order.
#[derive(Debug, Clone, Default)]
pub struct Registry(Arc<Mutex<Vec<Entry>>>);

impl Registry {
    /// A new instance's counters, listed under `name`.
    pub fn add(&self, name: &str) -> Arc<Stats> {
        let s = Arc::new(Stats::default());
        if let Ok(mut v) = self.0.lock() {
            v.push((name.to_string(), s.clone()));
        }
        s
    }

    /// Forgets every instance (a reload registers the new ones).
    pub fn clear(&self) {
        if let Ok(mut v) = self.0.lock() {
            v.clear();
        }
    }

    /// `keepalived.stats` as 2.2.7 writes it (empty without instances).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Ok(v) = self.0.lock() {
            for (name, s) in v.iter() {
                s.render(name, &mut out);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout, byte for byte, of a file written by keepalived 2.2.7 for one instance.
    #[test]
    fn renders_keepalived_layout() {
        let reg = Registry::default();
        let s = reg.add("VI_1");
        bump(&s.advert_sent);
        bump(&s.advert_sent);
        bump(&s.advert_sent);
        bump(&s.become_master);
        s.rejected(&Reject::AuthFailure);
        s.rejected(&Reject::Checksum);
        s.rejected(&Reject::Own);
        assert_eq!(
            reg.render(),
            "VRRP Instance: VI_1\n  Advertisements:\n    Received: 0\n    Sent: 3\n  Became master: 1\n  \
             Released master: 0\n  Packet Errors:\n    Length: 0\n    TTL: 0\n    Invalid Type: 0\n    \
             Advertisement Interval: 0\n    Address List: 0\n  Authentication Errors:\n    Invalid Type: 0\n    \
             Type Mismatch: 0\n    Failure: 1\n  Priority Zero:\n    Received: 0\n    Sent: 0\n"
        );
    }

    #[test]
    fn rejections_under_their_headings() {
        let s = Stats::default();
        s.rejected(&Reject::Ttl(64));
        s.rejected(&Reject::IntervalMismatch { mine: 1, got: 2 });
        s.rejected(&Reject::AddrCount { got: 1, expected: 2 });
        s.rejected(&Reject::VipMissing);
        s.rejected(&Reject::AuthTypeMismatch { got: 1, expected: 0 });
        s.rejected(&Reject::OtherVrid(7));
        let v = |c: &AtomicU64| c.load(Ordering::Relaxed);
        assert_eq!(
            (v(&s.ip_ttl_err), v(&s.advert_interval_err), v(&s.addr_list_err), v(&s.authtype_mismatch)),
            (1, 1, 2, 1)
        );
        assert_eq!(v(&s.auth_failure) + v(&s.packet_len_err) + v(&s.invalid_type_rcvd), 0);
    }
}
