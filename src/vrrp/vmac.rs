//! `use_vmac`: the per-instance macvlan carrying the VRRP virtual MAC, as keepalived 2.2.7
//! makes it (observed in a netns with `ip -d link` and /proc/sys):
//!
//! - `macvlan mode private` on the instance interface, named `vrrp.VRID` (`vmac_prefix`) or as
//!   configured, MAC 00:00:5e:00:01:VRID (IPv6 instances: 00:00:5e:00:02:VRID),
//!   `addrgenmode none`, link up;
//! - IPv4 instance: on the VMAC `arp_ignore=1`, `accept_local=1`, `promote_secondaries=1`,
//!   `rp_filter=0` and IPv6 disabled; on the parent `arp_ignore=1`, `arp_filter=1` (left set at
//!   stop, as keepalived leaves them). If `all.rp_filter` is set, every interface and `default`
//!   are raised to it and `all` is cleared; all of those are restored at stop;
//! - IPv6 instance: the parent's link-local address copied onto the VMAC (nodad, deprecated),
//!   the source of the adverts sent there;
//! - deleted at stop (dropping the [`Vmac`]).

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};

use log::{debug, info, warn};

use super::addr::{self, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, Netlink, Vip, push_attr};
use super::sysctl;
use super::wire::MacAddr;

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINK: u16 = 5;
const IFLA_LINKINFO: u16 = 18;
const IFLA_AF_SPEC: u16 = 26;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_MACVLAN_MODE: u16 = 1;
const MACVLAN_MODE_PRIVATE: u32 = 1;
const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;
const IN6_ADDR_GEN_MODE_NONE: u8 = 1;
const IFF_UP: u32 = 1;

/// Why a VMAC cannot be set up.
#[derive(Debug)]
pub enum VmacError {
    BadMac(String),
    /// An interface of that name exists and is not a macvlan of the instance interface.
    NameTaken(String),
    Netlink(&'static str, io::Error),
}

impl fmt::Display for VmacError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmacError::BadMac(m) => write!(f, "invalid VMAC address {m}"),
            VmacError::NameTaken(n) => write!(f, "interface {n} exists and is not a VMAC of this interface"),
            VmacError::Netlink(what, e) => write!(f, "{what}: {e}"),
        }
    }
}

impl std::error::Error for VmacError {}

/// The VMAC's address: 00:00:5e:00:01:VRID (02 for IPv6), or the configured one, whose sixth
/// octet defaults to the VRID when only five are given.
pub fn vmac_addr(vrid: u8, v6: bool, configured: Option<&str>) -> Result<MacAddr, VmacError> {
    let Some(text) = configured else {
        return Ok(MacAddr([0, 0, 0x5e, 0, if v6 { 2 } else { 1 }, vrid]));
    };
    let bad = || VmacError::BadMac(text.to_string());
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() != 5 && parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    mac[5] = vrid;
    for (d, p) in mac.iter_mut().zip(&parts) {
        if p.is_empty() || p.len() > 2 {
            return Err(bad());
        }
        *d = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    // A multicast or all-zero address cannot be an interface's.
    if mac[0] & 1 != 0 || mac == [0; 6] {
        return Err(bad());
    }
    Ok(MacAddr(mac))
}

/// The VMAC's name: configured, or `PREFIX.VRID` (`vmac_prefix`, default "vrrp"). When an
/// earlier instance (IPv4 and IPv6 may share a VRID) already took the generated name,
/// keepalived 2.2.7 names the second `PREFIX6.VRID` (IPv6) or `PREFIX1.VRID` (IPv4); `taken`
/// says whether a name is in use.
pub fn vmac_name(
    configured: Option<&str>,
    prefix: Option<&str>,
    vrid: u8,
    v6: bool,
    taken: impl Fn(&str) -> bool,
) -> String {
    if let Some(n) = configured {
        return n.to_string();
    }
    let p = prefix.unwrap_or("vrrp");
    let first = format!("{p}.{vrid}");
    if !taken(&first) {
        return first;
    }
    format!("{p}{}.{vrid}", if v6 { "6" } else { "1" })
}

/// Generated VMAC names in use by this process's instances.
static NAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Picks the instance's VMAC name (see [`vmac_name`]) and records it until released.
pub fn claim_name(configured: Option<&str>, prefix: Option<&str>, vrid: u8, v6: bool) -> String {
    let Ok(mut g) = NAMES.lock() else { return vmac_name(configured, prefix, vrid, v6, |_| false) };
    let n = vmac_name(configured, prefix, vrid, v6, |x| g.iter().any(|y| y == x));
    g.push(n.clone());
    n
}

fn release_name(name: &str) {
    if let Ok(mut g) = NAMES.lock()
        && let Some(i) = g.iter().position(|y| y == name)
    {
        g.remove(i);
    }
}

fn ifinfomsg(b: &mut Vec<u8>, index: u32, flags: u32, change: u32) {
    // family (AF_UNSPEC), pad, type, index, flags, change.
    b.extend_from_slice(&[0, 0, 0, 0]);
    b.extend_from_slice(&index.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&change.to_ne_bytes());
}

fn name_attr(b: &mut Vec<u8>, kind: u16, name: &str) {
    let mut s = name.as_bytes().to_vec();
    s.push(0);
    push_attr(b, kind, &s);
}

/// RTM_NEWLINK creating `name`, a private-mode macvlan on `parent` with `mac`, link down.
pub fn encode_create(name: &str, parent: u32, mac: MacAddr, seq: u32) -> Vec<u8> {
    let mut b = addr::begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
    ifinfomsg(&mut b, 0, 0, 0);
    push_attr(&mut b, IFLA_LINK, &parent.to_ne_bytes());
    name_attr(&mut b, IFLA_IFNAME, name);
    push_attr(&mut b, IFLA_ADDRESS, &mac.octets());
    let info = addr::begin_nest(&mut b, IFLA_LINKINFO);
    name_attr(&mut b, IFLA_INFO_KIND, "macvlan");
    let data = addr::begin_nest(&mut b, IFLA_INFO_DATA);
    push_attr(&mut b, IFLA_MACVLAN_MODE, &MACVLAN_MODE_PRIVATE.to_ne_bytes());
    addr::end_nest(&mut b, data);
    addr::end_nest(&mut b, info);
    addr::finish(b)
}

/// RTM_NEWLINK setting `addrgenmode none` on `index` (no IPv6 link-local of its own).
pub fn encode_addrgen_none(index: u32, seq: u32) -> Vec<u8> {
    let mut b = addr::begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    ifinfomsg(&mut b, index, 0, 0);
    let spec = addr::begin_nest(&mut b, IFLA_AF_SPEC);
    let inet6 = addr::begin_nest(&mut b, libc::AF_INET6 as u16);
    push_attr(&mut b, IFLA_INET6_ADDR_GEN_MODE, &[IN6_ADDR_GEN_MODE_NONE]);
    addr::end_nest(&mut b, inet6);
    addr::end_nest(&mut b, spec);
    addr::finish(b)
}

/// RTM_NEWLINK setting the link of `index` up, and its MAC when given.
pub fn encode_up(index: u32, mac: Option<MacAddr>, seq: u32) -> Vec<u8> {
    let mut b = addr::begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    ifinfomsg(&mut b, index, IFF_UP, IFF_UP);
    if let Some(m) = mac {
        push_attr(&mut b, IFLA_ADDRESS, &m.octets());
    }
    addr::finish(b)
}

pub fn encode_delete(index: u32, seq: u32) -> Vec<u8> {
    let mut b = addr::begin(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    ifinfomsg(&mut b, index, 0, 0);
    addr::finish(b)
}

/// RTM_GETLINK for one name. No NLM_F_ACK: the reply is the link or an error, nothing more, so
/// no stray ACK is left on the shared socket.
pub fn encode_get(name: &str, seq: u32) -> Vec<u8> {
    let mut b = addr::begin(RTM_GETLINK, NLM_F_REQUEST, seq);
    ifinfomsg(&mut b, 0, 0, 0);
    name_attr(&mut b, IFLA_IFNAME, name);
    addr::finish(b)
}

/// What a link reply says about an existing interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFacts {
    pub index: u32,
    pub parent: Option<u32>,
    pub kind: Option<String>,
}

/// (type, payload) of each rtattr in `buf`; stops at the first malformed one.
fn attrs(mut buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = buf.get(0..2).and_then(|b| b.try_into().ok()).map(u16::from_ne_bytes).unwrap_or(0) as usize;
        let kind = buf.get(2..4).and_then(|b| b.try_into().ok()).map(u16::from_ne_bytes).unwrap_or(0);
        if len < 4 || len > buf.len() {
            break;
        }
        out.push((kind & 0x3fff, buf.get(4..len).unwrap_or(&[])));
        buf = buf.get((len + 3) & !3..).unwrap_or(&[]);
    }
    out
}

/// Parses an RTM_NEWLINK reply (header included); None for anything else.
pub fn parse_link(msg: &[u8]) -> Option<LinkFacts> {
    let len = u32::from_ne_bytes(msg.get(0..4)?.try_into().ok()?) as usize;
    if u16::from_ne_bytes(msg.get(4..6)?.try_into().ok()?) != RTM_NEWLINK {
        return None;
    }
    let index = i32::from_ne_bytes(msg.get(20..24)?.try_into().ok()?);
    let mut f = LinkFacts { index: u32::try_from(index).ok()?, parent: None, kind: None };
    for (t, p) in attrs(msg.get(32..len.min(msg.len()))?) {
        match t {
            IFLA_LINK => f.parent = p.get(0..4).and_then(|b| b.try_into().ok()).map(u32::from_ne_bytes),
            IFLA_LINKINFO => {
                for (it, ip) in attrs(p) {
                    if it == IFLA_INFO_KIND {
                        let s = ip.split(|c| *c == 0).next().unwrap_or(&[]);
                        f.kind = Some(String::from_utf8_lossy(s).into_owned());
                    }
                }
            }
            _ => {}
        }
    }
    Some(f)
}

/// rp_filter values changed for IPv4 VMACs, restored when the last VMAC goes; and how many
/// VMACs hold the change.
struct RpFilter {
    users: usize,
    saved: Vec<(String, i64)>,
}

static RP_FILTER: Mutex<RpFilter> = Mutex::new(RpFilter { users: 0, saved: Vec::new() });

/// With `all.rp_filter` set, a VMAC's replies (from the VIP, via the VMAC) would be dropped
/// by the reverse-path check: raise each interface and `default` to `all`'s value, then clear
/// `all` (so the VMAC's own 0 counts), as keepalived does.
fn rp_filter_hold() {
    let Ok(mut g) = RP_FILTER.lock() else { return };
    g.users += 1;
    if g.users > 1 {
        return;
    }
    let all = sysctl::read("ipv4", "all", "rp_filter").unwrap_or(0);
    if all == 0 {
        return;
    }
    let Ok(rd) = std::fs::read_dir("/proc/sys/net/ipv4/conf") else { return };
    let mut names: Vec<String> =
        rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n != "all").collect();
    names.sort();
    for n in names {
        let Some(cur) = sysctl::read("ipv4", &n, "rp_filter") else { continue };
        if cur < all && sysctl::write("ipv4", &n, "rp_filter", all).is_ok() {
            // keepalived reports only `default` and `all`; the interfaces change silently.
            if n == "default" {
                info!("NOTICE: setting sysctl net.ipv4.conf.{n}.rp_filter from {cur} to {all}");
            } else {
                debug!("setting sysctl net.ipv4.conf.{n}.rp_filter from {cur} to {all}");
            }
            g.saved.push((n, cur));
        }
    }
    if sysctl::write("ipv4", "all", "rp_filter", 0).is_ok() {
        info!("NOTICE: setting sysctl net.ipv4.conf.all.rp_filter from {all} to 0");
        g.saved.push(("all".into(), all));
    }
}

fn rp_filter_release() {
    let Ok(mut g) = RP_FILTER.lock() else { return };
    g.users = g.users.saturating_sub(1);
    if g.users > 0 {
        return;
    }
    for (n, v) in std::mem::take(&mut g.saved).into_iter().rev() {
        if sysctl::write("ipv4", &n, "rp_filter", v).is_ok() && (n == "all" || n == "default") {
            info!("NOTICE: resetting sysctl net.ipv4.conf.{n}.rp_filter to {v}");
        }
    }
}

/// A VMAC this process set up; dropping it deletes the interface.
pub struct Vmac {
    pub name: String,
    pub ifindex: u32,
    pub mac: MacAddr,
    label: String,
    v4: bool,
    nl: Arc<Netlink>,
}

impl Vmac {
    /// Creates (or takes over a leftover of an earlier run) the VMAC `name` on `base`.
    /// `label` is the instance's log prefix, `v6` its family. A name from [`claim_name`] is
    /// released on failure or when the Vmac is dropped.
    pub fn create(
        nl: Arc<Netlink>,
        label: &str,
        base: &str,
        base_index: u32,
        name: &str,
        mac: MacAddr,
        v6: bool,
    ) -> Result<Vmac, VmacError> {
        if !v6 {
            // Before the VMAC exists, so it starts from the raised `default` and gets its own 0.
            rp_filter_hold();
        }
        let existing = match nl.call(|seq| encode_get(name, seq)) {
            Ok(reply) => parse_link(&reply),
            Err(_) => None,
        };
        let index = match existing {
            Some(f) if f.kind.as_deref() == Some("macvlan") && f.parent == Some(base_index) => {
                info!("{label}: VMAC interface {name} already exists - reusing it");
                Ok(f.index)
            }
            Some(_) => Err(VmacError::NameTaken(name.to_string())),
            None => nl
                .call(|seq| encode_create(name, base_index, mac, seq))
                .map_err(|e| VmacError::Netlink("creating the macvlan", e))
                .and_then(|_| nl.call(|seq| encode_get(name, seq)).map_err(|e| VmacError::Netlink("looking it up", e)))
                .and_then(|reply| {
                    parse_link(&reply)
                        .ok_or_else(|| VmacError::Netlink("looking it up", io::Error::from(io::ErrorKind::NotFound)))
                })
                .map(|f| {
                    info!("{label}: Success creating VMAC interface {name}");
                    f.index
                }),
        };
        let index = match index {
            Ok(i) => i,
            Err(e) => {
                if !v6 {
                    rp_filter_release();
                }
                release_name(name);
                return Err(e);
            }
        };
        // From here on a failure still removes the interface (the drop).
        let vmac = Vmac { name: name.to_string(), ifindex: index, mac, label: label.to_string(), v4: !v6, nl };
        if let Err(e) = vmac.nl.call(|seq| encode_addrgen_none(index, seq)) {
            // A kernel without IPv6 refuses the IPv6 part; nothing to prevent then.
            warn!("{label}: cannot set addrgenmode none on {name}: {e}");
        }
        if v6 {
            vmac.copy_link_local(base);
        } else {
            // An IPv4 VMAC needs no IPv6 at all (keepalived disables it).
            let _ = sysctl::write("ipv6", name, "disable_ipv6", 1);
            for (k, v) in [("arp_ignore", 1), ("accept_local", 1), ("promote_secondaries", 1), ("rp_filter", 0)] {
                sysctl::set("ipv4", name, k, v);
            }
            // The parent must not answer ARP for the VIPs with its own MAC.
            sysctl::set("ipv4", base, "arp_ignore", 1);
            sysctl::set("ipv4", base, "arp_filter", 1);
        }
        vmac.nl.call(|seq| encode_up(index, Some(mac), seq)).map_err(|e| VmacError::Netlink("setting it up", e))?;
        Ok(vmac)
    }

    /// IPv6 adverts go out of the VMAC from the parent's link-local address.
    fn copy_link_local(&self, base: &str) {
        let Ok(ll) = super::socket::if_link_local_v6(base) else {
            warn!("{}: {base} has no IPv6 link-local address to put on {}", self.label, self.name);
            return;
        };
        let v = Vip {
            addr: std::net::IpAddr::V6(ll),
            prefix: 64,
            ifindex: self.ifindex,
            dev: self.name.clone(),
            scope: 253,
            label: None,
            brd: None,
            flags: 0x02, // IFA_F_NODAD
            deprecated: true,
        };
        match self.nl.add(&v) {
            Ok(()) => info!("Assigned address {ll} for interface {}", self.name),
            Err(e) => warn!("{}: cannot add {ll} to {}: {e}", self.label, self.name),
        }
    }
}

impl Drop for Vmac {
    fn drop(&mut self) {
        release_name(&self.name);
        match self.nl.call(|seq| encode_delete(self.ifindex, seq)) {
            Ok(_) => info!("{}: Success removing VMAC interface {}", self.label, self.name),
            Err(e) => warn!("{}: cannot remove VMAC interface {}: {e}", self.label, self.name),
        }
        if self.v4 {
            rp_filter_release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_names() {
        assert_eq!(vmac_addr(51, false, None).unwrap(), MacAddr([0, 0, 0x5e, 0, 1, 51]));
        assert_eq!(vmac_addr(52, true, None).unwrap(), MacAddr([0, 0, 0x5e, 0, 2, 52]));
        assert_eq!(vmac_addr(7, false, Some("02:11:22:33:44")).unwrap(), MacAddr([2, 0x11, 0x22, 0x33, 0x44, 7]));
        assert_eq!(vmac_addr(7, false, Some("02:11:22:33:44:aB")).unwrap(), MacAddr([2, 0x11, 0x22, 0x33, 0x44, 0xab]));
        for bad in [
            "02:11:22:33",
            "02:11:22:33:44:55:66",
            "02::22:33:44",
            "0g:11:22:33:44",
            "01:00:5e:00:00:01",
            "0:0:0:0:0:0",
            "123:1:1:1:1",
        ] {
            assert!(vmac_addr(7, false, Some(bad)).is_err(), "{bad}");
        }
        assert!(vmac_addr(7, false, Some("zz")).unwrap_err().to_string().contains("zz"));
        let free = |_: &str| false;
        assert_eq!(vmac_name(None, None, 51, false, free), "vrrp.51");
        assert_eq!(vmac_name(None, None, 51, true, free), "vrrp.51");
        assert_eq!(vmac_name(None, Some("vk"), 9, false, free), "vk.9");
        assert_eq!(vmac_name(Some("vm6"), Some("vk"), 9, false, |_| true), "vm6");
        // Second instance with the same VRID (keepalived: vrrp6.N for IPv6, vrrp1.N for IPv4).
        let used = |n: &str| n == "vrrp.51";
        assert_eq!(vmac_name(None, None, 51, true, used), "vrrp6.51");
        assert_eq!(vmac_name(None, None, 51, false, used), "vrrp1.51");
        let a = claim_name(None, Some("claimtest"), 3, false);
        let b = claim_name(None, Some("claimtest"), 3, true);
        assert_eq!((a.as_str(), b.as_str()), ("claimtest.3", "claimtest6.3"));
        release_name(&a);
        assert_eq!(claim_name(None, Some("claimtest"), 3, true), "claimtest.3");
    }

    #[test]
    fn create_golden() {
        let b = encode_create("vrrp.51", 2, MacAddr([0, 0, 0x5e, 0, 1, 51]), 4);
        let mut w = Vec::new();
        w.extend_from_slice(&92u32.to_ne_bytes());
        w.extend_from_slice(&RTM_NEWLINK.to_ne_bytes());
        w.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL).to_ne_bytes());
        w.extend_from_slice(&4u32.to_ne_bytes());
        w.extend_from_slice(&[0; 4]);
        w.extend_from_slice(&[0; 16]); // ifinfomsg: all zero
        w.extend_from_slice(&[8, 0, 5, 0]); // IFLA_LINK
        w.extend_from_slice(&2u32.to_ne_bytes());
        w.extend_from_slice(&[12, 0, 3, 0]);
        w.extend_from_slice(b"vrrp.51\0"); // IFLA_IFNAME
        w.extend_from_slice(&[10, 0, 1, 0, 0, 0, 0x5e, 0, 1, 51, 0, 0]); // IFLA_ADDRESS
        w.extend_from_slice(&[28, 0, 18, 0x80]); // IFLA_LINKINFO, nested
        w.extend_from_slice(&[12, 0, 1, 0]);
        w.extend_from_slice(b"macvlan\0"); // IFLA_INFO_KIND
        w.extend_from_slice(&[12, 0, 2, 0x80]); // IFLA_INFO_DATA, nested
        w.extend_from_slice(&[8, 0, 1, 0]); // IFLA_MACVLAN_MODE
        w.extend_from_slice(&MACVLAN_MODE_PRIVATE.to_ne_bytes());
        assert_eq!(b, w);
    }

    #[test]
    fn set_and_delete_golden() {
        let b = encode_addrgen_none(9, 1);
        assert_eq!(b.len(), 32 + 4 + 4 + 8);
        assert_eq!(&b[20..24], &9u32.to_ne_bytes());
        assert_eq!(&b[32..48], &[16, 0, 26, 0x80, 12, 0, 10, 0x80, 5, 0, 8, 0, IN6_ADDR_GEN_MODE_NONE, 0, 0, 0]);
        let u = encode_up(9, None, 2);
        assert_eq!(u.len(), 32);
        assert_eq!(&u[24..32], &[1, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(encode_up(9, Some(MacAddr([0, 0, 0x5e, 0, 1, 1])), 2).len(), 44);
        let d = encode_delete(9, 3);
        assert_eq!(u16::from_ne_bytes([d[4], d[5]]), RTM_DELLINK);
        assert_eq!(d.len(), 32);
        let g = encode_get("eth0", 4);
        assert_eq!(u16::from_ne_bytes([g[6], g[7]]), NLM_F_REQUEST, "no ACK on a get");
        assert_eq!(&g[32..], &[9, 0, 3, 0, b'e', b't', b'h', b'0', 0, 0, 0, 0]);
    }

    #[test]
    fn error_texts() {
        assert!(VmacError::NameTaken("vrrp.1".into()).to_string().contains("vrrp.1"));
        let e = VmacError::Netlink("creating the macvlan", io::Error::from_raw_os_error(libc::EPERM));
        assert!(e.to_string().starts_with("creating the macvlan: "));
    }

    fn link_reply(index: i32, parent: Option<u32>, kind: Option<&str>) -> Vec<u8> {
        let mut b = addr::begin(RTM_NEWLINK, 0, 1);
        b.extend_from_slice(&[0, 0, 1, 0]);
        b.extend_from_slice(&index.to_ne_bytes());
        b.extend_from_slice(&[0; 8]);
        name_attr(&mut b, IFLA_IFNAME, "vrrp.1");
        if let Some(p) = parent {
            push_attr(&mut b, IFLA_LINK, &p.to_ne_bytes());
        }
        if let Some(k) = kind {
            let n = addr::begin_nest(&mut b, IFLA_LINKINFO);
            name_attr(&mut b, IFLA_INFO_KIND, k);
            addr::end_nest(&mut b, n);
        }
        addr::finish(b)
    }

    #[test]
    fn parses_link_replies() {
        let r = link_reply(7, Some(2), Some("macvlan"));
        assert_eq!(parse_link(&r), Some(LinkFacts { index: 7, parent: Some(2), kind: Some("macvlan".into()) }));
        assert_eq!(parse_link(&link_reply(3, None, None)), Some(LinkFacts { index: 3, parent: None, kind: None }));
        // Not a link message, negative index, truncations, lying attribute lengths: no panic.
        let mut e = r.clone();
        e[4..6].copy_from_slice(&2u16.to_ne_bytes());
        assert_eq!(parse_link(&e), None);
        assert_eq!(parse_link(&link_reply(-1, None, None)), None);
        for n in 0..r.len() {
            let _ = parse_link(&r[..n]);
        }
        let mut bad = r.clone();
        bad[32..34].copy_from_slice(&500u16.to_ne_bytes());
        assert_eq!(parse_link(&bad).map(|f| f.kind), Some(None));
    }
}
