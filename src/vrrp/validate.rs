//! Receive-side validation of an IPv4 VRRP datagram, in keepalived 2.2.7's order
//! (`vrrp_check_packet`): length, TTL (not for unicast), version, VRID, auth, v2 interval, type,
//! address count, checksum (auto-detecting the pre-1.3.6 unicast v3 one), multicast/unicast
//! destination, every VIP present. Pure functions: the runtime owns the socket and the logs.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::wire::vrrp::{self as vw, AuthType, ChecksumMode, Ipv4Checksum, Version};
use super::wire::{self, Family, ipv4};

/// What this instance expects of a received advert.
#[derive(Debug, Clone)]
pub struct Expect {
    pub version: Version,
    pub vrid: u8,
    /// v2: configured auth (None = no auth).
    pub auth: Option<vw::Auth>,
    /// v2: our interval in whole seconds (checked for equality).
    pub adver_int_secs: u8,
    /// The instance's VIPs of its family.
    pub vips: Vec<IpAddr>,
    /// Unicast mode: TTL not checked, the destination must not be multicast.
    pub unicast: bool,
    pub group: IpAddr,
    /// Our own source: packets from it are our own (looped) and ignored.
    pub our_src: IpAddr,
    /// `skip_check_adv_addr`: do not require our VIPs in the advert.
    pub skip_check_adv_addr: bool,
    /// `check_unicast_src`: the unicast peers a unicast advert must come from.
    pub allowed_src: Option<Vec<IpAddr>>,
}

/// Why a packet was not accepted. `reason()` names the counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    /// Not a VRRP datagram or too short/long for its header.
    Malformed(wire::Error),
    Ttl(u8),
    Version(u8),
    /// Another VRID on the same interface: not ours, ignored silently.
    OtherVrid(u8),
    InvalidAuthType(u8),
    AuthTypeMismatch {
        got: u8,
        expected: u8,
    },
    AuthFailure,
    IntervalMismatch {
        mine: u8,
        got: u8,
    },
    Type(u8),
    AddrCount {
        got: u8,
        expected: usize,
    },
    Checksum,
    UnexpectedMulticast,
    VipMissing,
    /// `check_unicast_src` and the sender is not a configured unicast peer.
    UnknownPeer,
    /// Our own packet (multicast loop or a bridge reflecting it).
    Own,
}

impl Reject {
    pub fn reason(&self) -> &'static str {
        match self {
            Reject::Malformed(_) => "packet_len_err",
            Reject::Ttl(_) => "ip_ttl_err",
            Reject::Version(_) => "version_err",
            Reject::OtherVrid(_) => "other_vrid",
            Reject::InvalidAuthType(_) => "invalid_authtype",
            Reject::AuthTypeMismatch { .. } => "authtype_mismatch",
            Reject::AuthFailure => "auth_failure",
            Reject::IntervalMismatch { .. } => "advert_interval_err",
            Reject::Type(_) => "invalid_type_rcvd",
            Reject::AddrCount { .. } => "addr_list_err",
            Reject::Checksum => "chk_err",
            Reject::UnexpectedMulticast => "dst_err",
            Reject::VipMissing => "addr_list_err",
            Reject::UnknownPeer => "unknown_peer",
            Reject::Own => "own",
        }
    }

    /// keepalived's wording for the log line.
    pub fn message(&self, vrid: u8) -> String {
        match self {
            Reject::Malformed(e) => format!("vrrp packet malformed ({e})"),
            Reject::Ttl(t) => format!("invalid TTL/HL. Received {t} and expect 255"),
            Reject::Version(v) => format!("wrong version. Received {v}"),
            Reject::OtherVrid(v) => format!("received VRID {v}, not ours"),
            Reject::InvalidAuthType(t) => format!("Invalid auth type: {t}"),
            Reject::AuthTypeMismatch { got, expected } => format!("received a {got} auth, expecting {expected}!"),
            Reject::AuthFailure => "received an invalid passwd!".to_string(),
            Reject::IntervalMismatch { mine, got } => {
                format!("advertisement interval mismatch mine={mine} sec rcv'd={got} sec")
            }
            Reject::Type(t) => format!("Invalid type: {t}"),
            Reject::AddrCount { got, expected } => {
                format!("received an unexpected ip number count {got}, expected {expected}!")
            }
            Reject::Checksum => "Invalid VRRP checksum".to_string(),
            Reject::UnexpectedMulticast => "Expected unicast packet but received multicast packet".to_string(),
            Reject::VipMissing => format!("ip address associated with VRID {vrid} not present in MASTER advert"),
            Reject::UnknownPeer => "unicast source address is not a unicast peer".to_string(),
            Reject::Own => "own packet".to_string(),
        }
    }
}

/// An advert that passed every check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub src: IpAddr,
    pub priority: u8,
    /// v2: seconds; v3: the master's centiseconds.
    pub interval: Duration,
    /// The v3 checksum used the pre-1.3.6 unicast convention.
    pub old_unicast_checksum: bool,
}

/// Checks one datagram as the raw IPv4 socket returns it (IP header included).
pub fn check_v4(datagram: &[u8], exp: &Expect) -> Result<Accepted, Reject> {
    let (ip, pkt) = vw::split_ipv4_datagram(datagram).map_err(Reject::Malformed)?;
    let group = match exp.group {
        IpAddr::V4(g) => g,
        IpAddr::V6(_) => ipv4::VRRP_GROUP,
    };
    let (src, dst) = (ip.src_addr, ip.dst_addr);
    check_message(IpAddr::V4(src), IpAddr::V4(dst), ip.ttl, pkt.as_bytes(), Family::Ipv4, exp, |p| {
        match p.version() {
            Version::V2 => Some(p.verify_checksum(&ChecksumMode::MessageOnly).then_some(false)),
            _ => match p.detect_ipv4_checksum(src, dst, group) {
                Some(Ipv4Checksum::PseudoHeader) => Some(Some(false)),
                Some(Ipv4Checksum::OldUnicast) => Some(Some(true)),
                // v3_checksum_as_v2 is not in 2.2.7: a message-only sum is a bad checksum there.
                Some(Ipv4Checksum::MessageOnly) | None => Some(None),
            },
        }
    })
}

/// Checks one VRRP message received on the IPv6 raw socket (no IP header: the kernel gives the
/// source, the destination and the hop limit separately, and has verified the checksum through
/// `IPV6_CHECKSUM`).
pub fn check_v6(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, msg: &[u8], exp: &Expect) -> Result<Accepted, Reject> {
    check_message(IpAddr::V6(src), IpAddr::V6(dst), hop_limit, msg, Family::Ipv6, exp, |_| Some(Some(false)))
}

/// The checks after the IP layer, in keepalived's order. `checksum` answers Some(Some(old
/// unicast?)) when the sum verifies, Some(None) when it does not.
fn check_message(
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    bytes: &[u8],
    family: Family,
    exp: &Expect,
    checksum: impl Fn(&vw::Packet<&[u8]>) -> Option<Option<bool>>,
) -> Result<Accepted, Reject> {
    if src == exp.our_src {
        return Err(Reject::Own);
    }
    let pkt = vw::Packet::new_checked(bytes).map_err(Reject::Malformed)?;
    let count = pkt.count();
    // The length our configured version calls for (a wrong version is reported by its own check).
    let auth_len = if exp.version == Version::V2 { vw::AUTH_DATA_LEN } else { 0 };
    let expected_len = vw::HEADER_LEN + usize::from(count) * family.addr_len() + auth_len;
    if bytes.len() != expected_len {
        let e = if bytes.len() < expected_len {
            wire::Error::Truncated
        } else {
            wire::Error::LengthMismatch { expected: expected_len, actual: bytes.len() }
        };
        return Err(Reject::Malformed(e));
    }
    if !exp.unicast && ttl != ipv4::VRRP_TTL {
        return Err(Reject::Ttl(ttl));
    }
    let version = pkt.version();
    if version != exp.version {
        return Err(Reject::Version(u8::from(version)));
    }
    if pkt.vrid() != exp.vrid {
        return Err(Reject::OtherVrid(pkt.vrid()));
    }
    if version == Version::V2 {
        let at = pkt.auth_type();
        let got = AuthType::try_from(at).map_err(|_| Reject::InvalidAuthType(at))?;
        let want = exp.auth.map_or(AuthType::NoAuth, |a| a.auth_type);
        if got != want {
            return Err(Reject::AuthTypeMismatch { got: at, expected: want as u8 });
        }
        if let Some(a) = exp.auth
            && a.auth_type == AuthType::Pass
            && pkt.auth_data() != Some(a.data)
        {
            return Err(Reject::AuthFailure);
        }
        if pkt.adver_int() != exp.adver_int_secs {
            return Err(Reject::IntervalMismatch { mine: exp.adver_int_secs, got: pkt.adver_int() });
        }
    }
    if pkt.msg_type() != vw::TYPE_ADVERTISEMENT {
        return Err(Reject::Type(pkt.msg_type()));
    }
    if usize::from(count) != exp.vips.len() && !exp.skip_check_adv_addr {
        return Err(Reject::AddrCount { got: count, expected: exp.vips.len() });
    }
    let Some(Some(old_unicast_checksum)) = checksum(&pkt) else {
        return Err(Reject::Checksum);
    };
    if exp.unicast && dst.is_multicast() {
        return Err(Reject::UnexpectedMulticast);
    }
    if !exp.skip_check_adv_addr {
        let got: Vec<IpAddr> = (0..usize::from(count))
            .filter_map(|i| match family {
                Family::Ipv4 => pkt.addr_v4(i).map(IpAddr::V4),
                Family::Ipv6 => pkt.addr_v6(i).map(IpAddr::V6),
            })
            .collect();
        if exp.vips.iter().any(|v| !got.contains(v)) {
            return Err(Reject::VipMissing);
        }
    }
    if let Some(peers) = &exp.allowed_src
        && exp.unicast
        && !peers.contains(&src)
    {
        return Err(Reject::UnknownPeer);
    }
    let interval = match version {
        Version::V2 => Duration::from_secs(u64::from(pkt.adver_int())),
        _ => Duration::from_millis(u64::from(pkt.max_adver_int()) * 10),
    };
    Ok(Accepted { src, priority: pkt.priority(), interval, old_unicast_checksum })
}

/// Per-reason counters, and a log line once per (reason, source) rather than per packet.
#[derive(Debug, Default)]
pub struct RxStats {
    pub counts: HashMap<&'static str, u64>,
    logged: HashSet<(&'static str, IpAddr)>,
}

impl RxStats {
    /// Counts the rejection; true when it is the first of its kind from `src` (log it then).
    pub fn record(&mut self, r: &Reject, src: IpAddr) -> bool {
        *self.counts.entry(r.reason()).or_default() += 1;
        self.logged.insert((r.reason(), src))
    }

    pub fn count(&self, reason: &str) -> u64 {
        self.counts.get(reason).copied().unwrap_or(0)
    }
}

/// The IPv4 source of a datagram, for logging a rejection, if the header is readable.
pub fn source_of(datagram: &[u8]) -> Option<IpAddr> {
    let b: [u8; 4] = datagram.get(12..16)?.try_into().ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::wire::vrrp::{Addresses, Auth, Body, Repr};

    const PEER: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);
    const ME: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
    const VIP: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 100);
    const GROUP: Ipv4Addr = ipv4::VRRP_GROUP;

    fn exp_v2() -> Expect {
        Expect {
            version: Version::V2,
            vrid: 51,
            auth: Some(Auth::pass(b"secret")),
            adver_int_secs: 1,
            vips: vec![IpAddr::V4(VIP)],
            unicast: false,
            group: IpAddr::V4(GROUP),
            our_src: IpAddr::V4(ME),
            skip_check_adv_addr: false,
            allowed_src: None,
        }
    }

    fn v2(prio: u8, auth: Auth, addrs: Vec<Ipv4Addr>) -> Repr {
        Repr { vrid: 51, priority: prio, body: Body::V2 { adver_int: 1, auth, addrs } }
    }

    fn dgram(r: &Repr, ttl: u8) -> Vec<u8> {
        r.to_ipv4_datagram(PEER, GROUP, ttl, &ChecksumMode::MessageOnly).unwrap()
    }

    #[test]
    fn accepts_a_good_v2_advert() {
        let d = dgram(&v2(150, Auth::pass(b"secret"), vec![VIP]), 255);
        let a = check_v4(&d, &exp_v2()).unwrap();
        assert_eq!(a.src, IpAddr::V4(PEER));
        assert_eq!(a.priority, 150);
        assert_eq!(a.interval, Duration::from_secs(1));
    }

    #[test]
    fn rejects_in_keepalived_order() {
        let e = exp_v2();
        let good = v2(150, Auth::pass(b"secret"), vec![VIP]);
        assert_eq!(check_v4(&dgram(&good, 64), &e), Err(Reject::Ttl(64)));
        let mut u = e.clone();
        u.unicast = true;
        assert!(check_v4(&dgram(&good, 64), &u).is_err_and(|r| r == Reject::UnexpectedMulticast));
        let mut other = good.clone();
        other.vrid = 52;
        assert_eq!(check_v4(&dgram(&other, 255), &e), Err(Reject::OtherVrid(52)));
        let d = dgram(&v2(150, Auth::NONE, vec![VIP]), 255);
        assert_eq!(check_v4(&d, &e), Err(Reject::AuthTypeMismatch { got: 0, expected: 1 }));
        let d = dgram(&v2(150, Auth::pass(b"secreT"), vec![VIP]), 255);
        assert_eq!(check_v4(&d, &e), Err(Reject::AuthFailure));
        // Only the first 8 bytes count.
        let d = dgram(&v2(150, Auth::pass(b"secret__xyz"), vec![VIP]), 255);
        let mut e8 = e.clone();
        e8.auth = Some(Auth::pass(b"secret__abc"));
        assert!(check_v4(&d, &e8).is_ok());
        let mut slow = good.clone();
        slow.body = Body::V2 { adver_int: 3, auth: Auth::pass(b"secret"), addrs: vec![VIP] };
        assert_eq!(check_v4(&dgram(&slow, 255), &e), Err(Reject::IntervalMismatch { mine: 1, got: 3 }));
        let two = v2(150, Auth::pass(b"secret"), vec![VIP, PEER]);
        assert_eq!(check_v4(&dgram(&two, 255), &e), Err(Reject::AddrCount { got: 2, expected: 1 }));
        let wrong = v2(150, Auth::pass(b"secret"), vec![PEER]);
        assert_eq!(check_v4(&dgram(&wrong, 255), &e), Err(Reject::VipMissing));
        let mut skip = e.clone();
        skip.skip_check_adv_addr = true;
        assert!(check_v4(&dgram(&wrong, 255), &skip).is_ok());
    }

    #[test]
    fn bad_version_type_checksum_and_own() {
        let e = exp_v2();
        let good = dgram(&v2(150, Auth::pass(b"secret"), vec![VIP]), 255);
        let mut d = good.clone();
        d[ipv4::HEADER_LEN] = 0x31; // v3 header on a v2 instance
        assert_eq!(check_v4(&d, &e), Err(Reject::Version(3)));
        let mut d = good.clone();
        d[ipv4::HEADER_LEN] = 0x22; // type 2
        assert_eq!(check_v4(&d, &e), Err(Reject::Type(2)));
        let mut d = good.clone();
        d[ipv4::HEADER_LEN + 2] ^= 1; // priority changed after the checksum
        assert_eq!(check_v4(&d, &e), Err(Reject::Checksum));
        let mut d = good.clone();
        d[ipv4::HEADER_LEN + 4] = 7;
        assert_eq!(check_v4(&d, &e), Err(Reject::InvalidAuthType(7)));
        let mut own = e.clone();
        own.our_src = IpAddr::V4(PEER);
        assert_eq!(check_v4(&good, &own), Err(Reject::Own));
    }

    #[test]
    fn malformed_never_panics() {
        let e = exp_v2();
        let good = dgram(&v2(150, Auth::pass(b"secret"), vec![VIP]), 255);
        for n in 0..good.len() {
            assert!(check_v4(&good[..n], &e).is_err());
        }
        // count says 2 but only one address and the auth fit: length error.
        let mut d = good.clone();
        d[ipv4::HEADER_LEN + 3] = 2;
        assert!(matches!(check_v4(&d, &e), Err(Reject::Malformed(_))));
        for b in 0..=255u8 {
            let mut d = good.clone();
            d[ipv4::HEADER_LEN + 3] = b;
            let _ = check_v4(&d, &e);
        }
    }

    #[test]
    fn v3_checksums_including_old_unicast() {
        let r = Repr { vrid: 51, priority: 120, body: Body::V3 { max_adver_int: 10, addrs: Addresses::V4(vec![VIP]) } };
        let e = Expect { version: Version::V3, auth: None, unicast: true, ..exp_v2() };
        let ok = r.to_ipv4_datagram(PEER, ME, 255, &ChecksumMode::Ipv4PseudoHeader { src: PEER, dst: ME }).unwrap();
        let a = check_v4(&ok, &e).unwrap();
        assert_eq!(a.interval, Duration::from_millis(100));
        assert!(!a.old_unicast_checksum);
        let mut strict = e.clone();
        strict.allowed_src = Some(vec![IpAddr::V4(VIP)]);
        assert_eq!(check_v4(&ok, &strict), Err(Reject::UnknownPeer));
        strict.allowed_src = Some(vec![IpAddr::V4(PEER)]);
        assert!(check_v4(&ok, &strict).is_ok());
        let old = r.to_ipv4_datagram(PEER, ME, 255, &ChecksumMode::old_unicast(PEER, GROUP)).unwrap();
        assert!(check_v4(&old, &e).unwrap().old_unicast_checksum);
        let v2sum = r.to_ipv4_datagram(PEER, ME, 255, &ChecksumMode::MessageOnly).unwrap();
        assert_eq!(check_v4(&v2sum, &e), Err(Reject::Checksum));
    }

    #[test]
    fn v6_checks() {
        let vip6: Ipv6Addr = "fd00::100".parse().unwrap();
        let peer6: Ipv6Addr = "fe80::2".parse().unwrap();
        let group6: Ipv6Addr = "ff02::12".parse().unwrap();
        let e = Expect {
            version: Version::V3,
            auth: None,
            vips: vec![IpAddr::V6(vip6)],
            group: IpAddr::V6(group6),
            our_src: "fe80::1".parse().unwrap(),
            ..exp_v2()
        };
        let r =
            Repr { vrid: 51, priority: 200, body: Body::V3 { max_adver_int: 100, addrs: Addresses::V6(vec![vip6]) } };
        let msg = r.to_bytes(&ChecksumMode::Offload).unwrap();
        let a = check_v6(peer6, group6, 255, &msg, &e).unwrap();
        assert_eq!((a.src, a.priority, a.interval), (IpAddr::V6(peer6), 200, Duration::from_secs(1)));
        assert_eq!(check_v6(peer6, group6, 1, &msg, &e), Err(Reject::Ttl(1)));
        assert!(check_v6(peer6, group6, 255, &msg[..msg.len() - 1], &e).is_err());
        let other = Repr { body: Body::V3 { max_adver_int: 100, addrs: Addresses::V6(vec![group6]) }, ..r.clone() };
        let m = other.to_bytes(&ChecksumMode::Offload).unwrap();
        assert_eq!(check_v6(peer6, group6, 255, &m, &e), Err(Reject::VipMissing));
        // A v4-sized list on a v6 instance is a length error.
        let v4 = Repr { body: Body::V3 { max_adver_int: 100, addrs: Addresses::V4(vec![VIP]) }, ..r };
        let m = v4.to_bytes(&ChecksumMode::Offload).unwrap();
        assert!(matches!(check_v6(peer6, group6, 255, &m, &e), Err(Reject::Malformed(_))));
    }

    #[test]
    fn stats_log_once_per_reason_and_source() {
        let mut s = RxStats::default();
        let p = IpAddr::V4(PEER);
        assert!(s.record(&Reject::AuthFailure, p));
        assert!(!s.record(&Reject::AuthFailure, p));
        assert!(s.record(&Reject::Checksum, p));
        assert!(s.record(&Reject::AuthFailure, IpAddr::V4(ME)));
        assert_eq!(s.count("auth_failure"), 3);
        assert_eq!(s.count("chk_err"), 1);
        assert_eq!(source_of(&[0; 8]), None);
    }
}
