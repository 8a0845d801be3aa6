//! `-d/--dump-conf` output for the LVS section, in the spirit of keepalived's checker dump:
//! the resolved topology (what IPVS will be given) and every checker's effective settings.

use std::fmt::Write;
use std::net::IpAddr;
use std::time::Duration;

use super::super::checker::{Checker, CheckerKind, ConnOpts};
use super::{Forwarding, Granularity, GroupEntry, LvsConfig, RealServer, TunnelCsum, TunnelType, VirtualServer, VsKey};

/// Seconds as keepalived prints timers: integral values bare, others with their fraction.
fn secs(d: Duration) -> String {
    if d.subsec_micros() == 0 {
        d.as_secs().to_string()
    } else {
        let s = format!("{}.{:06}", d.as_secs(), d.subsec_micros());
        s.trim_end_matches('0').to_string()
    }
}

fn addr_port(a: &IpAddr, port: u16) -> String {
    match a {
        IpAddr::V4(_) => format!("{a}:{port}"),
        IpAddr::V6(_) => format!("[{a}]:{port}"),
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "ON" } else { "OFF" }
}

fn fwd(f: &Forwarding) -> String {
    match f {
        Forwarding::Tun(t) => {
            let kind = match t.kind {
                TunnelType::Ipip => "ipip".to_string(),
                TunnelType::Gre => "gre".to_string(),
                TunnelType::Gue => format!("gue port {}", t.port.unwrap_or(0)),
            };
            let csum = match t.csum {
                TunnelCsum::NoCsum => "nocsum",
                TunnelCsum::Csum => "csum",
                TunnelCsum::RemCsum => "remcsum",
            };
            format!("TUN, type = {kind}, {csum}")
        }
        other => other.as_str().to_string(),
    }
}

pub fn dump(l: &LvsConfig, out: &mut String) {
    if l.groups.is_empty() && l.virtual_servers.is_empty() && l.ssl.is_none() {
        return;
    }
    let _ = writeln!(out, " ------< LVS Topology >------");
    if let Some(s) = &l.ssl {
        let _ = writeln!(out, " SSL context");
        for (k, v) in [("Password", &s.password), ("CA-file", &s.ca), ("Certificate", &s.certificate), ("Key", &s.key)]
        {
            if let Some(v) = v {
                let _ = writeln!(out, "   {k} = {v}");
            }
        }
    }
    for g in &l.groups {
        let _ = writeln!(out, " Virtual Server Group = {}", g.name);
        for e in &g.entries {
            let _ = match e {
                GroupEntry::Range { first, last, port, .. } if first == last => {
                    writeln!(out, "   VIP = {first}, VPORT = {port}")
                }
                GroupEntry::Range { first, last, port, .. } => {
                    writeln!(out, "   VIP Range = {first}-{last}, VPORT = {port}")
                }
                GroupEntry::Fwmark { mark, family, .. } => match family {
                    Some(f) => writeln!(out, "   FWMARK = {mark}, family = {}", f.as_str()),
                    None => writeln!(out, "   FWMARK = {mark}"),
                },
            };
        }
    }
    for vs in &l.virtual_servers {
        dump_vs(vs, out);
    }
}

fn dump_vs(vs: &VirtualServer, out: &mut String) {
    let _ = match &vs.key {
        VsKey::Addr { addr, port } => writeln!(out, " Virtual Server = {}", addr_port(addr, *port)),
        VsKey::Fwmark(m) => writeln!(out, " Virtual Server = FWMARK {m}"),
        VsKey::Group(g) => writeln!(out, " Virtual Server = group {g}"),
    };
    let _ = writeln!(out, "   address family = {}", vs.family.as_str());
    if let Some(n) = &vs.snmp_name {
        let _ = writeln!(out, "   snmp_name = {n}");
    }
    let _ = writeln!(out, "   delay_loop = {}, lb_algo = {}", secs(vs.delay_loop), vs.scheduler.as_str());
    let f = &vs.sched_flags;
    for (on, name) in [(f.hashed, "hashed"), (f.flag_1, "flag-1"), (f.flag_2, "flag-2"), (f.flag_3, "flag-3")] {
        if on {
            let _ = writeln!(out, "   scheduler flag = {name}");
        }
    }
    if vs.ops {
        let _ = writeln!(out, "   One packet scheduling = ON");
    }
    if let Some(t) = vs.persistence_timeout {
        let _ = writeln!(out, "   persistence timeout = {t}");
    }
    match vs.persistence_granularity {
        Some(Granularity::V4(m)) => {
            let _ = writeln!(out, "   persistence granularity = {m}");
        }
        Some(Granularity::V6(p)) => {
            let _ = writeln!(out, "   persistence granularity = {p}");
        }
        None => {}
    }
    if let Some(e) = &vs.persistence_engine {
        let _ = writeln!(out, "   persistence engine = {e}");
    }
    match vs.protocol {
        Some(p) => {
            let _ = writeln!(out, "   protocol = {}", p.as_str());
        }
        None => {
            let _ = writeln!(out, "   protocol = none (fwmark)");
        }
    }
    let _ = writeln!(out, "   alpha is {}, omega is {}", on_off(vs.alpha), on_off(vs.omega));
    let _ = writeln!(out, "   quorum = {}, hysteresis = {}", vs.quorum, vs.hysteresis);
    if let Some(s) = &vs.quorum_up {
        let _ = writeln!(out, "   quorum_up = {}", s.argv.join(" "));
    }
    if let Some(s) = &vs.quorum_down {
        let _ = writeln!(out, "   quorum_down = {}", s.argv.join(" "));
    }
    if vs.ha_suspend {
        let _ = writeln!(out, "   ha_suspend = ON");
    }
    if let Some(v) = &vs.virtualhost {
        let _ = writeln!(out, "   virtualhost = {v}");
    }
    let _ = writeln!(out, "   lb_kind = {}", fwd(&vs.forwarding));
    if vs.inhibit_on_failure {
        let _ = writeln!(out, "   inhibit_on_failure = ON");
    }
    if let Some(ss) = &vs.sorry_server {
        let _ = writeln!(
            out,
            "   sorry server = {}, lvs_method = {}{}",
            addr_port(&ss.addr, ss.port),
            fwd(&ss.forwarding),
            if vs.sorry_server_inhibit { ", inhibit" } else { "" }
        );
    }
    for rs in &vs.real_servers {
        dump_rs(rs, out);
    }
}

fn dump_rs(rs: &RealServer, out: &mut String) {
    let _ = writeln!(out, "   Real Server = {}", addr_port(&rs.addr, rs.port));
    let _ = writeln!(out, "     weight = {}", rs.weight);
    let _ = writeln!(out, "     lvs_method = {}", fwd(&rs.forwarding));
    if rs.alpha {
        let _ = writeln!(out, "     alpha = ON");
    }
    if rs.inhibit_on_failure {
        let _ = writeln!(out, "     inhibit_on_failure = ON");
    }
    if let Some(u) = rs.uthreshold {
        let _ = writeln!(out, "     uthreshold = {u}");
    }
    if let Some(l) = rs.lthreshold {
        let _ = writeln!(out, "     lthreshold = {l}");
    }
    if let Some(s) = &rs.notify_up {
        let _ = writeln!(out, "     notify_up = {}", s.argv.join(" "));
    }
    if let Some(s) = &rs.notify_down {
        let _ = writeln!(out, "     notify_down = {}", s.argv.join(" "));
    }
    if let Some(v) = &rs.virtualhost {
        let _ = writeln!(out, "     virtualhost = {v}");
    }
    if let Some(n) = &rs.snmp_name {
        let _ = writeln!(out, "     snmp_name = {n}");
    }
    for c in &rs.checkers {
        dump_checker(c, out);
    }
}

fn dump_conn(c: &ConnOpts, out: &mut String, ind: &str) {
    if let Some(b) = &c.bindto {
        let _ = writeln!(out, "{ind}bindto = {b}");
    }
    if let Some(p) = c.bind_port {
        let _ = writeln!(out, "{ind}bind_port = {p}");
    }
    if let Some(i) = &c.bind_if {
        let _ = writeln!(out, "{ind}bind_if = {i}");
    }
    if let Some(m) = c.fwmark {
        let _ = writeln!(out, "{ind}fwmark = {m}");
    }
}

fn dump_checker(c: &Checker, out: &mut String) {
    let _ = writeln!(out, "     {}", c.kind.name());
    let ind = "       ";
    if c.kind.is_network() {
        let _ = writeln!(out, "{ind}connect_ip = {}, connect_port = {}", c.dest.ip(), c.dest.port());
        dump_conn(&c.conn, out, ind);
        let _ = writeln!(out, "{ind}connect_timeout = {}", secs(c.connect_timeout));
    }
    if !matches!(c.kind, CheckerKind::File(_) | CheckerKind::Bfd(_)) {
        let _ = writeln!(
            out,
            "{ind}retry = {}, delay_before_retry = {}, delay_loop = {}, warmup = {}",
            c.retry,
            secs(c.delay_before_retry),
            secs(c.delay_loop),
            secs(c.warmup)
        );
    }
    let _ = writeln!(out, "{ind}alpha = {}", on_off(c.alpha));
    if let Some(l) = c.log_all_failures {
        let _ = writeln!(out, "{ind}log_all_failures = {}", on_off(l));
    }
    match &c.kind {
        CheckerKind::Http(h) | CheckerKind::Ssl(h) => {
            let _ = writeln!(out, "{ind}http_protocol = {}", h.http_protocol.as_str());
            if let Some(v) = &h.virtualhost {
                let _ = writeln!(out, "{ind}virtualhost = {v}");
            }
            if h.fast_recovery {
                let _ = writeln!(out, "{ind}fast_recovery = ON");
            }
            if h.enable_sni {
                let _ = writeln!(out, "{ind}enable_sni = ON");
            }
            for u in &h.urls {
                let _ = writeln!(out, "{ind}url path = {}", u.path);
                if let Some(d) = &u.digest {
                    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
                    let _ = writeln!(out, "{ind}  digest = {hex}");
                }
                let codes: Vec<String> = u
                    .status_codes
                    .iter()
                    .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
                    .collect();
                let _ = writeln!(out, "{ind}  status_code = {}", codes.join(" "));
                if let Some(v) = &u.virtualhost {
                    let _ = writeln!(out, "{ind}  virtualhost = {v}");
                }
                if let Some(r) = &u.regex {
                    let neg = if u.regex_no_match { " (no match)" } else { "" };
                    let _ = writeln!(out, "{ind}  regex = {r}{neg}");
                }
            }
        }
        CheckerKind::Misc(m) => {
            if let Some(s) = &m.path {
                let _ = writeln!(out, "{ind}misc_path = {}", s.argv.join(" "));
                if let Some(u) = &s.user {
                    let _ = writeln!(
                        out,
                        "{ind}user = {u}{}",
                        s.group.as_ref().map(|g| format!(" {g}")).unwrap_or_default()
                    );
                }
            }
            let _ = writeln!(out, "{ind}misc_timeout = {}, misc_dynamic = {}", secs(m.timeout), on_off(m.dynamic));
        }
        CheckerKind::Smtp(s) => {
            if let Some(h) = &s.helo_name {
                let _ = writeln!(out, "{ind}helo_name = {h}");
            }
            for h in &s.hosts {
                let ip = h.connect_ip.map(|i| i.to_string()).unwrap_or_else(|| "(real server)".into());
                let _ = writeln!(out, "{ind}host = {ip}:{}", h.connect_port.unwrap_or(c.dest.port()));
            }
        }
        CheckerKind::Dns(d) => {
            let _ = writeln!(out, "{ind}type = {}, name = {}", d.qtype.as_str(), d.name);
        }
        CheckerKind::Udp(u) => {
            if let Some(p) = &u.payload {
                let hex: String = p.iter().map(|b| format!("{b:02x}")).collect();
                let _ = writeln!(out, "{ind}payload = {hex}");
            }
            let _ = writeln!(
                out,
                "{ind}require_reply = {}, min_reply_length = {}, max_reply_length = {}",
                on_off(u.require_reply),
                u.min_reply_length,
                u.max_reply_length
            );
        }
        CheckerKind::File(f) => {
            let _ = writeln!(
                out,
                "{ind}track_file = {}, weight = {}{}",
                f.track_file.as_deref().unwrap_or(""),
                f.weight,
                if f.reverse { " reverse" } else { "" }
            );
        }
        CheckerKind::Bfd(b) => {
            let _ = writeln!(out, "{ind}name = {}", b.name.as_deref().unwrap_or(""));
        }
        CheckerKind::Tcp | CheckerKind::Ping => {}
    }
}
