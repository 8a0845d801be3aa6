//! Routes and policy rules over rtnetlink (RTM_NEWROUTE/RTM_DELROUTE, RTM_NEWRULE/RTM_DELRULE)
//! for `virtual_routes` / `virtual_rules` (set while MASTER) and `static_routes` /
//! `static_rules` (set at start, removed at stop, as keepalived 2.2.7 does).
//!
//! The config lines are resolved once into [`RouteSpec`] / [`RuleSpec`]; devices are looked up
//! when the route is installed, so a route may name a VMAC created later. Like keepalived, routes
//! and rules carry protocol `keepalived` (18) unless told otherwise, and a route without `scope`
//! gets scope global (keepalived does not apply iproute2's "link scope for a device route").

use std::fmt;
use std::io;
use std::net::IpAddr;

use log::{error, info, warn};

use super::addr::{self, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, Netlink, Vip, push_attr};
use crate::config::system;
use crate::config::vrrp::{Route, Rule, Scope, VrrpConfig};

const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const RTM_NEWRULE: u16 = 32;
const RTM_DELRULE: u16 = 33;

const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_TABLE: u16 = 15;

const FRA_DST: u16 = 1;
const FRA_SRC: u16 = 2;
const FRA_IIFNAME: u16 = 3;
const FRA_PRIORITY: u16 = 6;
const FRA_FWMARK: u16 = 10;
const FRA_TABLE: u16 = 15;
const FRA_FWMASK: u16 = 16;
const FRA_OIFNAME: u16 = 17;
const FRA_PROTOCOL: u16 = 21;

/// RTPROT_KEEPALIVED.
pub const PROTO_KEEPALIVED: u8 = 18;
const RT_TABLE_MAIN: u32 = 254;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_NOWHERE: u8 = 255;
const RTN_UNICAST: u8 = 1;
const RTNH_F_ONLINK: u32 = 4;
const FR_ACT_TO_TBL: u8 = 1;
const FR_ACT_NOP: u8 = 3;
const FR_ACT_BLACKHOLE: u8 = 6;
const FR_ACT_UNREACHABLE: u8 = 7;
const FR_ACT_PROHIBIT: u8 = 8;
const FIB_RULE_INVERT: u32 = 2;

/// Route options of `ip route` we parse but do not install (warned about once, at start).
const UNSUPPORTED_ROUTE_OPTS: &[&str] = &[
    "mtu",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "realms",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "quickack",
    "congctl",
    "fastopen_no_cookie",
    "ttl-propagate",
    "from",
    "encap",
    "pref",
];

/// One route, resolved from a config line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub v6: bool,
    /// None is `default`.
    pub dst: Option<(IpAddr, u8)>,
    pub via: Option<IpAddr>,
    pub prefsrc: Option<IpAddr>,
    pub dev: Option<String>,
    pub table: u32,
    pub metric: Option<u32>,
    pub scope: Option<u8>,
    pub kind: u8,
    pub proto: u8,
    pub tos: u8,
    pub onlink: bool,
}

/// One policy rule, resolved from a config line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub v6: bool,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    pub table: u32,
    pub priority: Option<u32>,
    pub action: u8,
    pub invert: bool,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub fwmark: Option<(u32, Option<u32>)>,
    pub proto: u8,
}

/// Why a config line cannot be installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecError {
    Multipath,
    Goto,
    UnknownTable(String),
    BadFwmark(String),
    MixedFamilies,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::Multipath => write!(f, "multipath (nexthop) routes are not supported"),
            SpecError::Goto => write!(f, "goto rules are not supported"),
            SpecError::UnknownTable(t) => write!(f, "routing table {t} not found"),
            SpecError::BadFwmark(m) => write!(f, "invalid fwmark {m}"),
            SpecError::MixedFamilies => write!(f, "addresses of different families"),
        }
    }
}

fn route_type(kind: Option<&str>) -> u8 {
    match kind {
        Some("local") => 2,
        Some("broadcast") => 3,
        Some("anycast") => 4,
        Some("multicast") => 5,
        Some("blackhole") => 6,
        Some("unreachable") => 7,
        Some("prohibit") => 8,
        Some("throw") => 9,
        Some("nat") => 10,
        _ => RTN_UNICAST,
    }
}

/// A `protocol` value: a number or one of iproute2's rt_protos names.
pub fn proto_num(p: Option<&str>) -> Option<u8> {
    let Some(p) = p else { return Some(PROTO_KEEPALIVED) };
    if let Ok(n) = p.parse::<u8>() {
        return Some(n);
    }
    let n = match p {
        "redirect" => 1,
        "kernel" => 2,
        "boot" => 3,
        "static" => 4,
        "gated" => 8,
        "ra" => 9,
        "mrt" => 10,
        "zebra" => 11,
        "bird" => 12,
        "dnrouted" => 13,
        "xorp" => 14,
        "ntk" => 15,
        "dhcp" => 16,
        "keepalived" => 18,
        "babel" => 42,
        "bgp" => 186,
        "isis" => 187,
        "ospf" => 188,
        "rip" => 189,
        "eigrp" => 192,
        _ => return None,
    };
    Some(n)
}

fn table_num(t: Option<&str>) -> Result<u32, SpecError> {
    match t {
        None => Ok(RT_TABLE_MAIN),
        Some(t) => system::route_table(t).ok_or_else(|| SpecError::UnknownTable(t.to_string())),
    }
}

/// The value after `word` in an `ip` line.
fn word_arg<'a>(words: &'a [String], word: &str) -> Option<&'a str> {
    let i = words.iter().position(|w| w == word)?;
    words.get(i + 1).map(String::as_str)
}

/// Resolves a `virtual_routes` / `static_routes` line. Options we cannot install are returned
/// as the second value, to be warned about.
pub fn route_from_config(r: &Route) -> Result<(RouteSpec, Vec<String>), SpecError> {
    if r.words.iter().any(|w| w == "nexthop") {
        return Err(SpecError::Multipath);
    }
    let fams: Vec<bool> =
        [r.dst.map(|d| d.0), r.via, r.src].iter().flatten().map(IpAddr::is_ipv6).collect::<Vec<bool>>();
    if fams.windows(2).any(|w| w.first() != w.get(1)) {
        return Err(SpecError::MixedFamilies);
    }
    let v6 = fams.first().copied().unwrap_or(r.inet6);
    let tos = word_arg(&r.words, "tos")
        .or_else(|| word_arg(&r.words, "dsfield"))
        .and_then(|t| match t.strip_prefix("0x") {
            Some(h) => u8::from_str_radix(h, 16).ok(),
            None => t.parse().ok(),
        })
        .unwrap_or(0);
    let ignored = r.words.iter().filter(|w| UNSUPPORTED_ROUTE_OPTS.contains(&w.as_str())).cloned().collect();
    let proto = match proto_num(r.proto.as_deref()) {
        Some(p) => p,
        None => {
            warn!("route protocol {} unknown - using keepalived", r.proto.as_deref().unwrap_or(""));
            PROTO_KEEPALIVED
        }
    };
    let spec = RouteSpec {
        v6,
        dst: r.dst,
        via: r.via,
        prefsrc: r.src,
        dev: r.dev.clone(),
        table: table_num(r.table.as_deref())?,
        metric: r.metric,
        scope: r.scope.map(Scope::number),
        kind: route_type(r.kind.as_deref()),
        proto,
        tos,
        onlink: r.words.iter().any(|w| w == "onlink"),
    };
    Ok((spec, ignored))
}

fn parse_mark(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Resolves a `virtual_rules` / `static_rules` line.
pub fn rule_from_config(r: &Rule) -> Result<RuleSpec, SpecError> {
    if r.words.iter().any(|w| w == "goto") {
        return Err(SpecError::Goto);
    }
    let fams: Vec<bool> = [r.from.map(|f| f.0), r.to.map(|t| t.0)].iter().flatten().map(IpAddr::is_ipv6).collect();
    if fams.windows(2).any(|w| w.first() != w.get(1)) {
        return Err(SpecError::MixedFamilies);
    }
    let action = match r.action.as_deref() {
        Some("blackhole") => FR_ACT_BLACKHOLE,
        Some("unreachable") => FR_ACT_UNREACHABLE,
        Some("prohibit") => FR_ACT_PROHIBIT,
        Some("nop") => FR_ACT_NOP,
        _ => FR_ACT_TO_TBL,
    };
    let table = if action == FR_ACT_TO_TBL { table_num(r.table.as_deref())? } else { 0 };
    let fwmark = match r.fwmark.as_deref() {
        None => None,
        Some(m) => {
            let bad = || SpecError::BadFwmark(m.to_string());
            match m.split_once('/') {
                Some((v, k)) => Some((parse_mark(v).ok_or_else(bad)?, Some(parse_mark(k).ok_or_else(bad)?))),
                None => Some((parse_mark(m).ok_or_else(bad)?, None)),
            }
        }
    };
    let proto = proto_num(r.proto.as_deref()).unwrap_or(PROTO_KEEPALIVED);
    Ok(RuleSpec {
        v6: fams.first().copied().unwrap_or(r.inet6),
        from: r.from,
        to: r.to,
        table,
        priority: r.priority,
        action,
        invert: r.not,
        iif: r.iif.clone(),
        oif: r.oif.clone(),
        fwmark,
        proto,
    })
}

fn family(v6: bool) -> u8 {
    (if v6 { libc::AF_INET6 } else { libc::AF_INET }) as u8
}

fn name_attr(b: &mut Vec<u8>, kind: u16, name: &str) {
    let mut s = name.as_bytes().to_vec();
    s.push(0);
    push_attr(b, kind, &s);
}

/// Encodes an RTM_NEWROUTE (keepalived's default "prepend": NLM_F_CREATE without EXCL) or an
/// RTM_DELROUTE matching the same route (any scope unless one is configured, as `ip route del`).
pub fn encode_route(r: &RouteSpec, oif: Option<u32>, add: bool, seq: u32) -> Vec<u8> {
    let (kind, flags) = if add {
        (RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE)
    } else {
        (RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK)
    };
    let mut b = addr::begin(kind, flags, seq);
    let scope = r.scope.unwrap_or(if add { RT_SCOPE_UNIVERSE } else { RT_SCOPE_NOWHERE });
    let table_hdr = if r.table < 256 { r.table as u8 } else { 0 };
    let dst_len = r.dst.map(|d| d.1).unwrap_or(0);
    // rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
    b.extend_from_slice(&[family(r.v6), dst_len, 0, r.tos, table_hdr, r.proto, scope, r.kind]);
    b.extend_from_slice(&(if r.onlink { RTNH_F_ONLINK } else { 0 }).to_ne_bytes());
    if r.table >= 256 {
        push_attr(&mut b, RTA_TABLE, &r.table.to_ne_bytes());
    }
    if let Some((d, _)) = &r.dst {
        push_attr(&mut b, RTA_DST, &addr::addr_bytes(d));
    }
    if let Some(g) = &r.via {
        push_attr(&mut b, RTA_GATEWAY, &addr::addr_bytes(g));
    }
    if let Some(s) = &r.prefsrc {
        push_attr(&mut b, RTA_PREFSRC, &addr::addr_bytes(s));
    }
    if let Some(i) = oif {
        push_attr(&mut b, RTA_OIF, &i.to_ne_bytes());
    }
    if let Some(m) = r.metric {
        push_attr(&mut b, RTA_PRIORITY, &m.to_ne_bytes());
    }
    addr::finish(b)
}

/// Encodes an RTM_NEWRULE (`ip rule add`: CREATE|EXCL) or RTM_DELRULE.
pub fn encode_rule(r: &RuleSpec, add: bool, seq: u32) -> Vec<u8> {
    let (kind, flags) = if add {
        (RTM_NEWRULE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
    } else {
        (RTM_DELRULE, NLM_F_REQUEST | NLM_F_ACK)
    };
    let mut b = addr::begin(kind, flags, seq);
    let table_hdr = if r.table < 256 { r.table as u8 } else { 0 };
    let dst_len = r.to.map(|t| t.1).unwrap_or(0);
    let src_len = r.from.map(|f| f.1).unwrap_or(0);
    // fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action, flags.
    b.extend_from_slice(&[family(r.v6), dst_len, src_len, 0, table_hdr, 0, 0, r.action]);
    b.extend_from_slice(&(if r.invert { FIB_RULE_INVERT } else { 0 }).to_ne_bytes());
    if r.table >= 256 {
        push_attr(&mut b, FRA_TABLE, &r.table.to_ne_bytes());
    }
    if let Some(p) = r.priority {
        push_attr(&mut b, FRA_PRIORITY, &p.to_ne_bytes());
    }
    if let Some((a, _)) = &r.from {
        push_attr(&mut b, FRA_SRC, &addr::addr_bytes(a));
    }
    if let Some((a, _)) = &r.to {
        push_attr(&mut b, FRA_DST, &addr::addr_bytes(a));
    }
    if let Some((m, mask)) = r.fwmark {
        push_attr(&mut b, FRA_FWMARK, &m.to_ne_bytes());
        if let Some(k) = mask {
            push_attr(&mut b, FRA_FWMASK, &k.to_ne_bytes());
        }
    }
    if let Some(i) = &r.iif {
        name_attr(&mut b, FRA_IIFNAME, i);
    }
    if let Some(o) = &r.oif {
        name_attr(&mut b, FRA_OIFNAME, o);
    }
    push_attr(&mut b, FRA_PROTOCOL, &[r.proto]);
    addr::finish(b)
}

fn sep(label: &str) -> &'static str {
    if label.is_empty() { "" } else { " " }
}

fn route_text(r: &RouteSpec) -> String {
    let dst = match r.dst {
        Some((a, l)) => format!("{a}/{l}"),
        None => "default".into(),
    };
    match (&r.via, &r.dev) {
        (Some(v), Some(d)) => format!("{dst} via {v} dev {d}"),
        (Some(v), None) => format!("{dst} via {v}"),
        (None, Some(d)) => format!("{dst} dev {d}"),
        (None, None) => dst,
    }
}

/// Installs (`add`) or removes one route; "already there" and "already gone" are not errors.
pub fn apply_route(nl: &Netlink, r: &RouteSpec, add: bool) -> io::Result<()> {
    let oif = match &r.dev {
        Some(d) => Some(super::socket::ifindex(d)?),
        None => None,
    };
    match nl.call(|seq| encode_route(r, oif, add, seq)) {
        Err(e) if add && e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        Err(e) if !add && matches!(e.raw_os_error(), Some(libc::ESRCH) | Some(libc::ENOENT)) => Ok(()),
        r => r.map(|_| ()),
    }
}

/// Installs or removes one rule, with the same tolerance as [`apply_route`].
pub fn apply_rule(nl: &Netlink, r: &RuleSpec, add: bool) -> io::Result<()> {
    match nl.call(|seq| encode_rule(r, add, seq)) {
        Err(e) if add && e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        Err(e) if !add && matches!(e.raw_os_error(), Some(libc::ESRCH) | Some(libc::ENOENT)) => Ok(()),
        r => r.map(|_| ()),
    }
}

/// The routes and rules of one owner (an instance, or the static set).
#[derive(Debug, Clone, Default)]
pub struct Routing {
    pub routes: Vec<RouteSpec>,
    pub rules: Vec<RuleSpec>,
}

impl Routing {
    /// Resolves the config lines; lines that cannot be installed are logged and left out.
    pub fn from_config(who: &str, routes: &[Route], rules: &[Rule]) -> Routing {
        let mut out = Routing::default();
        for r in routes {
            match route_from_config(r) {
                Ok((spec, ignored)) => {
                    if !ignored.is_empty() {
                        warn!(
                            "{who} route {}: option(s) {} not supported - ignored",
                            r.words.join(" "),
                            ignored.join(" ")
                        );
                    }
                    out.routes.push(spec);
                }
                Err(e) => error!("{who} route {}: {e} - ignoring route", r.words.join(" ")),
            }
        }
        for r in rules {
            match rule_from_config(r) {
                Ok(spec) => out.rules.push(spec),
                Err(e) => error!("{who} rule {}: {e} - ignoring rule", r.words.join(" ")),
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.rules.is_empty()
    }

    /// Routes first, then rules (keepalived's order when going MASTER); `label` prefixes the
    /// log lines ("(VI_1)").
    pub fn set(&self, nl: &Netlink, label: &str, what: &str) {
        if !self.routes.is_empty() {
            info!("{label}{}setting {what} Routes", sep(label));
        }
        for r in &self.routes {
            if let Err(e) = apply_route(nl, r, true) {
                error!("{label} cannot add route {}: {e}", route_text(r));
            }
        }
        if !self.rules.is_empty() {
            info!("{label}{}setting {what} Rules", sep(label));
        }
        for r in &self.rules {
            if let Err(e) = apply_rule(nl, r, true) {
                error!("{label} cannot add rule {r:?}: {e}");
            }
        }
    }

    /// Rules first, then routes (keepalived's order when leaving MASTER).
    pub fn clear(&self, nl: &Netlink, label: &str, what: &str) {
        if !self.rules.is_empty() {
            info!("{label}{}removing {what} Rules", sep(label));
        }
        for r in &self.rules {
            if let Err(e) = apply_rule(nl, r, false) {
                error!("{label} cannot remove rule {r:?}: {e}");
            }
        }
        if !self.routes.is_empty() {
            info!("{label}{}removing {what} Routes", sep(label));
        }
        for r in &self.routes {
            if let Err(e) = apply_route(nl, r, false) {
                error!("{label} cannot remove route {}: {e}", route_text(r));
            }
        }
    }
}

/// `static_ipaddress`, `static_routes`, `static_rules`: set when the VRRP side starts and
/// removed when it stops (keepalived 2.2.7 removes them at stop, even an address that was
/// already there before it started).
#[derive(Debug, Clone, Default)]
pub struct Statics {
    vips: Vec<Vip>,
    routing: Routing,
}

impl Statics {
    pub fn from_config(v: &VrrpConfig) -> Statics {
        let mut vips = Vec::new();
        for a in &v.static_addresses {
            let Some(dev) = a.dev.as_deref() else {
                error!("static address {} has no dev - ignoring", a.addr);
                continue;
            };
            match super::socket::ifindex(dev) {
                Ok(idx) => vips.push(Vip::from_config(a, dev, idx)),
                Err(e) => error!("static address {}: interface {dev}: {e} - ignoring", a.addr),
            }
        }
        Statics { vips, routing: Routing::from_config("static", &v.static_routes, &v.static_rules) }
    }

    pub fn is_empty(&self) -> bool {
        self.vips.is_empty() && self.routing.is_empty()
    }

    pub fn set(&self, nl: &Netlink) {
        for v in &self.vips {
            if let Err(e) = nl.add(v) {
                error!("cannot add static address {}/{} on {}: {e}", v.addr, v.prefix, v.dev);
            }
        }
        self.routing.set(nl, "", "static");
    }

    pub fn clear(&self, nl: &Netlink) {
        self.routing.clear(nl, "", "static");
        for v in &self.vips {
            if let Err(e) = nl.del(v) {
                error!("cannot remove static address {}/{} from {}: {e}", v.addr, v.prefix, v.dev);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Pos;

    fn route(words: &str) -> Route {
        let ws: Vec<String> = words.split_whitespace().map(String::from).collect();
        Route {
            pos: Pos::none(),
            words: ws,
            kind: None,
            dst: None,
            src: None,
            via: None,
            dev: None,
            table: None,
            metric: None,
            scope: None,
            proto: None,
            no_track: false,
            inet6: false,
        }
    }

    fn hdr(b: &[u8]) -> (u32, u16, u16, u32) {
        (
            u32::from_ne_bytes(b[0..4].try_into().unwrap()),
            u16::from_ne_bytes(b[4..6].try_into().unwrap()),
            u16::from_ne_bytes(b[6..8].try_into().unwrap()),
            u32::from_ne_bytes(b[8..12].try_into().unwrap()),
        )
    }

    fn ne32(v: u32) -> [u8; 4] {
        v.to_ne_bytes()
    }

    #[test]
    fn route_via_dev_golden() {
        let mut r = route("10.96.0.0/24 via 10.77.90.253 dev eth0 metric 7");
        r.dst = Some(("10.96.0.0".parse().unwrap(), 24));
        r.via = Some("10.77.90.253".parse().unwrap());
        r.dev = Some("eth0".into());
        r.metric = Some(7);
        let (spec, ignored) = route_from_config(&r).unwrap();
        assert!(ignored.is_empty());
        let b = encode_route(&spec, Some(3), true, 5);
        let mut want = Vec::new();
        want.extend_from_slice(&ne32(60));
        want.extend_from_slice(&RTM_NEWROUTE.to_ne_bytes());
        want.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE).to_ne_bytes());
        want.extend_from_slice(&ne32(5));
        want.extend_from_slice(&ne32(0));
        // AF_INET /24, main table, proto keepalived, scope universe, unicast.
        want.extend_from_slice(&[2, 24, 0, 0, 254, 18, 0, 1]);
        want.extend_from_slice(&ne32(0));
        want.extend_from_slice(&[8, 0, 1, 0, 10, 96, 0, 0]); // RTA_DST
        want.extend_from_slice(&[8, 0, 5, 0, 10, 77, 90, 253]); // RTA_GATEWAY
        want.extend_from_slice(&[8, 0, 4, 0]); // RTA_OIF
        want.extend_from_slice(&ne32(3));
        want.extend_from_slice(&[8, 0, 6, 0]); // RTA_PRIORITY
        want.extend_from_slice(&ne32(7));
        assert_eq!(b, want);
        // The delete matches any scope and is not a create.
        let d = encode_route(&spec, Some(3), false, 6);
        assert_eq!(hdr(&d), (60, RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, 6));
        assert_eq!(&d[16..24], &[2, 24, 0, 0, 254, 18, 255, 1]);
    }

    #[test]
    fn blackhole_big_table_and_v6() {
        let mut r = route("blackhole 10.95.0.0/24 table 1000 scope link tos 0x10 onlink");
        r.kind = Some("blackhole".into());
        r.dst = Some(("10.95.0.0".parse().unwrap(), 24));
        r.table = Some("1000".into());
        r.scope = Some(Scope::Link);
        let (spec, _) = route_from_config(&r).unwrap();
        let b = encode_route(&spec, None, true, 1);
        // Table 1000 does not fit rtm_table: RT_TABLE_UNSPEC there and RTA_TABLE first.
        assert_eq!(&b[16..24], &[2, 24, 0, 0x10, 0, 18, 253, 6]);
        assert_eq!(&b[24..28], &ne32(RTNH_F_ONLINK));
        assert_eq!(&b[28..32], &[8, 0, 15, 0]);
        assert_eq!(&b[32..36], &ne32(1000));
        assert_eq!(b.len(), 36 + 8);

        let mut r = route("default via fe80::1 dev eth0 protocol static");
        r.via = Some("fe80::1".parse().unwrap());
        r.dev = Some("eth0".into());
        r.proto = Some("static".into());
        let (spec, _) = route_from_config(&r).unwrap();
        assert!(spec.v6 && spec.dst.is_none());
        let b = encode_route(&spec, Some(2), true, 1);
        assert_eq!(&b[16..24], &[libc::AF_INET6 as u8, 0, 0, 0, 254, 4, 0, 1]);
        assert_eq!(&b[28..32], &[20, 0, 5, 0], "gateway first, no RTA_DST for default");
    }

    #[test]
    fn route_errors_and_warnings() {
        let mut r = route("10.0.0.0/8 nexthop via 1.1.1.1");
        r.dst = Some(("10.0.0.0".parse().unwrap(), 8));
        assert_eq!(route_from_config(&r), Err(SpecError::Multipath));
        let mut r = route("10.0.0.0/8 via fe80::1");
        r.dst = Some(("10.0.0.0".parse().unwrap(), 8));
        r.via = Some("fe80::1".parse().unwrap());
        assert_eq!(route_from_config(&r), Err(SpecError::MixedFamilies));
        let mut r = route("10.0.0.0/8 dev eth0 table nosuchtable");
        r.table = Some("nosuchtable-xyz".into());
        assert!(matches!(route_from_config(&r), Err(SpecError::UnknownTable(_))));
        let mut r = route("10.0.0.0/8 dev eth0 mtu 1400 protocol nosuch");
        r.proto = Some("nosuch".into());
        let (spec, ignored) = route_from_config(&r).unwrap();
        assert_eq!(ignored, ["mtu"]);
        assert_eq!(spec.proto, PROTO_KEEPALIVED);
        for e in [
            SpecError::Multipath,
            SpecError::Goto,
            SpecError::UnknownTable("x".into()),
            SpecError::BadFwmark("y".into()),
            SpecError::MixedFamilies,
        ] {
            assert!(!e.to_string().is_empty());
        }
    }

    fn rule(words: &str) -> Rule {
        Rule { words: words.split_whitespace().map(String::from).collect(), ..Default::default() }
    }

    #[test]
    fn rule_from_table_golden() {
        let mut r = rule("from 10.94.0.0/24 table 101 priority 200");
        r.from = Some(("10.94.0.0".parse().unwrap(), 24));
        r.table = Some("101".into());
        r.priority = Some(200);
        let spec = rule_from_config(&r).unwrap();
        let b = encode_rule(&spec, true, 9);
        let mut want = Vec::new();
        want.extend_from_slice(&ne32(52));
        want.extend_from_slice(&RTM_NEWRULE.to_ne_bytes());
        want.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL).to_ne_bytes());
        want.extend_from_slice(&ne32(9));
        want.extend_from_slice(&ne32(0));
        // AF_INET, dst_len 0, src_len 24, tos 0, table 101, res, res, FR_ACT_TO_TBL, flags.
        want.extend_from_slice(&[2, 0, 24, 0, 101, 0, 0, 1]);
        want.extend_from_slice(&ne32(0));
        want.extend_from_slice(&[8, 0, 6, 0]); // FRA_PRIORITY
        want.extend_from_slice(&ne32(200));
        want.extend_from_slice(&[8, 0, 2, 0, 10, 94, 0, 0]); // FRA_SRC
        want.extend_from_slice(&[5, 0, 21, 0, 18, 0, 0, 0]); // FRA_PROTOCOL keepalived
        assert_eq!(b, want);
        let d = encode_rule(&spec, false, 10);
        assert_eq!(hdr(&d), (52, RTM_DELRULE, NLM_F_REQUEST | NLM_F_ACK, 10));
    }

    #[test]
    fn rule_actions_marks_names() {
        let mut r = rule("not to 2001:db8::/32 fwmark 0x10/0xff iif eth0 oif eth1 blackhole");
        r.not = true;
        r.to = Some(("2001:db8::".parse().unwrap(), 32));
        r.fwmark = Some("0x10/0xff".into());
        r.iif = Some("eth0".into());
        r.oif = Some("eth1".into());
        r.action = Some("blackhole".into());
        let spec = rule_from_config(&r).unwrap();
        assert_eq!(spec.fwmark, Some((16, Some(255))));
        let b = encode_rule(&spec, true, 1);
        assert_eq!(&b[16..24], &[libc::AF_INET6 as u8, 32, 0, 0, 0, 0, 0, FR_ACT_BLACKHOLE]);
        assert_eq!(&b[24..28], &ne32(FIB_RULE_INVERT));
        // FRA_DST (20), FWMARK (8), FWMASK (8), IIFNAME "eth0\0" (12), OIFNAME (12), PROTOCOL (8).
        assert_eq!(b.len(), 28 + 20 + 8 + 8 + 12 + 12 + 8);
        assert_eq!(&b[64..76], &[9, 0, 3, 0, b'e', b't', b'h', b'0', 0, 0, 0, 0]);

        r.fwmark = Some("0xzz".into());
        assert_eq!(rule_from_config(&r), Err(SpecError::BadFwmark("0xzz".into())));
        r.fwmark = Some("1/x".into());
        assert!(rule_from_config(&r).is_err());
        r.fwmark = Some("7".into());
        assert_eq!(rule_from_config(&r).unwrap().fwmark, Some((7, None)));
        let g = rule("from 1.2.3.4 goto 100");
        assert_eq!(rule_from_config(&g), Err(SpecError::Goto));
        let mut m = rule("from 1.2.3.4 to ::1");
        m.from = Some(("1.2.3.4".parse().unwrap(), 32));
        m.to = Some(("::1".parse().unwrap(), 128));
        assert_eq!(rule_from_config(&m), Err(SpecError::MixedFamilies));
        let mut t = rule("to 1.2.3.4 table nosuch");
        t.table = Some("nosuch-table-xyz".into());
        assert!(matches!(rule_from_config(&t), Err(SpecError::UnknownTable(_))));
        // No table: main; big table: FRA_TABLE.
        let mut n = rule("to 1.2.3.4");
        n.to = Some(("1.2.3.4".parse().unwrap(), 32));
        assert_eq!(rule_from_config(&n).unwrap().table, RT_TABLE_MAIN);
        n.table = Some("5000".into());
        let b = encode_rule(&rule_from_config(&n).unwrap(), true, 1);
        assert_eq!(b[20], 0);
        assert_eq!(&b[28..32], &[8, 0, 15, 0]);
        assert_eq!(&b[32..36], &ne32(5000));
    }

    #[test]
    fn statics_resolve_devices() {
        let mut v = VrrpConfig::default();
        let text = "static_ipaddress {\n 10.9.9.9/32 dev lo\n 10.9.9.8/32\n 10.9.9.7/32 dev no-such-if0\n}\n";
        let dir = std::env::temp_dir().join(format!("vrrp-statics-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let f = dir.join("s.conf");
        std::fs::write(&f, text).unwrap();
        let (cfg, _) = crate::config::load(&f, &crate::config::SourceOptions::default());
        v.static_addresses = cfg.vrrp.static_addresses;
        assert_eq!(v.static_addresses.len(), 3);
        let mut r = route("10.0.0.0/8 nexthop via 1.1.1.1");
        r.dst = Some(("10.0.0.0".parse().unwrap(), 8));
        v.static_routes = vec![r, route("default dev lo")];
        let s = Statics::from_config(&v);
        // Only the address on an existing device, only the installable route.
        assert_eq!(s.vips.len(), 1);
        assert_eq!(s.vips[0].dev, "lo");
        assert_eq!(s.routing.routes.len(), 1);
        assert!(!s.is_empty());
        assert!(Statics::from_config(&VrrpConfig::default()).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn protocol_names() {
        assert_eq!(proto_num(None), Some(18));
        assert_eq!(proto_num(Some("static")), Some(4));
        assert_eq!(proto_num(Some("99")), Some(99));
        assert_eq!(proto_num(Some("bogus")), None);
    }
}
