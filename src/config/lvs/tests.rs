use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::super::checker::{CheckerKind, DnsType, HttpProtocol};
use super::super::{Config, Diagnostics, SourceOptions, load_str};
use super::*;

/// Loads `text` with script security enabled and scripts run as root, appended after it (so
/// line numbers are unchanged): MISC_CHECK scripts would otherwise make every case exit 6.
fn load(text: &str) -> (Config, Diagnostics) {
    let text = format!("{text}\nglobal_defs {{\n enable_script_security\n script_user root\n}}\n");
    load_str("t.conf", &text, &SourceOptions::default())
}

/// Parse without the completion step (for checkers that finish would drop for lack of names
/// defined in other sections).
fn parse_only(text: &str) -> (LvsConfig, Diagnostics) {
    let mut d = Diagnostics::default();
    let lines = super::super::source::read_str("t.conf", text, &SourceOptions::default(), &mut d);
    let nodes = super::super::tree::build(lines, &mut d);
    let mut ctx = super::super::tree::Ctx::new(&mut d);
    let cfg = super::super::parse_nodes(&nodes, &mut ctx);
    (cfg.lvs, d)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A complete, clean virtual server with `body` inside it and `rs` as its real servers.
fn vs(body: &str, rs: &str) -> String {
    format!("virtual_server 10.0.0.1 80 {{\n protocol TCP\n lb_algo rr\n lb_kind NAT\n{body}\n{rs}\n}}\n")
}

const RS: &str = "real_server 10.0.0.2 80 {\n}\n";

fn messages(d: &Diagnostics) -> Vec<String> {
    d.list.iter().map(|x| x.message.clone()).collect()
}

fn has(d: &Diagnostics, needle: &str) -> bool {
    d.list.iter().any(|x| x.message.contains(needle))
}

const SEED: &str = "virtual_server 192.168.112.10 80 {
delay_loop 6
lb_algo rr
lb_kind DR
! persistence_timeout 0
protocol TCP
real_server 192.168.112.13 80 {
weight 1
TCP_CHECK {
connect_timeout 10
retry 3
delay_before_retry 3
connect_port 80
}
}
real_server 192.168.112.14 80 {
weight 1
TCP_CHECK {
connect_timeout 10
retry 3
delay_before_retry 3
connect_port 80
}
}
real_server 192.168.112.15 80 {
weight 1
TCP_CHECK {
connect_timeout 10
retry 3
delay_before_retry 3
connect_port 80
}
}
}
";

#[test]
fn seed_config_resolves_as_keepalived_understands_it() {
    let (cfg, d) = load(SEED);
    assert_eq!(d.exit_code(), 0, "{:?}", messages(&d));
    let l = &cfg.lvs;
    assert_eq!(l.virtual_servers.len(), 1);
    let v = &l.virtual_servers[0];
    assert_eq!(v.key, VsKey::Addr { addr: ip("192.168.112.10"), port: 80 });
    assert_eq!(v.protocol, Some(Protocol::Tcp));
    assert_eq!(v.scheduler, Scheduler::Rr);
    assert_eq!(v.forwarding, Forwarding::Dr);
    assert_eq!(v.persistence_timeout, None);
    assert_eq!(v.delay_loop, secs(6));
    assert_eq!(v.quorum, 1);
    assert_eq!(v.real_servers.len(), 3);
    for (rs, last) in v.real_servers.iter().zip([13, 14, 15]) {
        assert_eq!(rs.addr, ip(&format!("192.168.112.{last}")));
        assert_eq!((rs.port, rs.weight, rs.forwarding), (80, 1, Forwarding::Dr));
        assert_eq!(rs.checkers.len(), 1);
        let c = &rs.checkers[0];
        assert_eq!(c.kind, CheckerKind::Tcp);
        assert_eq!(c.connect_timeout, secs(10));
        assert_eq!(c.retry, 3);
        assert_eq!(c.delay_before_retry, secs(3));
        assert_eq!(c.delay_loop, secs(6));
        assert_eq!(c.warmup, secs(6));
        assert_eq!(c.dest, SocketAddr::new(rs.addr, 80));
    }
    assert_eq!(
        l.services(v).collect::<Vec<_>>(),
        [ServiceId::Addr { addr: ip("192.168.112.10"), port: 80, protocol: Protocol::Tcp }]
    );
    let mut out = String::new();
    dump(l, &mut out);
    assert!(out.contains(" ------< LVS Topology >------"));
    assert!(out.contains(" Virtual Server = 192.168.112.10:80"));
    assert!(out.contains("delay_loop = 6, lb_algo = rr"));
    assert!(out.contains("lb_kind = DR"));
    assert!(out.contains("protocol = TCP"));
    assert_eq!(out.matches("   Real Server = 192.168.112.1").count(), 3);
    assert_eq!(out.matches("TCP_CHECK").count(), 3);
    assert!(out.contains("connect_timeout = 10"));
    assert!(out.contains("retry = 3, delay_before_retry = 3, delay_loop = 6, warmup = 6"));
}

#[test]
fn missing_protocol_scheduler_forwarding_default_with_errors() {
    let (cfg, d) = load(&format!("virtual_server 10.0.0.1 80 {{\n{RS}}}\n"));
    assert_eq!(d.exit_code(), 5);
    let m = messages(&d);
    assert_eq!(m[0], "Virtual server [10.0.0.1]:none:80: no protocol set - defaulting to UDP");
    assert_eq!(m[1], "Virtual server [10.0.0.1]:udp:80: no scheduler set, setting default 'wlc'");
    assert_eq!(m[2], "Virtual server [10.0.0.1]:udp:80: no forwarding method set, setting default NAT");
    let v = &cfg.lvs.virtual_servers[0];
    assert_eq!((v.protocol, v.scheduler, v.forwarding), (Some(Protocol::Udp), Scheduler::Wlc, Forwarding::Nat));
}

#[test]
fn checker_defaults_follow_the_chain() {
    let text = vs(
        " connect_timeout 7\n delay_loop 20",
        "real_server 10.0.0.2 80 {
           retry 4
           TCP_CHECK {
             delay_loop 2
           }
           DNS_CHECK {
           }
           HTTP_GET {
             url {
               path /
             }
           }
         }
         real_server 10.0.0.3 8080 {
           MISC_CHECK {
             misc_path /bin/true
           }
           DNS_CHECK {
             connect_ip 10.0.0.53
             connect_port 53
             warmup 1
           }
         }",
    );
    let (cfg, d) = load(&text);
    assert_eq!(d.exit_code(), 0, "{:?}", messages(&d));
    let v = &cfg.lvs.virtual_servers[0];
    let tcp = &v.real_servers[0].checkers[0];
    assert_eq!((tcp.connect_timeout, tcp.retry, tcp.delay_loop), (secs(7), 4, secs(2)));
    assert_eq!((tcp.delay_before_retry, tcp.warmup), (secs(1), secs(2)));
    let dns = &v.real_servers[0].checkers[1];
    // RS retry beats the DNS type default; delay_before_retry defaults to delay_loop for DNS.
    assert_eq!((dns.retry, dns.delay_before_retry, dns.delay_loop), (4, secs(20), secs(20)));
    let http = &v.real_servers[0].checkers[2];
    assert_eq!(http.delay_before_retry, secs(3));
    match &http.kind {
        CheckerKind::Http(h) => {
            assert_eq!(h.urls[0].status_codes, [(200, 299)]);
            assert_eq!(h.http_protocol, HttpProtocol::V1_0);
        }
        k => panic!("{k:?}"),
    }
    let misc = &v.real_servers[1].checkers[0];
    assert_eq!(misc.retry, 0);
    match &misc.kind {
        CheckerKind::Misc(m) => {
            assert_eq!(m.timeout, secs(20));
            assert_eq!(m.path.as_ref().map(|s| s.argv.clone()), Some(vec!["/bin/true".to_string()]));
        }
        k => panic!("{k:?}"),
    }
    let dns2 = &v.real_servers[1].checkers[1];
    assert_eq!(dns2.retry, 3);
    assert_eq!(dns2.warmup, secs(1));
    assert_eq!(dns2.dest, "10.0.0.53:53".parse().unwrap());
    assert_eq!(v.real_servers[1].checkers[0].dest.port(), 8080);
}

#[test]
fn fwmark_service_rules() {
    let (cfg, d) =
        load("virtual_server fwmark 1 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 80 {\n }\n}\n");
    assert_eq!(d.exit_code(), 5);
    assert!(has(&d, "FWM 1: protocol specified for fwmark - protocol will be ignored"));
    assert!(has(&d, "has port specified - clearing"));
    let v = &cfg.lvs.virtual_servers[0];
    assert_eq!(v.protocol, None);
    assert_eq!(v.real_servers[0].port, 0);
    let (cfg, d) = load("virtual_server fwmark 7 {\n lb_algo rr\n lb_kind NAT\n real_server 2001:db8::2 {\n }\n}\n");
    assert_eq!(d.exit_code(), 0);
    assert_eq!(cfg.lvs.virtual_servers[0].family, Family::Inet6);
    let (_, d) = load("virtual_server fwmark 0 {\n lb_algo rr\n lb_kind NAT\n}\n");
    assert_eq!(d.exit_code(), 5);
    let (_, d) = load("virtual_server fwmark x {\n}\n");
    assert!(has(&d, "must be in [0, 4294967295]"));
    let (_, d) = load("virtual_server fwmark {\n}\n");
    assert_eq!(d.exit_code(), 2);
}

#[test]
fn real_server_port_rules() {
    let dr = "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n";
    let (cfg, d) = load(&format!("{dr} real_server 10.0.0.2 81 {{\n }}\n real_server 10.0.0.3 {{\n }}\n}}\n"));
    assert_eq!(d.exit_code(), 5);
    assert!(has(&d, "real server [10.0.0.2]:tcp:81 ports don't match - resetting"));
    let rs = &cfg.lvs.virtual_servers[0].real_servers;
    assert_eq!((rs[0].port, rs[1].port), (80, 80));
    // NAT keeps a different port, and takes the VS port when none is given.
    let (cfg, d) = load(&vs("", "real_server 10.0.0.2 8080 {\n}\nreal_server 10.0.0.3 {\n}\n"));
    assert_eq!(d.exit_code(), 0);
    let rs = &cfg.lvs.virtual_servers[0].real_servers;
    assert_eq!((rs[0].port, rs[1].port), (8080, 80));
}

#[test]
fn duplicate_real_server_removed() {
    let (cfg, d) = load(&vs("", &format!("{RS}{RS}")));
    assert_eq!(d.exit_code(), 5);
    assert!(has(&d, "real server [10.0.0.2]:tcp:80 is duplicated - removing second rs"));
    assert_eq!(cfg.lvs.virtual_servers[0].real_servers.len(), 1);
    // Judged on the ports as written: 81 (reset to 80 later) and 80 are not duplicates.
    let dr = "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n";
    let (cfg, d) = load(&format!("{dr} real_server 10.0.0.2 81 {{\n }}\n{RS}}}\n"));
    assert!(!has(&d, "duplicated"));
    assert_eq!(cfg.lvs.virtual_servers[0].real_servers.len(), 2);
}

#[test]
fn real_server_without_block_is_not_created() {
    let (cfg, d) = load(&vs("", "real_server 10.0.0.3 80\nreal_server 10.0.0.2 80 {\n}\n"));
    assert!(has(&d, "Missing '{' after 'real_server'"));
    let rs = &cfg.lvs.virtual_servers[0].real_servers;
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].addr, ip("10.0.0.2"));
}

#[test]
fn quorum_and_hysteresis_clamps() {
    let (cfg, d) = load(&vs(" quorum 5", RS));
    assert!(has(&d, "quorum 5 for [10.0.0.1]:tcp:80 exceeds total weight of real servers 1, reducing quorum to 1"));
    assert_eq!(d.exit_code(), 5);
    let v = &cfg.lvs.virtual_servers[0];
    assert_eq!((v.quorum, v.hysteresis), (1, 0));
    let (cfg, d) = load(&vs(" quorum 2\n hysteresis 2", "real_server 10.0.0.2 80 {\n weight 3\n}\n"));
    assert!(has(&d, "hysteresis 2 >= quorum 2; setting hysteresis to 1"));
    assert_eq!(cfg.lvs.virtual_servers[0].hysteresis, 1);
    // A zero total weight: quorum 0 and hysteresis wraps as in 2.2.7.
    let (cfg, _) = load(&vs("", "real_server 10.0.0.2 80 {\n weight 0\n}\n"));
    let v = &cfg.lvs.virtual_servers[0];
    assert_eq!((v.quorum, v.hysteresis), (0, u32::MAX));
    let (cfg, d) = load(&vs(" weight 3\n quorum 3", RS));
    assert_eq!(d.exit_code(), 0);
    assert_eq!(cfg.lvs.virtual_servers[0].real_servers[0].weight, 3);
}

#[test]
fn persistence() {
    let (cfg, d) = load(&vs(" persistence_timeout", RS));
    assert_eq!(d.exit_code(), 0);
    assert_eq!(cfg.lvs.virtual_servers[0].persistence_timeout, Some(360));
    let (cfg, d) = load(&format!("virtual_server 10.0.0.1 {{\n protocol TCP\n lb_algo rr\n lb_kind NAT\n{RS}}}\n"));
    assert!(has(&d, "zero port only valid for persistent services"));
    assert_eq!(cfg.lvs.virtual_servers[0].persistence_timeout, Some(360));
    for bad in ["0", "2678401", "x", "99999999999"] {
        let (_, d) = load(&vs(&format!(" persistence_timeout {bad}"), RS));
        assert_eq!(d.exit_code(), 5, "{bad}");
    }
    let (cfg, d) = load(&vs(" persistence_timeout 10\n persistence_granularity 255.255.255.0", RS));
    assert_eq!(d.exit_code(), 0);
    let v = &cfg.lvs.virtual_servers[0];
    assert_eq!(v.persistence_granularity, Some(Granularity::V4("255.255.255.0".parse().unwrap())));
    assert_eq!(v.ipvs_flags() & IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_PERSISTENT);
    let (_, d) = load(&vs(" persistence_granularity foo", RS));
    assert!(has(&d, "Invalid IPv4 persistence_granularity specified - foo"));
}

#[test]
fn forwarding_methods_and_tunnels() {
    let cases: &[(&str, Option<Forwarding>)] = &[
        ("NAT", Some(Forwarding::Nat)),
        ("DR", Some(Forwarding::Dr)),
        (
            "TUN type gue port 5555 csum",
            Some(Forwarding::Tun(Tunnel { kind: TunnelType::Gue, port: Some(5555), csum: TunnelCsum::Csum })),
        ),
        (
            "TUN type gre csum",
            Some(Forwarding::Tun(Tunnel { kind: TunnelType::Gre, port: None, csum: TunnelCsum::Csum })),
        ),
        ("TUN nocsum", Some(Forwarding::Tun(Tunnel { kind: TunnelType::Ipip, port: None, csum: TunnelCsum::NoCsum }))),
        ("TUN type gue", None),
        ("TUN type gre remcsum", None),
        ("TUN type ipip csum", None),
        ("TUN type ipip port 5", None),
        ("TUN type foo", None),
        ("TUN junk", None),
        ("DR junk", None),
        ("dr", None),
    ];
    for (m, want) in cases {
        let text = format!("virtual_server 10.0.0.1 80 {{\n protocol TCP\n lb_algo rr\n lb_kind {m}\n{RS}}}\n");
        let (cfg, d) = load(&text);
        let v = &cfg.lvs.virtual_servers[0];
        match want {
            Some(f) => {
                assert_eq!(d.exit_code(), 0, "{m}: {:?}", messages(&d));
                assert_eq!(v.forwarding, *f, "{m}");
            }
            None => assert_eq!(d.exit_code(), 5, "{m}"),
        }
    }
    let (_, d) = load(&vs(" lb_kind", RS));
    assert_eq!(d.exit_code(), 2);
}

#[test]
fn scheduler_and_flags() {
    let (cfg, d) = load(&format!(
        "virtual_server 10.0.0.1 80 {{\n protocol UDP\n lvs_sched mh\n lvs_method DR\n hashed\n mh-port\n mh-fallback\n flag-3\n ops\n{RS}}}\n"
    ));
    assert_eq!(d.exit_code(), 0, "{:?}", messages(&d));
    let v = &cfg.lvs.virtual_servers[0];
    assert_eq!(v.scheduler, Scheduler::Mh);
    assert_eq!(v.scheduler.as_str(), "mh");
    assert_eq!(
        v.ipvs_flags(),
        IP_VS_SVC_F_HASHED | IP_VS_SVC_F_ONEPACKET | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3
    );
    for s in ["rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos"] {
        assert_eq!(Scheduler::parse(s).map(Scheduler::as_str), Some(s));
    }
    for kw in ["hashed", "sh-port", "sh-fallback", "mh-port", "mh-fallback"] {
        let (cfg, d) = load(&vs(&format!(" {kw}"), RS));
        assert!(has(&d, &format!("{kw} only applies to sh scheduler - ignoring")), "{kw}");
        assert_eq!(cfg.lvs.virtual_servers[0].sched_flags, SchedFlags::default());
    }
    // Order matters: the flag must follow `lb_algo sh|mh`.
    let (_, d) =
        load(&format!("virtual_server 10.0.0.1 80 {{\n protocol TCP\n hashed\n lb_algo sh\n lb_kind NAT\n{RS}}}\n"));
    assert_eq!(d.exit_code(), 5);
    let (cfg, _) = load(&vs(" ops", ""));
    assert!(cfg.lvs.virtual_servers.is_empty());
    let (_, d) = load("virtual_server fwmark 1 {\n lb_algo rr\n lb_kind NAT\n ops\n real_server 10.0.0.2 {\n }\n}\n");
    assert_eq!(d.exit_code(), 0, "ops is not checked for fwmark services: {:?}", messages(&d));
    let (_, d) = load(&vs(" lb_algo RR", RS));
    assert!(has(&d, "Invalid lvs_scheduler 'RR' - ignoring"));
    let (cfg, d) = load(&vs(" ops", RS));
    assert!(has(&d, "one packet scheduling requires UDP - resetting"));
    assert!(!cfg.lvs.virtual_servers[0].ops);
}

#[test]
fn virtual_server_groups() {
    let text = "virtual_server_group G {
  10.0.0.1 80
  10.0.0.5-10 80
  10.0.1.250-10.0.2.10 81
  10.0.3.8/29 82
  2001:db8::1-1f 83
  fwmark 5 inet
}
virtual_server group G {
  protocol TCP
  lb_algo rr
  lb_kind TUN
  real_server 10.0.0.2 {
  }
}
";
    let (cfg, d) = load(text);
    assert_eq!(d.exit_code(), 0, "{:?}", messages(&d));
    let g = cfg.lvs.group("G").unwrap();
    let ranges: Vec<(IpAddr, IpAddr, u16)> = g
        .entries
        .iter()
        .filter_map(|e| match e {
            GroupEntry::Range { first, last, port, .. } => Some((*first, *last, *port)),
            _ => None,
        })
        .collect();
    assert_eq!(ranges[0], (ip("10.0.0.1"), ip("10.0.0.1"), 80));
    assert_eq!(ranges[1], (ip("10.0.0.5"), ip("10.0.0.10"), 80));
    assert_eq!(ranges[2], (ip("10.0.1.250"), ip("10.0.2.10"), 81));
    assert_eq!(ranges[3], (ip("10.0.3.8"), ip("10.0.3.15"), 82));
    assert_eq!(ranges[4], (ip("2001:db8::1"), ip("2001:db8::1f"), 83));
    assert!(matches!(g.entries[5], GroupEntry::Fwmark { mark: 5, family: Some(Family::Inet), .. }));
    assert_eq!(cfg.lvs.virtual_servers[0].protocol, Some(Protocol::Tcp));
    let svcs: Vec<ServiceId> = cfg.lvs.services(&cfg.lvs.virtual_servers[0]).collect();
    // 1 + 6 + 17 (10.0.1.250-10.0.2.10) + 8 (/29) + 31 (::1-::1f) addresses, and the fwmark.
    assert_eq!(svcs.len(), 1 + 6 + 17 + 8 + 31 + 1);
    assert_eq!(svcs[0], ServiceId::Addr { addr: ip("10.0.0.1"), port: 80, protocol: Protocol::Tcp });
    assert_eq!(svcs[7], ServiceId::Addr { addr: ip("10.0.1.250"), port: 81, protocol: Protocol::Tcp });
    assert_eq!(svcs[23], ServiceId::Addr { addr: ip("10.0.2.10"), port: 81, protocol: Protocol::Tcp });
    assert_eq!(svcs[63], ServiceId::Fwmark { mark: 5, family: Family::Inet });
    assert_eq!(range_addrs(ip("10.0.0.1"), ip("2001:db8::1")).count(), 0);
    // With a port, each entry of another port is reported, and the fwmark entry too.
    let (_, d) = load(&text.replace("real_server 10.0.0.2 {", "real_server 10.0.0.2 80 {"));
    let m = messages(&d);
    assert_eq!(m.len(), 4, "{m:?}");
    assert!(m[0].contains("fwmark virtual server [G]:0, real server [10.0.0.2]:tcp:80 has port specified"));
    assert!(m[1].contains("[G]:0:[10.0.1.250-10.0.2.10,81] and real server [10.0.0.2]:tcp:80 ports don't match"));
    assert!(m[2].contains("[10.0.3.8-10.0.3.15,82]"));
    assert!(m[3].contains("[2001:db8::1-2001:db8::1f,83]"));

    let bad: &[(&str, &str)] = &[
        ("10.0.0.300 80", "Invalid virtual server group IP address"),
        ("10.0.0.10-5 80", "Address range end is not greater than address range start"),
        ("10.0.0.10-300 80", "end '300' too large"),
        ("10.0.0.0/33 80", "Invalid netmask"),
        ("10.0.0.1 x", "/port/x - skipping"),
        ("fwmark x", "fwmark 'x' must be in [0, 4294967295]"),
        ("fwmark 5 foo", "family foo unknown"),
    ];
    for (entry, msg) in bad {
        let (cfg, d) = load(&format!("virtual_server_group G {{\n {entry}\n}}\n"));
        assert_eq!(d.exit_code(), 5, "{entry}");
        assert!(has(&d, msg), "{entry}: {:?}", messages(&d));
        assert!(has(&d, "virtual server group G has no entries - removing"));
        assert!(cfg.lvs.groups.is_empty());
    }
    let (_, d) = load("virtual_server_group G {\n fwmark\n}\n");
    assert_eq!(d.exit_code(), 2);
    let (_, d) = load("virtual_server_group {\n}\n");
    assert_eq!(d.exit_code(), 2);
    let (_, d) = load("virtual_server_group G\n 10.0.0.1 80\n");
    assert_eq!(d.exit_code(), 2);
    assert!(has(&d, "without '{'"));
    let (_, d) = load("virtual_server_group G {\n 10.0.0.1 80\n fwmark 5\n fwmark 6 inet6\n}\n");
    assert!(has(&d, "cannot have IPv4, IPv6 and fwmark without family"));
    // Undefined group: dropped without failing the test, as 2.2.7 does.
    let (cfg, d) = load(&format!("virtual_server group NOPE {{\n protocol TCP\n lb_algo rr\n lb_kind NAT\n{RS}}}\n"));
    assert_eq!(d.exit_code(), 0);
    assert!(cfg.lvs.virtual_servers.is_empty());
    // Group without protocol, and fwmark-only group with one.
    let (_, d) = load(&format!(
        "virtual_server_group G {{\n 10.0.0.1 80\n}}\nvirtual_server group G {{\n lb_algo rr\n lb_kind NAT\n{RS}}}\n"
    ));
    assert!(has(&d, "[G]:0: no protocol set - defaulting to UDP"));
    let (_, d) = load(&format!(
        "virtual_server_group G {{\n fwmark 1\n}}\nvirtual_server group G {{\n protocol TCP\n lb_algo rr\n lb_kind NAT\n{RS}}}\n"
    ));
    assert!(has(&d, "protocol specified for fwmark - protocol will be ignored"));
}

#[test]
fn group_family_rules() {
    let grp = |entries: &str, body: &str, rs: &str| {
        format!("virtual_server_group G {{\n{entries}\n}}\nvirtual_server group G {{\n lb_algo rr\n{body}\n{rs}}}\n")
    };
    // Family learnt from the first real server; a group of another family: silently dropped.
    let (cfg, d) = load(&grp("2001:db8::1 80", " protocol TCP\n lb_kind NAT", RS));
    assert_eq!(d.exit_code(), 0, "{:?}", messages(&d));
    assert!(cfg.lvs.virtual_servers.is_empty());
    // ... unless every real server is tunnelled.
    let (cfg, d) = load(&grp("2001:db8::1 80\n 10.0.0.1 80", " protocol TCP\n lb_kind TUN", RS));
    assert_eq!(d.exit_code(), 0, "{:?}", messages(&d));
    assert_eq!(cfg.lvs.virtual_servers.len(), 1);
    // persistence_granularity's form sets the family first: the IPv4 real server is refused.
    let (_, d) = load(&grp("fwmark 5 inet6", " lb_kind NAT\n persistence_granularity 64", RS));
    assert!(has(&d, "Address family of virtual server and real server 10.0.0.2 don't match"));
    assert_eq!(d.exit_code(), 5);
    // No family learnt at all: no family check, the missing real servers are reported.
    let (_, d) = load(&grp("2001:db8::1 80\n 10.0.0.0/30", " protocol TCP\n lb_kind NAT", ""));
    assert!(has(&d, "has no real servers - ignoring"));
    // Non-NAT: a real server port differing from an entry's is reported (kept).
    let (cfg, d) = load(&grp("10.0.0.1 80", " protocol TCP\n lb_kind DR", "real_server 10.0.0.2 81 {\n}\n"));
    assert!(has(&d, "virtual server [G]:0:[10.0.0.1,80] and real server [10.0.0.2]:tcp:81 ports don't match"));
    assert_eq!(cfg.lvs.virtual_servers[0].real_servers[0].port, 81);
    let (cfg, d) = load(&grp("10.0.0.1 80", " protocol TCP\n lb_kind DR\n sorry_server 10.0.0.9 81", RS));
    assert!(has(&d, "sorry server has port specified - port will be ignored"));
    assert_eq!(cfg.lvs.virtual_servers[0].sorry_server.as_ref().map(|s| s.port), Some(0));
    let (cfg, d) = load(
        "virtual_server fwmark 1 {\n lb_algo rr\n lb_kind DR\n sorry_server 10.0.0.9 81\n real_server 10.0.0.2 {\n }\n}\n",
    );
    assert!(has(&d, "FWM 1, sorry server has port specified - clearing"));
    assert_eq!(cfg.lvs.virtual_servers[0].sorry_server.as_ref().map(|s| s.port), Some(0));
}

#[test]
fn address_family_checks() {
    let (cfg, d) = load(&vs("", "real_server 2001:db8::2 80 {\n}\n"));
    assert!(has(&d, "Address family of virtual server and real server 2001:db8::2 don't match"));
    assert!(has(&d, "has no real servers - ignoring"));
    assert!(cfg.lvs.virtual_servers.is_empty());
    // Dropped before defaulting: no protocol/scheduler/forwarding messages for it.
    let (_, d) = load("virtual_server 10.0.0.1 80 {\n}\n");
    assert_eq!(messages(&d), ["Virtual server [10.0.0.1]:none:80 has no real servers - ignoring"]);
    let (cfg, d) = load(&vs("", "real_server 2001:db8::2 80 {\n lvs_method TUN\n}\n"));
    assert_eq!(d.exit_code(), 0, "{:?}", messages(&d));
    assert_eq!(cfg.lvs.virtual_servers[0].real_servers.len(), 1);
    let (cfg, d) = load(&vs(" sorry_server 2001:db8::1 80", RS));
    assert!(has(&d, "sorry server 2001:db8::1 don't match - skipping sorry server"));
    assert!(cfg.lvs.virtual_servers[0].sorry_server.is_none());
    let (_, d) = load(&vs(" ip_family inet6", RS));
    assert!(has(&d, "conflicts with server family"));
    let (_, d) = load(&vs(" ip_family foo", RS));
    assert!(has(&d, "unknown address family foo"));
}

#[test]
fn sorry_server() {
    let dr = "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n";
    let (cfg, d) = load(&format!("{dr} sorry_server 10.0.0.9 81\n sorry_server_inhibit\n{RS}}}\n"));
    assert!(has(&d, "and sorry server ports don't match - resetting"));
    let v = &cfg.lvs.virtual_servers[0];
    let ss = v.sorry_server.as_ref().unwrap();
    assert_eq!((ss.addr, ss.port, ss.forwarding), (ip("10.0.0.9"), 80, Forwarding::Dr));
    assert!(v.sorry_server_inhibit);
    let (cfg, d) = load(&vs(" sorry_server 10.0.0.9\n sorry_server_lvs_method NAT", RS));
    assert_eq!(d.exit_code(), 0);
    assert_eq!(cfg.lvs.virtual_servers[0].sorry_server.as_ref().map(|s| s.port), Some(80));
    let (cfg, d) = load(&vs(" sorry_server_inhibit\n sorry_server 10.0.0.9", RS));
    assert!(has(&d, "Ignoring sorry_server inhibit used before or without sorry_server"));
    assert!(!cfg.lvs.virtual_servers[0].sorry_server_inhibit);
    let (_, d) = load(&vs(" sorry_server_lvs_method DR", RS));
    assert!(has(&d, "sorry_server forwarding used without sorry_server"));
    for bad in ["10.0.0.300 80", "10.0.0.3 x"] {
        let (_, d) = load(&vs(&format!(" sorry_server {bad}"), RS));
        assert!(has(&d, "Invalid sorry server IP address"), "{bad}");
    }
}

#[test]
fn value_errors_and_their_exit_codes() {
    // (VS body, RS body, message fragment, exit code)
    let cases: &[(&str, &str, &str, i32)] = &[
        (" protocol ICMP", "", "Unknown protocol ICMP - ignoring", 5),
        (" protocol", "", "missing its parameter", 2),
        (" lb_algo", "", "missing its parameter", 2),
        (" delay_loop 0", "", "outside range", 5),
        (" delay_loop x", "", "not a valid time", 5),
        (" connect_timeout 0", "", "outside range", 5),
        (" retry -1", "", "retry value invalid - -1", 5),
        (" quorum 0", "", "Quorum must be in [1, 4294967295]", 5),
        (" hysteresis x", "", "not a valid number", 5),
        (" smtp_alert xx", "", "Invalid virtual_server smtp_alert parameter xx", 5),
        (" weight -5", "", "Virtual server weight is outside range 1-2147483647", 5),
        (" alpha maybe\n omega\n ha_suspend\n inhibit_on_failure maybe", "", "", 0),
        (" foo", "", "Unknown keyword 'foo'", 5),
        ("", " weight -1", "Real server weight is outside range 0-2147483647", 5),
        ("", " weight 65536", "", 0),
        ("", " uthreshold x", "Invalid real_server uthreshold 'x' - ignoring", 5),
        ("", " alpha maybe", "Invalid alpha parameter maybe", 5),
        ("", " inhibit_on_failure maybe", "Invalid inhibit_on_failure parameter maybe", 5),
        ("", " smtp_alert maybe", "Invalid real_server smtp_alert parameter maybe", 5),
        ("", " delay_loop 0", "real server delay_loop '0' invalid", 5),
        ("", " connect_timeout 0", "real server connect_timeout invalid", 5),
        ("", " lvs_method XX", "unknown [XX] routing method for real server", 5),
        ("", " bar 1", "Unknown keyword 'bar'", 5),
        (" virtualhost", "", "virtual server virtualhost missing", 5),
        ("", " virtualhost", "real server virtualhost missing", 5),
        (" snmp_name a b", "", "virtual server snmp_name missing or extra parameters", 5),
        ("", " snmp_name", "real server snmp_name missing or extra parameters", 5),
        (" sorry_server_lvs_method", "", "sorry_server forwarding used without sorry_server", 5),
        (" sorry_server 10.0.0.9\n sorry_server_lvs_method", "", "missing its parameter", 2),
        (" quorum_up", "", "missing its parameter", 2),
        ("", " notify_down", "missing its parameter", 2),
        (" persistence_engine", "", "missing its parameter", 2),
        (" lb_kind TUN type gue port 0", "", "Invalid gue tunnel port", 5),
    ];
    for (vbody, rbody, msg, code) in cases {
        let (_, d) = load(&vs(vbody, &format!("real_server 10.0.0.2 80 {{\n{rbody}\n}}\n")));
        assert_eq!(d.exit_code(), *code, "{vbody}|{rbody}: {:?}", messages(&d));
        if !msg.is_empty() {
            assert!(has(&d, msg), "{vbody}|{rbody}: {:?}", messages(&d));
        }
    }
    let bad_vs: &[(&str, &str, i32)] = &[
        ("virtual_server 10.0.0.300 80 {\n}\n", "Invalid virtual server IP address/port 10.0.0.300/80", 5),
        ("virtual_server 10.0.0.1 99999 {\n}\n", "Invalid virtual server IP address/port", 5),
        ("virtual_server 10.0.0.1 http {\n}\n", "Invalid virtual server IP address/port", 5),
        ("virtual_server {\n}\n", "missing its parameter", 2),
        ("virtual_server group {\n}\n", "missing its parameter", 2),
        (&vs("", "real_server 10.0.0.300 80 {\n}\n"), "Invalid real server ip address/port", 5),
        (&vs("", "real_server {\n}\n"), "missing its parameter", 2),
        (&vs("", ""), "has no real servers - ignoring", 5),
    ];
    for (text, msg, code) in bad_vs {
        let (_, d) = load(text);
        assert_eq!(d.exit_code(), *code, "{text}");
        assert!(has(&d, msg), "{text}: {:?}", messages(&d));
    }
}

fn one_checker(block: &str) -> (Option<super::super::checker::Checker>, Diagnostics) {
    let (cfg, d) = load(&vs("", &format!("real_server 10.0.0.2 80 {{\n{block}\n}}\n")));
    let c = cfg.lvs.virtual_servers.first().and_then(|v| v.real_servers[0].checkers.first().cloned());
    (c, d)
}

#[test]
fn checker_errors_and_their_exit_codes() {
    let cases: &[(&str, &str, i32)] = &[
        ("TCP_CHECK {\n nb_get_retry 3\n}", "Unknown keyword 'nb_get_retry'", 5),
        ("TCP_CHECK {\n nb_sock_retry 3\n}", "Unknown keyword 'nb_sock_retry'", 5),
        ("TCP_CHECK {\n connect_ip foo\n}", "Invalid connect_ip address foo", 5),
        ("TCP_CHECK {\n connect_port 0\n}", "Invalid checker connect_port '0'", 5),
        ("TCP_CHECK {\n connect_port 70000\n}", "Invalid checker connect_port", 5),
        ("TCP_CHECK {\n bindto foo\n}", "Invalid bindto address foo", 5),
        ("TCP_CHECK {\n bind_port x\n}", "Invalid checker bind_port 'x'", 5),
        ("TCP_CHECK {\n fwmark x\n}", "Invalid fwmark connection value 'x'", 5),
        ("TCP_CHECK {\n connect_timeout 0\n}", "connect_timeout invalid", 5),
        ("TCP_CHECK {\n retry x\n}", "retry value invalid", 5),
        ("TCP_CHECK {\n delay_before_retry x\n}", "not a valid time", 5),
        ("TCP_CHECK {\n delay_loop 0\n}", "delay_loop '0' invalid", 5),
        ("TCP_CHECK {\n warmup x\n}", "not a valid time", 5),
        ("TCP_CHECK {\n alpha maybe\n}", "Invalid alpha parameter maybe", 5),
        ("TCP_CHECK {\n log_all_failures maybe\n}", "Invalid log_all_failures parameter maybe", 5),
        ("TCP_CHECK {\n virtualhost x\n}", "Unknown keyword 'virtualhost'", 5),
        ("TCP_CHECK {\n connect_ip\n}", "missing its parameter", 2),
        ("TCP_CHECK", "Missing '{' after 'TCP_CHECK'", 5),
        ("HTTP_GET {\n}", "HTTP/SSL_GET checker has no urls specified", 5),
        ("HTTP_GET {\n url {\n status_code 200\n }\n}", "url has no path", 5),
        ("HTTP_GET {\n url {\n path /\n }\n nb_get_retry 3\n}", "nb_get_retry is deprecated", 5),
        ("HTTP_GET {\n url {\n path /\n digest xyz\n }\n}", "character length should be 32 rather than 3", 5),
        ("HTTP_GET {\n url {\n path /\n digest zz3a0c85a887a256d6939da88aabd8cd\n }\n}", "not a hex MD5", 5),
        ("HTTP_GET {\n url {\n path /\n status_code 99\n }\n}", "Invalid HTTP_GET status code '99'", 5),
        (
            "HTTP_GET {\n url {\n path /\n digest 9b3a0c85a887a256d6939da88aabd8cd\n digest 9b3a0c85a887a256d6939da88aabd8ce\n }\n}",
            "Digest '9b3a0c85a887a256d6939da88aabd8ce' is a duplicate",
            5,
        ),
        ("HTTP_GET {\n url {\n path /\n status_code 300-200\n }\n}", "Invalid HTTP_GET status code '300-200'", 5),
        ("HTTP_GET {\n url {\n path /\n }\n http_protocol 2.0\n}", "Invalid http_protocol version 2.0", 5),
        ("HTTP_GET {\n url {\n path /\n }\n fast_recovery maybe\n}", "Invalid fast_recovery parameter maybe", 5),
        ("HTTP_GET {\n url {\n path /\n foo\n }\n}", "Unknown keyword 'foo'", 5),
        ("MISC_CHECK {\n misc_timeout 5\n}", "No script path has been specified for MISC_CHECKER", 5),
        ("MISC_CHECK {\n misc_path\n}", "No script path has been specified", 5),
        ("MISC_CHECK {\n misc_path /bin/true\n misc_timeout x\n}", "Invalid misc_timeout value 'x'", 5),
        ("MISC_CHECK {\n misc_path /bin/true\n connect_timeout 3\n}", "Unknown keyword 'connect_timeout'", 5),
        ("MISC_CHECK {\n misc_path /bin/true\n connect_ip 1.2.3.4\n}", "Unknown keyword 'connect_ip'", 5),
        ("SMTP_CHECK {\n helo_name\n}", "SMTP_CHECK helo name missing", 5),
        ("SMTP_CHECK {\n host {\n connect_ip 10.0.0.7\n }\n}", "deprecated", 0),
        ("DNS_CHECK {\n type XX\n}", "Unknown DNS check type XX - ignoring", 5),
        ("UDP_CHECK {\n payload zz\n}", "Invalid hex string for UDP_CHECK payload", 5),
        ("UDP_CHECK {\n require_reply zz\n}", "Invalid hex string for UDP_CHECK reply", 5),
        ("UDP_CHECK {\n min_reply_length 10\n max_reply_length 5\n}", "will always fail", 5),
        ("UDP_CHECK {\n max_reply_length 70000\n}", "UDP_CHECK max length 70000 not valid", 5),
        ("UDP_CHECK {\n min_reply_length 70000\n}", "UDP_CHECK min length 70000 not valid", 5),
        ("FILE_CHECK {\n weight 5\n}", "FILE_CHECK has no track_file specified", 5),
        ("FILE_CHECK {\n track_file tf\n weight x\n}", "weight for track file must be in", 5),
        ("FILE_CHECK {\n track_file tf\n weight 3 foo\n}", "unknown track file weight option foo", 5),
        ("FILE_CHECK {\n track_file tf\n alpha\n}", "Unknown keyword 'alpha'", 5),
        ("FILE_CHECK {\n track_file tf\n dynamic\n}", "Unknown keyword 'dynamic'", 5),
        ("BFD_CHECK {\n}", "No name has been specified for BFD_CHECKER", 5),
        ("BFD_CHECK {\n name\n}", "BFD_CHECK - No or too many names specified", 5),
        ("BFD_CHECK {\n name a b\n}", "BFD_CHECK - No or too many names specified", 5),
        ("FILE_CHECK {\n track_file tf\n weight\n}", "track file weight missing", 5),
        ("UDP_CHECK {\n payload\n}", "UDP_CHECK payload requires a payload", 5),
        ("HTTP_GET {\n url {\n path /\n }\n virtualhost\n}", "HTTP_GET virtualhost name missing", 5),
        ("HTTP_GET {\n url {\n path /\n virtualhost\n }\n}", "Missing HTTP_GET virtualhost name", 5),
        ("HTTP_GET {\n url {\n path /\n }\n http_protocol\n}", "Missing http_protocol version", 5),
        ("HTTP_GET {\n url {\n path\n }\n}", "missing its parameter", 2),
        ("HTTP_GET {\n url {\n path /\n status_code\n regex (\n regex_min_offset x\n }\n}", "", 0),
        ("MISC_CHECK {\n misc_path /bin/true\n user\n}", "No user specified for misc checker script", 5),
        ("MISC_CHECK {\n misc_timeout\n}", "missing its parameter", 2),
        ("DNS_CHECK {\n type\n}", "missing its parameter", 2),
        ("TCP_CHECK {\n fwmark\n}", "missing its parameter", 2),
        ("BFD_CHECK {\n name b\n retry 2\n}", "Unknown keyword 'retry'", 5),
        ("TCP_CHECK {\n connect_ip fe80::5\n}", "Checker link local address fe80::5 requires a bind_if", 5),
        ("TCP_CHECK {\n connect_ip fe80::5\n bind_if lo\n}", "", 0),
        ("TCP_CHECK {\n connect_ip 2001:db8::5\n bindto 10.0.0.1\n}", "does not match address family of connect_ip", 5),
        ("TCP_CHECK {\n bindto 2001:db8::1\n}", "does not match address family", 5),
    ];
    for (block, msg, code) in cases {
        let (_, d) = one_checker(block);
        assert_eq!(d.exit_code(), *code, "{block}: {:?}", messages(&d));
        if !msg.is_empty() {
            assert!(has(&d, msg), "{block}: {:?}", messages(&d));
        }
    }
}

#[test]
fn numbers_read_as_strtoul_does() {
    let (cfg, d) = load(&vs(
        " retry +2\n quorum +1\n delay_loop +5",
        "real_server 10.0.0.2 +80 {\n weight +2\n TCP_CHECK {\n connect_port +81\n }\n}\n",
    ));
    assert_eq!(d.exit_code(), 0, "{:?}", messages(&d));
    let v = &cfg.lvs.virtual_servers[0];
    assert_eq!((v.delay_loop, v.quorum), (secs(5), 1));
    let rs = &v.real_servers[0];
    assert_eq!((rs.port, rs.weight, rs.checkers[0].retry, rs.checkers[0].dest.port()), (80, 2, 2, 81));
    let bad: &[(&str, &str, i32)] = &[
        (" retry ++2", "not a valid number", 5),
        (" retry +x", "'+x' is not a valid number", 5),
        (" quorum +0", "outside range", 5),
        (" delay_loop +0", "outside range", 5),
        (" delay_before_retry 1.0000001", "has too many decimal places", 5),
        (" delay_loop 0.0000001", "has too many decimal places", 5),
        (" weight +x", "Virtual server weight is outside range", 5),
        (" delay_before_retry", "missing its parameter", 2),
    ];
    for (body, msg, code) in bad {
        let (_, d) = load(&vs(body, RS));
        assert_eq!(d.exit_code(), *code, "{body}: {:?}", messages(&d));
        assert!(has(&d, msg), "{body}: {:?}", messages(&d));
    }
}

#[test]
fn checker_contents() {
    let (c, d) = one_checker(
        "SSL_GET {\n url {\n path /x\n digest 9b3a0c85a887a256d6939da88aabd8cd\n status_code 200 300-302\n virtualhost v\n regex ^ok\n regex_no_match\n }\n http_protocol 1.0C\n virtualhost h\n fast_recovery\n enable_sni\n}",
    );
    assert_eq!(d.exit_code(), 0, "{:?}", messages(&d));
    let c = c.unwrap();
    assert_eq!(c.delay_before_retry, secs(3));
    let CheckerKind::Ssl(h) = &c.kind else { panic!("{:?}", c.kind) };
    assert_eq!(c.retry, 1);
    assert_eq!(h.http_protocol, HttpProtocol::V1_0C);
    assert!(h.fast_recovery && h.enable_sni);
    assert_eq!(h.virtualhost.as_deref(), Some("h"));
    let u = &h.urls[0];
    assert_eq!(u.path, "/x");
    assert_eq!(u.status_codes, [(200, 200), (300, 302)]);
    assert_eq!(u.digest.map(|d| d[15]), Some(0xcd));
    assert_eq!(u.regex.as_deref(), Some("^ok"));
    assert!(u.regex_no_match);

    let (c, d) = one_checker("HTTP_GET {\n url {\n path /\n }\n nb_get_retry 7\n}");
    assert!(has(&d, "nb_get_retry is deprecated"));
    assert_eq!(c.map(|c| c.retry), Some(7));

    let (c, _) = one_checker("DNS_CHECK {\n type mx\n name example.com\n}");
    let CheckerKind::Dns(dns) = c.unwrap().kind else { panic!() };
    assert_eq!((dns.qtype, dns.name.as_str()), (DnsType::Mx, "example.com"));
    let (c, _) = one_checker("DNS_CHECK {\n}");
    let CheckerKind::Dns(dns) = c.unwrap().kind else { panic!() };
    assert_eq!((dns.qtype, dns.name.as_str()), (DnsType::Soa, "."));

    let (c, d) = one_checker("UDP_CHECK {\n payload 0102ab 3\n require_reply 01xx\n min_reply_length 1\n}");
    assert_eq!(d.exit_code(), 0);
    let CheckerKind::Udp(u) = c.unwrap().kind else { panic!() };
    assert_eq!(u.payload, Some(vec![1, 2, 0xab, 3]));
    assert!(u.require_reply);
    assert_eq!(u.reply, Some((vec![1, 0], vec![0xff, 0])));
    assert_eq!((u.min_reply_length, u.max_reply_length), (1, 255));

    let (c, _) = one_checker(
        "MISC_CHECK {\n misc_path \"/bin/check a b\"\n misc_timeout 9\n misc_dynamic\n user nobody nogroup\n}",
    );
    let c = c.unwrap();
    let CheckerKind::Misc(m) = &c.kind else { panic!() };
    assert_eq!(m.timeout, secs(9));
    assert!(m.dynamic);
    let s = m.path.as_ref().unwrap();
    assert_eq!(s.argv, ["/bin/check", "a", "b"]);
    assert_eq!((s.user.as_deref(), s.group.as_deref()), (Some("nobody"), Some("nogroup")));

    let (mut l, d) = parse_only(&vs(
        "",
        "real_server 10.0.0.2 80 {\n FILE_CHECK {\n track_file tf\n weight -5 reverse\n }\n BFD_CHECK {\n name b1\n alpha\n }\n}\n",
    ));
    assert_eq!(d.exit_code(), 0, "{:?}", messages(&d));
    {
        let cs = &l.virtual_servers[0].real_servers[0].checkers;
        let CheckerKind::File(f) = &cs[0].kind else { panic!() };
        assert_eq!((f.track_file.as_deref(), f.weight, f.reverse), (Some("tf"), -5, true));
        assert_eq!(cs[1].set_alpha, Some(true));
        assert!(matches!(&cs[1].kind, CheckerKind::Bfd(b) if b.name.as_deref() == Some("b1")));
    }
    // Known names keep the checkers; unknown ones drop them with config errors.
    let mut d = Diagnostics::default();
    let mut l2 = l.clone();
    check_references(&mut l2, &mut super::super::tree::Ctx::new(&mut d), &|n| n == "tf", &|n| n == "b1");
    assert_eq!(d.exit_code(), 0);
    assert_eq!(l2.virtual_servers[0].real_servers[0].checkers.len(), 2);
    check_references(&mut l, &mut super::super::tree::Ctx::new(&mut d), &|_| false, &|_| false);
    assert!(has(&d, "track_file tf not found"));
    assert!(has(&d, "BFD_CHECK - BFD b1 not configured"));
    assert_eq!(d.exit_code(), 5);
    assert!(l.virtual_servers[0].real_servers[0].checkers.is_empty());

    let (c, _) = one_checker(
        "TCP_CHECK {\n connect_ip 2001:db8::5\n connect_port 81\n bindto 2001:db8::1\n bind_port 1234\n bind_if lo\n fwmark 3\n}",
    );
    let c = c.unwrap();
    assert_eq!(c.dest, "[2001:db8::5]:81".parse().unwrap());
    assert_eq!(c.conn.bind_port, Some(1234));
    assert_eq!(c.conn.bind_if.as_deref(), Some("lo"));
    assert_eq!(c.conn.fwmark, Some(3));
}

#[test]
fn http_host_resolution() {
    let (cfg, d) = load(&vs(
        " virtualhost vs.example",
        "real_server 10.0.0.2 80 {
           virtualhost rs.example
           HTTP_GET {
             url {
               path /a
               virtualhost url.example
             }
             url {
               path /b
             }
           }
           HTTP_GET {
             virtualhost chk.example
             url {
               path /c
             }
           }
         }
         real_server 10.0.0.3 80 {
           SSL_GET {
             url {
               path /d
             }
           }
         }",
    ));
    assert_eq!(d.exit_code(), 0, "{:?}", messages(&d));
    let hosts: Vec<Option<String>> = cfg.lvs.virtual_servers[0]
        .real_servers
        .iter()
        .flat_map(|rs| rs.checkers.iter())
        .flat_map(|c| match &c.kind {
            CheckerKind::Http(h) | CheckerKind::Ssl(h) => h.urls.iter().map(|u| u.host.clone()).collect(),
            _ => Vec::new(),
        })
        .collect();
    let want = ["url.example", "rs.example", "chk.example", "vs.example"];
    assert_eq!(hosts, want.map(|h| Some(h.to_string())));
}

#[test]
fn alpha_and_inhibit_inheritance() {
    let (cfg, _) = load(&vs(
        " alpha\n inhibit_on_failure",
        "real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n}\nreal_server 10.0.0.3 80 {\n alpha no\n inhibit_on_failure off\n TCP_CHECK {\n }\n TCP_CHECK {\n alpha\n }\n}\n",
    ));
    let v = &cfg.lvs.virtual_servers[0];
    let (a, b) = (&v.real_servers[0], &v.real_servers[1]);
    assert!(a.alpha && a.inhibit_on_failure && a.checkers[0].alpha);
    assert!(!b.alpha && !b.inhibit_on_failure && !b.checkers[0].alpha && b.checkers[1].alpha);
    assert!(!a.initially_alive() && !b.initially_alive());
    // Alpha set only on a checker still starts the server down; no checkers: up.
    let (cfg, _) =
        load(&vs("", "real_server 10.0.0.2 80 {\n TCP_CHECK {\n alpha\n }\n}\nreal_server 10.0.0.3 80 {\n alpha\n}\n"));
    let rs = &cfg.lvs.virtual_servers[0].real_servers;
    assert!(rs[0].alpha_set.is_none() && !rs[0].initially_alive());
    assert!(rs[1].alpha && rs[1].initially_alive());
}

#[test]
fn scripts_are_all_reachable() {
    let (mut cfg, _) = load(&vs(
        " quorum_up /bin/up\n quorum_down \"/bin/down x\"",
        "real_server 10.0.0.2 80 {\n notify_up /bin/rsup\n notify_down /bin/rsdown\n MISC_CHECK {\n misc_path /bin/misc\n }\n}\n",
    ));
    let mut names: Vec<String> = cfg.lvs.scripts_mut().map(|s| s.argv[0].clone()).collect();
    names.sort();
    assert_eq!(names, ["/bin/down", "/bin/misc", "/bin/rsdown", "/bin/rsup", "/bin/up"]);
}

#[test]
fn ssl_block() {
    let (cfg, d) = load("SSL {\n password x\n ca /ca\n certificate /c\n key /k\n}\n");
    assert_eq!(d.exit_code(), 0);
    let s = cfg.lvs.ssl.unwrap();
    assert_eq!(
        (s.password.as_deref(), s.ca.as_deref(), s.certificate.as_deref(), s.key.as_deref()),
        (Some("x"), Some("/ca"), Some("/c"), Some("/k"))
    );
    let (_, d) = load("SSL {\n password\n}\n");
    assert_eq!(d.exit_code(), 5);
    assert!(has(&d, "SSL password missing"));
    let (_, d) = load("SSL {\n foo x\n}\n");
    assert!(has(&d, "Unknown keyword 'foo'"));
    let (_, d) = load("ssl {\n password x\n}\n");
    assert!(has(&d, "Unknown keyword 'ssl'"));
}

#[test]
fn dump_shows_resolved_settings() {
    let (cfg, _) = load(&format!(
        "virtual_server_group G {{\n 10.0.0.1-3 80\n fwmark 4\n}}\n{}",
        vs(
            " persistence_timeout\n sorry_server 10.0.0.9 80",
            "real_server 10.0.0.2 80 {\n weight 4\n HTTP_GET {\n url {\n path /h\n }\n }\n}\n"
        )
    ));
    let mut out = String::new();
    dump(&cfg.lvs, &mut out);
    assert!(out.contains(" Virtual Server Group = G"));
    assert!(out.contains("VIP Range = 10.0.0.1-10.0.0.3, VPORT = 80"));
    assert!(out.contains("FWMARK = 4"));
    assert!(out.contains("persistence timeout = 360"));
    assert!(out.contains("sorry server = 10.0.0.9:80, lvs_method = NAT"));
    assert!(out.contains("weight = 4"));
    assert!(out.contains("HTTP_GET"));
    assert!(out.contains("url path = /h"));
    assert!(out.contains("status_code = 200-299"));
    assert!(out.contains("retry = 1, delay_before_retry = 3, delay_loop = 60, warmup = 60"));
    let mut empty = String::new();
    dump(&LvsConfig::default(), &mut empty);
    assert!(empty.is_empty());
}

/// Random keyword soup must never panic the parser or the completion (no indexing on input).
#[test]
fn random_input_never_panics() {
    const WORDS: &[&str] = &[
        "virtual_server",
        "virtual_server_group",
        "real_server",
        "fwmark",
        "group",
        "G",
        "{",
        "}",
        "10.0.0.1",
        "2001:db8::1",
        "fe80::1",
        "80",
        "0",
        "-1",
        "x",
        "65536",
        "protocol",
        "TCP",
        "lb_algo",
        "sh",
        "lb_kind",
        "TUN",
        "type",
        "gue",
        "port",
        "csum",
        "DR",
        "persistence_timeout",
        "persistence_granularity",
        "quorum",
        "hysteresis",
        "weight",
        "sorry_server",
        "sorry_server_lvs_method",
        "TCP_CHECK",
        "HTTP_GET",
        "url",
        "path",
        "digest",
        "status_code",
        "300-200",
        "MISC_CHECK",
        "misc_path",
        "UDP_CHECK",
        "payload",
        "require_reply",
        "DNS_CHECK",
        "FILE_CHECK",
        "BFD_CHECK",
        "name",
        "connect_ip",
        "bindto",
        "delay_loop",
        "retry",
        "ops",
        "hashed",
        "ip_family",
        "inet6",
        "10.0.0.0/30",
        "10.0.0.5-1",
        "SSL",
        "password",
        "\n",
        "\n",
        "\n",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..1500 {
        let mut text = String::new();
        let len = (seed % 60) as usize + 5;
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push_str(WORDS[(seed % WORDS.len() as u64) as usize]);
            text.push(' ');
        }
        let (mut cfg, _) = load(&text);
        let _ = cfg.lvs.scripts_mut().count();
        let l = &cfg.lvs;
        for v in &l.virtual_servers {
            let _ = l.services(v).take(1000).count();
        }
        let mut out = String::new();
        dump(l, &mut out);
    }
}
