//! Address, route and rule lines: `virtual_ipaddress` / `static_ipaddress` entries
//! (`<IP>[/<prefix>] [brd ..] [dev IF] [scope ..] [label ..] ...`), and `ip route` / `ip rule`
//! style lines for `virtual_routes`, `static_routes`, `virtual_rules`, `static_rules`.

use std::fmt;
use std::net::IpAddr;

use super::super::Pos;
use super::super::system;
use super::super::tree::{Ctx, Node};

/// One address to configure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpAddress {
    pub pos: Pos,
    pub addr: IpAddr,
    pub prefix: u8,
    /// `brd IP|+|-` (alias `broadcast`).
    pub brd: Option<String>,
    /// Device; None: the instance's interface (or VMAC).
    pub dev: Option<String>,
    pub scope: Scope,
    pub label: Option<String>,
    pub peer: Option<(IpAddr, Option<u8>)>,
    pub home: bool,
    pub nodad: bool,
    pub mngtmpaddr: bool,
    pub noprefixroute: bool,
    pub autojoin: bool,
    pub no_track: bool,
    pub use_vmac: bool,
    pub preferred_lft: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    #[default]
    Global,
    Site,
    Link,
    Host,
    Nowhere,
    Other(u8),
}

impl Scope {
    /// The kernel's number for the scope (rtnetlink's `rt_scope`).
    pub fn number(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(n) => n,
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Some(match s {
            "global" | "universe" => Scope::Global,
            "site" => Scope::Site,
            "link" => Scope::Link,
            "host" => Scope::Host,
            "nowhere" => Scope::Nowhere,
            _ => Scope::Other(s.parse().ok()?),
        })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Global => f.write_str("global"),
            Scope::Site => f.write_str("site"),
            Scope::Link => f.write_str("link"),
            Scope::Host => f.write_str("host"),
            Scope::Nowhere => f.write_str("nowhere"),
            Scope::Other(n) => write!(f, "{n}"),
        }
    }
}

/// `ADDR[/LEN]` with LEN checked against the family; errors reported by the caller.
pub fn parse_prefix(s: &str) -> Result<(IpAddr, Option<u8>), String> {
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = a.parse().map_err(|_| format!("invalid IP address '{a}'"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match l {
        None => None,
        Some(l) => match super::super::tree::parse_uint(l) {
            Some(v) if v <= max => Some(v as u8),
            _ => return Err(format!("invalid prefix length '{l}' (0..{max})")),
        },
    };
    Ok((addr, len))
}

fn max_prefix(a: &IpAddr) -> u8 {
    if a.is_ipv4() { 32 } else { 128 }
}

/// Report a missing interface the way keepalived does; true when missing. Without
/// `dynamic_interfaces` this is a config error and stops the checks (the caller's business).
pub fn check_dev(ctx: &mut Ctx<'_>, pos: &Pos, dev: &str, what: &str, dynamic: bool) -> bool {
    if system::if_exists(dev) {
        return false;
    }
    let msg = format!("WARNING - interface {dev} for {what} doesn't exist");
    if dynamic {
        ctx.warn(pos, msg)
    } else {
        ctx.error(pos, msg)
    }
    true
}

/// One `virtual_ipaddress`-style line. None when the address itself is unusable.
pub fn parse_ip_address(n: &Node, ctx: &mut Ctx<'_>) -> Option<IpAddress> {
    let first = &n.tokens[0];
    let (addr, prefix) = match first.text.split_once('/') {
        None => match first.text.parse::<IpAddr>() {
            Ok(a) => (a, None),
            Err(_) => {
                ctx.error(&first.pos, format!("VRRP parsed invalid IP {}. skipping IP...", first.text));
                return None;
            }
        },
        Some((a, l)) => {
            let Ok(addr) = a.parse::<IpAddr>() else {
                ctx.error(&first.pos, format!("VRRP parsed invalid IP {}. skipping IP...", first.text));
                return None;
            };
            let max = max_prefix(&addr);
            match super::super::tree::parse_uint(l) {
                Some(v) if v <= u64::from(max) => (addr, Some(v as u8)),
                _ => {
                    let msg = format!(
                        "Invalid address prefix len {l} for address {} - using {max} (must be 0..{max})",
                        first.text
                    );
                    ctx.error(&first.pos, msg);
                    (addr, Some(max))
                }
            }
        }
    };
    let mut ip = IpAddress {
        pos: first.pos.clone(),
        prefix: prefix.unwrap_or_else(|| max_prefix(&addr)),
        addr,
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
    let mut i = 1;
    while let Some(t) = n.tokens.get(i) {
        let w = t.text.as_str();
        let takes_arg = matches!(w, "brd" | "broadcast" | "dev" | "scope" | "label" | "peer" | "preferred_lft");
        let arg = if takes_arg {
            match n.tokens.get(i + 1) {
                Some(a) => Some(a),
                None => {
                    ctx.error(&t.pos, format!("{w} requires a value for ip address {}", first.text));
                    break;
                }
            }
        } else {
            None
        };
        let a = arg.map(|a| a.text.as_str()).unwrap_or("");
        match w {
            "brd" | "broadcast" => {
                if addr.is_ipv6() {
                    ctx.error(&t.pos, format!("Cannot assign a broadcast to the IPv6 address {addr} - skipping VIP"));
                    return None;
                }
                if a == "+" || a == "-" {
                    let len = prefix.unwrap_or(32);
                    if len >= 31 {
                        ctx.error(&t.pos, format!("Address prefix length {len} too long for broadcast"));
                    } else {
                        ip.brd = Some(a.to_string());
                    }
                } else if a.parse::<std::net::Ipv4Addr>().is_ok() {
                    ip.brd = Some(a.to_string());
                } else {
                    ctx.error(&t.pos, format!("VRRP is trying to assign invalid broadcast {a}. skipping VIP..."));
                    return None;
                }
            }
            "dev" => ip.dev = Some(a.to_string()),
            "scope" if addr.is_ipv6() && a != "global" => {
                ctx.error(&t.pos, format!("Cannot specify scope for IPv6 addresses ({}) - ignoring scope", first.text))
            }
            "label" if addr.is_ipv6() => {
                ctx.error(&t.pos, format!("Cannot specify label for IPv6 addresses ({}) - ignoring label", first.text))
            }
            "scope" => match Scope::parse(a) {
                Some(s) => ip.scope = s,
                None => ctx.error(&t.pos, format!("Invalid scope '{a}' specified for {} - ignoring", first.text)),
            },
            "label" => ip.label = Some(a.to_string()),
            "peer" => match a.parse::<IpAddr>() {
                Ok(_) if prefix.is_some() => ctx.error(
                    &t.pos,
                    format!("Cannot specify address prefix when specifying peer address - ignoring ({})", first.text),
                ),
                Ok(p) if p.is_ipv4() == addr.is_ipv4() => ip.peer = Some((p, None)),
                _ => ctx.error(&t.pos, format!("Invalid peer address {a} for {} - ignoring", first.text)),
            },
            "preferred_lft" => {
                if a == "forever" || super::super::tree::parse_uint(a).is_some() {
                    ip.preferred_lft = Some(a.to_string());
                } else {
                    ctx.error(&t.pos, format!("Invalid preferred_lft '{a}' for {} - ignoring", first.text));
                }
            }
            "home" => ip.home = true,
            "-nodad" => ip.nodad = true,
            "mngtmpaddr" => ip.mngtmpaddr = true,
            "noprefixroute" => ip.noprefixroute = true,
            "autojoin" => ip.autojoin = true,
            "no_track" => ip.no_track = true,
            "use_vmac" => ip.use_vmac = true,
            _ => ctx.error(&t.pos, format!("Unknown configuration entry '{w}' for ip address - ignoring")),
        }
        i += if takes_arg { 2 } else { 1 };
    }
    Some(ip)
}

impl fmt::Display for IpAddress {
    /// keepalived's canonical form: `192.168.1.1/24 dev eth0 scope global label eth0:1`; the
    /// prefix is omitted for host addresses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.addr)?;
        if self.prefix != max_prefix(&self.addr) {
            write!(f, "/{}", self.prefix)?;
        }
        if let Some(b) = &self.brd {
            write!(f, " brd {b}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        write!(f, " scope {}", self.scope)?;
        if let Some(l) = &self.label {
            write!(f, " label {l}")?;
        }
        if let Some((p, l)) = &self.peer {
            write!(f, " peer {p}")?;
            if let Some(l) = l {
                write!(f, "/{l}")?;
            }
        }
        for (on, w) in [
            (self.home, "home"),
            (self.nodad, "-nodad"),
            (self.mngtmpaddr, "mngtmpaddr"),
            (self.noprefixroute, "noprefixroute"),
            (self.autojoin, "autojoin"),
            (self.no_track, "no_track"),
        ] {
            if on {
                write!(f, " {w}")?;
            }
        }
        if let Some(p) = &self.preferred_lft {
            write!(f, " preferred_lft {p}")?;
        }
        Ok(())
    }
}

/// An `ip route`-style line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub pos: Pos,
    /// The words as written.
    pub words: Vec<String>,
    /// `blackhole`, `unreachable`, ... when given.
    pub kind: Option<String>,
    /// Destination prefix (None for `default`).
    pub dst: Option<(IpAddr, u8)>,
    pub src: Option<IpAddr>,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    pub table: Option<String>,
    pub metric: Option<u32>,
    pub scope: Option<Scope>,
    pub proto: Option<String>,
    pub no_track: bool,
    pub inet6: bool,
}

const ROUTE_TYPES: &[&str] =
    &["unicast", "local", "broadcast", "multicast", "throw", "unreachable", "prohibit", "blackhole", "nat", "anycast"];

/// Route options we keep only in `words` (each takes one value).
const ROUTE_OPTS_1: &[&str] = &[
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
    "tos",
    "dsfield",
    "ttl-propagate",
    "from",
    "encap",
    "weight",
];
const ROUTE_FLAGS: &[&str] = &["onlink", "pervasive", "lock"];

/// A route option word taking one value (so not a destination).
fn is_route_option(w: &str) -> bool {
    matches!(
        w,
        "src"
            | "via"
            | "gw"
            | "or"
            | "pref"
            | "dev"
            | "oif"
            | "table"
            | "metric"
            | "priority"
            | "preference"
            | "scope"
            | "protocol"
    ) || ROUTE_OPTS_1.contains(&w)
}

pub fn parse_route(n: &Node, ctx: &mut Ctx<'_>) -> Option<Route> {
    let words: Vec<String> = n.tokens.iter().map(|t| t.text.to_string()).collect();
    let mut r = Route {
        pos: n.pos().clone(),
        words,
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
    };
    let mut i = 0;
    if let Some(t) = n.tokens.first()
        && ROUTE_TYPES.contains(&t.text.as_str())
    {
        r.kind = Some(t.text.to_string());
        i = 1;
    }
    // The destination is the first word that is not an option (or the word after `to`); as in
    // `ip route`, options may come before it (`src 10.0.0.1 to 10.9.0.0/24 via ...`).
    let mut dst_text: Option<String> = None;
    while let Some(t) = n.tokens.get(i) {
        let w = t.text.as_str();
        if ROUTE_FLAGS.contains(&w) || w == "no_track" || w == "inet6" {
            if w == "no_track" {
                r.no_track = true;
            }
            if w == "inet6" {
                r.inet6 = true;
            }
            i += 1;
            continue;
        }
        if w == "nexthop" {
            // `nexthop via .. dev .. [weight N] ...`: the rest of the line.
            break;
        }
        if w == "to" || (dst_text.is_none() && !is_route_option(w)) {
            let d = if w == "to" { n.tokens.get(i + 1) } else { Some(t) };
            let Some(d) = d else {
                ctx.error(&t.pos, "Route option 'to' is missing its value - ignoring route");
                return None;
            };
            if d.text != "default" {
                match parse_prefix(&d.text) {
                    Ok((a, l)) => r.dst = Some((a, l.unwrap_or_else(|| max_prefix(&a)))),
                    Err(e) => {
                        ctx.error(&d.pos, format!("Invalid route destination {}: {e} - ignoring route", d.text));
                        return None;
                    }
                }
            }
            dst_text = Some(d.text.to_string());
            i += if w == "to" { 2 } else { 1 };
            continue;
        }
        if w == "pref" {
            let v6 = r.dst.is_some_and(|(a, _)| a.is_ipv6()) || r.inet6;
            if !v6 {
                ctx.error(&t.pos, "pref is only valid for IPv6 - ignoring route");
                return None;
            }
            i += 2;
            continue;
        }
        if w == "gw" {
            ctx.error(&t.pos, "\"gw\" for routes is deprecated. Please use \"via\"");
        }
        if w == "or" {
            // An alternative gateway (keepalived turns it into a multipath route).
            ctx.error(&t.pos, "\"or\" for routes is deprecated. Please use \"nexthop\"");
            i += 2;
            continue;
        }
        if w == "mtu" && n.tokens.get(i + 1).is_some_and(|a| a.text == "lock") {
            i += 1;
        }
        if !is_route_option(w) {
            ctx.error(&t.pos, format!("Unknown route option '{w}' - ignoring route"));
            return None;
        }
        // `via inet6 ADDR` / `via inet ADDR`: the family word is optional.
        if matches!(w, "via" | "gw") && n.tokens.get(i + 1).is_some_and(|a| a.text == "inet" || a.text == "inet6") {
            i += 1;
        }
        let Some(a) = n.tokens.get(i + 1) else {
            ctx.error(&t.pos, format!("Route option '{w}' is missing its value - ignoring route"));
            return None;
        };
        let v = a.text.as_str();
        let bad = |ctx: &mut Ctx<'_>| {
            ctx.error(&a.pos, format!("Invalid value '{v}' for route option '{w}' - ignoring route"))
        };
        let w = if w == "gw" { "via" } else { w };
        match w {
            "src" | "via" => {
                let addr = v.strip_prefix("inet6 ").unwrap_or(v);
                match addr.parse::<IpAddr>() {
                    Ok(x) if w == "src" => r.src = Some(x),
                    Ok(x) => r.via = Some(x),
                    Err(_) => {
                        bad(ctx);
                        return None;
                    }
                }
            }
            "dev" | "oif" => r.dev = Some(v.to_string()),
            "table" => {
                if system::route_table(v).is_none() {
                    ctx.error(&a.pos, format!("Routing table {v} not found for route - ignoring route"));
                    return None;
                }
                r.table = Some(v.to_string());
            }
            "metric" | "priority" | "preference" => match super::super::tree::parse_uint(v) {
                Some(m) if m <= u64::from(u32::MAX) => r.metric = Some(m as u32),
                _ => {
                    bad(ctx);
                    return None;
                }
            },
            "scope" => match Scope::parse(v) {
                Some(s) => r.scope = Some(s),
                None => {
                    bad(ctx);
                    return None;
                }
            },
            "protocol" => r.proto = Some(v.to_string()),
            _ => {}
        }
        i += 2;
    }
    if dst_text.is_none() {
        ctx.error(n.pos(), "Route has no destination - ignoring");
        return None;
    }
    // keepalived tracks routes unless told not to; tracking needs its own protocol and a device.
    if !r.no_track {
        if r.proto.as_deref().is_some_and(|p| p != "keepalived" && p != "18") {
            ctx.error(
                n.pos(),
                "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol (or add no_track)",
            );
            r.proto = None;
        }
        if r.dev.is_none() {
            let dst = dst_text.as_deref().unwrap_or("");
            ctx.error(
                n.pos(),
                format!(
                    "Warning - cannot track route {dst} with no interface specified, not tracking (add dev or no_track)"
                ),
            );
            r.no_track = true;
        }
    }
    Some(r)
}

/// An `ip rule`-style line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    pub pos: Option<Pos>,
    pub words: Vec<String>,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    pub table: Option<String>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub fwmark: Option<String>,
    pub priority: Option<u32>,
    pub action: Option<String>,
    pub proto: Option<String>,
    pub not: bool,
    pub no_track: bool,
    pub inet6: bool,
}

const RULE_OPTS_1: &[&str] = &[
    "tos",
    "dsfield",
    "goto",
    "realms",
    "suppress_prefixlength",
    "suppress_ifgroup",
    "uidrange",
    "sport",
    "dport",
    "ipproto",
    "protocol",
];

pub fn parse_rule(n: &Node, ctx: &mut Ctx<'_>) -> Option<Rule> {
    let mut r = Rule {
        pos: Some(n.pos().clone()),
        words: n.tokens.iter().map(|t| t.text.to_string()).collect(),
        ..Default::default()
    };
    // At most one action: table/lookup, goto, nop, blackhole, prohibit, unreachable, l3mdev.
    let mut actions = 0;
    let mut l3mdev = false;
    let mut i = 0;
    while let Some(t) = n.tokens.get(i) {
        let w = t.text.as_str();
        match w {
            "not" => r.not = true,
            "no_track" => r.no_track = true,
            "inet6" => r.inet6 = true,
            "l3mdev" => {
                l3mdev = true;
                actions += 1;
            }
            "unicast" => {}
            "blackhole" | "unreachable" | "prohibit" | "nop" => {
                r.action = Some(w.to_string());
                actions += 1;
            }
            _ => {
                let known = matches!(
                    w,
                    "from" | "to" | "table" | "lookup" | "iif" | "dev" | "oif" | "fwmark" | "priority" | "preference"
                ) || RULE_OPTS_1.contains(&w);
                if !known {
                    ctx.error(&t.pos, format!("Unknown rule option '{w}' - ignoring rule"));
                    return None;
                }
                let Some(a) = n.tokens.get(i + 1) else {
                    ctx.error(&t.pos, format!("Rule option '{w}' is missing its value - ignoring rule"));
                    return None;
                };
                let v = a.text.as_str();
                let bad = |ctx: &mut Ctx<'_>, what: &str| {
                    ctx.error(&a.pos, format!("Invalid rule {w} {v} specified ({what}) - ignoring rule"));
                };
                match w {
                    "from" | "to" => {
                        let p = if v == "all" {
                            None
                        } else {
                            match parse_prefix(v) {
                                Ok((x, l)) => Some((x, l.unwrap_or_else(|| max_prefix(&x)))),
                                Err(e) => {
                                    bad(ctx, &e);
                                    return None;
                                }
                            }
                        };
                        if w == "from" {
                            r.from = p;
                        } else {
                            r.to = p;
                        }
                    }
                    "table" | "lookup" => {
                        actions += 1;
                        if system::route_table(v).is_none() {
                            ctx.error(&a.pos, format!("Routing table {v} not found for rule - ignoring rule"));
                            return None;
                        }
                        r.table = Some(v.to_string());
                    }
                    "goto" => actions += 1,
                    "iif" | "dev" => r.iif = Some(v.to_string()),
                    "oif" => r.oif = Some(v.to_string()),
                    "fwmark" => {
                        let num = |x: &str| match x.strip_prefix("0x") {
                            Some(h) => u32::from_str_radix(h, 16).is_ok(),
                            None => x.parse::<u32>().is_ok(),
                        };
                        let ok = match v.split_once('/') {
                            Some((m, k)) => num(m) && num(k),
                            None => num(v),
                        };
                        if !ok {
                            bad(ctx, "number[/mask]");
                            return None;
                        }
                        r.fwmark = Some(v.to_string());
                    }
                    "sport" | "dport" => {
                        let ok = v
                            .split_once('-')
                            .is_some_and(|(x, y)| x.parse::<u16>().is_ok() && y.parse::<u16>().is_ok());
                        if !ok {
                            ctx.error(&a.pos, format!("invalid {w} range {v} (use LOW-HIGH) - ignoring rule"));
                            return None;
                        }
                    }
                    "protocol" => r.proto = Some(v.to_string()),
                    "priority" | "preference" => match super::super::tree::parse_uint(v) {
                        Some(p) if p <= u64::from(u32::MAX) => r.priority = Some(p as u32),
                        _ => {
                            ctx.error(&a.pos, format!("Invalid rule priority '{v}' - ignoring rule"));
                            return None;
                        }
                    },
                    _ => {}
                }
                i += 1;
            }
        }
        i += 1;
    }
    if actions > 1 {
        let msg = if l3mdev {
            "Cannot specify l3mdev with other action"
        } else {
            "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule"
        };
        ctx.error(n.pos(), msg);
    }
    if !r.no_track && r.proto.as_deref().is_some_and(|p| p != "keepalived" && p != "18") {
        ctx.error(n.pos(), "Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol");
        r.proto = None;
    }
    if r.priority.is_none() {
        ctx.error(n.pos(), "Rule has no preference specified - setting to 16384. This is probably not what you want.");
        r.priority = Some(16384);
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::super::super::diag::Diagnostics;
    use super::super::super::source::{SourceOptions, read_str};
    use super::super::super::tree::build;
    use super::*;

    fn node(text: &str) -> (Node, Diagnostics) {
        let mut d = Diagnostics::default();
        let lines = read_str("a.conf", text, &SourceOptions::default(), &mut d);
        let mut n = build(lines, &mut d);
        (n.remove(0), d)
    }

    fn ip(text: &str) -> (Option<IpAddress>, Vec<String>) {
        let (n, mut d) = node(text);
        let mut ctx = Ctx::new(&mut d);
        let r = parse_ip_address(&n, &mut ctx);
        (r, d.list.iter().map(|x| x.message.clone()).collect())
    }

    #[test]
    fn vip_grammar() {
        let (a, m) = ip("192.168.1.1/24 brd + dev lo scope link label lo:1 home -nodad no_track");
        assert!(m.is_empty(), "{m:?}");
        let a = a.unwrap();
        assert_eq!(a.prefix, 24);
        assert_eq!(a.dev.as_deref(), Some("lo"));
        assert_eq!(a.scope, Scope::Link);
        assert!(a.home && a.nodad && a.no_track);
        assert_eq!(a.to_string(), "192.168.1.1/24 brd + dev lo scope link label lo:1 home -nodad no_track");
        let (a, m) = ip("192.168.1.1 peer 10.0.0.1");
        assert!(m.is_empty(), "{m:?}");
        assert_eq!(a.unwrap().to_string(), "192.168.1.1 scope global peer 10.0.0.1");
        let (a, _) = ip("10.0.0.1");
        assert_eq!(a.unwrap().to_string(), "10.0.0.1 scope global");
        let (a, _) = ip("2001:db8::1/64");
        assert_eq!(a.unwrap().prefix, 64);
    }

    #[test]
    fn vip_errors() {
        for (t, want, usable) in [
            ("10.1.1.300", "invalid IP", false),
            ("10.1.1.x/24", "invalid IP", false),
            ("10.1.1.2/33", "Invalid address prefix len 33", true),
            ("10.1.1.2 scope foo", "Invalid scope", true),
            ("10.1.1.2 bogus", "Unknown configuration entry 'bogus'", true),
            ("10.1.1.2 dev", "requires a value", true),
            ("10.1.1.2 peer fe80::1", "Invalid peer", true),
            ("10.1.1.2 preferred_lft x", "Invalid preferred_lft", true),
            ("10.1.1.2 brd +", "too long for broadcast", true),
            ("10.1.1.2/24 brd x", "invalid broadcast x", false),
            ("fe80::1 brd 10.0.0.255", "IPv6 address", false),
            ("fe80::1 scope link", "Cannot specify scope for IPv6", true),
            ("fe80::1 label x", "Cannot specify label for IPv6", true),
            ("10.1.1.2/24 peer 10.1.1.3", "Cannot specify address prefix when specifying peer", true),
            ("10.1.1.2 peer 10.1.1.3/24", "Invalid peer address", true),
            ("10.1.1.2 track_group x", "Unknown configuration entry 'track_group'", true),
        ] {
            let (a, m) = ip(t);
            assert_eq!(a.is_some(), usable, "{t}");
            assert!(m.iter().any(|x| x.contains(want)), "{t}: {m:?}");
        }
        let (a, _) = ip("10.1.1.2/33");
        assert_eq!(a.unwrap().prefix, 32);
    }

    #[test]
    fn routes() {
        let (n, mut d) = node("10.8.0.0/16 via 10.9.9.1 dev lo table 10 metric 5 scope link protocol static no_track");
        let mut ctx = Ctx::new(&mut d);
        let r = parse_route(&n, &mut ctx).unwrap();
        assert_eq!(r.dst, Some(("10.8.0.0".parse().unwrap(), 16)));
        assert_eq!(r.via, Some("10.9.9.1".parse().unwrap()));
        assert_eq!(r.table.as_deref(), Some("10"));
        assert_eq!(r.metric, Some(5));
        assert_eq!(r.scope, Some(Scope::Link));
        assert!(r.no_track);
        assert!(d.list.is_empty());
        let (n, mut d) = node("blackhole default no_track");
        let mut ctx = Ctx::new(&mut d);
        let r = parse_route(&n, &mut ctx).unwrap();
        assert!(d.list.is_empty());
        assert_eq!(r.kind.as_deref(), Some("blackhole"));
        assert_eq!(r.dst, None);
        // Options before the destination, `to`, `via inet`, and the deprecated gw / or.
        for t in [
            "src 10.9.9.2 to 10.8.0.0/16 via 10.9.9.1 dev lo",
            "src 10.9.9.2 10.8.0.0/16 via inet 10.9.9.1 dev lo",
            "to 10.8.0.0/16 via 10.9.9.1 dev lo src 10.9.9.2",
        ] {
            let (n, mut d) = node(t);
            let mut ctx = Ctx::new(&mut d);
            let r = parse_route(&n, &mut ctx).unwrap();
            assert_eq!(r.dst, Some(("10.8.0.0".parse().unwrap(), 16)), "{t}");
            assert_eq!(r.via, Some("10.9.9.1".parse().unwrap()), "{t}");
            assert_eq!(r.src, Some("10.9.9.2".parse().unwrap()), "{t}");
            assert!(d.list.is_empty(), "{t}: {:?}", d.list);
        }
        let (n, mut d) = node("10.8.0.0/16 gw 10.9.9.1 or 10.9.9.3 dev lo");
        let mut ctx = Ctx::new(&mut d);
        let r = parse_route(&n, &mut ctx).unwrap();
        assert_eq!(r.via, Some("10.9.9.1".parse().unwrap()));
        assert_eq!(r.dev.as_deref(), Some("lo"));
        assert_eq!(d.list.len(), 2, "{:?}", d.list);
        for (t, want) in [
            ("10.0.0.0/8 bogus 1", "Unknown route option"),
            ("10.0.0.0/8 dev lo to", "'to' is missing its value"),
            ("src 10.0.0.1 via 10.0.0.2 dev lo", "no destination"),
            ("10.0.0.0/8 via", "missing its value"),
            ("10.0.0.0/8 via x", "Invalid value"),
            ("10.0.0.0/40", "Invalid route destination"),
            ("10.0.0.0/8 metric x", "Invalid value"),
            ("blackhole", "no destination"),
            ("10.0.0.0/8 proto static", "Unknown route option 'proto'"),
            ("10.0.0.0/8 dev lo realm 5", "Unknown route option 'realm'"),
            ("10.0.0.0/8 dev lo pref high", "pref is only valid for IPv6"),
            ("10.0.0.0/8 dev lo table no_such_table_x", "Routing table no_such_table_x not found"),
            ("10.0.0.0/8 dev lo protocol static", "RTPROT_KEEPALIVED"),
            ("10.0.0.0/8 via 10.0.0.1", "cannot track route 10.0.0.0/8 with no interface"),
        ] {
            let (n, mut d) = node(t);
            let mut ctx = Ctx::new(&mut d);
            let _ = parse_route(&n, &mut ctx);
            assert!(d.list.iter().any(|x| x.message.contains(want)), "{t}: {:?}", d.list);
        }
    }

    #[test]
    fn rules() {
        let (n, mut d) =
            node("from 10.0.0.1/32 to 10.1.0.0/16 table 10 iif lo oif lo fwmark 0x1/0xff priority 100 no_track");
        let mut ctx = Ctx::new(&mut d);
        let r = parse_rule(&n, &mut ctx).unwrap();
        assert_eq!(r.from, Some(("10.0.0.1".parse().unwrap(), 32)));
        assert_eq!(r.table.as_deref(), Some("10"));
        assert_eq!(r.iif.as_deref(), Some("lo"));
        assert_eq!(r.fwmark.as_deref(), Some("0x1/0xff"));
        assert_eq!(r.priority, Some(100));
        assert!(r.no_track);
        for (t, want) in [
            ("from x table 1", "Invalid rule from"),
            ("bogus 1", "Unknown rule option"),
            ("from", "missing its value"),
            ("priority x", "Invalid rule priority"),
            ("pref 5", "Unknown rule option 'pref'"),
            ("priority 5 fwmark x", "Invalid rule fwmark x"),
            ("priority 5 table 1 goto 5", "more than one of"),
            ("priority 5 table 1 l3mdev", "l3mdev with other action"),
            ("priority 5 sport 80", "invalid sport range"),
            ("priority 5 protocol 5", "RTPROT_KEEPALIVED"),
            ("priority 5 table no_such_table_x", "Routing table no_such_table_x not found"),
            ("to 10.0.0.0/8 table 1", "Rule has no preference specified"),
        ] {
            let (n, mut d) = node(t);
            let mut ctx = Ctx::new(&mut d);
            let _ = parse_rule(&n, &mut ctx);
            assert!(d.list.iter().any(|x| x.message.contains(want)), "{t}: {:?}", d.list);
        }
    }
}
