//! VRRP-side sections: `vrrp_script`, `vrrp_track_file`/`track_file`, `vrrp_track_process`,
//! `vrrp_sync_group`, `garp_group`, `vrrp_instance`, `static_ipaddress`/`_routes`/`_rules`,
//! `linkbeat_interfaces`, `interface_up_down_delays`, `track_group`, `bfd_instance`.
//!
//! Address/route/rule lines are in [`addr`], `vrrp_instance` in [`instance`].

pub mod addr;
pub mod instance;

use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::time::Duration;

use super::global::Generic;
use super::script::{self, Script, UserArgs};
use super::tree::{Ctx, Kw, Node};
use super::{Config, Pos};
pub use addr::{IpAddress, Route, Rule, Scope};
pub use instance::{Auth, AuthType, InitialState, Notify, TrackRef, UnicastPeer, VrrpInstance};

/// `vrrp_script NAME { script ..; interval ..; ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpScript {
    pub name: String,
    pub pos: Pos,
    pub script: Option<Script>,
    pub interval: Duration,
    /// None: the interval.
    pub timeout: Option<Duration>,
    pub weight: i32,
    pub weight_reverse: bool,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
    /// keepalived dropped it (no script, no usable user); track_script references then fail.
    pub removed: bool,
}

/// `vrrp_track_process NAME { process CMD [ARGS]; ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackProcess {
    pub name: String,
    pub pos: Pos,
    pub process: Vec<String>,
    pub param_match: Option<String>,
    pub weight: i32,
    pub weight_reverse: bool,
    pub quorum: u32,
    pub quorum_max: Option<u32>,
    pub fork_delay: Option<Duration>,
    pub terminate_delay: Option<Duration>,
    pub delay: Option<Duration>,
    pub full_command: bool,
    pub removed: bool,
}

/// `track_file NAME { file PATH; weight W [reverse]; init_file [VAL] [overwrite] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFile {
    pub name: String,
    pub pos: Pos,
    pub file: Option<String>,
    pub weight: i32,
    pub weight_reverse: bool,
    /// (initial value, overwrite)
    pub init_file: Option<(i64, bool)>,
    pub removed: bool,
}

/// `vrrp_sync_group NAME { group { VI.. } ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroup {
    pub name: String,
    pub pos: Pos,
    pub members: Vec<(String, Pos)>,
    pub track_interfaces: Vec<TrackRef>,
    pub track_scripts: Vec<TrackRef>,
    pub track_files: Vec<TrackRef>,
    pub track_processes: Vec<TrackRef>,
    pub track_bfds: Vec<TrackRef>,
    pub notify: Notify,
    pub smtp_alert: Option<bool>,
    pub sync_group_tracking_weight: bool,
    pub notify_priority_changes: Option<bool>,
    pub removed: bool,
}

/// `garp_group { garp_interval S; gna_interval S; interface IF | interfaces { .. } }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GarpGroup {
    pub pos: Pos,
    pub garp_interval: Option<Duration>,
    pub gna_interval: Option<Duration>,
    pub interfaces: Vec<String>,
}

/// A block accepted and kept as lines (bfd_instance, track_group, linkbeat_interfaces, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBlock {
    pub name: Option<String>,
    pub pos: Pos,
    pub lines: Vec<Generic>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpDownDelay {
    pub interface: String,
    pub down: Duration,
    pub up: Duration,
    pub pos: Pos,
}

#[derive(Debug, Default, Clone)]
pub struct VrrpConfig {
    pub scripts: Vec<VrrpScript>,
    pub track_processes: Vec<TrackProcess>,
    pub track_files: Vec<TrackFile>,
    pub sync_groups: Vec<SyncGroup>,
    pub garp_groups: Vec<GarpGroup>,
    pub instances: Vec<VrrpInstance>,
    pub static_addresses: Vec<IpAddress>,
    pub static_routes: Vec<Route>,
    pub static_rules: Vec<Rule>,
    pub linkbeat_interfaces: Vec<Generic>,
    pub interface_up_down_delays: Vec<UpDownDelay>,
    pub track_groups: Vec<RawBlock>,
    pub bfd_instances: Vec<RawBlock>,
    /// Some configured interface does not exist: keepalived reports "Non-existent interface
    /// specified in configuration" and stops checking (no completion, no script security).
    pub missing_interface: bool,
}

impl VrrpConfig {
    /// Every notify script (instances and sync groups), for the script-security pass.
    pub fn notify_scripts_mut(&mut self) -> impl Iterator<Item = &mut Script> {
        // Dropped instances included: keepalived checks their scripts before dropping them.
        let inst = self.instances.iter_mut().flat_map(|i| i.notify.scripts_mut());
        let groups = self.sync_groups.iter_mut().filter(|g| !g.removed).flat_map(|g| g.notify.scripts_mut());
        inst.chain(groups)
    }
}

fn words(n: &Node) -> Vec<String> {
    n.args().iter().map(|t| t.text.to_string()).collect()
}

/// `weight W [reverse]` with W in [lo, hi]; reports out-of-range values.
fn weight(ctx: &mut Ctx<'_>, c: &Node, what: &str, lo: i64, hi: i64) -> Option<(i32, bool)> {
    let s = ctx.need(c, 1)?;
    let rev = match c.arg(2) {
        None => false,
        Some(t) if t.text == "reverse" => true,
        Some(t) => {
            ctx.error(&t.pos, format!("{what} unknown weight option {}", t.text));
            return None;
        }
    };
    match s.parse::<i64>() {
        Ok(w) if (lo..=hi).contains(&w) => Some((w as i32, rev)),
        _ => {
            ctx.error(&c.tokens[1].pos, format!("{what} weight {s} must be in [{lo}, {hi}]"));
            None
        }
    }
}

fn blank_check(ctx: &mut Ctx<'_>, n: &Node) {
    if let Some(t) = n.arg(1) {
        ctx.error(&t.pos, format!("Block {} has extra parameters {} ...", n.keyword(), t.text));
    }
}

/// Handle a root keyword if it is a VRRP-side one.
pub fn parse_root(n: &Node, ctx: &mut Ctx<'_>, v: &mut VrrpConfig) -> Option<Kw> {
    match n.keyword() {
        "vrrp_instance" => {
            if let Some(i) = instance::parse(n, ctx) {
                if v.instances.iter().any(|x| x.name == i.name) {
                    ctx.error(n.pos(), format!("vrrp instance {} already defined", i.name));
                } else {
                    v.instances.push(i);
                }
            }
        }
        "vrrp_script" => {
            if let Some(s) = parse_vrrp_script(n, ctx) {
                v.scripts.push(s);
            }
        }
        "vrrp_track_process" => {
            if let Some(p) = parse_track_process(n, ctx) {
                v.track_processes.push(p);
            }
        }
        "track_file" | "vrrp_track_file" => {
            if let Some(f) = parse_track_file(n, ctx) {
                v.track_files.push(f);
            }
        }
        "vrrp_sync_group" => {
            if let Some(g) = parse_sync_group(n, ctx) {
                v.sync_groups.push(g);
            }
        }
        "garp_group" => v.garp_groups.push(parse_garp_group(n, ctx)),
        "static_ipaddress" => {
            blank_check(ctx, n);
            v.static_addresses.extend(n.children().iter().filter_map(|c| addr::parse_ip_address(c, ctx)));
        }
        "static_routes" => {
            blank_check(ctx, n);
            v.static_routes.extend(n.children().iter().filter_map(|c| addr::parse_route(c, ctx)));
        }
        "static_rules" => {
            blank_check(ctx, n);
            v.static_rules.extend(n.children().iter().filter_map(|c| addr::parse_rule(c, ctx)));
        }
        "linkbeat_interfaces" => {
            blank_check(ctx, n);
            for c in n.children() {
                if let Some(m) = c.arg_str(1)
                    && !matches!(m, "MII" | "ETHTOOL" | "IOCTL")
                {
                    ctx.error(
                        &c.tokens[1].pos,
                        format!("Unknown linkbeat type {m} for {} (MII|ETHTOOL|IOCTL)", c.keyword()),
                    );
                }
                v.linkbeat_interfaces.push((c.keyword().to_string(), words(c), c.pos().clone()));
            }
        }
        "interface_up_down_delays" => {
            blank_check(ctx, n);
            for c in n.children() {
                if c.args().is_empty() {
                    // keepalived accepts a bare interface (no delay).
                    continue;
                }
                let down = c.arg_str(1).and_then(super::tree::parse_timer).filter(|d| *d <= Duration::from_secs(255));
                let up = match c.arg_str(2) {
                    None => down,
                    Some(s) => super::tree::parse_timer(s).filter(|d| *d <= Duration::from_secs(255)),
                };
                match (down, up) {
                    (Some(down), Some(up)) => v.interface_up_down_delays.push(UpDownDelay {
                        interface: c.keyword().to_string(),
                        down,
                        up,
                        pos: c.pos().clone(),
                    }),
                    _ => ctx.error(
                        c.pos(),
                        format!("Invalid up/down delay for interface {} (0..255 seconds)", c.keyword()),
                    ),
                }
            }
        }
        "track_group" => {
            let name = ctx.need(n, 1).map(str::to_string);
            let mut b = RawBlock { name, pos: n.pos().clone(), lines: Vec::new() };
            ctx.walk(n.children(), &mut |_, c| match c.keyword() {
                "group" => {
                    for m in c.children() {
                        b.lines.push((m.keyword().to_string(), words(m), m.pos().clone()));
                    }
                    Kw::Block
                }
                _ => Kw::Unknown,
            });
            v.track_groups.push(b);
        }
        "bfd_instance" => {
            let name = ctx.need(n, 1).map(str::to_string);
            let mut b = RawBlock { name: name.clone(), pos: n.pos().clone(), lines: Vec::new() };
            ctx.walk(n.children(), &mut |ctx, c| {
                let k = c.keyword();
                if !matches!(
                    k,
                    "neighbor_ip"
                        | "source_ip"
                        | "min_rx"
                        | "min_tx"
                        | "idle_tx"
                        | "multiplier"
                        | "passive"
                        | "ttl"
                        | "max_hops"
                        | "weight"
                        | "vrrp"
                        | "checker"
                ) {
                    return Kw::Unknown;
                }
                if k == "idle_tx"
                    && let Some(x) = c.arg_str(1).and_then(super::tree::parse_uint)
                        && !(1000..=4_294_967).contains(&x) {
                            let msg = format!(
                                "Configuration error: BFD instance {} idle_tx value {x} is not valid (must be in range [1000-4294967]), ignoring",
                                name.as_deref().unwrap_or("")
                            );
                            ctx.error(&c.tokens[1].pos, msg);
                            return Kw::Leaf;
                        }
                b.lines.push((k.to_string(), words(c), c.pos().clone()));
                Kw::Leaf
            });
            if !b.lines.iter().any(|l| l.0 == "neighbor_ip") {
                ctx.error(
                    n.pos(),
                    format!(
                        "Configuration error: BFD instance {} has no neighbor address set, disabling instance",
                        name.as_deref().unwrap_or("")
                    ),
                );
            } else {
                v.bfd_instances.push(b);
            }
        }
        _ => return None,
    }
    Some(Kw::Block)
}

fn parse_vrrp_script(n: &Node, ctx: &mut Ctx<'_>) -> Option<VrrpScript> {
    let name = ctx.need(n, 1)?.to_string();
    let mut s = VrrpScript {
        name: name.clone(),
        pos: n.pos().clone(),
        script: None,
        interval: Duration::from_secs(1),
        timeout: None,
        weight: 0,
        weight_reverse: false,
        rise: 1,
        fall: 1,
        init_fail: false,
        removed: false,
    };
    let mut user: Option<(String, Option<String>)> = None;
    ctx.walk(n.children(), &mut |ctx, c| {
        match c.keyword() {
            "script" => s.script = script::parse(c, ctx, UserArgs::NotAllowed),
            "interval" | "timeout" => {
                // Whole seconds; 0 is corrected to 1 with an error.
                if let Some(x) = ctx.uint(c, 1, 0, 4294) {
                    if x == 0 {
                        ctx.error(
                            c.pos(),
                            format!("({name}): vrrp script {} must be greater than 0, setting to 1", c.keyword()),
                        );
                    }
                    let d = Duration::from_secs(x.max(1));
                    if c.keyword() == "interval" {
                        s.interval = d;
                    } else {
                        s.timeout = Some(d);
                    }
                }
            }
            "weight" => {
                if let Some((w, r)) = weight(ctx, c, &format!("vrrp_script {name}"), -253, 253) {
                    s.weight = w;
                    s.weight_reverse = r;
                }
            }
            "rise" => {
                if let Some(x) = ctx.uint(c, 1, 1, u64::from(u32::MAX)) {
                    s.rise = x as u32;
                }
            }
            "fall" => {
                if let Some(x) = ctx.uint(c, 1, 1, u64::from(u32::MAX)) {
                    s.fall = x as u32;
                }
            }
            "user" => {
                if let Some(u) = ctx.need(c, 1) {
                    user = Some((u.to_string(), c.arg_str(2).map(str::to_string)));
                }
            }
            "init_fail" => s.init_fail = true,
            _ => return Kw::Unknown,
        }
        Kw::Leaf
    });
    match &mut s.script {
        Some(sc) => {
            if let Some((u, g)) = user {
                sc.user = Some(u);
                sc.group = g;
            }
        }
        None => {
            ctx.error(n.pos(), format!("No script set for vrrp_script {name} - removing"));
            s.removed = true;
        }
    }
    Some(s)
}

fn parse_track_process(n: &Node, ctx: &mut Ctx<'_>) -> Option<TrackProcess> {
    let name = ctx.need(n, 1)?.to_string();
    let mut p = TrackProcess {
        name: name.clone(),
        pos: n.pos().clone(),
        process: Vec::new(),
        param_match: None,
        weight: 0,
        weight_reverse: false,
        quorum: 1,
        quorum_max: None,
        fork_delay: None,
        terminate_delay: None,
        delay: None,
        full_command: false,
        removed: false,
    };
    ctx.walk(n.children(), &mut |ctx, c| {
        match c.keyword() {
            "process" => {
                ctx.need(c, 1);
                if !p.process.is_empty() {
                    ctx.error(
                        c.pos(),
                        format!("Process already set for track process {name} - ignoring {}", c.rest_text()),
                    );
                    return Kw::Leaf;
                }
                match super::lexer::tokenize_shell(c.rest_text()) {
                    Ok(w) if !w.is_empty() => p.process = w,
                    _ => ctx.error(c.pos(), format!("track process {name}: invalid process specification")),
                }
            }
            "param_match" => match c.arg_str(1) {
                Some(m @ ("initial" | "partial")) => p.param_match = Some(m.to_string()),
                Some(m) => ctx.error(&c.tokens[1].pos, format!("Invalid param_match type {m} (initial|partial)")),
                None => {}
            },
            "weight" => {
                if c.args().is_empty() {
                    ctx.error(c.pos(), format!("No weight specified for track process {name} - ignoring"));
                    return Kw::Leaf;
                }
                if let Some((w, r)) = weight(ctx, c, &format!("track process {name}"), -254, 254) {
                    p.weight = w;
                    p.weight_reverse = r;
                }
            }
            "quorum" => {
                if let Some(x) = ctx.uint(c, 1, 1, 65535) {
                    p.quorum = x as u32;
                }
            }
            "quorum_max" => {
                if let Some(x) = ctx.uint(c, 1, 0, 65535) {
                    p.quorum_max = Some(x as u32);
                }
            }
            "fork_delay" => p.fork_delay = ctx.timer(c, 1, 0.000001, 3600.0).or(p.fork_delay),
            "terminate_delay" => p.terminate_delay = ctx.timer(c, 1, 0.000001, 3600.0).or(p.terminate_delay),
            "delay" => p.delay = ctx.timer(c, 1, 0.000001, 3600.0).or(p.delay),
            "full_command" => p.full_command = true,
            _ => return Kw::Unknown,
        }
        Kw::Leaf
    });
    if p.process.is_empty() {
        ctx.error(n.pos(), format!("track process '{name}' process name not specified"));
        p.removed = true;
    }
    Some(p)
}

fn parse_track_file(n: &Node, ctx: &mut Ctx<'_>) -> Option<TrackFile> {
    let name = ctx.need(n, 1)?.to_string();
    let mut f = TrackFile {
        name: name.clone(),
        pos: n.pos().clone(),
        file: None,
        weight: 1,
        weight_reverse: false,
        init_file: None,
        removed: false,
    };
    ctx.walk(n.children(), &mut |ctx, c| {
        match c.keyword() {
            "file" => match (c.arg_str(1), &f.file) {
                (None, _) => ctx.error(c.pos(), format!("No file specified for track file {name}")),
                (Some(x), Some(_)) => {
                    ctx.error(c.pos(), format!("File already set for track file {name} - ignoring {x}"))
                }
                (Some(x), None) => f.file = Some(x.to_string()),
            },
            "weight" => {
                if c.args().is_empty() {
                    ctx.error(c.pos(), format!("No weight specified for track file {name} - ignoring"));
                    return Kw::Leaf;
                }
                if let Some((w, r)) = weight(ctx, c, &format!("track file {name}"), -254, 254) {
                    f.weight = w;
                    f.weight_reverse = r;
                }
            }
            "init_file" => {
                let mut val = 0i64;
                let mut overwrite = false;
                for t in c.args() {
                    if t.text == "overwrite" {
                        overwrite = true;
                    } else if let Ok(x) = t.text.parse::<i64>() {
                        if !(-254..=254).contains(&x) {
                            ctx.error(
                                &t.pos,
                                format!("Track file {name} init value {x} is outside sensible range [-254, 254]"),
                            );
                        }
                        val = x;
                    } else {
                        ctx.error(&t.pos, format!("track file {name}: invalid init_file value '{}'", t.text));
                    }
                }
                f.init_file = Some((val, overwrite));
            }
            _ => return Kw::Unknown,
        }
        Kw::Leaf
    });
    if f.file.is_none() {
        ctx.error(n.pos(), format!("No file set for track_file {name} - ignoring"));
        f.removed = true;
    }
    Some(f)
}

fn parse_sync_group(n: &Node, ctx: &mut Ctx<'_>) -> Option<SyncGroup> {
    let name = ctx.need(n, 1)?.to_string();
    let mut g = SyncGroup {
        name: name.clone(),
        pos: n.pos().clone(),
        members: Vec::new(),
        track_interfaces: Vec::new(),
        track_scripts: Vec::new(),
        track_files: Vec::new(),
        track_processes: Vec::new(),
        track_bfds: Vec::new(),
        notify: Notify::default(),
        smtp_alert: None,
        sync_group_tracking_weight: false,
        notify_priority_changes: None,
        removed: false,
    };
    ctx.walk(n.children(), &mut |ctx, c| {
        match c.keyword() {
            "group" => {
                for m in c.children() {
                    for t in &m.tokens {
                        g.members.push((t.text.to_string(), t.pos.clone()));
                    }
                }
                return Kw::Block;
            }
            "track_interface" => {
                g.track_interfaces.extend(instance::parse_track_list(c, ctx, &name, "track_interface"));
                return Kw::Block;
            }
            "track_script" => {
                g.track_scripts.extend(instance::parse_track_list(c, ctx, &name, "track script"));
                return Kw::Block;
            }
            "track_file" => {
                g.track_files.extend(instance::parse_track_list(c, ctx, &name, "track file"));
                return Kw::Block;
            }
            "track_process" => {
                g.track_processes.extend(instance::parse_track_list(c, ctx, &name, "track process"));
                return Kw::Block;
            }
            "track_bfd" => {
                g.track_bfds.extend(instance::parse_track_list(c, ctx, &name, "track bfd"));
                return Kw::Block;
            }
            "notify_master" => g.notify.master = script::parse(c, ctx, UserArgs::Allowed),
            "notify_backup" => g.notify.backup = script::parse(c, ctx, UserArgs::Allowed),
            "notify_fault" => g.notify.fault = script::parse(c, ctx, UserArgs::Allowed),
            "notify_stop" => g.notify.stop = script::parse(c, ctx, UserArgs::Allowed),
            "notify" => g.notify.generic = script::parse(c, ctx, UserArgs::Allowed),
            "smtp_alert" => g.smtp_alert = ctx.opt_bool(c, 1),
            "global_tracking" => {
                ctx.error(
                    c.pos(),
                    format!(
                        "({name}) global_tracking is deprecated. Use track_interface/script/file on the sync group"
                    ),
                );
                g.sync_group_tracking_weight = true;
            }
            "sync_group_tracking_weight" => g.sync_group_tracking_weight = true,
            "notify_priority_changes" => g.notify_priority_changes = ctx.opt_bool(c, 1),
            _ => return Kw::Unknown,
        }
        Kw::Leaf
    });
    Some(g)
}

fn parse_garp_group(n: &Node, ctx: &mut Ctx<'_>) -> GarpGroup {
    let mut g = GarpGroup { pos: n.pos().clone(), garp_interval: None, gna_interval: None, interfaces: Vec::new() };
    ctx.walk(n.children(), &mut |ctx, c| {
        match c.keyword() {
            "garp_interval" => g.garp_interval = ctx.timer(c, 1, 0.0, 4294.967295),
            "gna_interval" => g.gna_interval = ctx.timer(c, 1, 0.0, 4294.967295),
            "interface" => {
                if let Some(i) = ctx.need(c, 1) {
                    g.interfaces.push(i.to_string());
                }
            }
            "interfaces" => {
                g.interfaces.extend(c.children().iter().map(|i| i.keyword().to_string()));
                return Kw::Block;
            }
            _ => return Kw::Unknown,
        }
        Kw::Leaf
    });
    if g.garp_interval.is_none() && g.gna_interval.is_none() {
        ctx.error(n.pos(), "garp group 0 does not have any delay set - removing");
    }
    g
}

/// keepalived's post-parse completion for the VRRP side.
pub fn finish(cfg: &mut Config, ctx: &mut Ctx<'_>) {
    let g = cfg.global.clone();
    let v = &mut cfg.vrrp;
    v.garp_groups.retain(|x| x.garp_interval.is_some() || x.gna_interval.is_some());
    // Script users are set at parse time in keepalived: a track script without one is dropped
    // before the instances look it up.
    for s in v.scripts.iter_mut().filter(|s| !s.removed) {
        if let Some(sc) = &mut s.script
            && !script::assign_user(sc, &g, script::Kind::Track, ctx)
        {
            if sc.user.is_none() {
                ctx.error(&s.pos, format!("Unable to set default user for vrrp script {} - removing", s.name));
            }
            s.removed = true;
        }
    }
    let dynamic = g.dynamic_interfaces.is_some();
    let mut missing = false;
    for a in &v.static_addresses {
        if let Some(d) = &a.dev {
            missing |= addr::check_dev(ctx, &a.pos, d, &format!("static ip address {}", a.addr), dynamic);
        }
    }
    for r in &v.static_routes {
        if let Some(d) = &r.dev {
            missing |= addr::check_dev(ctx, &r.pos, d, "static route", dynamic);
        }
    }
    for gg in &v.garp_groups {
        for i in &gg.interfaces {
            missing |= addr::check_dev(ctx, &gg.pos, i, "garp_group", dynamic);
        }
    }
    for i in v.instances.iter() {
        missing |= instance::report_missing_interfaces(i, dynamic, ctx);
    }
    for sg in &v.sync_groups {
        missing |= report_missing_group_interfaces(sg, dynamic, ctx);
    }
    // With dynamic_interfaces keepalived waits for them instead.
    let missing = missing && !dynamic;
    if missing {
        ctx.error(&Pos::none(), "Non-existent interface specified in configuration");
        v.missing_interface = true;
        return;
    }
    for i in v.instances.iter_mut() {
        instance::complete(i, &g, ctx);
    }
    let scripts: HashSet<String> = v.scripts.iter().filter(|s| !s.removed).map(|s| s.name.clone()).collect();
    let files: HashSet<String> = v.track_files.iter().filter(|s| !s.removed).map(|s| s.name.clone()).collect();
    let procs: HashSet<String> = v.track_processes.iter().filter(|s| !s.removed).map(|s| s.name.clone()).collect();
    let bfds: HashSet<String> = v.bfd_instances.iter().filter_map(|b| b.name.clone()).collect();
    for i in v.instances.iter_mut().filter(|i| !i.removed) {
        let name = i.name.clone();
        let owner = i.priority == 255;
        check_refs(ctx, &name, "track script", &mut i.track_scripts, &scripts, owner);
        check_refs(ctx, &name, "track file", &mut i.track_files, &files, owner);
        check_refs(ctx, &name, "track process", &mut i.track_processes, &procs, owner);
        check_refs(ctx, &name, "track bfd", &mut i.track_bfds, &bfds, owner);
        resolve_weights(&mut i.track_scripts, &mut i.track_files, &v.scripts, &v.track_files);
    }
    for g in v.sync_groups.iter_mut() {
        let name = g.name.clone();
        check_refs(ctx, &name, "track script", &mut g.track_scripts, &scripts, false);
        check_refs(ctx, &name, "track file", &mut g.track_files, &files, false);
        resolve_weights(&mut g.track_scripts, &mut g.track_files, &v.scripts, &v.track_files);
    }
    check_duplicate_vrids(&v.instances, ctx);
    finish_sync_groups(v, ctx);
}

/// An unspecified weight means the tracked object's own weight (and its `reverse`).
fn resolve_weights(scripts: &mut [TrackRef], files: &mut [TrackRef], sdefs: &[VrrpScript], fdefs: &[TrackFile]) {
    for t in scripts.iter_mut().filter(|t| t.weight.is_none()) {
        if let Some(s) = sdefs.iter().find(|s| s.name == t.name && !s.removed) {
            t.weight = Some(s.weight);
            t.reverse = s.weight_reverse;
        }
    }
    for t in files.iter_mut().filter(|t| t.weight.is_none()) {
        if let Some(f) = fdefs.iter().find(|f| f.name == t.name && !f.removed) {
            t.weight = Some(f.weight);
            t.reverse = f.weight_reverse;
        }
    }
}

/// A sync group's `track_interface` entries must exist, as an instance's must.
fn report_missing_group_interfaces(g: &SyncGroup, dynamic: bool, ctx: &mut Ctx<'_>) -> bool {
    let mut missing = false;
    for t in &g.track_interfaces {
        if !super::system::if_exists(&t.name) {
            let msg = format!("({}) tracked interface {} doesn't exist", g.name, t.name);
            if dynamic {
                ctx.warn(&t.pos, msg)
            } else {
                ctx.error(&t.pos, msg)
            }
            missing = true;
        }
    }
    missing
}

fn check_refs(
    ctx: &mut Ctx<'_>,
    inst: &str,
    what: &str,
    list: &mut Vec<TrackRef>,
    known: &HashSet<String>,
    owner: bool,
) {
    list.retain(|t| {
        if !known.contains(&t.name) {
            ctx.error(&t.pos, format!("({inst}) {what} {} not found, ignoring...", t.name));
            return false;
        }
        if owner && t.weight.is_some_and(|w| w != 0) {
            let w = if what == "track script" { "script" } else { what };
            ctx.error(&t.pos, format!("({inst}) ignoring tracked {w} {} with weights due to address_owner", t.name));
            return false;
        }
        true
    });
}

/// Two instances clash when they share VRID, family and interface and would hear each other:
/// both multicast to the same group, or unicast with a peer in common (#2022).
fn check_duplicate_vrids(list: &[VrrpInstance], ctx: &mut Ctx<'_>) {
    let live: Vec<&VrrpInstance> = list.iter().filter(|i| !i.removed && i.interface.is_some()).collect();
    for (k, a) in live.iter().enumerate() {
        for b in live.iter().skip(k + 1) {
            if a.vrid != b.vrid || a.interface != b.interface || a.ipv6.unwrap_or(false) != b.ipv6.unwrap_or(false) {
                continue;
            }
            let clash = match (a.is_unicast(), b.is_unicast()) {
                (false, false) => a.mcast_dst_ip == b.mcast_dst_ip,
                (true, true) => a.unicast_peers.iter().any(|p| b.unicast_peers.iter().any(|q| q.addr == p.addr)),
                _ => false,
            };
            if clash {
                let fam = if a.ipv6 == Some(true) { "IPv6" } else { "IPv4" };
                ctx.error(
                    &b.pos,
                    format!(
                        "{} and {} both use VRID {} with {fam} on interface {}",
                        a.name,
                        b.name,
                        a.vrid.unwrap_or(0),
                        a.interface.as_deref().unwrap_or("(none)")
                    ),
                );
            }
        }
    }
}

fn finish_sync_groups(v: &mut VrrpConfig, ctx: &mut Ctx<'_>) {
    let names: HashSet<String> = v.instances.iter().filter(|i| !i.removed).map(|i| i.name.clone()).collect();
    let mut owner: HashMap<String, String> = HashMap::new();
    for g in v.sync_groups.iter_mut() {
        if g.members.is_empty() {
            ctx.error(&g.pos, format!("Sync group {} has no virtual router(s). removing", g.name));
            g.removed = true;
            continue;
        }
        let gname = g.name.clone();
        g.members.retain(|(m, pos)| {
            if !names.contains(m) {
                ctx.error(pos, format!("Virtual router {m} specified in sync group {gname} doesn't exist - ignoring"));
                return false;
            }
            if let Some(other) = owner.get(m)
                && *other != gname
            {
                ctx.error(
                    pos,
                    format!("Virtual router {m} cannot exist in more than one sync group; ignoring {gname}"),
                );
                return false;
            }
            owner.insert(m.clone(), gname.clone());
            true
        });
        match g.members.len() {
            0 => {
                ctx.error(
                    &g.pos,
                    format!("Sync group {gname}, no matching virtual router found in group declaration - removing"),
                );
                g.removed = true;
            }
            1 => ctx.error(
                &g.pos,
                format!("Sync group {gname} has only 1 virtual router(s) - this probably isn't what you want"),
            ),
            _ => {}
        }
        let owners = g
            .members
            .iter()
            .filter(|(m, _)| v.instances.iter().any(|i| i.name == *m && !i.removed && i.priority == 255))
            .count();
        if owners != 0 && owners != g.members.len() {
            ctx.error(
                &g.pos,
                format!("Sync group {gname} has some member(s) as address owner and some not as address owner. This won't work."),
            );
        }
    }
    member_tracking(v, ctx);
}

/// keepalived 2.2.7's rules for what members of a sync group track: without
/// `sync_group_tracking_weight`, a member's weighted track_script / track_file is dropped (so
/// that members cannot disagree on priorities); a weighted track_interface is reported but, as
/// 2.2.7 does in practice, keeps its weight. An interface tracked by both the member (its own
/// interface included) and the group is reported too.
fn member_tracking(v: &mut VrrpConfig, ctx: &mut Ctx<'_>) {
    for g in v.sync_groups.iter().filter(|g| !g.removed) {
        for (m, _) in &g.members {
            let Some(i) = v.instances.iter_mut().find(|i| i.name == *m && !i.removed) else { continue };
            let name = i.name.clone();
            if !g.sync_group_tracking_weight {
                for t in i.track_interfaces.iter().filter(|t| t.weight.is_some_and(|w| w != 0)) {
                    ctx.error(
                        &t.pos,
                        format!("({name}) ignoring {} tracked interface weight due to SYNC group", t.name),
                    );
                }
                i.track_scripts.retain(|t| {
                    let weighted = t.weight.is_some_and(|w| w != 0);
                    if weighted {
                        ctx.error(
                            &t.pos,
                            format!("({name}) ignoring tracked script {} with weights due to SYNC group", t.name),
                        );
                    }
                    !weighted
                });
                i.track_files.retain(|t| {
                    let w = t.weight.unwrap_or(0);
                    if w != 0 {
                        ctx.error(
                            &t.pos,
                            format!("({name}) ignoring tracked file {} with weight {w} due to SYNC group", t.name),
                        );
                    }
                    w == 0
                });
            }
            let own = (!i.dont_track_primary).then_some(i.interface.as_deref()).flatten();
            for t in &g.track_interfaces {
                if own == Some(t.name.as_str()) || i.track_interfaces.iter().any(|x| x.name == t.name) {
                    ctx.error(
                        &t.pos,
                        format!(
                            "({name}) track_interface {} is configured on VRRP instance and sync group. \
                             Remove vrrp instance or sync group config",
                            t.name
                        ),
                    );
                }
            }
        }
    }
}

pub fn dump(v: &VrrpConfig, out: &mut String) {
    if !v.static_addresses.is_empty() {
        let _ = writeln!(out, "------< Static addresses >------");
        for a in &v.static_addresses {
            let _ = writeln!(out, " {a}");
        }
    }
    if !v.static_routes.is_empty() {
        let _ = writeln!(out, "------< Static routes >------");
        for r in &v.static_routes {
            let _ = writeln!(out, " {}", r.words.join(" "));
        }
    }
    if !v.static_rules.is_empty() {
        let _ = writeln!(out, "------< Static rules >------");
        for r in &v.static_rules {
            let _ = writeln!(out, " {}", r.words.join(" "));
        }
    }
    let live: Vec<&SyncGroup> = v.sync_groups.iter().filter(|g| !g.removed).collect();
    if !live.is_empty() {
        let _ = writeln!(out, "------< VRRP Sync groups >------");
        for g in live {
            let _ = writeln!(out, " VRRP Sync Group = {}", g.name);
            let _ = writeln!(out, "   VRRP member instances = {}", g.members.len());
            for (m, _) in &g.members {
                let _ = writeln!(out, "     {m}");
            }
            for (t, s) in [
                ("Backup state transition script", &g.notify.backup),
                ("Master state transition script", &g.notify.master),
                ("Fault state transition script", &g.notify.fault),
                ("Stop state transition script", &g.notify.stop),
                ("Generic state transition script", &g.notify.generic),
            ] {
                if let Some(s) = s {
                    let _ = writeln!(out, "   {t} = {}", s.display());
                }
            }
        }
    }
    let _ = writeln!(out, "------< VRRP Topology >------");
    for i in v.instances.iter().filter(|i| !i.removed) {
        instance::dump(i, out);
    }
    let scripts: Vec<&VrrpScript> = v.scripts.iter().filter(|s| !s.removed).collect();
    if !scripts.is_empty() {
        let _ = writeln!(out, "------< VRRP Scripts >------");
        for s in scripts {
            let _ = writeln!(out, " VRRP Script = {}", s.name);
            if let Some(sc) = &s.script {
                let cmd = sc.display();
                let cmd = cmd.split(", uid:gid").next().unwrap_or("");
                let _ = writeln!(out, "   Command = {cmd}");
            }
            let secs = |d: Duration| {
                if d.subsec_micros() == 0 {
                    format!("{} sec", d.as_secs())
                } else {
                    format!("{:.6} sec", d.as_secs_f64())
                }
            };
            let _ = writeln!(out, "   Interval = {}", secs(s.interval));
            let _ = writeln!(out, "   Timeout = {}", secs(s.timeout.unwrap_or(Duration::ZERO)));
            let rev = if s.weight_reverse { " reverse" } else { "" };
            let _ = writeln!(out, "   Weight = {}{rev}", s.weight);
            let _ = writeln!(out, "   Rise = {}", s.rise);
            let _ = writeln!(out, "   Fall = {}", s.fall);
            let insecure = s.script.as_ref().is_some_and(|x| x.insecure);
            let _ = writeln!(out, "   Insecure = {}", if insecure { "yes" } else { "no" });
            let _ = writeln!(out, "   Init state = {}", if s.init_fail { "INIT_FAILED" } else { "INIT" });
            if let Some(sc) = &s.script
                && let (Some(u), Some(g)) = (sc.uid, sc.gid)
            {
                let _ = writeln!(out, "   Script uid:gid = {u}:{g}");
            }
        }
    }
    for p in v.track_processes.iter().filter(|p| !p.removed) {
        let _ = writeln!(out, " Track process = {}", p.name);
        let _ = writeln!(out, "   Process = {}", p.process.join(" "));
        let _ = writeln!(out, "   Weight = {}{}", p.weight, if p.weight_reverse { " reverse" } else { "" });
        let _ = writeln!(out, "   Quorum = {}", p.quorum);
    }
    for f in v.track_files.iter().filter(|f| !f.removed) {
        let _ = writeln!(out, " Track file = {}", f.name);
        let _ = writeln!(out, "   File = {}", f.file.as_deref().unwrap_or(""));
        let _ = writeln!(out, "   Weight = {}{}", f.weight, if f.weight_reverse { " reverse" } else { "" });
    }
}

#[cfg(test)]
mod tests;
