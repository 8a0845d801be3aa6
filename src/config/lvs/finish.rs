//! keepalived 2.2.7's completion of the LVS section after parsing: defaults, port rules,
//! duplicate removal, quorum/hysteresis clamps and each checker's effective settings.
//!
//! Severity of every rule was measured with `keepalived -t` (2.2.7): all of the "Warning"-worded
//! messages below still make `-t` exit 5, so they are config errors here too. Order, as 2.2.7:
//!
//! 1. groups: empty, or two families plus a family-less fwmark -> removed (error);
//! 2. a `group` service whose group is undefined -> dropped silently (exit 0);
//! 3. family of fwmark/group services: ip_family, else persistence_granularity's form, else the
//!    first non-tunnelled real/sorry server; non-tunnelled servers of another family are skipped
//!    (error); a group holding another family is dropped silently unless all servers tunnel;
//! 4. no real servers -> dropped (error) before any defaulting below;
//! 5. protocol (UDP), scheduler (wlc), forwarding (NAT) defaults, each an error; protocol on a
//!    fwmark service is ignored (error); zero port without persistence -> 360 s (error);
//!    `ops` without UDP reset (error, not checked for fwmark);
//! 6. duplicates (judged on the ports as written), then non-NAT port rules;
//! 7. quorum above the total weight reduced, then hysteresis >= quorum set to quorum - 1
//!    (wrapping at 0, as 2.2.7 does);
//! 8. each checker's effective timers, alpha, destination and HTTP Host.

use std::net::SocketAddr;
use std::time::Duration;

use super::super::Config;
use super::super::checker::CheckerKind;
use super::super::tree::Ctx;
use super::{Family, Forwarding, GroupEntry, LvsConfig, Protocol, RealServer, VirtualServer, VsKey};

const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub fn finish(cfg: &mut Config, ctx: &mut Ctx<'_>) {
    // FILE_CHECK and BFD_CHECK name root `track_file` / `bfd_instance` blocks (VRRP side).
    let v = &cfg.vrrp;
    let has_track_file = |n: &str| v.track_files.iter().any(|t| !t.removed && t.name == n);
    let has_bfd = |n: &str| v.bfd_instances.iter().any(|b| b.name.as_deref() == Some(n));
    check_references(&mut cfg.lvs, ctx, &has_track_file, &has_bfd);
    finish_lvs(&mut cfg.lvs, ctx);
}

/// FILE_CHECK's `track_file` and BFD_CHECK's `name` must name a root `track_file` /
/// `bfd_instance`; 2.2.7 drops the checker otherwise (config error).
pub fn check_references(
    l: &mut LvsConfig,
    ctx: &mut Ctx<'_>,
    has_track_file: &dyn Fn(&str) -> bool,
    has_bfd: &dyn Fn(&str) -> bool,
) {
    for vs in &mut l.virtual_servers {
        for rs in &mut vs.real_servers {
            let addr = rs.addr;
            rs.checkers.retain(|c| match &c.kind {
                CheckerKind::File(f) => {
                    let name = f.track_file.as_deref().unwrap_or("");
                    let ok = has_track_file(name);
                    if !ok {
                        ctx.error(&c.pos, format!("track_file {name} not found - FILE_CHECK ignored"));
                    }
                    ok
                }
                CheckerKind::Bfd(b) => {
                    let name = b.name.as_deref().unwrap_or("");
                    let ok = has_bfd(name);
                    if !ok {
                        ctx.error(&c.pos, format!("([{addr}]) BFD_CHECK - BFD {name} not configured"));
                    }
                    ok
                }
                _ => true,
            });
        }
    }
}

/// The LVS part of [`finish`], on its own for tests.
pub fn finish_lvs(l: &mut LvsConfig, ctx: &mut Ctx<'_>) {
    finish_groups(l, ctx);
    let groups = std::mem::take(&mut l.groups);
    let mut kept = Vec::with_capacity(l.virtual_servers.len());
    for mut vs in std::mem::take(&mut l.virtual_servers) {
        if finish_vs(&mut vs, &groups, ctx) {
            kept.push(vs);
        }
    }
    l.groups = groups;
    l.virtual_servers = kept;
}

/// Empty groups and groups mixing families with family-less fwmarks are removed (errors).
fn finish_groups(l: &mut LvsConfig, ctx: &mut Ctx<'_>) {
    l.groups.retain(|g| {
        if g.entries.is_empty() {
            ctx.error(&g.pos, format!("virtual server group {} has no entries - removing", g.name));
            return false;
        }
        let mut fams = Vec::new();
        let mut bare_fwmark = false;
        for e in &g.entries {
            let f = match e {
                GroupEntry::Range { first, .. } => Some(Family::of(first)),
                GroupEntry::Fwmark { family, .. } => {
                    bare_fwmark |= family.is_none();
                    *family
                }
            };
            if let Some(f) = f
                && !fams.contains(&f)
            {
                fams.push(f);
            }
        }
        if fams.len() > 1 && bare_fwmark {
            ctx.error(
                &g.pos,
                format!("virtual server group {} cannot have IPv4, IPv6 and fwmark without family - removing", g.name),
            );
            return false;
        }
        true
    });
}

/// Complete one virtual server; false when keepalived would drop it.
fn finish_vs(vs: &mut VirtualServer, groups: &[super::VsGroup], ctx: &mut Ctx<'_>) -> bool {
    // What the service is made of: addresses (which need a protocol) and/or fwmarks, and for a
    // group the address families its entries pin down.
    let mut group_fams: Vec<Family> = Vec::new();
    let (has_addr, has_fwmark, zero_port) = match &vs.key {
        VsKey::Addr { port, .. } => (true, false, *port == 0),
        VsKey::Fwmark(_) => (false, true, false),
        VsKey::Group(name) => {
            let Some(g) = groups.iter().find(|g| &g.name == name) else {
                // 2.2.7 drops it without failing the config test.
                ctx.warn(&vs.pos, format!("virtual server group {name} is not defined - ignoring virtual server"));
                return false;
            };
            let (mut a, mut f, mut z) = (false, false, false);
            for e in &g.entries {
                let fam = match e {
                    GroupEntry::Range { first, port, .. } => {
                        a = true;
                        z |= *port == 0;
                        Some(Family::of(first))
                    }
                    GroupEntry::Fwmark { family, .. } => {
                        f = true;
                        *family
                    }
                };
                if let Some(fam) = fam
                    && !group_fams.contains(&fam)
                {
                    group_fams.push(fam);
                }
            }
            (a, f, z)
        }
    };

    // Family of a fwmark or group service, as 2.2.7 learns it while parsing: ip_family; else the
    // form of persistence_granularity; else the first non-tunnelled server (real or sorry) in
    // file order; else the group's.
    let mut family_known = true;
    match vs.key {
        VsKey::Addr { .. } => {}
        _ => {
            let fwd = vs.forwarding;
            let tun = |f: Option<Forwarding>| matches!(f.unwrap_or(fwd), Forwarding::Tun(_));
            let mut servers: Vec<(u32, u32, Family)> = vs
                .real_servers
                .iter()
                .filter(|rs| !tun(rs.forwarding_set))
                .map(|rs| (rs.pos.line, rs.pos.col, Family::of(&rs.addr)))
                .collect();
            if let Some(ss) = vs.sorry_server.as_ref().filter(|ss| !tun(ss.forwarding_set)) {
                servers.push((ss.pos.line, ss.pos.col, Family::of(&ss.addr)));
            }
            servers.sort_by_key(|&(l, c, _)| (l, c));
            let from_granularity = match vs.persistence_granularity {
                Some(super::Granularity::V4(_)) => Some(Family::Inet),
                Some(super::Granularity::V6(_)) => Some(Family::Inet6),
                None => None,
            };
            let from_server = servers.first().map(|s| s.2).or(vs.real_servers.first().map(|rs| Family::of(&rs.addr)));
            let learnt = vs.ip_family.or(from_granularity).or(from_server);
            family_known = learnt.is_some();
            vs.family = learnt.or(group_fams.first().copied()).unwrap_or(Family::Inet);
        }
    }

    // keepalived checks the family of each real server as it is parsed.
    filter_families(vs, ctx);

    // A group whose addresses are of another family than the service is silently unusable in
    // 2.2.7 (no config error) unless every real server is tunnelled.
    let fwd = vs.forwarding;
    let all_tunnelled = !vs.real_servers.is_empty()
        && vs.real_servers.iter().all(|rs| matches!(rs.forwarding_set.unwrap_or(fwd), Forwarding::Tun(_)));
    if family_known && !all_tunnelled && group_fams.iter().any(|f| *f != vs.family) {
        ctx.warn(
            &vs.pos,
            format!(
                "Virtual server {}: group address family does not match the {} real servers - ignoring virtual server",
                vs.label(),
                vs.family.as_str()
            ),
        );
        return false;
    }

    // A service without real servers is dropped before any of the defaulting below.
    if vs.real_servers.is_empty() {
        ctx.error(&vs.pos, format!("Virtual server {} has no real servers - ignoring", vs.label()));
        return false;
    }

    let label = vs.label();
    if has_addr {
        vs.protocol = match vs.protocol_set {
            Some(p) => Some(p),
            None => {
                ctx.error(&vs.pos, format!("Virtual server {label}: no protocol set - defaulting to UDP"));
                Some(Protocol::Udp)
            }
        };
    } else {
        if has_fwmark && vs.protocol_set.is_some() {
            ctx.error(
                &vs.pos,
                format!("Virtual server {label}: protocol specified for fwmark - protocol will be ignored"),
            );
        }
        vs.protocol = None;
    }
    let label = vs.label();
    if !vs.scheduler_set {
        ctx.error(&vs.pos, format!("Virtual server {label}: no scheduler set, setting default 'wlc'"));
    }
    if !vs.forwarding_set {
        ctx.error(&vs.pos, format!("Virtual server {label}: no forwarding method set, setting default NAT"));
    }
    if zero_port && vs.persistence_timeout.is_none() {
        ctx.error(&vs.pos, format!("Virtual server {label}: zero port only valid for persistent services - setting"));
        vs.persistence_timeout = Some(360);
    }
    if vs.ops && vs.protocol.is_some_and(|p| p != Protocol::Udp) {
        ctx.error(&vs.pos, format!("Virtual server {label}: one packet scheduling requires UDP - resetting"));
        vs.ops = false;
    }
    vs.delay_loop = vs.set.delay_loop.unwrap_or(DEFAULT_DELAY_LOOP);

    let group_ports: Vec<(String, u16)> = match &vs.key {
        VsKey::Group(name) => groups
            .iter()
            .find(|g| &g.name == name)
            .map(|g| {
                g.entries
                    .iter()
                    .filter_map(|e| match e {
                        GroupEntry::Range { first, last, port, .. } if first == last => {
                            Some((first.to_string(), *port))
                        }
                        GroupEntry::Range { first, last, port, .. } => Some((format!("{first}-{last}"), *port)),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    finish_real_servers(vs, &label, &group_ports, has_fwmark && matches!(vs.key, VsKey::Group(_)), ctx);

    let vs_port = vs.port();
    if let Some(ss) = vs.sorry_server.as_mut() {
        ss.forwarding = ss.forwarding_set.unwrap_or(vs.forwarding);
        let tunnelled = matches!(ss.forwarding, Forwarding::Tun(_));
        if !tunnelled && Family::of(&ss.addr) != vs.family {
            ctx.error(
                &ss.pos,
                format!(
                    "Address family of virtual server and sorry server {} don't match - skipping sorry server.",
                    ss.addr
                ),
            );
            vs.sorry_server = None;
        } else if ss.forwarding != Forwarding::Nat {
            match vs.key {
                VsKey::Addr { port, .. } if ss.port != 0 && ss.port != port => {
                    ctx.error(
                        &ss.pos,
                        format!("WARNING - virtual server {label} and sorry server ports don't match - resetting"),
                    );
                    ss.port = port;
                }
                VsKey::Addr { port, .. } => ss.port = port,
                VsKey::Fwmark(_) | VsKey::Group(_) => {
                    if ss.port != 0 {
                        let how = if matches!(vs.key, VsKey::Group(_)) { "port will be ignored" } else { "clearing" };
                        ctx.error(
                            &ss.pos,
                            format!("WARNING - virtual server {label}, sorry server has port specified - {how}"),
                        );
                    }
                    ss.port = 0;
                }
            }
        } else if ss.port == 0 {
            ss.port = vs_port;
        }
    }

    let total: u64 = vs.real_servers.iter().map(|rs| u64::from(rs.weight)).sum();
    if u64::from(vs.quorum) > total {
        ctx.error(
            &vs.pos,
            format!(
                "Warning - quorum {} for {label} exceeds total weight of real servers {total}, reducing quorum to {total}",
                vs.quorum
            ),
        );
        vs.quorum = total as u32;
    }
    if vs.hysteresis >= vs.quorum {
        // 2.2.7 sets quorum - 1, which wraps to 4294967295 for a zero quorum; keep that.
        let h = vs.quorum.wrapping_sub(1);
        ctx.error(
            &vs.pos,
            format!(
                "Virtual server {label}: hysteresis {} >= quorum {}; setting hysteresis to {h}",
                vs.hysteresis, vs.quorum
            ),
        );
        vs.hysteresis = h;
    }

    for rs in &mut vs.real_servers {
        resolve_checkers(vs_defaults(&vs.set, vs.alpha, vs.virtualhost.as_deref()), rs);
    }
    true
}

/// Forwarding, weight, family and port rules for each real server; duplicates removed.
fn finish_real_servers(
    vs: &mut VirtualServer,
    label: &str,
    group_ports: &[(String, u16)],
    group_has_fwmark: bool,
    ctx: &mut Ctx<'_>,
) {
    let mut seen: Vec<(std::net::IpAddr, u16)> = Vec::new();
    let mut kept: Vec<RealServer> = Vec::with_capacity(vs.real_servers.len());
    let proto = vs.protocol.map(|p| p.as_str().to_ascii_lowercase()).unwrap_or_else(|| "none".into());
    for mut rs in std::mem::take(&mut vs.real_servers) {
        rs.forwarding = rs.forwarding_set.unwrap_or(vs.forwarding);
        rs.weight = rs.weight_set.unwrap_or(vs.weight);
        rs.inhibit_on_failure = rs.inhibit_set.unwrap_or(vs.inhibit_on_failure);
        rs.alpha = rs.alpha_set.unwrap_or(vs.alpha);
        // Duplicates are judged on the addresses as written, before the port rules below.
        let id = (rs.addr, rs.port_set.unwrap_or(0));
        if seen.contains(&id) {
            ctx.error(
                &rs.pos,
                format!("VS {label}: real server [{}]:{proto}:{} is duplicated - removing second rs", id.0, id.1),
            );
            continue;
        }
        seen.push(id);
        if rs.forwarding != Forwarding::Nat {
            match vs.key {
                VsKey::Addr { port, .. } => match rs.port_set {
                    Some(p) if p != port => {
                        ctx.error(
                            &rs.pos,
                            format!(
                                "WARNING - virtual server {label} and real server [{}]:{proto}:{p} ports don't match - resetting",
                                rs.addr
                            ),
                        );
                        rs.port = port;
                    }
                    _ => rs.port = port,
                },
                VsKey::Fwmark(_) => {
                    if let Some(p) = rs.port_set.filter(|&p| p != 0) {
                        ctx.error(
                            &rs.pos,
                            format!(
                                "WARNING - fwmark virtual server {label}, real server [{}]:{proto}:{p} has port specified - clearing",
                                rs.addr
                            ),
                        );
                    }
                    rs.port = 0;
                }
                // Each address entry of the group is compared; 2.2.7 reports but keeps the port.
                VsKey::Group(_) => {
                    if let Some(p) = rs.port_set.filter(|&p| p != 0) {
                        if group_has_fwmark {
                            ctx.error(
                                &rs.pos,
                                format!(
                                    "WARNING - fwmark virtual server {label}, real server [{}]:{proto}:{p} has port specified - port will be ignored",
                                    rs.addr
                                ),
                            );
                        }
                        for (a, gp) in group_ports.iter().filter(|(_, gp)| *gp != p) {
                            ctx.error(
                                &rs.pos,
                                format!(
                                    "virtual server {label}:[{a},{gp}] and real server [{}]:{proto}:{p} ports don't match",
                                    rs.addr
                                ),
                            );
                        }
                    }
                }
            }
        } else if rs.port_set.is_none() {
            rs.port = vs.port();
        }
        kept.push(rs);
    }
    vs.real_servers = kept;
}

/// Non-tunnelled real servers must have the service's family.
fn filter_families(vs: &mut VirtualServer, ctx: &mut Ctx<'_>) {
    let (fam, fwd) = (vs.family, vs.forwarding);
    vs.real_servers.retain(|rs| {
        let tunnelled = matches!(rs.forwarding_set.unwrap_or(fwd), Forwarding::Tun(_));
        if !tunnelled && Family::of(&rs.addr) != fam {
            ctx.error(
                &rs.pos,
                format!(
                    "Address family of virtual server and real server {} don't match - skipping real server.",
                    rs.addr
                ),
            );
            return false;
        }
        true
    });
}

/// The virtual server level of the default chain.
#[derive(Clone, Copy)]
struct Defaults<'a> {
    set: &'a super::Timing,
    alpha: bool,
    virtualhost: Option<&'a str>,
}

fn vs_defaults<'a>(set: &'a super::Timing, alpha: bool, virtualhost: Option<&'a str>) -> Defaults<'a> {
    Defaults { set, alpha, virtualhost }
}

/// Effective settings of each checker: checker -> real server -> virtual server -> type default.
fn resolve_checkers(vs: Defaults<'_>, rs: &mut RealServer) {
    let r = &rs.set;
    for c in &mut rs.checkers {
        let s = &c.set;
        c.delay_loop = s.delay_loop.or(r.delay_loop).or(vs.set.delay_loop).unwrap_or(DEFAULT_DELAY_LOOP);
        c.connect_timeout =
            s.connect_timeout.or(r.connect_timeout).or(vs.set.connect_timeout).unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        c.retry = s.retry.or(r.retry).or(vs.set.retry).unwrap_or_else(|| c.kind.default_retry());
        c.delay_before_retry = s
            .delay_before_retry
            .or(r.delay_before_retry)
            .or(vs.set.delay_before_retry)
            .unwrap_or_else(|| c.kind.default_delay_before_retry(c.delay_loop));
        c.warmup = s.warmup.or(r.warmup).or(vs.set.warmup).unwrap_or(c.delay_loop);
        c.alpha = c.set_alpha.or(rs.alpha_set).unwrap_or(vs.alpha);
        let ip = c.conn.connect_ip.unwrap_or(rs.addr);
        // The port as written on the real_server line: 2.2.7's checkers keep it when the
        // real server's port is reset to the virtual server's (DR/TUN; measured in the VM:
        // `real_server 127.0.0.1 8080` under a DR VS on port 80 is checked on 8080).
        let port = c.conn.connect_port.or(rs.port_set).unwrap_or(rs.port);
        c.dest = SocketAddr::new(ip, port);
        match &mut c.kind {
            CheckerKind::Misc(m) => m.timeout = m.timeout_set.unwrap_or(c.delay_loop),
            // Host header: url -> checker -> real server -> virtual server.
            CheckerKind::Http(h) | CheckerKind::Ssl(h) => {
                let up = h.virtualhost.as_deref().or(rs.virtualhost.as_deref()).or(vs.virtualhost);
                for u in &mut h.urls {
                    u.host = u.virtualhost.as_deref().or(up).map(str::to_string);
                }
            }
            _ => {}
        }
    }
}
