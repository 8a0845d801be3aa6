//! LVS-side sections: `virtual_server_group`, `virtual_server` (IP port, fwmark, group),
//! `real_server`, and the global `SSL` block. Checker blocks are parsed in `checker`;
//! keepalived's post-parse completion is in `lvs/finish.rs`, the `-d` dump in `lvs/dump.rs`.
//!
//! The AST is what the IPVS reconciler and the checker engine are driven from: after `finish`,
//! every value they need is resolved (protocol, scheduler, forwarding, ports, weights, and each
//! checker's effective timers), so they never re-apply keepalived's defaults.

mod dump;
mod finish;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

pub use dump::dump;
pub use finish::{check_references, finish};

use super::Pos;
use super::checker::{self, Checker, Level, Timing};
use super::script::{self, Script, UserArgs};
use super::tree::{Ctx, Kw, Node};

#[derive(Debug, Default, Clone)]
pub struct LvsConfig {
    pub groups: Vec<VsGroup>,
    pub virtual_servers: Vec<VirtualServer>,
    pub ssl: Option<SslConfig>,
}

impl LvsConfig {
    /// Every script stored in the LVS section, for the script-security checks.
    pub fn scripts_mut(&mut self) -> impl Iterator<Item = &mut Script> {
        self.virtual_servers.iter_mut().flat_map(|vs| {
            let vs_scripts = vs.quorum_up.iter_mut().chain(vs.quorum_down.iter_mut());
            let rs_scripts = vs.real_servers.iter_mut().flat_map(|rs| {
                let notify = rs.notify_up.as_deref_mut().into_iter().chain(rs.notify_down.as_deref_mut());
                let misc = rs.checkers.iter_mut().filter_map(|c| match &mut c.kind {
                    checker::CheckerKind::Misc(m) => m.path.as_mut(),
                    _ => None,
                });
                notify.chain(misc)
            });
            vs_scripts.chain(rs_scripts)
        })
    }

    pub fn group(&self, name: &str) -> Option<&VsGroup> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The IPVS services a virtual server stands for: itself, or one per address of its group's
    /// ranges and one per group fwmark (2.2.7 without nftables_ipvs). Lazy: a range may be large.
    pub fn services<'a>(&'a self, vs: &'a VirtualServer) -> Box<dyn Iterator<Item = ServiceId> + 'a> {
        let proto = vs.protocol.unwrap_or(Protocol::Udp);
        match &vs.key {
            VsKey::Addr { addr, port } => {
                Box::new(std::iter::once(ServiceId::Addr { addr: *addr, port: *port, protocol: proto }))
            }
            VsKey::Fwmark(m) => Box::new(std::iter::once(ServiceId::Fwmark { mark: *m, family: vs.family })),
            VsKey::Group(name) => {
                let entries = self.group(name).map(|g| g.entries.as_slice()).unwrap_or(&[]);
                Box::new(entries.iter().flat_map(move |e| -> Box<dyn Iterator<Item = ServiceId>> {
                    match e {
                        GroupEntry::Fwmark { mark, family, .. } => Box::new(std::iter::once(ServiceId::Fwmark {
                            mark: *mark,
                            family: family.unwrap_or(vs.family),
                        })),
                        GroupEntry::Range { first, last, port, .. } => {
                            let port = *port;
                            Box::new(range_addrs(*first, *last).map(move |addr| ServiceId::Addr {
                                addr,
                                port,
                                protocol: proto,
                            }))
                        }
                    }
                }))
            }
        }
    }
}

/// One IPVS service (what `ipvsadm -A` takes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceId {
    Addr { addr: IpAddr, port: u16, protocol: Protocol },
    Fwmark { mark: u32, family: Family },
}

/// Every address from `first` to `last` inclusive (same family; empty otherwise).
pub fn range_addrs(first: IpAddr, last: IpAddr) -> Box<dyn Iterator<Item = IpAddr>> {
    match (first, last) {
        (IpAddr::V4(f), IpAddr::V4(l)) => {
            Box::new((u32::from(f)..=u32::from(l)).map(|v| IpAddr::V4(Ipv4Addr::from(v))))
        }
        (IpAddr::V6(f), IpAddr::V6(l)) => {
            Box::new((u128::from(f)..=u128::from(l)).map(|v| IpAddr::V6(Ipv6Addr::from(v))))
        }
        _ => Box::new(std::iter::empty()),
    }
}

/// The root `SSL { ... }` block used by SSL_GET.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SslConfig {
    pub pos: Option<Pos>,
    pub password: Option<String>,
    pub ca: Option<String>,
    pub certificate: Option<String>,
    pub key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub fn of(a: &IpAddr) -> Family {
        if a.is_ipv4() { Family::Inet } else { Family::Inet6 }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VsGroup {
    pub pos: Pos,
    pub name: String,
    pub entries: Vec<GroupEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupEntry {
    /// An address, a range (`a.b.c.d-e`, `a-b`) or a CIDR block, all as inclusive ranges.
    Range {
        pos: Pos,
        first: IpAddr,
        last: IpAddr,
        port: u16,
    },
    Fwmark {
        pos: Pos,
        mark: u32,
        family: Option<Family>,
    },
}

/// How a virtual server is identified.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VsKey {
    Addr { addr: IpAddr, port: u16 },
    Fwmark(u32),
    Group(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_uppercase().as_str() {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }
    /// The IP protocol number IPVS wants.
    pub fn ipproto(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
    fn lower(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    #[default]
    Wlc,
    Lblc,
    Sh,
    Mh,
    Dh,
    Fo,
    Ovf,
    Lblcr,
    Sed,
    Nq,
    Twos,
}

const SCHEDULERS: [(&str, Scheduler); 14] = [
    ("rr", Scheduler::Rr),
    ("wrr", Scheduler::Wrr),
    ("lc", Scheduler::Lc),
    ("wlc", Scheduler::Wlc),
    ("lblc", Scheduler::Lblc),
    ("sh", Scheduler::Sh),
    ("mh", Scheduler::Mh),
    ("dh", Scheduler::Dh),
    ("fo", Scheduler::Fo),
    ("ovf", Scheduler::Ovf),
    ("lblcr", Scheduler::Lblcr),
    ("sed", Scheduler::Sed),
    ("nq", Scheduler::Nq),
    ("twos", Scheduler::Twos),
];

impl Scheduler {
    /// Case-sensitive, as keepalived compares them.
    pub fn parse(s: &str) -> Option<Scheduler> {
        SCHEDULERS.iter().find(|(n, _)| *n == s).map(|(_, v)| *v)
    }
    /// The kernel scheduler module name (`ip_vs_<name>`), as sent to IPVS.
    pub fn as_str(self) -> &'static str {
        SCHEDULERS.iter().find(|(_, v)| *v == self).map(|(n, _)| *n).unwrap_or("wlc")
    }
}

/// Scheduler flags (`ipvsadm -b`). sh-fallback/mh-fallback are flag-1, sh-port/mh-port flag-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchedFlags {
    pub hashed: bool,
    pub flag_1: bool,
    pub flag_2: bool,
    pub flag_3: bool,
}

/// IPVS service flag bits (linux/ip_vs.h).
pub const IP_VS_SVC_F_PERSISTENT: u32 = 0x1;
pub const IP_VS_SVC_F_HASHED: u32 = 0x2;
pub const IP_VS_SVC_F_ONEPACKET: u32 = 0x4;
pub const IP_VS_SVC_F_SCHED1: u32 = 0x8;
pub const IP_VS_SVC_F_SCHED2: u32 = 0x10;
pub const IP_VS_SVC_F_SCHED3: u32 = 0x20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelType {
    Ipip,
    Gue,
    Gre,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TunnelCsum {
    #[default]
    NoCsum,
    Csum,
    RemCsum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tunnel {
    pub kind: TunnelType,
    /// GUE destination port (required for, and only for, GUE).
    pub port: Option<u16>,
    pub csum: TunnelCsum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Forwarding {
    #[default]
    Nat,
    Dr,
    Tun(Tunnel),
}

impl Forwarding {
    /// IPVS `IP_VS_CONN_F_*` forwarding value.
    pub fn ipvs_fwd(self) -> u32 {
        match self {
            Forwarding::Nat => 0,
            Forwarding::Tun(_) => 2,
            Forwarding::Dr => 3,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Forwarding::Nat => "NAT",
            Forwarding::Dr => "DR",
            Forwarding::Tun(_) => "TUN",
        }
    }
}

/// `persistence_granularity`: an IPv4 netmask or an IPv6 prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    V4(Ipv4Addr),
    V6(u8),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SorryServer {
    pub pos: Pos,
    pub addr: IpAddr,
    pub port: u16,
    /// Resolved: `sorry_server_lvs_method`, else the virtual server's.
    pub forwarding: Forwarding,
    pub forwarding_set: Option<Forwarding>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VirtualServer {
    pub pos: Pos,
    pub key: VsKey,
    /// `ip_family` as configured.
    pub ip_family: Option<Family>,
    /// Resolved address family of the service.
    pub family: Family,
    /// Resolved: None for fwmark services (and fwmark-only groups), which have no protocol.
    pub protocol: Option<Protocol>,
    pub protocol_set: Option<Protocol>,
    pub scheduler: Scheduler,
    pub scheduler_set: bool,
    pub sched_flags: SchedFlags,
    /// One-packet scheduling (UDP only).
    pub ops: bool,
    pub forwarding: Forwarding,
    pub forwarding_set: bool,
    /// Seconds; Some means the service is persistent.
    pub persistence_timeout: Option<u32>,
    pub persistence_granularity: Option<Granularity>,
    pub persistence_engine: Option<String>,
    pub ha_suspend: bool,
    pub alpha: bool,
    pub omega: bool,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<Script>,
    pub quorum_down: Option<Script>,
    /// Default real server weight.
    pub weight: u32,
    pub virtualhost: Option<String>,
    pub smtp_alert: Option<bool>,
    pub snmp_name: Option<String>,
    pub sorry_server: Option<SorryServer>,
    pub sorry_server_inhibit: bool,
    pub inhibit_on_failure: bool,
    pub set: Timing,
    /// Resolved `delay_loop` (60 s by default).
    pub delay_loop: Duration,
    pub real_servers: Vec<RealServer>,
}

impl VirtualServer {
    fn new(pos: Pos, key: VsKey) -> Self {
        let family = match &key {
            VsKey::Addr { addr, .. } => Family::of(addr),
            _ => Family::Inet,
        };
        VirtualServer {
            pos,
            key,
            ip_family: None,
            family,
            protocol: None,
            protocol_set: None,
            scheduler: Scheduler::Wlc,
            scheduler_set: false,
            sched_flags: SchedFlags::default(),
            ops: false,
            forwarding: Forwarding::Nat,
            forwarding_set: false,
            persistence_timeout: None,
            persistence_granularity: None,
            persistence_engine: None,
            ha_suspend: false,
            alpha: false,
            omega: false,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            weight: 1,
            virtualhost: None,
            smtp_alert: None,
            snmp_name: None,
            sorry_server: None,
            sorry_server_inhibit: false,
            inhibit_on_failure: false,
            set: Timing::default(),
            delay_loop: Duration::from_secs(60),
            real_servers: Vec::new(),
        }
    }

    /// IPVS service flags from the configuration.
    pub fn ipvs_flags(&self) -> u32 {
        let f = &self.sched_flags;
        let mut v = 0;
        if self.persistence_timeout.is_some() {
            v |= IP_VS_SVC_F_PERSISTENT;
        }
        if f.hashed {
            v |= IP_VS_SVC_F_HASHED;
        }
        if self.ops {
            v |= IP_VS_SVC_F_ONEPACKET;
        }
        if f.flag_1 {
            v |= IP_VS_SVC_F_SCHED1;
        }
        if f.flag_2 {
            v |= IP_VS_SVC_F_SCHED2;
        }
        if f.flag_3 {
            v |= IP_VS_SVC_F_SCHED3;
        }
        v
    }

    /// keepalived's name for one of its real servers in messages: `[10.0.0.2]:tcp:80`, with the
    /// virtual server's protocol whatever the checker speaks (2.2.7 logs `[10.0.0.5]:tcp:53` for a
    /// DNS_CHECK on a TCP service).
    pub fn rs_label(&self, rs: &RealServer) -> String {
        self.server_label(rs.addr, rs.port)
    }

    /// The sorry server named the same way (2.2.7: "Adding sorry server [10.0.9.2]:tcp:80 to VS ...").
    pub fn sorry_label(&self) -> Option<String> {
        self.sorry_server.as_ref().map(|s| self.server_label(s.addr, s.port))
    }

    fn server_label(&self, addr: IpAddr, port: u16) -> String {
        let proto = self.protocol.map(Protocol::lower).unwrap_or("none");
        format!("[{addr}]:{proto}:{port}")
    }

    /// keepalived's name for the service in messages: `[10.0.0.1]:tcp:80`, `FWM 1`, `[G]:0`.
    pub fn label(&self) -> String {
        let proto = self.protocol.or(self.protocol_set).map(Protocol::lower).unwrap_or("none");
        match &self.key {
            VsKey::Addr { addr, port } => format!("[{addr}]:{proto}:{port}"),
            VsKey::Fwmark(m) => format!("FWM {m}"),
            VsKey::Group(g) => format!("[{g}]:{}", self.port()),
        }
    }

    /// The service port (0 for fwmark and group services).
    pub fn port(&self) -> u16 {
        match &self.key {
            VsKey::Addr { port, .. } => *port,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RealServer {
    pub pos: Pos,
    pub addr: IpAddr,
    /// Resolved by finish (VS port when not given, 0 for non-NAT fwmark services).
    pub port: u16,
    pub port_set: Option<u16>,
    /// Resolved: `weight`, else the virtual server's `weight`.
    pub weight: u32,
    pub weight_set: Option<u32>,
    /// Resolved: `lvs_method`, else the virtual server's.
    pub forwarding: Forwarding,
    pub forwarding_set: Option<Forwarding>,
    /// Boxed: most real servers have none, and a `Script` is 136 bytes (x 10,000 servers).
    pub notify_up: Option<Box<Script>>,
    pub notify_down: Option<Box<Script>>,
    pub uthreshold: Option<u32>,
    pub lthreshold: Option<u32>,
    /// Resolved: RS value, else the VS's.
    pub inhibit_on_failure: bool,
    pub inhibit_set: Option<bool>,
    pub alpha: bool,
    pub alpha_set: Option<bool>,
    pub smtp_alert: Option<bool>,
    pub virtualhost: Option<String>,
    pub snmp_name: Option<String>,
    pub set: Timing,
    pub checkers: Vec<Checker>,
}

impl RealServer {
    /// Up before any check result: a server is alive when all its checkers are, and a checker
    /// starts down only in alpha mode (its own `alpha`, else the RS's, else the VS's).
    pub fn initially_alive(&self) -> bool {
        self.checkers.iter().all(|c| !c.alpha)
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// Handle a root keyword if it is an LVS one.
pub fn parse_root(n: &Node, ctx: &mut Ctx<'_>, l: &mut LvsConfig) -> Option<Kw> {
    match n.keyword() {
        "virtual_server_group" => {
            if n.block.is_none() && n.arg(1).is_some() {
                // 2.2.7 then reads the following lines as group entries and stops with a fatal
                // "missing a parameter" error.
                ctx.fatal(n.pos(), "virtual_server_group without '{': keepalived 2.2.7 cannot recover");
            }
            if let Some(name) = ctx.need(n, 1) {
                let g = parse_group(n, ctx, name.to_string());
                l.groups.push(g);
            }
            Some(Kw::Block)
        }
        "virtual_server" => {
            if let Some(vs) = parse_vs(n, ctx) {
                l.virtual_servers.push(vs);
            }
            Some(Kw::Block)
        }
        "SSL" => {
            l.ssl = Some(parse_ssl(n, ctx));
            Some(Kw::Block)
        }
        _ => None,
    }
}

fn parse_ssl(n: &Node, ctx: &mut Ctx<'_>) -> SslConfig {
    let mut s = SslConfig { pos: Some(n.pos().clone()), ..SslConfig::default() };
    ctx.walk(n.children(), &mut |ctx, c| {
        let slot = match c.keyword() {
            "password" => &mut s.password,
            "ca" => &mut s.ca,
            "certificate" => &mut s.certificate,
            "key" => &mut s.key,
            _ => return Kw::Unknown,
        };
        // A missing value is a plain config error here, not keepalived's fatal "missing parameter".
        match c.arg_str(1) {
            Some(v) => *slot = Some(v.to_string()),
            None => ctx.error(c.pos(), format!("SSL {} missing", c.keyword())),
        }
        Kw::Leaf
    });
    s
}

/// Parse an IP address (no `%scope`: 2.2.7 rejects it for servers).
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

fn parse_group(n: &Node, ctx: &mut Ctx<'_>, name: String) -> VsGroup {
    let mut g = VsGroup { pos: n.pos().clone(), name, entries: Vec::new() };
    ctx.walk(n.children(), &mut |ctx, c| {
        if c.keyword() == "fwmark" {
            let Some(s) = ctx.need(c, 1) else { return Kw::Leaf };
            let Some(mark) = num(s).and_then(|v| u32::try_from(v).ok()) else {
                ctx.error(c.pos(), format!("({}): fwmark '{s}' must be in [0, 4294967295] - ignoring", g.name));
                return Kw::Leaf;
            };
            let family = match c.arg_str(2) {
                None => None,
                Some("inet") => Some(Family::Inet),
                Some("inet6") => Some(Family::Inet6),
                Some(f) => {
                    ctx.error(c.pos(), format!("({}): fwmark '{mark}' family {f} unknown - ignoring", g.name));
                    return Kw::Leaf;
                }
            };
            g.entries.push(GroupEntry::Fwmark { pos: c.pos().clone(), mark, family });
            return Kw::Leaf;
        }
        let spec = c.keyword();
        let port = match c.arg_str(1) {
            None => Some(0),
            Some(p) => num(p).and_then(|v| u16::try_from(v).ok()),
        };
        let Some(port) = port else {
            let p = c.arg_str(1).unwrap_or("");
            ctx.error(c.pos(), format!("Invalid virtual server group IP address {spec} /port/{p} - skipping"));
            return Kw::Leaf;
        };
        match parse_range(spec) {
            Ok((first, last)) => g.entries.push(GroupEntry::Range { pos: c.pos().clone(), first, last, port }),
            Err(msg) => ctx.error(c.pos(), msg),
        }
        Kw::Leaf
    });
    g
}

/// `IP`, `IP-END` (END replaces the last octet, or last 16-bit group for IPv6), `IP-IP`, or
/// `IP/nn` (from IP to the end of its subnet). Returns the inclusive range.
pub fn parse_range(spec: &str) -> Result<(IpAddr, IpAddr), String> {
    let bad = || format!("Invalid virtual server group IP address {spec} - skipping");
    if let Some((a, len)) = spec.split_once('/') {
        let first = parse_ip(a).ok_or_else(bad)?;
        let max = if first.is_ipv4() { 32 } else { 128 };
        let len = match super::tree::parse_uint(len) {
            Some(l) if l <= max => l as u32,
            _ => return Err(format!("Invalid netmask - {spec} - skipping")),
        };
        let last = match first {
            IpAddr::V4(v) => {
                let host = if len == 0 { u32::MAX } else { u32::MAX >> len };
                IpAddr::V4(Ipv4Addr::from(u32::from(v) | host))
            }
            IpAddr::V6(v) => {
                let host = if len == 0 { u128::MAX } else { u128::MAX >> len };
                IpAddr::V6(Ipv6Addr::from(u128::from(v) | host))
            }
        };
        return Ok((first, last));
    }
    let Some((a, end)) = spec.split_once('-') else {
        let ip = parse_ip(spec).ok_or_else(bad)?;
        return Ok((ip, ip));
    };
    let first = parse_ip(a).ok_or_else(bad)?;
    let last = if let Some(full) = parse_ip(end) {
        full
    } else {
        match first {
            IpAddr::V4(v) => {
                let e = super::tree::parse_uint(end).ok_or_else(bad)?;
                if e > 255 {
                    return Err(format!("Virtual server group range '{spec}' end '{end}' too large"));
                }
                let mut o = v.octets();
                o[3] = e as u8;
                IpAddr::V4(Ipv4Addr::from(o))
            }
            IpAddr::V6(v) => {
                let e = u16::from_str_radix(end, 16)
                    .map_err(|_| format!("Virtual server group range '{spec}' end '{end}' too large"))?;
                let mut s = v.segments();
                s[7] = e;
                IpAddr::V6(Ipv6Addr::from(s))
            }
        }
    };
    if first.is_ipv4() != last.is_ipv4() {
        return Err(bad());
    }
    let (f, l) = match (first, last) {
        (IpAddr::V4(f), IpAddr::V4(l)) => (u128::from(u32::from(f)), u128::from(u32::from(l))),
        (IpAddr::V6(f), IpAddr::V6(l)) => (u128::from(f), u128::from(l)),
        _ => return Err(bad()),
    };
    if l <= f {
        return Err(format!("Address range end is not greater than address range start - {spec} - skipping"));
    }
    Ok((first, last))
}

/// Parse `lvs_method`/`lb_kind` arguments from token 1: `NAT|DR|TUN [type ipip|gue port N|gre]
/// [nocsum|csum|remcsum]`. `what` names the owner in messages.
fn parse_forwarding(n: &Node, ctx: &mut Ctx<'_>, what: &str) -> Option<Forwarding> {
    let m = ctx.need(n, 1)?;
    let mut fwd = match m {
        "NAT" => Forwarding::Nat,
        "DR" => Forwarding::Dr,
        "TUN" => Forwarding::Tun(Tunnel { kind: TunnelType::Ipip, port: None, csum: TunnelCsum::NoCsum }),
        _ => {
            ctx.error(n.pos(), format!("PARSER : unknown [{m}] routing method for {what}."));
            return None;
        }
    };
    let args = &n.tokens[2..];
    let mut i = 0;
    let mut tun = match fwd {
        Forwarding::Tun(t) => Some(t),
        _ => None,
    };
    let mut csum_given = false;
    while let Some(t) = args.get(i) {
        match (t.text.as_str(), tun.as_mut()) {
            ("type", Some(tn)) => {
                i += 1;
                match args.get(i).map(|t| t.text.as_str()) {
                    Some("ipip") => tn.kind = TunnelType::Ipip,
                    Some("gre") => tn.kind = TunnelType::Gre,
                    Some("gue") => tn.kind = TunnelType::Gue,
                    other => {
                        ctx.error(&t.pos, format!("Unknown tunnel type {} for {what}.", other.unwrap_or("")));
                        return None;
                    }
                }
            }
            ("port", Some(tn)) => {
                i += 1;
                match args.get(i).and_then(|p| num(&p.text)) {
                    Some(p) if (1..=65535).contains(&p) => tn.port = Some(p as u16),
                    _ => {
                        ctx.error(&t.pos, format!("Invalid gue tunnel port for {what}."));
                        return None;
                    }
                }
            }
            ("nocsum", Some(tn)) => {
                tn.csum = TunnelCsum::NoCsum;
                csum_given = true;
            }
            ("csum", Some(tn)) => {
                tn.csum = TunnelCsum::Csum;
                csum_given = true;
            }
            ("remcsum", Some(tn)) => {
                tn.csum = TunnelCsum::RemCsum;
                csum_given = true;
            }
            (other, _) => {
                ctx.error(&t.pos, format!("Invalid tunnel option {other} for {what}."));
                return None;
            }
        }
        i += 1;
    }
    if let Some(tn) = tun {
        if (tn.kind == TunnelType::Gue) != tn.port.is_some() {
            ctx.error(n.pos(), "gue tunnels require port, otherwise cannot have port.");
            return None;
        }
        if tn.kind == TunnelType::Ipip && csum_given && tn.csum != TunnelCsum::NoCsum {
            ctx.error(n.pos(), "ipip tunnels do not support checksum option.");
            return None;
        }
        if tn.kind == TunnelType::Gre && tn.csum == TunnelCsum::RemCsum {
            ctx.error(n.pos(), "gre tunnels do not support remote checksum option.");
            return None;
        }
        fwd = Forwarding::Tun(tn);
    }
    Some(fwd)
}

/// An unsigned number as 2.2.7 reads ports and marks (strtoul: a leading `+` is accepted).
fn num(s: &str) -> Option<u64> {
    super::tree::parse_uint(s.strip_prefix('+').unwrap_or(s))
}

/// `[port]` at token `i`: absent = 0.
fn opt_port(n: &Node, i: usize) -> Option<u16> {
    match n.arg_str(i) {
        None => Some(0),
        Some(p) => num(p).and_then(|v| u16::try_from(v).ok()),
    }
}

fn parse_vs(n: &Node, ctx: &mut Ctx<'_>) -> Option<VirtualServer> {
    let a1 = ctx.need(n, 1)?;
    let key = match a1 {
        "fwmark" => {
            let s = ctx.need(n, 2)?;
            match num(s).and_then(|v| u32::try_from(v).ok()) {
                // keepalived 2.2.7 takes fwmark 0 as "no fwmark" and ends up with an address-less
                // service; it is never usable, so say so here.
                Some(0) => {
                    ctx.error(n.pos(), "virtual server fwmark 0 is not a valid firewall mark - ignoring");
                    return None;
                }
                Some(m) => VsKey::Fwmark(m),
                None => {
                    ctx.error(n.pos(), format!("virtual server fwmark '{s}' must be in [0, 4294967295] - ignoring"));
                    return None;
                }
            }
        }
        "group" => VsKey::Group(ctx.need(n, 2)?.to_string()),
        ip => match (parse_ip(ip), opt_port(n, 2)) {
            (Some(addr), Some(port)) => VsKey::Addr { addr, port },
            _ => {
                let p = n.arg_str(2).unwrap_or("");
                ctx.error(n.pos(), format!("Invalid virtual server IP address/port {ip}/{p} - skipping"));
                return None;
            }
        },
    };
    let mut vs = VirtualServer::new(n.pos().clone(), key);
    ctx.walk(n.children(), &mut |ctx, c| {
        if let Some(k) = checker::parse_timing(c, ctx, &mut vs.set, Level::VirtualServer, true) {
            return k;
        }
        match c.keyword() {
            "real_server" => {
                // Without its block 2.2.7 never creates the server (it reads on as if the next
                // line were inside it).
                if c.block.is_none() {
                    return Kw::Block;
                }
                if let Some(rs) = parse_rs(c, ctx) {
                    vs.real_servers.push(rs);
                }
                return Kw::Block;
            }
            "lb_algo" | "lvs_sched" => {
                if let Some(s) = ctx.need(c, 1) {
                    match Scheduler::parse(s) {
                        Some(v) => {
                            vs.scheduler = v;
                            vs.scheduler_set = true;
                        }
                        None => ctx.error(c.pos(), format!("Invalid lvs_scheduler '{s}' - ignoring")),
                    }
                }
            }
            "lb_kind" | "lvs_method" => {
                if let Some(f) = parse_forwarding(c, ctx, "virtual server") {
                    vs.forwarding = f;
                    vs.forwarding_set = true;
                }
            }
            // These need `lb_algo sh|mh` earlier in the block (2.2.7's message only says sh).
            "hashed" | "sh-fallback" | "mh-fallback" | "sh-port" | "mh-port"
                if !(vs.scheduler_set && matches!(vs.scheduler, Scheduler::Sh | Scheduler::Mh)) =>
            {
                ctx.error(c.pos(), format!("{} only applies to sh scheduler - ignoring", c.keyword()))
            }
            "hashed" => vs.sched_flags.hashed = true,
            "flag-1" | "sh-fallback" | "mh-fallback" => vs.sched_flags.flag_1 = true,
            "flag-2" | "sh-port" | "mh-port" => vs.sched_flags.flag_2 = true,
            "flag-3" => vs.sched_flags.flag_3 = true,
            "ops" => vs.ops = true,
            "protocol" => {
                if let Some(p) = ctx.need(c, 1) {
                    match Protocol::parse(p) {
                        Some(v) => vs.protocol_set = Some(v),
                        None => ctx.error(c.pos(), format!("Unknown protocol {p} - ignoring")),
                    }
                }
            }
            "persistence_timeout" => match c.arg_str(1) {
                None => vs.persistence_timeout = Some(360),
                Some(_) => match ctx.uint(c, 1, 1, 2_678_400) {
                    Some(v) => vs.persistence_timeout = Some(v as u32),
                    None => ctx.error(c.pos(), "persistence_timeout invalid"),
                },
            },
            "persistence_granularity" => {
                if let Some(s) = ctx.need(c, 1) {
                    // Without an address (fwmark, group) the mask's form decides the family.
                    let fam = match (&vs.key, vs.ip_family) {
                        (VsKey::Addr { .. }, _) => vs.family,
                        (_, Some(f)) => f,
                        _ if s.contains('.') => Family::Inet,
                        _ => Family::Inet6,
                    };
                    vs.persistence_granularity = parse_granularity(c, ctx, s, fam);
                }
            }
            "persistence_engine" => vs.persistence_engine = ctx.need(c, 1).map(str::to_string),
            "ha_suspend" => vs.ha_suspend = true,
            // At the virtual server level these take no value (2.2.7 ignores any given).
            "alpha" => vs.alpha = true,
            "omega" => vs.omega = true,
            "inhibit_on_failure" => vs.inhibit_on_failure = true,
            "quorum" => match ctx.uint(c, 1, 1, u64::from(u32::MAX)) {
                Some(v) => vs.quorum = v as u32,
                None if c.arg(1).is_some() => {
                    ctx.error(c.pos(), "Quorum must be in [1, 4294967295]. Setting to 1.");
                    vs.quorum = 1;
                }
                None => {}
            },
            "hysteresis" => {
                if let Some(v) = ctx.uint(c, 1, 0, u64::from(u32::MAX)) {
                    vs.hysteresis = v as u32;
                }
            }
            "quorum_up" => vs.quorum_up = ctx.need(c, 1).and_then(|_| script::parse(c, ctx, UserArgs::Allowed)),
            "quorum_down" => vs.quorum_down = ctx.need(c, 1).and_then(|_| script::parse(c, ctx, UserArgs::Allowed)),
            "weight" => match ctx.uint(c, 1, 1, 2_147_483_647) {
                Some(v) => vs.weight = v as u32,
                None if c.arg(1).is_some() => ctx.error(c.pos(), "Virtual server weight is outside range 1-2147483647"),
                None => {}
            },
            "virtualhost" => vs.virtualhost = string_arg(c, ctx, "virtual server virtualhost missing"),
            "snmp_name" => vs.snmp_name = one_word(c, ctx, "virtual server"),
            "smtp_alert" => {
                if let Some(b) = checker::opt_bool(c, ctx, "virtual_server smtp_alert") {
                    vs.smtp_alert = Some(b);
                }
            }
            "ip_family" => {
                if let Some(f) = ctx.need(c, 1) {
                    let fam = match f {
                        "inet" => Family::Inet,
                        "inet6" => Family::Inet6,
                        _ => {
                            ctx.error(c.pos(), format!("unknown address family {f}"));
                            return Kw::Leaf;
                        }
                    };
                    if let VsKey::Addr { addr, .. } = &vs.key
                        && Family::of(addr) != fam
                    {
                        ctx.error(c.pos(), format!("Virtual server specified family {f} conflicts with server family"));
                        return Kw::Leaf;
                    }
                    vs.ip_family = Some(fam);
                }
            }
            "sorry_server" => {
                let Some(ip) = ctx.need(c, 1) else { return Kw::Leaf };
                match (parse_ip(ip), opt_port(c, 2)) {
                    (Some(addr), Some(port)) => {
                        vs.sorry_server = Some(SorryServer {
                            pos: c.pos().clone(),
                            addr,
                            port,
                            forwarding: Forwarding::Nat,
                            forwarding_set: None,
                        })
                    }
                    _ => ctx.error(c.pos(), format!("Invalid sorry server IP address {ip} - skipping")),
                }
            }
            "sorry_server_inhibit" => {
                if vs.sorry_server.is_some() {
                    vs.sorry_server_inhibit = true;
                } else {
                    ctx.error(c.pos(), "Ignoring sorry_server inhibit used before or without sorry_server");
                }
            }
            // Only valid after `sorry_server` (checked first: a bare keyword is not fatal then).
            "sorry_server_lvs_method" => match vs.sorry_server.as_mut() {
                None => ctx.error(c.pos(), "sorry_server forwarding used without sorry_server"),
                Some(ss) => {
                    if let Some(f) = parse_forwarding(c, ctx, "sorry server") {
                        ss.forwarding_set = Some(f);
                    }
                }
            },
            _ => return Kw::Unknown,
        }
        Kw::Leaf
    });
    // Doubling left up to half the vector unused; the list is final now.
    vs.real_servers.shrink_to_fit();
    Some(vs)
}

/// A string value whose absence is a plain config error (`msg`), not a fatal one.
fn string_arg(c: &Node, ctx: &mut Ctx<'_>, msg: &str) -> Option<String> {
    let v = c.arg_str(1).map(str::to_string);
    if v.is_none() {
        ctx.error(c.pos(), msg);
    }
    v
}

/// `snmp_name`: exactly one word.
fn one_word(c: &Node, ctx: &mut Ctx<'_>, what: &str) -> Option<String> {
    if c.args().len() != 1 {
        ctx.error(c.pos(), format!("{what} snmp_name missing or extra parameters"));
        return None;
    }
    c.arg_str(1).map(str::to_string)
}

fn parse_granularity(c: &Node, ctx: &mut Ctx<'_>, s: &str, fam: Family) -> Option<Granularity> {
    match fam {
        Family::Inet6 => match super::tree::parse_uint(s) {
            Some(v) if (1..=128).contains(&v) => Some(Granularity::V6(v as u8)),
            _ => {
                ctx.error(c.pos(), format!("Invalid IPv6 persistence_granularity specified - {s}"));
                None
            }
        },
        // inet_aton semantics: a plain number is accepted as an address (24 = 0.0.0.24).
        Family::Inet => match s.parse::<Ipv4Addr>() {
            Ok(a) => Some(Granularity::V4(a)),
            Err(_) => match super::tree::parse_uint(s).and_then(|v| u32::try_from(v).ok()) {
                Some(v) => Some(Granularity::V4(Ipv4Addr::from(v))),
                None => {
                    ctx.error(c.pos(), format!("Invalid IPv4 persistence_granularity specified - {s}"));
                    None
                }
            },
        },
    }
}

fn parse_rs(n: &Node, ctx: &mut Ctx<'_>) -> Option<RealServer> {
    let ip = ctx.need(n, 1)?;
    let (addr, port) = match (parse_ip(ip), n.arg_str(2).map(num)) {
        (Some(a), None) => (a, None),
        (Some(a), Some(Some(p))) if p <= 65535 => (a, Some(p as u16)),
        _ => {
            let p = n.arg_str(2).unwrap_or("");
            ctx.error(n.pos(), format!("Invalid real server ip address/port {ip}/{p} - skipping"));
            return None;
        }
    };
    let mut rs = RealServer {
        pos: n.pos().clone(),
        addr,
        port: port.unwrap_or(0),
        port_set: port,
        weight: 1,
        weight_set: None,
        forwarding: Forwarding::Nat,
        forwarding_set: None,
        notify_up: None,
        notify_down: None,
        uthreshold: None,
        lthreshold: None,
        inhibit_on_failure: false,
        inhibit_set: None,
        alpha: false,
        alpha_set: None,
        smtp_alert: None,
        virtualhost: None,
        snmp_name: None,
        set: Timing::default(),
        checkers: Vec::new(),
    };
    let label = match port {
        Some(p) => format!("[{addr}]:{p}"),
        None => format!("[{addr}]"),
    };
    ctx.walk(n.children(), &mut |ctx, c| {
        if let Some(k) = checker::parse_timing(c, ctx, &mut rs.set, Level::RealServer, true) {
            return k;
        }
        let kw = c.keyword();
        if checker::is_checker_keyword(kw) {
            if let Some(ch) = checker::parse(c, ctx, &label, addr) {
                // Exactly one slot per checker: Vec's first growth reserves four (1.8 KB of
                // Checker), which at 20,000 real servers was half of the whole config's memory.
                rs.checkers.reserve_exact(1);
                rs.checkers.push(ch);
            }
            return Kw::Block;
        }
        match kw {
            "weight" => match ctx.int(c, 1, 0, 2_147_483_647) {
                Some(v) => rs.weight_set = Some(v as u32),
                None if c.arg(1).is_some() => ctx.error(c.pos(), "Real server weight is outside range 0-2147483647"),
                None => {}
            },
            "lvs_method" => rs.forwarding_set = parse_forwarding(c, ctx, "real server").or(rs.forwarding_set),
            "notify_up" => {
                rs.notify_up = ctx.need(c, 1).and_then(|_| script::parse(c, ctx, UserArgs::Allowed)).map(Box::new)
            }
            "notify_down" => {
                rs.notify_down = ctx.need(c, 1).and_then(|_| script::parse(c, ctx, UserArgs::Allowed)).map(Box::new)
            }
            "uthreshold" | "lthreshold" => match ctx.uint(c, 1, 0, u64::from(u32::MAX)) {
                Some(v) if kw == "uthreshold" => rs.uthreshold = Some(v as u32),
                Some(v) => rs.lthreshold = Some(v as u32),
                None if c.arg(1).is_some() => {
                    ctx.error(c.pos(), format!("Invalid real_server {kw} '{}' - ignoring", c.arg_str(1).unwrap_or("")))
                }
                None => {}
            },
            "inhibit_on_failure" | "alpha" | "smtp_alert" => {
                let what = if kw == "smtp_alert" { "real_server smtp_alert" } else { kw };
                match checker::opt_bool(c, ctx, what) {
                    Some(b) if kw == "alpha" => rs.alpha_set = Some(b),
                    Some(b) if kw == "smtp_alert" => rs.smtp_alert = Some(b),
                    Some(b) => rs.inhibit_set = Some(b),
                    None => {}
                }
            }
            "virtualhost" => rs.virtualhost = string_arg(c, ctx, "real server virtualhost missing"),
            "snmp_name" => rs.snmp_name = one_word(c, ctx, "real server"),
            _ => return Kw::Unknown,
        }
        Kw::Leaf
    });
    Some(rs)
}

#[cfg(test)]
mod tests;
