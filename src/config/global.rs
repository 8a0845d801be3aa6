//! `global_defs` and the other global root keywords (`net_namespace`, `instance`, ...).
//!
//! Keywords that matter at runtime are typed, with keepalived 2.2.7's defaults; the tuning
//! keywords we do not act on yet are accepted by name (keepalived's list) and kept in `other`.
//! Every other word is reported as unknown, as keepalived does.

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::time::Duration;

use super::script::{self, Script, UserArgs};
use super::tree::{Ctx, Kw, Node};
use super::{Config, Pos};

/// A keyword accepted and stored without interpretation: (keyword, arguments, position).
pub type Generic = (String, Vec<String>, Pos);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LvsTimeouts {
    pub tcp: Option<Duration>,
    pub tcpfin: Option<Duration>,
    pub udp: Option<Duration>,
}

/// `lvs_sync_daemon IF [inst] VI [id N] [maxlen N] [port N] [ttl N] [group IP]`, kept as words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LvsSyncDaemon {
    pub interface: String,
    pub instance: Option<String>,
    pub options: Vec<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushOnStop {
    #[default]
    Disabled,
    /// Flush everything.
    All,
    /// Flush only the virtual servers we configured (`VS`).
    Vs,
}

/// A notify FIFO: path plus the optional script keepalived starts to read it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fifo {
    pub path: Option<String>,
    pub group: Option<String>,
    pub script: Option<Script>,
}

/// `vrrp_garp_*` and friends: defaults for every instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GarpDefaults {
    pub master_delay: Duration,
    pub master_repeat: u32,
    pub master_refresh: Duration,
    pub master_refresh_repeat: u32,
    /// Default: the master delay / repeat.
    pub lower_prio_delay: Option<Duration>,
    pub lower_prio_repeat: Option<u32>,
    pub interval: Duration,
    pub gna_interval: Duration,
    pub min_garp: bool,
}

impl Default for GarpDefaults {
    fn default() -> Self {
        GarpDefaults {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            lower_prio_delay: None,
            lower_prio_repeat: None,
            interval: Duration::ZERO,
            gna_interval: Duration::ZERO,
            min_garp: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GlobalDefs {
    pub pos: Option<Pos>,
    /// Default (resolved in `finish`): the host name.
    pub router_id: Option<String>,
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    pub smtp_server: Option<SmtpServer>,
    pub smtp_helo_name: Option<String>,
    pub smtp_connect_timeout: Duration,
    pub smtp_alert: Option<bool>,
    pub smtp_alert_vrrp: Option<bool>,
    pub smtp_alert_checker: Option<bool>,
    pub enable_script_security: bool,
    /// `script_user USER [GROUP]`.
    pub script_user: Option<(String, Option<String>, Pos)>,
    pub garp: GarpDefaults,
    pub vrrp_version: u8,
    pub vrrp_mcast_group4: Ipv4Addr,
    pub vrrp_mcast_group6: Ipv6Addr,
    pub vrrp_strict: bool,
    pub vrrp_skip_check_adv_addr: bool,
    pub vrrp_check_unicast_src: bool,
    pub vrrp_lower_prio_no_advert: bool,
    pub vrrp_higher_prio_send_advert: bool,
    pub vrrp_down_timer_adverts: u32,
    pub default_interface: Option<String>,
    pub lvs_timeouts: LvsTimeouts,
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    pub lvs_flush: bool,
    pub lvs_flush_on_stop: FlushOnStop,
    pub checker_log_all_failures: bool,
    /// -1 disables; None: unset.
    pub max_auto_priority: Option<i32>,
    pub vrrp_startup_delay: Option<Duration>,
    pub notify_fifo: Fifo,
    pub vrrp_notify_fifo: Fifo,
    pub lvs_notify_fifo: Fifo,
    /// `dynamic_interfaces [allow_if_changes]`: Some(allow_if_changes).
    pub dynamic_interfaces: Option<bool>,
    pub startup_script: Option<Script>,
    pub shutdown_script: Option<Script>,
    // Root keywords outside global_defs.
    pub net_namespace: Option<String>,
    pub net_namespace_ipvs: Option<String>,
    pub namespace_with_ipsets: bool,
    pub instance: Option<String>,
    pub use_pid_dir: bool,
    pub linkbeat_use_polling: bool,
    pub child_wait_time: Option<u64>,
    /// Accepted keywords we do not interpret (yet).
    pub other: Vec<Generic>,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            pos: None,
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            enable_script_security: false,
            script_user: None,
            garp: GarpDefaults::default(),
            vrrp_version: 2,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            vrrp_strict: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_check_unicast_src: false,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_down_timer_adverts: 3,
            default_interface: None,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_sync_daemon: None,
            lvs_flush: false,
            lvs_flush_on_stop: FlushOnStop::Disabled,
            checker_log_all_failures: false,
            max_auto_priority: None,
            vrrp_startup_delay: None,
            notify_fifo: Fifo::default(),
            vrrp_notify_fifo: Fifo::default(),
            lvs_notify_fifo: Fifo::default(),
            dynamic_interfaces: None,
            startup_script: None,
            shutdown_script: None,
            net_namespace: None,
            net_namespace_ipvs: None,
            namespace_with_ipsets: false,
            instance: None,
            use_pid_dir: false,
            linkbeat_use_polling: false,
            child_wait_time: None,
            other: Vec::new(),
        }
    }
}

/// How keepalived 2.2.7 checks the value of a keyword we store untyped.
#[derive(Clone, Copy)]
enum Spec {
    /// Anything (flags, optional words).
    Free,
    /// A word is required (missing: fatal).
    Need,
    /// Optional `<BOOL>`.
    Bool,
    /// A word is required (missing: config error).
    Want,
    /// Exactly one word (missing or more: config error).
    One,
    /// A directory path (missing: fatal; an existing non-directory: error).
    Dir,
    /// CPU numbers of this machine (missing: error).
    CpuSet,
    /// A nice value in [-20, 19] (missing: error).
    Nice,
    /// A real-time priority in [1, 99] (missing: error).
    RtPrio,
    /// An unsigned number in [min, max]; `fatal`: missing is fatal, else an error.
    Uint(u64, u64, bool),
    /// A signed 32-bit number (missing: fatal).
    Int,
    Umask,
    /// 2.2.7 rejects every option word (only the bare keyword works).
    IncludeCheck,
    RxBufsPolicy,
    GarpExtraIf,
}

const U32: u64 = u32::MAX as u64;

/// global_defs keywords keepalived 2.2.7 (Debian build) accepts that we store untyped.
const GENERIC: &[(&str, Spec)] = &[
    ("bfd_cpu_affinity", Spec::CpuSet),
    ("bfd_no_swap", Spec::Free),
    ("bfd_priority", Spec::Nice),
    ("bfd_process_name", Spec::Need),
    ("bfd_rlimit_rttime", Spec::Uint(1, U32, true)),
    ("bfd_rt_priority", Spec::RtPrio),
    ("checker_cpu_affinity", Spec::CpuSet),
    ("checker_no_swap", Spec::Free),
    ("checker_priority", Spec::Nice),
    ("checker_process_name", Spec::Need),
    ("checker_rlimit_rttime", Spec::Uint(1, U32, true)),
    ("checker_rt_priority", Spec::RtPrio),
    ("config_save_dir", Spec::Dir),
    ("data_use_instance", Spec::Bool),
    ("dbus_service_name", Spec::Want),
    ("disable_local_igmp", Spec::Free),
    ("enable_dbus", Spec::Free),
    ("enable_snmp_checker", Spec::Free),
    ("enable_snmp_keepalived", Spec::Free),
    ("enable_snmp_rfc", Spec::Free),
    ("enable_snmp_rfcv2", Spec::Free),
    ("enable_snmp_rfcv3", Spec::Free),
    ("enable_snmp_vrrp", Spec::Free),
    ("enable_traps", Spec::Free),
    ("fifo_write_vrrp_states_on_reload", Spec::Free),
    ("include_check", Spec::IncludeCheck),
    ("log_unknown_vrids", Spec::Free),
    ("lvs_netlink_cmd_rcv_bufs", Spec::Uint(0, U32, false)),
    ("lvs_netlink_cmd_rcv_bufs_force", Spec::Bool),
    ("lvs_netlink_monitor_rcv_bufs", Spec::Uint(0, U32, false)),
    ("lvs_netlink_monitor_rcv_bufs_force", Spec::Bool),
    ("min_auto_priority_delay", Spec::Uint(1, 10_000_000, false)),
    ("nftables", Spec::Free),
    ("nftables_counters", Spec::Free),
    ("nftables_ifindex", Spec::Free),
    ("nftables_ipvs", Spec::Free),
    ("nftables_ipvs_priority", Spec::Int),
    ("nftables_ipvs_start_fwmark", Spec::Uint(1, U32, true)),
    ("nftables_priority", Spec::Int),
    ("no_checker_emails", Spec::Bool),
    ("no_email_faults", Spec::Free),
    ("process_monitor_rcv_bufs", Spec::Uint(0, U32, false)),
    ("process_monitor_rcv_bufs_force", Spec::Bool),
    ("process_name", Spec::Need),
    ("process_names", Spec::Free),
    ("random_seed", Spec::Uint(0, U32, true)),
    ("reload_check_config", Spec::Free),
    ("reload_file", Spec::Free),
    ("reload_repeat", Spec::Free),
    ("reload_time_file", Spec::One),
    ("rs_init_notifies", Spec::Bool),
    ("shutdown_script_timeout", Spec::Uint(1, 1000, false)),
    ("snmp_socket", Spec::One),
    ("startup_script_timeout", Spec::Uint(1, 1000, false)),
    ("tmp_config_directory", Spec::Want),
    ("umask", Spec::Umask),
    ("vmac_addr_prefix", Spec::Need),
    ("vmac_prefix", Spec::Need),
    ("vrrp_cpu_affinity", Spec::CpuSet),
    ("vrrp_garp_extra_if", Spec::GarpExtraIf),
    ("vrrp_netlink_cmd_rcv_bufs", Spec::Uint(0, U32, false)),
    ("vrrp_netlink_cmd_rcv_bufs_force", Spec::Bool),
    ("vrrp_netlink_monitor_rcv_bufs", Spec::Uint(0, U32, false)),
    ("vrrp_netlink_monitor_rcv_bufs_force", Spec::Bool),
    ("vrrp_no_swap", Spec::Free),
    ("vrrp_notify_priority_changes", Spec::Bool),
    ("vrrp_priority", Spec::Nice),
    ("vrrp_process_name", Spec::Need),
    ("vrrp_rlimit_rttime", Spec::Uint(1, U32, true)),
    ("vrrp_rt_priority", Spec::RtPrio),
    ("vrrp_rx_bufs_multiplier", Spec::Uint(1, U32, false)),
    ("vrrp_rx_bufs_policy", Spec::RxBufsPolicy),
];

/// Check an untyped keyword's value as keepalived does; false when it is rejected.
fn check_generic(spec: Spec, c: &Node, ctx: &mut Ctx<'_>) -> bool {
    let kw = c.keyword();
    let arg = c.arg(1);
    let missing = |ctx: &mut Ctx<'_>| {
        ctx.error(c.pos(), format!("{kw} requires a value"));
        false
    };
    let bad = |ctx: &mut Ctx<'_>, why: &str| {
        let t = &c.tokens[1];
        ctx.error(&t.pos, format!("{kw}: invalid value '{}' ({why})", t.text));
        false
    };
    let fits_int = |s: &str, lo: i64, hi: i64| s.parse::<i64>().is_ok_and(|v| (lo..=hi).contains(&v));
    match spec {
        Spec::Free => true,
        Spec::Need => ctx.need(c, 1).is_some(),
        Spec::Bool => ctx.opt_bool(c, 1).is_some(),
        Spec::Want => arg.is_some() || missing(ctx),
        Spec::Dir => match ctx.need(c, 1) {
            None => false,
            Some(d) if std::fs::metadata(d).is_ok_and(|m| !m.is_dir()) => {
                ctx.error(&c.tokens[1].pos, format!("{kw} {d} exists and is not a directory"));
                false
            }
            Some(_) => true,
        },
        Spec::One => match c.args().len() {
            0 => missing(ctx),
            1 => true,
            _ => {
                ctx.error(&c.tokens[2].pos, format!("Too many parameters specified for {kw} - ignoring"));
                false
            }
        },
        Spec::CpuSet => {
            let Some(_) = arg else { return missing(ctx) };
            let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
            for t in c.args() {
                if super::tree::parse_uint(&t.text).is_none_or(|v| v >= ncpu) {
                    ctx.error(
                        &t.pos,
                        format!("{kw}: invalid cpu_id '{}' (this machine has CPUs 0..{})", t.text, ncpu - 1),
                    );
                    return false;
                }
            }
            true
        }
        Spec::Nice => match arg {
            None => missing(ctx),
            Some(t) if fits_int(&t.text, -20, 19) => true,
            Some(_) => bad(ctx, "must be a number in [-20, 19]"),
        },
        Spec::RtPrio => match arg {
            None => missing(ctx),
            Some(t) if fits_int(&t.text, 1, 99) => true,
            Some(t) if t.text.parse::<i64>().is_ok() => bad(ctx, "outside [1, 99] - clamped"),
            Some(_) => bad(ctx, "not a number"),
        },
        Spec::Uint(lo, hi, fatal) => match arg {
            None if fatal => ctx.need(c, 1).is_some(),
            None => missing(ctx),
            Some(t) if super::tree::parse_uint(&t.text).is_some_and(|v| v >= lo && v <= hi) => true,
            Some(_) => bad(ctx, &format!("must be a number in [{lo}, {hi}]")),
        },
        Spec::Int => match ctx.need(c, 1) {
            None => false,
            Some(s) if s.parse::<i32>().is_ok() => true,
            Some(_) => bad(ctx, "not a number"),
        },
        Spec::Umask => {
            let Some(s) = ctx.need(c, 1) else { return false };
            if s.starts_with(|ch: char| ch.is_ascii_digit() || ch == '-') {
                // strtol base 0, and only permission bits.
                let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                    u32::from_str_radix(h, 16).ok()
                } else if s.len() > 1 && s.starts_with('0') {
                    u32::from_str_radix(&s[1..], 8).ok()
                } else {
                    s.parse::<u32>().ok()
                };
                let ok = v.is_some_and(|v| v <= 0o777);
                if !ok && s.starts_with('-') {
                    return bad(ctx, "unknown umask bit");
                }
                return ok || bad(ctx, "invalid umask value");
            }
            const BITS: &[&str] = &["IRUSR", "IWUSR", "IXUSR", "IRGRP", "IWGRP", "IXGRP", "IROTH", "IWOTH", "IXOTH"];
            let joined: String = c.args().iter().map(|t| t.text.as_str()).collect();
            joined.split('|').all(|b| BITS.contains(&b)) || bad(ctx, "unknown umask bit")
        }
        Spec::IncludeCheck => match arg {
            None => true,
            Some(t) => {
                ctx.error(
                    &t.pos,
                    format!(
                        "Unknown include_check type '{}' - ignoring (2.2.7 accepts only a bare include_check)",
                        t.text.trim_start_matches(['+', '-'])
                    ),
                );
                false
            }
        },
        Spec::RxBufsPolicy => match arg {
            None => missing(ctx),
            Some(t) if t.text == "MTU" || t.text == "ADVERT" || super::tree::parse_uint(&t.text).is_some() => true,
            Some(_) => bad(ctx, "MTU, ADVERT or a number"),
        },
        Spec::GarpExtraIf => {
            let i = if c.arg_str(1) == Some("all") { 2 } else { 1 };
            match c.arg(i) {
                None => missing(ctx),
                Some(t) if super::tree::parse_uint(&t.text).is_some_and(|v| (1..=86400).contains(&v)) => true,
                Some(t) => {
                    ctx.error(&t.pos, format!("{kw} '{}' invalid - ignoring (seconds in [1, 86400])", t.text));
                    false
                }
            }
        }
    }
}

fn words(n: &Node) -> Vec<String> {
    n.args().iter().map(|t| t.text.to_string()).collect()
}

/// Handle a root keyword if it is a global one.
pub fn parse_root(n: &Node, ctx: &mut Ctx<'_>, g: &mut GlobalDefs) -> Option<Kw> {
    let kw = match n.keyword() {
        "global_defs" => {
            g.pos = Some(n.pos().clone());
            ctx.walk(n.children(), &mut |ctx, c| parse_global_kw(c, ctx, g));
            Kw::Block
        }
        "net_namespace" => {
            g.net_namespace = ctx.need(n, 1).map(str::to_string);
            Kw::Leaf
        }
        "net_namespace_ipvs" => {
            g.net_namespace_ipvs = Some(n.arg_str(1).unwrap_or("").to_string());
            Kw::Leaf
        }
        "namespace_with_ipsets" => {
            g.namespace_with_ipsets = true;
            Kw::Leaf
        }
        "instance" => {
            g.instance = ctx.need(n, 1).map(str::to_string);
            Kw::Leaf
        }
        "use_pid_dir" => {
            g.use_pid_dir = true;
            Kw::Leaf
        }
        "linkbeat_use_polling" => {
            g.linkbeat_use_polling = true;
            Kw::Leaf
        }
        "child_wait_time" => {
            if let Some(v) = ctx.uint(n, 1, 0, u64::from(u32::MAX)) {
                g.child_wait_time = Some(v);
            }
            Kw::Leaf
        }
        _ => return None,
    };
    Some(kw)
}

fn set_bool(ctx: &mut Ctx<'_>, c: &Node, slot: &mut bool) {
    if let Some(b) = ctx.opt_bool(c, 1) {
        *slot = b;
    }
}

fn fifo_path(ctx: &mut Ctx<'_>, c: &Node, f: &mut Fifo) {
    match c.arg_str(1) {
        Some(p) => {
            f.path = Some(p.to_string());
            f.group = c.arg_str(2).map(str::to_string);
        }
        None => ctx.error(c.pos(), format!("No {} name specified", c.keyword())),
    }
}

/// A script keyword whose missing command is a config error (not fatal) in keepalived.
fn opt_script(ctx: &mut Ctx<'_>, c: &Node, missing: &str) -> Option<Script> {
    if c.args().is_empty() {
        ctx.error(c.pos(), missing.to_string());
        return None;
    }
    script::parse(c, ctx, UserArgs::Allowed)
}

fn parse_global_kw(c: &Node, ctx: &mut Ctx<'_>, g: &mut GlobalDefs) -> Kw {
    let kw = c.keyword();
    match kw {
        "router_id" => match c.arg_str(1) {
            Some(s) => g.router_id = Some(s.to_string()),
            None => ctx.error(c.pos(), "routerid name missing - ignoring"),
        },
        "notification_email" => {
            if !c.args().is_empty() {
                ctx.error(c.pos(), format!("Block notification_email has extra parameters {} ...", c.tokens[1].text));
            }
            for e in c.children() {
                g.notification_email.extend(e.tokens.iter().map(|t| t.text.to_string()));
            }
            return Kw::Block;
        }
        "notification_email_from" => match c.arg_str(1) {
            Some(f) => g.notification_email_from = Some(f.to_string()),
            None => ctx.error(c.pos(), "emailfrom missing - ignoring"),
        },
        "smtp_server" => parse_smtp_server(c, ctx, g),
        "smtp_helo_name" => g.smtp_helo_name = c.arg_str(1).map(str::to_string).or(g.smtp_helo_name.take()),
        "smtp_connect_timeout" => {
            if let Some(d) = ctx.uint(c, 1, 0, 4294).map(Duration::from_secs) {
                if d.is_zero() {
                    ctx.error(c.pos(), "smtp_connect_timeout must be greater than 0, setting to 1");
                    g.smtp_connect_timeout = Duration::from_secs(1);
                } else {
                    g.smtp_connect_timeout = d;
                }
            }
        }
        "smtp_alert" | "smtp_alert_vrrp" | "smtp_alert_checker" => {
            if let Some(b) = ctx.opt_bool(c, 1) {
                let slot = match kw {
                    "smtp_alert" => &mut g.smtp_alert,
                    "smtp_alert_vrrp" => &mut g.smtp_alert_vrrp,
                    _ => &mut g.smtp_alert_checker,
                };
                *slot = Some(b);
            }
        }
        "enable_script_security" => g.enable_script_security = true,
        "script_user" => match c.arg_str(1) {
            Some(u) => g.script_user = Some((u.to_string(), c.arg_str(2).map(str::to_string), c.pos().clone())),
            None => ctx.error(c.pos(), "No script username specified"),
        },
        "vrrp_garp_master_delay" => {
            if let Some(v) = ctx.uint(c, 1, 0, 4294) {
                g.garp.master_delay = Duration::from_secs(v);
            }
        }
        "vrrp_garp_master_repeat" => {
            if let Some(v) = ctx.uint(c, 1, 0, U32) {
                if v == 0 {
                    ctx.error(c.pos(), "vrrp_garp_master_repeat must be greater than 0, setting to 1");
                }
                g.garp.master_repeat = v.max(1) as u32;
            }
        }
        "vrrp_garp_master_refresh" => {
            if let Some(v) = ctx.uint(c, 1, 0, u64::from(u32::MAX)) {
                g.garp.master_refresh = Duration::from_secs(v);
            }
        }
        "vrrp_garp_master_refresh_repeat" => {
            if let Some(v) = ctx.uint(c, 1, 0, U32) {
                if v == 0 {
                    ctx.error(c.pos(), "vrrp_garp_master_refresh_repeat must be greater than 0, setting to 1");
                }
                g.garp.master_refresh_repeat = v.max(1) as u32;
            }
        }
        "vrrp_garp_lower_prio_delay" => {
            if let Some(v) = ctx.uint(c, 1, 0, 4294) {
                g.garp.lower_prio_delay = Some(Duration::from_secs(v));
            }
        }
        "vrrp_garp_lower_prio_repeat" => {
            if let Some(v) = ctx.uint(c, 1, 0, U32) {
                g.garp.lower_prio_repeat = Some(v as u32);
            }
        }
        "vrrp_garp_interval" | "vrrp_gna_interval" => {
            // keepalived 2.2.7 rejects 0 here (range starts at 1us).
            if let Some(d) = ctx.timer(c, 1, 0.000001, 4294.967295) {
                if kw == "vrrp_garp_interval" {
                    g.garp.interval = d;
                } else {
                    g.garp.gna_interval = d;
                }
            }
        }
        "vrrp_min_garp" => set_bool(ctx, c, &mut g.garp.min_garp),
        "vrrp_version" => {
            if let Some(v) = ctx.uint(c, 1, 2, 3) {
                g.vrrp_version = v as u8;
            }
        }
        "vrrp_mcast_group4" | "vrrp_mcast_group6" => {
            if let Some(s) = ctx.need(c, 1) {
                match (kw, s.parse::<IpAddr>()) {
                    (_, Ok(IpAddr::V4(a))) if kw == "vrrp_mcast_group4" && a.is_multicast() => g.vrrp_mcast_group4 = a,
                    (_, Ok(IpAddr::V6(a))) if kw == "vrrp_mcast_group6" && a.is_multicast() => g.vrrp_mcast_group6 = a,
                    _ => ctx.error(&c.tokens[1].pos, format!("Can't parse {kw} [{s}]. Skipping")),
                }
            }
        }
        "vrrp_strict" => g.vrrp_strict = true,
        "vrrp_skip_check_adv_addr" => g.vrrp_skip_check_adv_addr = true,
        "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = true,
        "vrrp_lower_prio_no_advert" => set_bool(ctx, c, &mut g.vrrp_lower_prio_no_advert),
        "vrrp_higher_prio_send_advert" => set_bool(ctx, c, &mut g.vrrp_higher_prio_send_advert),
        "vrrp_down_timer_adverts" => {
            if let Some(v) = ctx.uint(c, 1, 1, 100) {
                g.vrrp_down_timer_adverts = v as u32;
            }
        }
        "default_interface" => match c.arg_str(1) {
            Some(s) => g.default_interface = Some(s.to_string()),
            None => ctx.error(c.pos(), "default_interface requires interface name"),
        },
        "lvs_timeouts" => parse_lvs_timeouts(c, ctx, g),
        "lvs_sync_daemon" => {
            if c.args().is_empty() {
                ctx.error(c.pos(), "lvs_sync_daemon requires interface");
            }
            if let Some(i) = c.arg_str(1) {
                let instance = c.arg_str(2).map(str::to_string);
                g.lvs_sync_daemon = Some(LvsSyncDaemon {
                    interface: i.to_string(),
                    instance,
                    options: c.args().iter().skip(2).map(|t| t.text.to_string()).collect(),
                    pos: c.pos().clone(),
                });
            }
        }
        "lvs_flush" => g.lvs_flush = true,
        "lvs_flush_on_stop" | "lvs_flush_onstop" => match c.arg_str(1) {
            None => g.lvs_flush_on_stop = FlushOnStop::All,
            Some("VS") => g.lvs_flush_on_stop = FlushOnStop::Vs,
            Some(o) => ctx.error(&c.tokens[1].pos, format!("Unknown lvs_flush_on_stop type {o}")),
        },
        "checker_log_all_failures" => set_bool(ctx, c, &mut g.checker_log_all_failures),
        "max_auto_priority" => match c.arg_str(1) {
            None => g.max_auto_priority = Some(99),
            Some(_) => {
                if let Some(v) = ctx.int(c, 1, -1, 99) {
                    g.max_auto_priority = Some(v as i32);
                }
            }
        },
        "vrrp_startup_delay" => {
            if let Some(d) = ctx.timer(c, 1, 0.001, 4294.967295) {
                g.vrrp_startup_delay = Some(d);
            }
        }
        "notify_fifo" => fifo_path(ctx, c, &mut g.notify_fifo),
        "vrrp_notify_fifo" => fifo_path(ctx, c, &mut g.vrrp_notify_fifo),
        "lvs_notify_fifo" => fifo_path(ctx, c, &mut g.lvs_notify_fifo),
        "notify_fifo_script" | "vrrp_notify_fifo_script" | "lvs_notify_fifo_script" => {
            let s = opt_script(ctx, c, &format!("No {kw} specified"));
            match kw {
                "notify_fifo_script" => g.notify_fifo.script = s,
                "vrrp_notify_fifo_script" => g.vrrp_notify_fifo.script = s,
                _ => g.lvs_notify_fifo.script = s,
            }
        }
        "dynamic_interfaces" => match c.arg_str(1) {
            None => g.dynamic_interfaces = Some(false),
            Some("allow_if_changes") => g.dynamic_interfaces = Some(true),
            Some(o) => ctx.error(&c.tokens[1].pos, format!("Unknown dynamic_interfaces option '{o}'")),
        },
        "startup_script" | "shutdown_script" => {
            let which = if kw == "startup_script" { "startup" } else { "shutdown" };
            let s = if c.args().is_empty() {
                ctx.error(c.pos(), format!("{which} script missing"));
                None
            } else {
                // The user is checked at once here (keepalived: "Invalid startup script").
                let s = script::parse(c, ctx, UserArgs::Allowed).filter(|s| {
                    s.user.as_deref().is_none_or(|u| super::system::user_group_ids(u, s.group.as_deref()).is_some())
                });
                if s.is_none() {
                    ctx.error(c.pos(), format!("Invalid {which} script"));
                }
                s
            };
            if kw == "startup_script" {
                g.startup_script = s;
            } else {
                g.shutdown_script = s;
            }
        }
        "vrrp_iptables" => {
            ctx.error(
                c.pos(),
                "iptables not supported, using nftables instead. Please replace 'vrrp_iptables' and \
                 'vrrp_ipsets' with 'nftables' config option",
            );
            g.other.push((kw.to_string(), words(c), c.pos().clone()));
        }
        _ => match GENERIC.iter().find(|(k, _)| *k == kw) {
            Some((_, spec)) => {
                if check_generic(*spec, c, ctx) {
                    g.other.push((kw.to_string(), words(c), c.pos().clone()));
                }
            }
            None => return Kw::Unknown,
        },
    }
    Kw::Leaf
}

fn parse_smtp_server(c: &Node, ctx: &mut Ctx<'_>, g: &mut GlobalDefs) {
    let Some(host) = ctx.need(c, 1) else { return };
    let port = match c.arg_str(2) {
        None => Some(25),
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0),
    };
    // keepalived resolves the name now (getaddrinfo); an unresolvable host is a config error.
    let ok = port.is_some_and(|p| (host, p).to_socket_addrs().is_ok_and(|mut a| a.next().is_some()));
    match port {
        Some(port) if ok => g.smtp_server = Some(SmtpServer { host: host.to_string(), port, pos: c.pos().clone() }),
        _ => {
            let rest = c.args().iter().map(|t| t.text.as_str()).collect::<Vec<_>>().join(" ");
            ctx.error(c.pos(), format!("Invalid smtp server {rest}"));
        }
    }
}

fn parse_lvs_timeouts(c: &Node, ctx: &mut Ctx<'_>, g: &mut GlobalDefs) {
    if c.args().is_empty() {
        ctx.error(c.pos(), "lvs_timeouts requires at least one option");
        return;
    }
    let mut i = 1;
    while let Some(w) = c.arg_str(i) {
        let slot = match w {
            "tcp" => &mut g.lvs_timeouts.tcp,
            "tcpfin" => &mut g.lvs_timeouts.tcpfin,
            "udp" => &mut g.lvs_timeouts.udp,
            _ => {
                ctx.error(&c.tokens[i].pos, format!("Unknown option {w} specified for lvs_timeouts"));
                i += 1;
                continue;
            }
        };
        match c.arg_str(i + 1).and_then(super::tree::parse_uint) {
            Some(v) if v <= 86400 * 31 => *slot = Some(Duration::from_secs(v)),
            _ => ctx.error(&c.tokens[i].pos, format!("Invalid lvs_timeouts {w} value")),
        }
        i += 2;
    }
}

/// The host name, as keepalived's default router_id.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

pub fn finish(cfg: &mut Config, _ctx: &mut Ctx<'_>) {
    let g = &mut cfg.global;
    if g.router_id.is_none() {
        g.router_id = Some(hostname());
    }
    if g.notification_email_from.is_none() {
        g.notification_email_from = Some(format!("keepalived@{}", hostname()));
    }
    if g.garp.lower_prio_delay.is_none() {
        g.garp.lower_prio_delay = Some(g.garp.master_delay);
    }
    if g.garp.lower_prio_repeat.is_none() {
        g.garp.lower_prio_repeat = Some(g.garp.master_repeat);
    }
}

fn opt_bool_str(b: Option<bool>) -> &'static str {
    match b {
        None => "unset",
        Some(true) => "true",
        Some(false) => "false",
    }
}

pub fn dump(g: &GlobalDefs, out: &mut String) {
    let _ = writeln!(out, "------< Global definitions >------");
    let _ = writeln!(out, " Network namespace = {}", g.net_namespace.as_deref().unwrap_or("(default)"));
    if let Some(i) = &g.instance {
        let _ = writeln!(out, " Instance name = {i}");
    }
    if let Some(id) = &g.router_id {
        let _ = writeln!(out, " Router ID = {id}");
    }
    if let Some(s) = &g.smtp_server {
        let _ = writeln!(out, " Smtp server = {}", s.host);
        let _ = writeln!(out, " Smtp server port = {}", s.port);
    }
    if let Some(h) = &g.smtp_helo_name {
        let _ = writeln!(out, " Smtp HELO name = {h}");
    }
    if g.smtp_server.is_some() {
        let _ = writeln!(out, " Smtp server connection timeout = {}", g.smtp_connect_timeout.as_secs());
    }
    if let Some(f) = &g.notification_email_from {
        let _ = writeln!(out, " Email notification from = {f}");
    }
    for e in &g.notification_email {
        let _ = writeln!(out, " Email notification = {e}");
    }
    let _ = writeln!(out, " Default smtp_alert = {}", opt_bool_str(g.smtp_alert));
    let _ = writeln!(out, " Default smtp_alert_vrrp = {}", opt_bool_str(g.smtp_alert_vrrp));
    let _ = writeln!(out, " Default smtp_alert_checker = {}", opt_bool_str(g.smtp_alert_checker));
    let _ = writeln!(out, " Checkers log all failures = {}", g.checker_log_all_failures);
    let _ = writeln!(out, " Dynamic interfaces = {}", g.dynamic_interfaces.is_some());
    let _ = writeln!(out, " Default interface = {}", g.default_interface.as_deref().unwrap_or("eth0"));
    let _ = writeln!(out, " LVS flush = {}", g.lvs_flush);
    let fos = match g.lvs_flush_on_stop {
        FlushOnStop::Disabled => "disabled",
        FlushOnStop::All => "all",
        FlushOnStop::Vs => "VS",
    };
    let _ = writeln!(out, " LVS flush on stop = {fos}");
    let t = &g.lvs_timeouts;
    for (name, v) in [("TCP", t.tcp), ("TCP FIN", t.tcpfin), ("UDP", t.udp)] {
        if let Some(v) = v {
            let _ = writeln!(out, " LVS {name} timeout = {}", v.as_secs());
        }
    }
    if let Some(s) = &g.lvs_sync_daemon {
        let _ = writeln!(
            out,
            " LVS syncd interface = {}, vrrp instance = {}",
            s.interface,
            s.instance.as_deref().unwrap_or("")
        );
    }
    for (name, f) in [("", &g.notify_fifo), ("VRRP ", &g.vrrp_notify_fifo), ("LVS ", &g.lvs_notify_fifo)] {
        if let Some(p) = &f.path {
            let _ = writeln!(out, " {name}Global notify fifo = {p}");
        }
        if let Some(s) = &f.script {
            let _ = writeln!(out, " {name}Global notify fifo script = {}", s.display());
        }
    }
    let _ = writeln!(out, " VRRP IPv4 mcast group = {}", g.vrrp_mcast_group4);
    let _ = writeln!(out, " VRRP IPv6 mcast group = {}", g.vrrp_mcast_group6);
    let gp = &g.garp;
    let _ = writeln!(out, " Gratuitous ARP delay = {}", gp.master_delay.as_secs());
    let _ = writeln!(out, " Gratuitous ARP repeat = {}", gp.master_repeat);
    let _ = writeln!(out, " Gratuitous ARP refresh timer = {}", gp.master_refresh.as_secs());
    let _ = writeln!(out, " Gratuitous ARP refresh repeat = {}", gp.master_refresh_repeat);
    let lpd = gp.lower_prio_delay.unwrap_or(gp.master_delay);
    let _ = writeln!(out, " Gratuitous ARP lower priority delay = {}", lpd.as_secs());
    let _ =
        writeln!(out, " Gratuitous ARP lower priority repeat = {}", gp.lower_prio_repeat.unwrap_or(gp.master_repeat));
    let _ = writeln!(out, " Num adverts before down = {}", g.vrrp_down_timer_adverts);
    let _ = writeln!(out, " Send advert after receive lower priority advert = {}", !g.vrrp_lower_prio_no_advert);
    let _ = writeln!(out, " Send advert after receive higher priority advert = {}", g.vrrp_higher_prio_send_advert);
    let _ = writeln!(out, " Gratuitous ARP interval = {:.6}", gp.interval.as_secs_f64());
    let _ = writeln!(out, " Gratuitous NA interval = {:.6}", gp.gna_interval.as_secs_f64());
    let _ = writeln!(out, " VRRP default protocol version = {}", g.vrrp_version);
    let _ = writeln!(out, " VRRP check unicast_src = {}", g.vrrp_check_unicast_src);
    let _ = writeln!(out, " VRRP skip check advert addresses = {}", g.vrrp_skip_check_adv_addr);
    let _ = writeln!(out, " VRRP strict mode = {}", g.vrrp_strict);
    let _ = writeln!(out, " Max auto priority = {}", g.max_auto_priority.unwrap_or(0));
    if let Some(d) = g.vrrp_startup_delay {
        let _ = writeln!(out, " VRRP startup delay = {:.6}", d.as_secs_f64());
    }
    let sec = if g.enable_script_security { "enabled" } else { "disabled" };
    let _ = writeln!(out, " Script security {sec}");
    if let Some((u, grp, _)) = &g.script_user {
        match grp {
            Some(grp) => _ = writeln!(out, " Default script user = {u}, group = {grp}"),
            None => _ = writeln!(out, " Default script user = {u}"),
        }
    }
    for s in [&g.startup_script, &g.shutdown_script].into_iter().flatten() {
        let _ = writeln!(out, " Startup/shutdown script = {}", s.display());
    }
    for (k, args, _) in &g.other {
        let _ = writeln!(out, " {k} = {}", args.join(" "));
    }
}

#[cfg(test)]
mod tests {
    use super::super::{SourceOptions, load_str};
    use super::*;

    fn load(text: &str) -> (Config, Vec<String>, i32) {
        let (cfg, d) = load_str("g.conf", text, &SourceOptions::default());
        let msgs = d.list.iter().map(|x| x.message.clone()).collect();
        (cfg, msgs, d.exit_code())
    }

    #[test]
    fn defaults_and_typed_values() {
        let (c, m, rc) = load(
            "global_defs {\n router_id r1\n notification_email {\n a@b\n c@d\n }\n smtp_server 127.0.0.1 2525\n \
             vrrp_garp_master_delay 3\n vrrp_version 3\n vrrp_mcast_group4 224.0.0.19\n lvs_timeouts tcp 10 udp 5\n \
             lvs_flush_onstop VS\n max_auto_priority\n dynamic_interfaces allow_if_changes\n umask 0077\n}\n",
        );
        assert_eq!(rc, 0, "{m:?}");
        let g = &c.global;
        assert_eq!(g.router_id.as_deref(), Some("r1"));
        assert_eq!(g.notification_email, ["a@b", "c@d"]);
        assert_eq!(g.smtp_server.as_ref().map(|s| s.port), Some(2525));
        assert_eq!(g.smtp_connect_timeout, Duration::from_secs(30));
        assert_eq!(g.garp.master_delay, Duration::from_secs(3));
        assert_eq!(g.garp.lower_prio_delay, Some(Duration::from_secs(3)));
        assert_eq!(g.garp.master_repeat, 5);
        assert_eq!(g.vrrp_version, 3);
        assert_eq!(g.vrrp_mcast_group4, Ipv4Addr::new(224, 0, 0, 19));
        assert_eq!(g.lvs_timeouts.udp, Some(Duration::from_secs(5)));
        assert_eq!(g.lvs_flush_on_stop, FlushOnStop::Vs);
        assert_eq!(g.max_auto_priority, Some(99));
        assert_eq!(g.dynamic_interfaces, Some(true));
        assert_eq!(g.other[0].0, "umask");
    }

    #[test]
    fn router_id_defaults_to_hostname() {
        let (c, _, rc) = load("global_defs {\n}\n");
        assert_eq!(rc, 0);
        assert_eq!(c.global.router_id, Some(hostname()));
    }

    #[test]
    fn errors() {
        for (text, want) in [
            ("smtp_server no.such.host.invalid 25", "Invalid smtp server"),
            ("smtp_server 127.0.0.1 x", "Invalid smtp server"),
            ("router_id", "routerid name missing"),
            ("default_interface", "default_interface requires"),
            ("vrrp_garp_interval 0", "outside range"),
            ("vrrp_garp_master_repeat 0", "must be greater than 0"),
            ("vrrp_garp_master_refresh_repeat 0", "must be greater than 0"),
            ("smtp_connect_timeout 0", "must be greater than 0"),
            ("vrrp_version 4", "outside range"),
            ("vrrp_mcast_group4 10.0.0.1", "Can't parse vrrp_mcast_group4"),
            ("vrrp_mcast_group6 x", "Can't parse vrrp_mcast_group6"),
            ("lvs_timeouts", "requires at least one option"),
            ("lvs_timeouts tcp x", "Invalid lvs_timeouts tcp value"),
            ("lvs_timeouts bogus", "Unknown option bogus"),
            ("lvs_flush_on_stop x", "Unknown lvs_flush_on_stop type"),
            ("dynamic_interfaces x", "Unknown dynamic_interfaces option"),
            ("max_auto_priority 200", "outside range"),
            ("checker_log_all_failures 1", "invalid boolean"),
            ("rs_init_notifies 1", "invalid boolean"),
            ("vrrp_iptables", "iptables not supported"),
            ("vrrp_ipsets x", "Unknown keyword 'vrrp_ipsets'"),
            ("lvs_id x", "Unknown keyword 'lvs_id'"),
            ("notification_email x {\n}", "extra parameters"),
            // keepalived's plain tokenizer drops the unterminated word: "startup script missing".
            ("startup_script \"x", "startup script missing"),
            ("startup_script /bin/true no_such_user_x", "Invalid startup script"),
            ("startup_script", "startup script missing"),
            ("notification_email_from", "emailfrom missing"),
            ("script_user", "No script username specified"),
            ("notify_fifo", "No notify_fifo name specified"),
            ("vrrp_notify_fifo_script", "No vrrp_notify_fifo_script specified"),
            ("lvs_sync_daemon", "lvs_sync_daemon requires interface"),
            ("smtp_connect_timeout 1.5", "not a valid number"),
            ("vrrp_garp_master_delay 5000", "outside range"),
            ("vrrp_startup_delay 0", "outside range"),
            ("umask 0778", "invalid umask value"),
            ("umask 512", "invalid umask value"),
            ("umask -1", "unknown umask bit"),
            ("umask FOO", "unknown umask bit"),
            ("include_check readable", "Unknown include_check type 'readable'"),
            ("vrrp_priority 20", "[-20, 19]"),
            ("vrrp_priority", "requires a value"),
            ("vrrp_rt_priority 100", "clamped"),
            ("vrrp_rt_priority x", "not a number"),
            ("vrrp_cpu_affinity 9999", "invalid cpu_id"),
            ("min_auto_priority_delay 0", "[1, 10000000]"),
            ("nftables_priority x", "not a number"),
            ("vrrp_rx_bufs_policy x", "MTU, ADVERT or a number"),
            ("vrrp_garp_extra_if", "requires a value"),
            ("vrrp_garp_extra_if 0", "vrrp_garp_extra_if '0' invalid"),
            ("snmp_socket a b", "Too many parameters"),
            ("config_save_dir /bin/sh", "exists and is not a directory"),
        ] {
            let (_, m, rc) = load(&format!("global_defs {{\n {text}\n}}\n"));
            assert_eq!(rc, 5, "{text}: {m:?}");
            assert!(m.iter().any(|x| x.contains(want)), "{text}: {m:?}");
        }
        for fatal in ["umask", "vrrp_process_name", "nftables_priority", "vrrp_rlimit_rttime", "config_save_dir"] {
            let (_, m, rc) = load(&format!("global_defs {{\n {fatal}\n}}\n"));
            assert_eq!(rc, 2, "{fatal}: {m:?}");
        }
        for ok in [
            "umask 0777",
            "umask 0x1ff",
            "umask IWGRP|IWOTH",
            "vrrp_rx_bufs_policy MTU",
            "vrrp_garp_extra_if all 5",
            "include_check",
            "vrrp_rt_priority 50",
            "vrrp_cpu_affinity 0",
            "snmp_socket x",
            "config_save_dir /tmp",
            "smtp_helo_name",
        ] {
            let (_, m, rc) = load(&format!("global_defs {{\n {ok}\n}}\n"));
            assert_eq!(rc, 0, "{ok}: {m:?}");
        }
    }

    #[test]
    fn root_keywords() {
        let (c, m, rc) = load("net_namespace ns1\ninstance i1\nuse_pid_dir\nchild_wait_time 5\nlinkbeat_use_polling\n");
        assert_eq!(rc, 0, "{m:?}");
        assert_eq!(c.global.net_namespace.as_deref(), Some("ns1"));
        assert_eq!(c.global.instance.as_deref(), Some("i1"));
        assert!(c.global.use_pid_dir && c.global.linkbeat_use_polling);
        assert_eq!(c.global.child_wait_time, Some(5));
    }

    #[test]
    fn dump_shows_defaults() {
        let (c, _, _) = load("global_defs {\n router_id X\n}\n");
        let mut s = String::new();
        dump(&c.global, &mut s);
        assert!(s.contains(" Router ID = X\n"));
        assert!(s.contains(" Gratuitous ARP delay = 5\n"));
        assert!(s.contains(" VRRP IPv4 mcast group = 224.0.0.18\n"));
    }
}
