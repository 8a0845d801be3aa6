//! `vrrp_instance NAME { ... }`: every 2.2.7 keyword, and the per-instance part of keepalived's
//! post-parse completion (`vrrp_complete_instance`).

use std::fmt::Write;
use std::net::IpAddr;
use std::time::Duration;

use super::super::Pos;
use super::super::global::{Generic, GlobalDefs};
use super::super::script::{self, Script, UserArgs};
use super::super::system;
use super::super::tree::{Ctx, Kw, Node};
use super::addr::{self, IpAddress, Route, Rule};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialState {
    #[default]
    Backup,
    Master,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// `PASS`: simple password.
    Pass,
    /// `AH`: IPSEC-AH.
    Ah,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    pub kind: Option<AuthType>,
    /// At most 8 bytes (longer passwords are truncated, as keepalived does).
    pub pass: Option<Vec<u8>>,
    pub pos: Pos,
}

/// `NAME [weight W [reverse|no_reverse]]` in track_interface/script/file/process/bfd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackRef {
    pub name: String,
    /// None: the tracked object's own weight (or, for interfaces, "down means FAULT").
    pub weight: Option<i32>,
    pub reverse: bool,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notify {
    pub master: Option<Script>,
    pub backup: Option<Script>,
    pub fault: Option<Script>,
    pub stop: Option<Script>,
    pub deleted: Option<Script>,
    /// `notify`: called with `INSTANCE|GROUP NAME STATE PRIORITY` appended.
    pub generic: Option<Script>,
    pub master_rx_lower_pri: Option<Script>,
    /// `notify_deleted` without a script: report DELETED rather than FAULT to `notify`.
    pub send_deleted: bool,
}

impl Notify {
    pub fn scripts_mut(&mut self) -> impl Iterator<Item = &mut Script> {
        [
            &mut self.master,
            &mut self.backup,
            &mut self.fault,
            &mut self.stop,
            &mut self.deleted,
            &mut self.generic,
            &mut self.master_rx_lower_pri,
        ]
        .into_iter()
        .flatten()
    }
}

/// Per-instance GARP settings; unset values come from the globals (resolved in finish).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Garp {
    pub master_delay: Option<Duration>,
    pub master_repeat: Option<u32>,
    pub master_refresh: Option<Duration>,
    pub master_refresh_repeat: Option<u32>,
    pub lower_prio_delay: Option<Duration>,
    pub lower_prio_repeat: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vmac {
    pub name: Option<String>,
    pub mac: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpInstance {
    pub name: String,
    pub pos: Pos,
    pub state: InitialState,
    pub interface: Option<String>,
    pub interface_pos: Option<Pos>,
    pub vrid: Option<u8>,
    /// Default 100, or 255 when `state MASTER` and no priority is given.
    pub priority: u8,
    pub priority_set: bool,
    pub advert_int: Duration,
    pub advert_int_pos: Option<Pos>,
    /// As configured; resolved (global default, IPv6 -> 3) in finish.
    pub version: Option<u8>,
    pub auth: Option<Auth>,
    pub vips: Vec<IpAddress>,
    pub evips: Vec<IpAddress>,
    pub vroutes: Vec<Route>,
    pub vrules: Vec<Rule>,
    /// True for IPv6 instances (from the first VIP).
    pub ipv6: Option<bool>,
    pub unicast_src_ip: Option<IpAddr>,
    pub unicast_peers: Vec<UnicastPeer>,
    /// A unicast keyword (unicast_src_ip or a unicast_peer block) was seen.
    pub unicast_keyword: bool,
    pub unicast_ttl: Option<u8>,
    pub unicast_fault_no_peer: bool,
    pub check_unicast_src: bool,
    pub mcast_src_ip: Option<IpAddr>,
    pub mcast_dst_ip: Option<IpAddr>,
    pub nopreempt: bool,
    pub preempt_delay: Duration,
    pub track_interfaces: Vec<TrackRef>,
    pub track_scripts: Vec<TrackRef>,
    pub track_files: Vec<TrackRef>,
    pub track_processes: Vec<TrackRef>,
    pub track_bfds: Vec<TrackRef>,
    pub dont_track_primary: bool,
    pub notify: Notify,
    pub garp: Garp,
    /// None: default (accept unless strict mode and not owner).
    pub accept: Option<bool>,
    pub use_vmac: Option<Vmac>,
    pub vmac_xmit_base: bool,
    pub use_ipvlan: Option<Vec<String>>,
    pub native_ipv6: bool,
    pub vrf: Option<String>,
    pub strict_mode: Option<bool>,
    pub skip_check_adv_addr: bool,
    pub promote_secondaries: bool,
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
    pub down_timer_adverts: Option<u32>,
    pub smtp_alert: Option<bool>,
    pub notify_priority_changes: Option<bool>,
    pub debug: Option<u32>,
    pub kernel_rx_buf_size: Option<u64>,
    /// Accepted keywords we do not interpret (yet).
    pub other: Vec<Generic>,
    /// Set by finish when keepalived drops the instance (missing VRID).
    pub removed: bool,
}

impl VrrpInstance {
    fn new(name: String, pos: Pos) -> Self {
        VrrpInstance {
            name,
            pos,
            state: InitialState::Backup,
            interface: None,
            interface_pos: None,
            vrid: None,
            priority: 100,
            priority_set: false,
            advert_int: Duration::from_secs(1),
            advert_int_pos: None,
            version: None,
            auth: None,
            vips: Vec::new(),
            evips: Vec::new(),
            vroutes: Vec::new(),
            vrules: Vec::new(),
            ipv6: None,
            unicast_src_ip: None,
            unicast_peers: Vec::new(),
            unicast_keyword: false,
            unicast_ttl: None,
            unicast_fault_no_peer: false,
            check_unicast_src: false,
            mcast_src_ip: None,
            mcast_dst_ip: None,
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            track_bfds: Vec::new(),
            dont_track_primary: false,
            notify: Notify::default(),
            garp: Garp::default(),
            accept: None,
            use_vmac: None,
            vmac_xmit_base: false,
            use_ipvlan: None,
            native_ipv6: false,
            vrf: None,
            strict_mode: None,
            skip_check_adv_addr: false,
            promote_secondaries: false,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            down_timer_adverts: None,
            smtp_alert: None,
            notify_priority_changes: None,
            debug: None,
            kernel_rx_buf_size: None,
            other: Vec::new(),
            removed: false,
        }
    }

    /// The effective protocol version (after finish).
    pub fn version(&self) -> u8 {
        self.version.unwrap_or(2)
    }

    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }
}

/// Parse `track_*` block lines: `NAME [weight W [reverse|no_reverse]]`; W in [-253, 253].
pub fn parse_track_list(n: &Node, ctx: &mut Ctx<'_>, inst: &str, what: &str) -> Vec<TrackRef> {
    let mut out = Vec::new();
    for c in n.children() {
        let name = c.keyword().to_string();
        let mut t = TrackRef { name: name.clone(), weight: None, reverse: false, pos: c.pos().clone() };
        let mut ok = true;
        // Only `weight W [reverse]` may follow the name.
        match c.arg_str(1) {
            None => {}
            Some("weight") => match c.arg_str(2) {
                None => {
                    ctx.error(c.pos(), format!("({inst}) {what} {name}: weight requires a value"));
                    ok = false;
                }
                Some(v) => {
                    match v.parse::<i32>() {
                        Ok(x) if (-253..=253).contains(&x) => t.weight = Some(x),
                        _ => {
                            ctx.error(
                                &c.tokens[2].pos,
                                format!("({inst}) {what} {name}: weight {v} must be between [-253..253] inclusive, ignoring..."),
                            );
                            ok = false;
                        }
                    }
                    match c.arg(3) {
                        None => {}
                        Some(r) if r.text == "reverse" => t.reverse = true,
                        Some(r) => ctx.error(
                            &r.pos,
                            format!("({inst}) unknown {what} {name} weight option {} - ignoring", r.text),
                        ),
                    }
                }
            },
            Some(o) => ctx.error(&c.tokens[1].pos, format!("({inst}) unknown {what} {name} option {o} - ignoring")),
        }
        if ok {
            out.push(t);
        }
    }
    out
}

fn parse_ip(ctx: &mut Ctx<'_>, c: &Node, inst: &str, what: &str) -> Option<IpAddr> {
    let s = ctx.need(c, 1)?;
    match s.parse::<IpAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            ctx.error(
                &c.tokens[1].pos,
                format!("Configuration error: VRRP instance[{inst}] malformed {what}[{s}]. Skipping..."),
            );
            None
        }
    }
}

fn bool_kw(ctx: &mut Ctx<'_>, c: &Node, inst: &str) -> Option<bool> {
    match c.arg_str(1) {
        None => Some(true),
        Some(v) => match super::super::tree::parse_bool(v) {
            Some(b) => Some(b),
            None => {
                ctx.error(
                    &c.tokens[1].pos,
                    format!("({inst}) invalid {} {v} specified (use on|off|true|false|yes|no)", c.keyword()),
                );
                None
            }
        },
    }
}

fn add_vips(n: &Node, ctx: &mut Ctx<'_>, v: &mut VrrpInstance, excluded: bool) {
    for c in n.children() {
        let Some(ip) = addr::parse_ip_address(c, ctx) else { continue };
        if excluded {
            v.evips.push(ip);
            continue;
        }
        let is6 = ip.addr.is_ipv6();
        match v.ipv6 {
            None => v.ipv6 = Some(is6),
            Some(f) if f != is6 => {
                ctx.error(
                    &ip.pos,
                    format!(
                        "({}): address family must match VRRP instance [{}] - ignoring (use virtual_ipaddress_excluded)",
                        v.name, ip.addr
                    ),
                );
                continue;
            }
            Some(_) => {}
        }
        v.vips.push(ip);
    }
}

/// Parse one `vrrp_instance` block.
pub fn parse(n: &Node, ctx: &mut Ctx<'_>) -> Option<VrrpInstance> {
    let name = ctx.need(n, 1)?.to_string();
    let mut v = VrrpInstance::new(name, n.pos().clone());
    let iname = v.name.clone();
    ctx.walk(n.children(), &mut |ctx, c| parse_kw(c, ctx, &mut v, &iname));
    Some(v)
}

fn parse_kw(c: &Node, ctx: &mut Ctx<'_>, v: &mut VrrpInstance, iname: &str) -> Kw {
    let kw = c.keyword();
    match kw {
        "state" => {
            if let Some(s) = ctx.need(c, 1) {
                v.state = match s {
                    "MASTER" => InitialState::Master,
                    "BACKUP" => InitialState::Backup,
                    _ => {
                        ctx.error(
                            &c.tokens[1].pos,
                            format!("({iname}) unknown state '{s}', defaulting to BACKUP (use MASTER or BACKUP)"),
                        );
                        InitialState::Backup
                    }
                };
            }
        }
        "interface" => {
            if let Some(s) = ctx.need(c, 1) {
                v.interface = Some(s.to_string());
                v.interface_pos = Some(c.tokens[1].pos.clone());
            }
        }
        "vrf" => {
            if let Some(x) = ctx.need(c, 1) {
                v.vrf = Some(x.to_string());
            }
        }
        "use_vmac" => {
            let name = c.arg_str(1).map(str::to_string);
            if let Some(n) = &name
                && (n.len() > 15 || n.contains(|ch: char| ch == '/' || ch.is_whitespace()))
            {
                ctx.error(
                    &c.tokens[1].pos,
                    format!("VMAC interface name '{n}' too long or invalid characters - ignoring"),
                );
            }
            v.use_vmac = Some(Vmac { name, mac: c.arg_str(2).map(str::to_string) })
        }
        "use_vmac_addr" | "track_src_ip" => {
            v.other.push((kw.to_string(), c.args().iter().map(|t| t.text.to_string()).collect(), c.pos().clone()));
        }
        "old_unicast_checksum" => {
            v.unicast_keyword = true;
            if let Some(m) = c.arg_str(1).filter(|m| *m != "never") {
                ctx.error(&c.tokens[1].pos, format!("({iname}) Unknown old_unicast_chksum mode {m} - ignoring"));
                return Kw::Leaf;
            }
            v.other.push((kw.to_string(), c.args().iter().map(|t| t.text.to_string()).collect(), c.pos().clone()));
        }
        "garp_extra_if" => {
            let i = if c.arg_str(1) == Some("all") { 2 } else { 1 };
            match c.arg_str(i) {
                None => ctx.error(c.pos(), format!("({iname}): garp_extra_if specified without time - ignoring")),
                Some(t) if super::super::tree::parse_uint(t).is_none() => {
                    ctx.error(&c.tokens[i].pos, format!("({iname}): garp_extra_if '{t}' invalid - ignoring"))
                }
                Some(_) => v.other.push((
                    kw.to_string(),
                    c.args().iter().map(|t| t.text.to_string()).collect(),
                    c.pos().clone(),
                )),
            }
        }
        "linkbeat_use_polling" => ctx.error(
            c.pos(),
            format!("({iname}) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block"),
        ),
        "vmac_garp_intvl" => {
            ctx.error(c.pos(), "Keyword \"vmac_garp_intvl\" is deprecated - please use \"garp_extra_if\"");
            v.other.push((kw.to_string(), c.args().iter().map(|t| t.text.to_string()).collect(), c.pos().clone()));
        }
        "lvs_sync_daemon_interface" => {
            ctx.need(c, 1);
            ctx.error(
                c.pos(),
                format!("({iname}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated. Please use global lvs_sync_daemon"),
            );
            v.other.push((kw.to_string(), c.args().iter().map(|t| t.text.to_string()).collect(), c.pos().clone()));
        }
        "vmac_xmit_base" => v.vmac_xmit_base = true,
        "use_ipvlan" => v.use_ipvlan = Some(c.args().iter().map(|t| t.text.to_string()).collect()),
        "native_ipv6" => v.native_ipv6 = true,
        "dont_track_primary" => v.dont_track_primary = true,
        "track_interface" => {
            v.track_interfaces.extend(parse_track_list(c, ctx, iname, "track_interface"));
            return Kw::Block;
        }
        "track_script" => {
            v.track_scripts.extend(parse_track_list(c, ctx, iname, "track script"));
            return Kw::Block;
        }
        "track_file" => {
            v.track_files.extend(parse_track_list(c, ctx, iname, "track file"));
            return Kw::Block;
        }
        "track_process" => {
            v.track_processes.extend(parse_track_list(c, ctx, iname, "track process"));
            return Kw::Block;
        }
        "track_bfd" => {
            v.track_bfds.extend(parse_track_list(c, ctx, iname, "track bfd"));
            return Kw::Block;
        }
        "mcast_src_ip" => v.mcast_src_ip = parse_ip(ctx, c, iname, "src address").or(v.mcast_src_ip),
        "unicast_src_ip" => {
            v.unicast_keyword = true;
            v.unicast_src_ip = parse_ip(ctx, c, iname, "src address").or(v.unicast_src_ip);
        }
        "mcast_dst_ip" => {
            if let Some(s) = ctx.need(c, 1) {
                match s.parse::<IpAddr>() {
                    Ok(a) if a.is_multicast() => v.mcast_dst_ip = Some(a),
                    _ => {
                        ctx.error(&c.tokens[1].pos, format!("({iname}) malformed mcast dest address {s}. Skipping..."))
                    }
                }
            }
        }
        "version" => {
            if let Some(x) = ctx.uint(c, 1, 2, 3) {
                // IPv6 VIPs already read mean version 3.
                if x == 2 && v.ipv6 == Some(true) {
                    ctx.error(
                        &c.tokens[1].pos,
                        format!("({iname}) vrrp_version 2 conflicts with IPv6 addresses (VRRPv3 only); ignoring."),
                    );
                } else {
                    v.version = Some(x as u8);
                }
            }
        }
        "check_unicast_src" => {
            v.unicast_keyword = true;
            v.check_unicast_src = true;
        }
        "unicast_peer" => {
            v.unicast_keyword = true;
            for p in c.children() {
                match p.keyword().parse::<IpAddr>() {
                    Ok(addr) => {
                        let mut peer = UnicastPeer { addr, min_ttl: None, max_ttl: None, pos: p.pos().clone() };
                        let mut i = 1;
                        while let Some(w) = p.arg_str(i) {
                            let val = p.arg_str(i + 1).and_then(super::super::tree::parse_uint).filter(|x| *x <= 255);
                            match (w, val) {
                                ("min_ttl", Some(x)) => peer.min_ttl = Some(x as u8),
                                ("max_ttl", Some(x)) => peer.max_ttl = Some(x as u8),
                                _ => ctx.error(&p.tokens[i].pos, format!("({iname}) unknown or invalid unicast peer option '{w}'")),
                            }
                            i += 2;
                        }
                        v.unicast_peers.push(peer);
                    }
                    Err(_) => ctx.error(
                        p.pos(),
                        format!("Configuration error: VRRP instance[{iname}] malformed unicast peer address[{}]. Skipping...", p.keyword()),
                    ),
                }
            }
            return Kw::Block;
        }
        "unicast_fault_no_peer" => v.unicast_fault_no_peer = true,
        "unicast_ttl" => {
            if let Some(x) = ctx.uint(c, 1, 1, 255) {
                v.unicast_ttl = Some(x as u8);
            }
        }
        "garp_master_delay" | "garp_lower_prio_delay" | "garp_master_refresh" => {
            let Some(s) = ctx.need(c, 1) else { return Kw::Leaf };
            match super::super::tree::parse_uint(s).filter(|x| *x <= u64::from(u32::MAX)) {
                Some(x) => {
                    let d = Some(Duration::from_secs(x));
                    match kw {
                        "garp_master_delay" => v.garp.master_delay = d,
                        "garp_lower_prio_delay" => v.garp.lower_prio_delay = d,
                        _ => v.garp.master_refresh = d,
                    }
                }
                None => ctx.error(&c.tokens[1].pos, format!("({iname}): {kw} '{s}' invalid - ignoring")),
            }
        }
        "garp_master_repeat" | "garp_lower_prio_repeat" | "garp_master_refresh_repeat" => {
            let Some(s) = ctx.need(c, 1) else { return Kw::Leaf };
            match super::super::tree::parse_uint(s).filter(|x| *x <= u64::from(u32::MAX)) {
                Some(x) => {
                    let mut r = Some(x as u32);
                    if x == 0 && kw != "garp_lower_prio_repeat" {
                        ctx.error(&c.tokens[1].pos, format!("({iname}): {kw} must be greater than 0, setting to 1"));
                        r = Some(1);
                    }
                    match kw {
                        "garp_master_repeat" => v.garp.master_repeat = r,
                        "garp_lower_prio_repeat" => v.garp.lower_prio_repeat = r,
                        _ => v.garp.master_refresh_repeat = r,
                    }
                }
                None => ctx.error(&c.tokens[1].pos, format!("({iname}): {kw} '{s}' invalid - ignoring")),
            }
        }
        "down_timer_adverts" => {
            if let Some(x) = ctx.uint(c, 1, 1, 100) {
                v.down_timer_adverts = Some(x as u32);
            }
        }
        "lower_prio_no_advert" => v.lower_prio_no_advert = bool_kw(ctx, c, iname).or(v.lower_prio_no_advert),
        "higher_prio_send_advert" => v.higher_prio_send_advert = bool_kw(ctx, c, iname).or(v.higher_prio_send_advert),
        "skip_check_adv_addr" => {
            if let Some(b) = bool_kw(ctx, c, iname) {
                v.skip_check_adv_addr = b;
            }
        }
        "strict_mode" => v.strict_mode = bool_kw(ctx, c, iname).or(v.strict_mode),
        "notify_priority_changes" => v.notify_priority_changes = bool_kw(ctx, c, iname).or(v.notify_priority_changes),
        "smtp_alert" => v.smtp_alert = bool_kw(ctx, c, iname).or(v.smtp_alert),
        "virtual_router_id" => {
            let Some(s) = ctx.need(c, 1) else { return Kw::Leaf };
            match super::super::tree::parse_uint(s) {
                Some(x) if (1..=255).contains(&x) => v.vrid = Some(x as u8),
                _ => ctx.error(&c.tokens[1].pos, format!("({iname}): VRID '{s}' not valid - must be between 1 & 255")),
            }
        }
        "priority" => {
            let Some(s) = ctx.need(c, 1) else { return Kw::Leaf };
            match super::super::tree::parse_uint(s) {
                Some(x) if (1..=255).contains(&x) => {
                    v.priority = x as u8;
                    v.priority_set = true;
                }
                _ => ctx.error(
                    &c.tokens[1].pos,
                    format!("({iname}) Priority '{s}' not valid! must be between 1 & 255. Using default 100"),
                ),
            }
        }
        "advert_int" => {
            let Some(s) = ctx.need(c, 1) else { return Kw::Leaf };
            match super::super::tree::parse_timer(s) {
                Some(d) if d >= Duration::from_millis(10) && d <= Duration::from_secs(255) => {
                    v.advert_int = d;
                    v.advert_int_pos = Some(c.tokens[1].pos.clone());
                }
                _ => ctx.error(
                    &c.tokens[1].pos,
                    format!("({iname}) Advert interval ({s}) not valid! Must be in [0.01, 255] seconds - ignoring"),
                ),
            }
        }
        "authentication" => {
            let mut auth = Auth { kind: None, pass: None, pos: c.pos().clone() };
            ctx.walk(c.children(), &mut |ctx, a| {
                match a.keyword() {
                    "auth_type" => {
                        if let Some(t) = ctx.need(a, 1) {
                            match t {
                                "PASS" => auth.kind = Some(AuthType::Pass),
                                "AH" => auth.kind = Some(AuthType::Ah),
                                _ => ctx.error(
                                    &a.tokens[1].pos,
                                    format!("({iname}) unknown authentication type '{t}' (use PASS or AH)"),
                                ),
                            }
                        }
                    }
                    "auth_pass" => {
                        if let Some(p) = ctx.need(a, 1) {
                            let mut b = p.as_bytes().to_vec();
                            if b.len() > 8 {
                                ctx.error(&a.tokens[1].pos, "Truncating auth_pass to 8 characters");
                                b.truncate(8);
                            }
                            auth.pass = Some(b);
                        }
                    }
                    _ => return Kw::Unknown,
                }
                Kw::Leaf
            });
            v.auth = Some(auth);
            return Kw::Block;
        }
        "virtual_ipaddress" => {
            add_vips(c, ctx, v, false);
            return Kw::Block;
        }
        "virtual_ipaddress_excluded" => {
            add_vips(c, ctx, v, true);
            return Kw::Block;
        }
        "promote_secondaries" => v.promote_secondaries = true,
        "virtual_routes" => {
            v.vroutes.extend(c.children().iter().filter_map(|r| addr::parse_route(r, ctx)));
            return Kw::Block;
        }
        "virtual_rules" => {
            v.vrules.extend(c.children().iter().filter_map(|r| addr::parse_rule(r, ctx)));
            return Kw::Block;
        }
        "accept" => v.accept = Some(true),
        "no_accept" => v.accept = Some(false),
        "nopreempt" => v.nopreempt = true,
        "preempt" => v.nopreempt = false,
        "preempt_delay" => {
            let Some(s) = ctx.need(c, 1) else { return Kw::Leaf };
            match super::super::tree::parse_timer(s) {
                Some(d) if d <= Duration::from_secs(1000) => v.preempt_delay = d,
                _ => ctx.error(
                    &c.tokens[1].pos,
                    format!("({iname}) Preempt_delay '{s}' not valid! must be between 0-1000"),
                ),
            }
        }
        "debug" => {
            let Some(s) = ctx.need(c, 1) else { return Kw::Leaf };
            match super::super::tree::parse_uint(s) {
                Some(x) if x <= 4 => v.debug = Some(x as u32),
                _ => ctx.error(&c.tokens[1].pos, format!("({iname}) Debug value '{s}' not valid; must be between 0-4")),
            }
        }
        "kernel_rx_buf_size" => match c.arg_str(1).and_then(super::super::tree::parse_uint) {
            Some(x) => v.kernel_rx_buf_size = Some(x),
            None => ctx.error(c.pos(), format!("({iname}) invalid kernel_rx_buf_size specified")),
        },
        "notify_master" => v.notify.master = script::parse(c, ctx, UserArgs::Allowed),
        "notify_backup" => v.notify.backup = script::parse(c, ctx, UserArgs::Allowed),
        "notify_fault" => v.notify.fault = script::parse(c, ctx, UserArgs::Allowed),
        "notify_stop" => v.notify.stop = script::parse(c, ctx, UserArgs::Allowed),
        "notify_deleted" => {
            if c.args().is_empty() {
                v.notify.send_deleted = true;
            } else {
                v.notify.deleted = script::parse(c, ctx, UserArgs::Allowed);
            }
        }
        "notify" => v.notify.generic = script::parse(c, ctx, UserArgs::Allowed),
        "notify_master_rx_lower_pri" => v.notify.master_rx_lower_pri = script::parse(c, ctx, UserArgs::Allowed),
        _ => return Kw::Unknown,
    }
    Kw::Leaf
}

/// Per-instance completion and checks (interfaces, VRID, priority, version, auth, VIPs, unicast).
pub fn complete(v: &mut VrrpInstance, g: &GlobalDefs, ctx: &mut Ctx<'_>) {
    let name = v.name.clone();
    let pos = v.pos.clone();
    if v.vrid.is_none() {
        ctx.error(&pos, format!("({name}) the virtual router id must be set (virtual_router_id 1..255)"));
        v.removed = true;
        return;
    }
    if v.vrf.is_some() && v.interface.is_some() {
        ctx.error(&pos, format!("({name}) Cannot specify VRF interface and interface - ignoring"));
    }
    // Interface (existence was checked by the caller, before completion).
    if let Some(i) = v.interface.clone()
        && system::if_is_loopback(&i)
    {
        let ipos = v.interface_pos.clone().unwrap_or_else(|| pos.clone());
        ctx.error(&ipos, format!("({name}) cannot use a loopback interface ({i}) for vrrp - ignoring"));
        v.interface = None;
    }
    if v.interface.is_none() {
        ctx.error(&pos, format!("({name}) Unknown interface! (set 'interface')"));
    }
    // Unicast.
    if v.unicast_peers.is_empty() {
        if v.unicast_keyword {
            ctx.error(
                &pos,
                format!(
                    "({name}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. \
                     This usage is deprecated - please update your configuration."
                ),
            );
        }
        if v.unicast_ttl.is_some() {
            ctx.error(&pos, format!("({name}): Cannot use unicast_ttl without unicast peers - resetting"));
            v.unicast_ttl = None;
        }
        if let Some(i) = &v.interface
            && system::if_exists(i)
            && !system::if_is_multicast(i)
        {
            ctx.error(
                &pos,
                format!("({name}) interface {i} does not support multicast, specify unicast peers - disabling"),
            );
        }
    }
    // Priority and initial state.
    if v.state == InitialState::Master && !v.priority_set {
        v.priority = 255;
    }
    if v.priority == 255 && v.nopreempt {
        ctx.error(&pos, format!("({name}) nopreempt is incompatible with priority 255. resetting nopreempt"));
        v.nopreempt = false;
    }
    if v.state == InitialState::Master && v.nopreempt {
        ctx.error(&pos, format!("({name}) Warning - nopreempt will not work with initial state MASTER - clearing"));
        v.nopreempt = false;
    }
    if v.state == InitialState::Master && !v.preempt_delay.is_zero() {
        ctx.error(&pos, format!("({name}) Warning - preempt delay will not work with initial state MASTER - clearing"));
        v.preempt_delay = Duration::ZERO;
    }
    // Version: IPv6 instances are always v3.
    let ipv6 = v.ipv6.unwrap_or(false);
    let mut version = v.version.unwrap_or(g.vrrp_version);
    if ipv6 {
        version = 3;
    }
    v.version = Some(version);
    let strict = v.strict_mode.unwrap_or(g.vrrp_strict);
    // Authentication.
    if let Some(a) = &v.auth {
        let apos = a.pos.clone();
        if version == 3 {
            ctx.error(&apos, format!("({name}) VRRP version 3 does not support authentication. Ignoring."));
            v.auth = None;
        } else if strict {
            ctx.error(&apos, format!("({name}) Strict mode does not support authentication. Ignoring."));
            v.auth = None;
        } else if a.kind.is_some() && a.pass.is_none() {
            ctx.error(&apos, format!("({name}) Authentication specified but no password given. Ignoring"));
            v.auth = None;
        } else if a.kind.is_none() {
            v.auth = None;
        }
    }
    if v.state == InitialState::Master
        && v.priority != 255
        && v.auth.as_ref().is_some_and(|a| a.kind == Some(AuthType::Ah))
    {
        ctx.error(&pos, format!("({name}) Initial state master is incompatible with AH authentication - clearing"));
        v.state = InitialState::Backup;
    }
    if strict && v.state == InitialState::Master && v.priority != 255 {
        ctx.error(&pos, format!("({name}) State MASTER must match being address owner (vrrp_strict)"));
        v.state = InitialState::Backup;
    }
    // Advert interval.
    let apos = v.advert_int_pos.clone().unwrap_or_else(|| pos.clone());
    if version == 2 {
        if v.advert_int.subsec_micros() != 0 {
            ctx.error(
                &apos,
                format!(
                    "({name}) VRRPv2 advertisement interval {:.6}s must be an integer. rounding",
                    v.advert_int.as_secs_f64()
                ),
            );
            let us = v.advert_int.as_micros() as u64;
            v.advert_int = Duration::from_secs(((us + 500_000) / 1_000_000).max(1));
        }
    } else {
        let us = v.advert_int.as_micros() as u64;
        if us >= 40_960_000 {
            ctx.error(
                &apos,
                format!(
                    "({name}) VRRPv3 advertisement interval {:.2}s is out of range. Must be less than 40.96s. Setting to 40.95s",
                    v.advert_int.as_secs_f64()
                ),
            );
            v.advert_int = Duration::from_millis(40_950);
        } else if !us.is_multiple_of(10_000) {
            ctx.error(
                &apos,
                format!(
                    "({name}) VRRPv3 advertisement interval {:.6}s must be in units of 10ms - rounding",
                    v.advert_int.as_secs_f64()
                ),
            );
            v.advert_int = Duration::from_micros(((us + 5_000) / 10_000).max(1) * 10_000);
        }
    }
    if v.vips.is_empty() {
        ctx.error(&pos, format!("({name}) No VIP specified; at least one is sensible"));
    }
    if v.native_ipv6 && !ipv6 {
        ctx.error(&pos, format!("({name}) Cannot specify native_ipv6 with IPv4 addresses"));
        v.native_ipv6 = false;
    }
    if v.vmac_xmit_base && v.use_vmac.is_none() {
        ctx.error(&pos, format!("({name}) vmac_xmit_base is only valid with a vmac"));
        v.vmac_xmit_base = false;
    }
    // A VMAC's adverts to unicast peers would leave with the VRRP MAC that both nodes own.
    if v.use_vmac.is_some() && !v.vmac_xmit_base && !v.unicast_peers.is_empty() {
        ctx.error(&pos, format!("({name}) unicast with use_vmac requires vmac_xmit_base - setting"));
        v.vmac_xmit_base = true;
    }
    if let Some(args) = &v.use_ipvlan {
        let has_addr = args.iter().any(|a| addr::parse_prefix(a).is_ok());
        if !ipv6 && !has_addr {
            ctx.error(
                &pos,
                format!("({name}) IPv4 ipvlan requires a source ip address to be configured. setting instance to fault state"),
            );
        }
    }

    if strict {
        strict_checks(v, version, ctx);
    }
    // Defaults from globals.
    let gp = &g.garp;
    v.garp.master_delay.get_or_insert(gp.master_delay);
    v.garp.master_repeat.get_or_insert(gp.master_repeat);
    v.garp.master_refresh.get_or_insert(gp.master_refresh);
    v.garp.master_refresh_repeat.get_or_insert(gp.master_refresh_repeat);
    let lpd = gp.lower_prio_delay.unwrap_or(gp.master_delay);
    let lpr = gp.lower_prio_repeat.unwrap_or(gp.master_repeat);
    v.garp.lower_prio_delay.get_or_insert(lpd);
    v.garp.lower_prio_repeat.get_or_insert(lpr);
    v.lower_prio_no_advert.get_or_insert(g.vrrp_lower_prio_no_advert || strict);
    v.higher_prio_send_advert.get_or_insert(g.vrrp_higher_prio_send_advert);
    v.down_timer_adverts.get_or_insert(g.vrrp_down_timer_adverts);
    if g.vrrp_check_unicast_src {
        v.check_unicast_src = true;
    }
    if g.vrrp_skip_check_adv_addr {
        v.skip_check_adv_addr = true;
    }
    v.strict_mode = Some(strict);
    if v.accept.is_none() {
        v.accept = Some(!strict || v.priority == 255);
    }
    // Tracked interfaces.
    let own = v.interface.clone();
    v.track_interfaces.retain(|t| {
        if own.as_deref() == Some(t.name.as_str()) {
            ctx.error(&t.pos, format!("({name}) Ignoring track_interface {} since own interface", t.name));
            return false;
        }
        true
    });
}

/// vrrp_strict / strict_mode: settings RFC 3768/5798 forbid are reset with a config error.
fn strict_checks(v: &mut VrrpInstance, version: u8, ctx: &mut Ctx<'_>) {
    let name = v.name.clone();
    let pos = v.pos.clone();
    let mut err = |m: &str| ctx.error(&pos, format!("({name}) {m}"));
    if v.vips.first().is_some_and(|a| match a.addr {
        IpAddr::V6(x) => (x.segments()[0] & 0xffc0) != 0xfe80,
        IpAddr::V4(_) => false,
    }) {
        err("the first IPv6 VIP address must be link local");
    }
    if v.garp.lower_prio_delay.is_some_and(|d| !d.is_zero()) {
        err("Strict mode requires no repeat garp delay. resetting");
        v.garp.lower_prio_delay = Some(Duration::ZERO);
    }
    if v.garp.lower_prio_repeat.is_some_and(|r| r != 0) {
        err("Strict mode requires no repeat garps. resetting");
        v.garp.lower_prio_repeat = Some(0);
    }
    if v.down_timer_adverts.is_some_and(|d| d != 3) {
        err("down_timer_adverts is incompatible with strict mode - resetting");
        v.down_timer_adverts = Some(3);
    }
    if v.higher_prio_send_advert == Some(true) {
        err("strict mode requires higher_prio_send_advert to be clear. resetting");
        v.higher_prio_send_advert = Some(false);
    }
    if v.lower_prio_no_advert == Some(false) {
        err("Strict mode requires no lower priority advert. resetting");
        v.lower_prio_no_advert = Some(true);
    }
    if version == 2 && v.accept == Some(true) {
        err("warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting");
        v.accept = Some(false);
    }
    if !v.preempt_delay.is_zero() {
        err("preempt_delay is incompatible with strict mode - resetting");
        v.preempt_delay = Duration::ZERO;
    }
}

/// Report the instance's missing interfaces (its own, tracked ones, VIP and route devices) and
/// say whether any is missing.
pub fn report_missing_interfaces(v: &VrrpInstance, dynamic: bool, ctx: &mut Ctx<'_>) -> bool {
    let mut missing = false;
    if let Some(i) = &v.interface {
        let ipos = v.interface_pos.clone().unwrap_or_else(|| v.pos.clone());
        missing |= addr::check_dev(ctx, &ipos, i, &format!("vrrp_instance {}", v.name), dynamic);
    }
    for t in &v.track_interfaces {
        if !system::if_exists(&t.name) {
            let msg = format!("({}) tracked interface {} doesn't exist", v.name, t.name);
            if dynamic {
                ctx.warn(&t.pos, msg)
            } else {
                ctx.error(&t.pos, msg)
            }
            missing = true;
        }
    }
    for a in v.vips.iter().chain(&v.evips) {
        if let Some(d) = &a.dev {
            missing |= addr::check_dev(ctx, &a.pos, d, &format!("ip address {}", a.addr), dynamic);
        }
    }
    for r in &v.vroutes {
        if let Some(d) = &r.dev {
            missing |= addr::check_dev(ctx, &r.pos, d, "VROUTE nexthop", dynamic);
        }
    }
    missing
}

fn dur(d: Duration) -> String {
    if d.subsec_micros() == 0 { format!("{} sec", d.as_secs()) } else { format!("{} milli-sec", d.as_millis()) }
}

pub fn dump(v: &VrrpInstance, out: &mut String) {
    let _ = writeln!(out, " VRRP Instance = {}", v.name);
    let _ = writeln!(out, "   VRRP Version = {}", v.version());
    let st = match v.state {
        InitialState::Master => "MASTER",
        InitialState::Backup => "BACKUP",
    };
    let _ = writeln!(out, "   State = {st}");
    let _ = writeln!(out, "   Wantstate = {st}");
    let _ = writeln!(out, "   Interface = {}", v.interface.as_deref().unwrap_or("(none)"));
    if let Some(a) = v.unicast_src_ip.or(v.mcast_src_ip) {
        let _ = writeln!(out, "   Using src_ip = {a}");
    } else {
        let _ = writeln!(out, "   Using src_ip = (none)");
    }
    if v.is_unicast() {
        let _ = writeln!(out, "   Unicast peers ({}):", v.unicast_peers.len());
        for p in &v.unicast_peers {
            let _ = writeln!(out, "     {}", p.addr);
        }
        if let Some(t) = v.unicast_ttl {
            let _ = writeln!(out, "   Unicast TTL = {t}");
        }
    } else {
        let group = match v.mcast_dst_ip {
            Some(a) => a.to_string(),
            None if v.ipv6 == Some(true) => "ff02::12".to_string(),
            None => "224.0.0.18".to_string(),
        };
        let _ = writeln!(out, "   Multicast address {group}");
    }
    if let Some(vm) = &v.use_vmac {
        let _ = writeln!(
            out,
            "   Use VMAC, name = {}",
            vm.name.clone().unwrap_or_else(|| format!("vrrp.{}", v.vrid.unwrap_or(0)))
        );
    }
    let g = &v.garp;
    let secs = |d: Option<Duration>| d.map(|d| d.as_secs()).unwrap_or(0);
    let _ = writeln!(out, "   Gratuitous ARP delay = {}", secs(g.master_delay));
    let _ = writeln!(out, "   Gratuitous ARP repeat = {}", g.master_repeat.unwrap_or(0));
    let _ = writeln!(out, "   Gratuitous ARP refresh = {}", secs(g.master_refresh));
    let _ = writeln!(out, "   Gratuitous ARP refresh repeat = {}", g.master_refresh_repeat.unwrap_or(0));
    let _ = writeln!(out, "   Gratuitous ARP lower priority delay = {}", secs(g.lower_prio_delay));
    let _ = writeln!(out, "   Gratuitous ARP lower priority repeat = {}", g.lower_prio_repeat.unwrap_or(0));
    let _ = writeln!(out, "   Down timer adverts = {}", v.down_timer_adverts.unwrap_or(3));
    let _ = writeln!(
        out,
        "   Send advert after receive lower priority advert = {}",
        !v.lower_prio_no_advert.unwrap_or(false)
    );
    let _ = writeln!(
        out,
        "   Send advert after receive higher priority advert = {}",
        v.higher_prio_send_advert.unwrap_or(false)
    );
    let _ = writeln!(out, "   Virtual Router ID = {}", v.vrid.unwrap_or(0));
    let _ = writeln!(out, "   Priority = {}", v.priority);
    let _ = writeln!(out, "   Advert interval = {}", dur(v.advert_int));
    let en = |b: bool| if b { "enabled" } else { "disabled" };
    let _ = writeln!(out, "   Accept = {}", en(v.accept.unwrap_or(true)));
    let _ = writeln!(out, "   Preempt = {}", en(!v.nopreempt));
    if !v.preempt_delay.is_zero() {
        let _ = writeln!(out, "   Preempt delay = {}", dur(v.preempt_delay));
    }
    let _ = writeln!(out, "   Promote_secondaries = {}", en(v.promote_secondaries));
    if let Some(a) = &v.auth {
        let t = match a.kind {
            Some(AuthType::Pass) => "SIMPLE_PASSWORD",
            Some(AuthType::Ah) => "IPSEC_AH",
            None => "none",
        };
        let _ = writeln!(out, "   Authentication type = {t}");
        if a.kind == Some(AuthType::Pass) {
            let p = a.pass.as_deref().unwrap_or(&[]);
            let _ = writeln!(out, "   Password = {}", String::from_utf8_lossy(p));
        }
    } else {
        let _ = writeln!(out, "   Authentication type = none");
    }
    for (title, list) in [("Virtual IP", &v.vips), ("Virtual IP Excluded", &v.evips)] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "   {title} ({}):", list.len());
        for a in list {
            let mut a = a.clone();
            if a.dev.is_none() {
                a.dev = v.interface.clone();
            }
            let _ = writeln!(out, "     {a}");
        }
    }
    if !v.vroutes.is_empty() {
        let _ = writeln!(out, "   Virtual Routes ({}):", v.vroutes.len());
        for r in &v.vroutes {
            let _ = writeln!(out, "     {}", r.words.join(" "));
        }
    }
    if !v.vrules.is_empty() {
        let _ = writeln!(out, "   Virtual Rules ({}):", v.vrules.len());
        for r in &v.vrules {
            let _ = writeln!(out, "     {}", r.words.join(" "));
        }
    }
    for (title, list) in [
        ("Tracked interfaces", &v.track_interfaces),
        ("Tracked scripts", &v.track_scripts),
        ("Tracked files", &v.track_files),
        ("Tracked processes", &v.track_processes),
        ("Tracked BFDs", &v.track_bfds),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "   {title} :");
        for t in list {
            let rev = if t.reverse { " reverse" } else { "" };
            let _ = writeln!(out, "     {} weight {}{rev}", t.name, t.weight.unwrap_or(0));
        }
    }
    let smtp = if v.smtp_alert == Some(true) { "yes" } else { "no" };
    let _ = writeln!(out, "   Using smtp notification = {smtp}");
    let _ = writeln!(out, "   Notify deleted = {}", if v.notify.send_deleted { "Deleted" } else { "Fault" });
    for (title, s) in [
        ("Backup state transition script", &v.notify.backup),
        ("Master state transition script", &v.notify.master),
        ("Fault state transition script", &v.notify.fault),
        ("Stop state transition script", &v.notify.stop),
        ("Deleted state transition script", &v.notify.deleted),
        ("Generic state transition script", &v.notify.generic),
        ("Master receive lower priority script", &v.notify.master_rx_lower_pri),
    ] {
        if let Some(s) = s {
            let _ = writeln!(out, "   {title} = {}", s.display());
        }
    }
    let _ = writeln!(out, "   Notify priority changes = {}", v.notify_priority_changes.unwrap_or(false));
}
