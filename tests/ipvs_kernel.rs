//! IPVS client against a real kernel. Needs root and IPVS, so every test is #[ignore]d:
//! tests/ipvs_vm.rs runs this binary inside a QEMU VM with `--include-ignored` and
//! KARD_IN_VM=1. Each test works in a fresh network namespace (IPVS tables are per netns),
//! so they run in parallel without seeing each other.

use std::collections::BTreeSet;
use std::io;
use std::net::IpAddr;
use std::process::Command;
use std::time::Instant;

use keepalived::ipvs::{
    Dest, DestEntry, Family, Forward, Ipvs, IpvsError, Op, Protocol, Service, ServiceKey, SvcFlags, Timeouts, Tunnel,
    TunnelCsum, TunnelType,
};

/// Moves this test's thread into a new network namespace and opens IPVS there.
fn netns() -> Ipvs {
    // SAFETY: unshare(CLONE_NEWNET) affects only the calling thread's namespace.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "unshare(CLONE_NEWNET): {}", io::Error::last_os_error());
    sh(&["ip", "link", "set", "lo", "up"]);
    Ipvs::open().expect("open IPVS")
}

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ipvsadm -Sn` lines (its rule format), or None when ipvsadm is not installed.
fn ipvsadm_rules() -> Option<Vec<String>> {
    let bin = ["/usr/sbin/ipvsadm", "/sbin/ipvsadm"].into_iter().find(|p| std::path::Path::new(p).exists())?;
    Some(sh(&[bin, "-Sn"]).lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect())
}

fn has_rule(rules: &Option<Vec<String>>, want: &str) {
    if let Some(r) = rules {
        assert!(r.iter().any(|l| l == want), "ipvsadm -Sn lacks {want:?}:\n{}", r.join("\n"));
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn key(p: Protocol, a: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr { protocol: p, addr: ip(a), port }
}

fn tcp(a: &str, port: u16) -> ServiceKey {
    key(Protocol::Tcp, a, port)
}

fn dump_set(ipvs: &mut Ipvs) -> BTreeSet<String> {
    ipvs.services().unwrap().into_iter().map(|e| format!("{:?}", e.service)).collect()
}

fn dests_of(ipvs: &mut Ipvs, k: &ServiceKey) -> Vec<Dest> {
    let mut v: Vec<Dest> = ipvs.dests(k).unwrap().into_iter().map(|e: DestEntry| e.dest).collect();
    v.sort_by_key(|d| (d.addr, d.port));
    v
}

#[test]
#[ignore = "needs root and IPVS: run through tests/ipvs_vm.rs"]
fn info_reports_version_and_conn_tab_size() {
    let mut ipvs = netns();
    let info = ipvs.info().unwrap();
    let bits: u32 = std::fs::read_to_string("/sys/module/ip_vs/parameters/conn_tab_bits")
        .map(|s| s.trim().parse().unwrap())
        .unwrap_or(12);
    assert_eq!(info.conn_tab_size, 1 << bits, "{info:?}");
    if let Ok(want) = std::env::var("KARD_EXPECT_CONN_TAB_SIZE") {
        assert_eq!(info.conn_tab_size.to_string(), want);
    }
    assert!(info.version >= 0x010200, "{}", info.version_string());
    println!("IPVS {} conn_tab_size {} family id {}", info.version_string(), info.conn_tab_size, ipvs.family_id());
}

#[test]
#[ignore = "needs root and IPVS: run through tests/ipvs_vm.rs"]
fn timeouts_round_trip_and_zero_keeps_a_value() {
    let mut ipvs = netns();
    ipvs.set_timeouts(&Timeouts { tcp: 900, tcp_fin: 60, udp: 300 }).unwrap();
    assert_eq!(ipvs.timeouts().unwrap(), Timeouts { tcp: 900, tcp_fin: 60, udp: 300 });
    ipvs.set_timeouts(&Timeouts { tcp: 0, tcp_fin: 0, udp: 42 }).unwrap();
    assert_eq!(ipvs.timeouts().unwrap(), Timeouts { tcp: 900, tcp_fin: 60, udp: 42 });
    if let Some(bin) = ipvsadm_rules().map(|_| "ipvsadm") {
        let out = sh(&[bin, "-L", "--timeout"]);
        assert!(out.contains("900 60 42"), "{out}");
    }
}

#[test]
#[ignore = "needs root and IPVS: run through tests/ipvs_vm.rs"]
fn services_of_every_protocol_and_family_round_trip() {
    let mut ipvs = netns();
    let keys = [
        key(Protocol::Tcp, "10.0.0.1", 80),
        key(Protocol::Udp, "10.0.0.1", 53),
        key(Protocol::Sctp, "10.0.0.1", 9),
        key(Protocol::Tcp, "2001:db8::1", 443),
        key(Protocol::Udp, "2001:db8::1", 53),
        key(Protocol::Sctp, "2001:db8::1", 9),
        ServiceKey::Fwmark { family: Family::V4, mark: 5 },
        ServiceKey::Fwmark { family: Family::V6, mark: 6 },
    ];
    let want: Vec<Service> = keys.iter().map(|k| Service::new(*k, "wlc")).collect();
    for s in &want {
        ipvs.add_service(s).unwrap();
    }
    let want_set: BTreeSet<String> = want.iter().map(|s| format!("{s:?}")).collect();
    assert_eq!(dump_set(&mut ipvs), want_set);
    for s in &want {
        assert_eq!(ipvs.service(s).unwrap().map(|e| e.service).as_ref(), Some(s));
    }
    assert!(ipvs.service(tcp("10.0.0.9", 1)).unwrap().is_none());
    let r = ipvsadm_rules();
    has_rule(&r, "-A -t 10.0.0.1:80 -s wlc");
    has_rule(&r, "-A -u 10.0.0.1:53 -s wlc");
    has_rule(&r, "-A --sctp-service 10.0.0.1:9 -s wlc");
    has_rule(&r, "-A -t [2001:db8::1]:443 -s wlc");
    has_rule(&r, "-A -f 5 -s wlc");
    has_rule(&r, "-A -f 6 -6 -s wlc");
}

/// The schedulers of Debian's kernel (twos only from 6.2 on).
fn schedulers() -> Vec<&'static str> {
    let mut v = vec!["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"];
    if std::path::Path::new("/sys/module/ip_vs_twos").exists() {
        v.push("twos");
    }
    v
}

#[test]
#[ignore = "needs root and IPVS: run through tests/ipvs_vm.rs"]
fn every_scheduler_and_scheduler_flags() {
    let mut ipvs = netns();
    let mut want = Vec::new();
    for (i, s) in schedulers().into_iter().enumerate() {
        let svc = Service::new(tcp("10.0.1.1", 1000 + i as u16), s);
        ipvs.add_service(&svc).unwrap_or_else(|e| panic!("scheduler {s}: {e}"));
        want.push(svc);
    }
    let mut sh = Service::new(tcp("10.0.2.1", 80), "sh");
    sh.flags = SvcFlags::SH_FALLBACK | SvcFlags::SH_PORT;
    let mut mh = Service::new(key(Protocol::Udp, "2001:db8::5", 53), "mh");
    mh.flags = SvcFlags::MH_FALLBACK | SvcFlags::MH_PORT | SvcFlags::ONEPACKET;
    for s in [&sh, &mh] {
        ipvs.add_service(s).unwrap();
        want.push(s.clone());
    }
    let want_set: BTreeSet<String> = want.iter().map(|s| format!("{s:?}")).collect();
    assert_eq!(dump_set(&mut ipvs), want_set);
    let r = ipvsadm_rules();
    for s in &want[..want.len() - 2] {
        let ServiceKey::Addr { port, .. } = s.key else { unreachable!() };
        has_rule(&r, &format!("-A -t 10.0.1.1:{port} -s {}", s.scheduler));
    }
    has_rule(&r, "-A -t 10.0.2.1:80 -s sh -b sh-fallback,sh-port");
    has_rule(&r, "-A -u [2001:db8::5]:53 -s mh -o -b mh-fallback,mh-port");
    // An unknown scheduler is a typed ENOENT naming the service.
    let e = ipvs.add_service(&Service::new(tcp("10.0.2.2", 80), "nosuch")).unwrap_err();
    assert_eq!((e.errno(), e.op()), (Some(libc::ENOENT), "NEW_SERVICE"));
    assert!(e.to_string().contains("TCP 10.0.2.2:80"), "{e}");
}

#[test]
#[ignore = "needs root and IPVS: run through tests/ipvs_vm.rs"]
fn persistence_timeout_and_granularity() {
    let mut ipvs = netns();
    let mut v4 = Service::new(tcp("10.0.0.1", 80), "rr");
    v4.flags = SvcFlags::PERSISTENT;
    v4.timeout = 300;
    v4.netmask = 0xffff_ff00;
    let mut v6 = Service::new(tcp("2001:db8::1", 80), "rr");
    v6.flags = SvcFlags::PERSISTENT;
    v6.timeout = 60;
    v6.netmask = 64;
    let mut fw = Service::new(ServiceKey::Fwmark { family: Family::V4, mark: 9 }, "wrr");
    fw.flags = SvcFlags::PERSISTENT;
    fw.timeout = 3600;
    for s in [&v4, &v6, &fw] {
        ipvs.add_service(s).unwrap();
    }
    let want: BTreeSet<String> = [&v4, &v6, &fw].iter().map(|s| format!("{s:?}")).collect();
    assert_eq!(dump_set(&mut ipvs), want);
    let r = ipvsadm_rules();
    has_rule(&r, "-A -t 10.0.0.1:80 -s rr -p 300 -M 255.255.255.0");
    has_rule(&r, "-A -t [2001:db8::1]:80 -s rr -p 60 -M 64");
    has_rule(&r, "-A -f 9 -s wrr -p 3600");
}

#[test]
#[ignore = "needs root and IPVS: run through tests/ipvs_vm.rs"]
fn dests_nat_dr_tunnel_weights_thresholds() {
    let mut ipvs = netns();
    let k = tcp("10.0.0.1", 80);
    ipvs.add_service(&Service::new(k, "wrr")).unwrap();
    let t = |kind, port, csum| Forward::Tunnel(Tunnel { kind, port, csum });
    let mut want = vec![
        Dest { addr: ip("10.0.0.2"), port: 8080, fwd: Forward::Masq, weight: 5, u_threshold: 100, l_threshold: 10 },
        Dest::new(ip("10.0.0.3"), 80, Forward::Route, 0),
        Dest::new(ip("10.0.0.4"), 80, t(TunnelType::Ipip, 0, TunnelCsum::NoCsum), 1),
        Dest::new(ip("10.0.0.5"), 80, t(TunnelType::Gue, 6080, TunnelCsum::Csum), 2),
        Dest::new(ip("10.0.0.6"), 80, t(TunnelType::Gue, 6081, TunnelCsum::RemCsum), 3),
        Dest::new(ip("10.0.0.7"), 80, t(TunnelType::Gre, 0, TunnelCsum::Csum), 65535),
    ];
    for d in &want {
        ipvs.add_dest(k, d).unwrap_or_else(|e| panic!("{d:?}: {e}"));
    }
    want.sort_by_key(|d| (d.addr, d.port));
    assert_eq!(dests_of(&mut ipvs, &k), want);
    let r = ipvsadm_rules();
    has_rule(&r, "-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 5");
    if r.is_some() {
        // -Sn omits thresholds; this listing has them: address, upper, lower, active, inactive.
        let out = sh(&["ipvsadm", "-Ln", "--thresholds"]);
        let line = out.lines().find(|l| l.contains("10.0.0.2:8080")).unwrap_or_default();
        let tok: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(tok.get(1..6), Some(&["10.0.0.2:8080", "100", "10", "0", "0"][..]), "{out}");
    }
    has_rule(&r, "-a -t 10.0.0.1:80 -r 10.0.0.3:80 -g -w 0");
    has_rule(&r, "-a -t 10.0.0.1:80 -r 10.0.0.4:80 -i -w 1 --tun-type ipip");
    has_rule(&r, "-a -t 10.0.0.1:80 -r 10.0.0.5:80 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum");
    has_rule(&r, "-a -t 10.0.0.1:80 -r 10.0.0.7:80 -i -w 65535 --tun-type gre --tun-csum");

    // IPv6 service: IPv6 NAT dest, and an IPv4 dest, which the kernel allows only tunnelled.
    let k6 = tcp("2001:db8::1", 80);
    ipvs.add_service(&Service::new(k6, "rr")).unwrap();
    ipvs.add_dest(k6, &Dest::new(ip("2001:db8::2"), 80, Forward::Masq, 1)).unwrap();
    ipvs.add_dest(k6, &Dest::new(ip("10.0.0.8"), 80, t(TunnelType::Ipip, 0, TunnelCsum::NoCsum), 1)).unwrap();
    let e = ipvs.add_dest(k6, &Dest::new(ip("10.0.0.9"), 80, Forward::Masq, 1)).unwrap_err();
    assert_eq!(e.errno(), Some(libc::EINVAL), "{e}");
    assert_eq!(dests_of(&mut ipvs, &k6).len(), 2);
    has_rule(&ipvsadm_rules(), "-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m -w 1");
}

#[test]
#[ignore = "needs root and IPVS: run through tests/ipvs_vm.rs"]
fn edit_and_delete() {
    let mut ipvs = netns();
    let k = key(Protocol::Udp, "10.0.0.1", 53);
    let mut s = Service::new(k, "wrr");
    ipvs.add_service(&s).unwrap();
    let mut d = Dest::new(ip("10.0.0.2"), 53, Forward::Masq, 1);
    ipvs.add_dest(k, &d).unwrap();
    ipvs.add_dest(k, &Dest::new(ip("10.0.0.3"), 53, Forward::Masq, 1)).unwrap();

    s.scheduler = "sh".into();
    s.flags = SvcFlags::PERSISTENT | SvcFlags::SH_PORT;
    s.timeout = 120;
    ipvs.edit_service(&s).unwrap();
    assert_eq!(ipvs.service(k).unwrap().unwrap().service, s);
    d.weight = 77;
    d.fwd = Forward::Route;
    d.u_threshold = 5;
    ipvs.edit_dest(k, &d).unwrap();
    assert_eq!(dests_of(&mut ipvs, &k)[0], d);

    ipvs.del_dest(k, &d).unwrap();
    assert_eq!(dests_of(&mut ipvs, &k).len(), 1);
    ipvs.del_service(k).unwrap();
    assert!(ipvs.services().unwrap().is_empty());
    if let Some(r) = ipvsadm_rules() {
        assert!(r.is_empty(), "{r:?}");
    }
}

#[test]
#[ignore = "needs root and IPVS: run through tests/ipvs_vm.rs"]
fn kernel_errors_are_typed_and_name_their_object() {
    let mut ipvs = netns();
    let k = tcp("10.0.0.1", 80);
    let d = Dest::new(ip("10.0.0.2"), 80, Forward::Masq, 1);
    // NEW_DEST on a missing service.
    let e = ipvs.add_dest(k, &d).unwrap_err();
    assert_eq!((e.op(), e.errno()), ("NEW_DEST", Some(libc::ESRCH)), "{e}");
    ipvs.add_service(&Service::new(k, "rr")).unwrap();
    let e = ipvs.add_service(&Service::new(k, "rr")).unwrap_err();
    match &e {
        IpvsError::Kernel { op, target, errno } => {
            assert_eq!((*op, target.as_str(), *errno), ("NEW_SERVICE", "TCP 10.0.0.1:80", libc::EEXIST));
        }
        other => panic!("{other:?}"),
    }
    ipvs.add_dest(k, &d).unwrap();
    let e = ipvs.add_dest(k, &d).unwrap_err();
    assert!(e.to_string().starts_with("IPVS NEW_DEST [10.0.0.2]:80 of TCP 10.0.0.1:80: "), "{e}");
    assert_eq!(e.errno(), Some(libc::EEXIST));
    // Missing objects: the kernel answers ESRCH for services and ENOENT for dests.
    let e = ipvs.del_service(tcp("10.0.0.1", 81)).unwrap_err();
    assert_eq!((e.op(), e.errno()), ("DEL_SERVICE", Some(libc::ESRCH)), "{e}");
    let e = ipvs.edit_service(&Service::new(tcp("10.0.0.1", 81), "rr")).unwrap_err();
    assert_eq!(e.errno(), Some(libc::ESRCH), "{e}");
    let e = ipvs.del_dest(k, &Dest::new(ip("10.0.0.3"), 80, Forward::Masq, 1)).unwrap_err();
    assert_eq!((e.op(), e.errno()), ("DEL_DEST", Some(libc::ENOENT)), "{e}");
    let e = ipvs.edit_dest(k, &Dest::new(ip("10.0.0.3"), 80, Forward::Masq, 1)).unwrap_err();
    assert_eq!(e.errno(), Some(libc::ENOENT), "{e}");
    // Thresholds: lower above upper is ERANGE.
    let bad = Dest { u_threshold: 1, l_threshold: 2, ..Dest::new(ip("10.0.0.4"), 80, Forward::Masq, 1) };
    assert_eq!(ipvs.add_dest(k, &bad).unwrap_err().errno(), Some(libc::ERANGE));
    // GET_DEST of a missing service: the kernel's dump just ends, empty.
    assert!(ipvs.dests(tcp("10.0.0.1", 81)).unwrap().is_empty());
}

#[test]
#[ignore = "needs root and IPVS: run through tests/ipvs_vm.rs"]
fn flush_removes_everything() {
    let mut ipvs = netns();
    for i in 0..5 {
        let k = tcp("10.0.0.1", 80 + i);
        ipvs.add_service(&Service::new(k, "rr")).unwrap();
        ipvs.add_dest(k, &Dest::new(ip("10.0.0.2"), 80, Forward::Masq, 1)).unwrap();
    }
    assert_eq!(ipvs.services().unwrap().len(), 5);
    ipvs.flush().unwrap();
    assert!(ipvs.services().unwrap().is_empty());
    if let Some(r) = ipvsadm_rules() {
        assert!(r.is_empty(), "{r:?}");
    }
}

#[test]
#[ignore = "needs root and IPVS: run through tests/ipvs_vm.rs"]
fn zero_clears_counters() {
    let mut ipvs = netns();
    // A local client's SYN to a VIP goes through IPVS at LOCAL_OUT: that counts a connection.
    sh(&["ip", "addr", "add", "10.9.9.9/32", "dev", "lo"]);
    let k = tcp("10.9.9.9", 80);
    let k2 = tcp("10.9.9.9", 81);
    for k in [k, k2] {
        ipvs.add_service(&Service::new(k, "rr")).unwrap();
        ipvs.add_dest(k, &Dest::new(ip("127.0.0.1"), 1, Forward::Masq, 1)).unwrap();
    }
    let poke = |port| {
        let _ =
            std::net::TcpStream::connect_timeout(&(ip("10.9.9.9"), port).into(), std::time::Duration::from_millis(300));
    };
    poke(80);
    poke(81);
    let conns = |ipvs: &mut Ipvs, k: ServiceKey| ipvs.service(k).unwrap().unwrap().stats.conns;
    // The kernel's estimator folds per-CPU counters into the reported ones every 2 s.
    let t0 = Instant::now();
    while (conns(&mut ipvs, k) == 0 || conns(&mut ipvs, k2) == 0) && t0.elapsed().as_secs() < 6 {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(conns(&mut ipvs, k) >= 1, "no connection counted");
    assert!(conns(&mut ipvs, k2) >= 1);
    ipvs.zero(Some(&k)).unwrap();
    assert_eq!(conns(&mut ipvs, k), 0);
    assert!(conns(&mut ipvs, k2) >= 1);
    ipvs.zero(None).unwrap();
    assert_eq!(conns(&mut ipvs, k2), 0);
    let e = ipvs.zero(Some(&tcp("10.9.9.9", 82))).unwrap_err();
    assert_eq!(e.errno(), Some(libc::ESRCH), "{e}");
}

#[test]
#[ignore = "needs root and IPVS: run through tests/ipvs_vm.rs"]
fn apply_reports_each_result_in_order() {
    let mut ipvs = netns();
    let k = tcp("10.0.0.1", 80);
    let d = Dest::new(ip("10.0.0.2"), 80, Forward::Masq, 1);
    let mut bad = Service::new(tcp("10.0.0.1", 81), "rr");
    bad.scheduler = "way_too_long_scheduler".into();
    let ops = vec![
        Op::AddService(Service::new(k, "rr")),
        Op::AddService(Service::new(k, "rr")), // EEXIST
        Op::AddDest(k, d),
        Op::AddService(bad),                                             // refused before sending
        Op::DelDest(k, Dest::new(ip("10.0.0.9"), 80, Forward::Masq, 1)), // ENOENT
        Op::EditDest(k, Dest { weight: 9, ..d }),
        Op::SetTimeouts(Timeouts { tcp: 100, tcp_fin: 0, udp: 0 }),
    ];
    let rt = ipvs.round_trips();
    let res = ipvs.apply(&ops);
    assert_eq!(ipvs.round_trips() - rt, 1);
    let errnos: Vec<Option<i32>> = res.iter().map(|r| r.as_ref().err().and_then(IpvsError::errno)).collect();
    assert_eq!(errnos, [None, Some(libc::EEXIST), None, None, Some(libc::ENOENT), None, None]);
    assert!(matches!(res[3], Err(IpvsError::Invalid { .. })));
    assert!(res.iter().enumerate().all(|(i, r)| r.is_ok() == [0, 2, 5, 6].contains(&i)));
    assert_eq!(dests_of(&mut ipvs, &k), [Dest { weight: 9, ..d }]);
    assert_eq!(ipvs.timeouts().unwrap().tcp, 100);
}

#[test]
#[ignore = "needs root and IPVS: run through tests/ipvs_vm.rs"]
fn batch_1000_services_10_dests_pipelined() {
    let mut ipvs = netns();
    let (n_svc, n_dest) = (1000u32, 10u32);
    let svc_key = |i: u32| tcp(&format!("10.{}.{}.1", 100 + i / 250, i % 250), 80);
    let mut ops = Vec::new();
    for i in 0..n_svc {
        let k = svc_key(i);
        ops.push(Op::AddService(Service::new(k, "wrr")));
        for j in 0..n_dest {
            ops.push(Op::AddDest(
                k,
                Dest::new(ip(&format!("172.16.{}.{}", i % 250, 10 + j)), 8000 + (i / 250) as u16, Forward::Masq, j + 1),
            ));
        }
    }
    let rt0 = ipvs.round_trips();
    let t0 = Instant::now();
    let res = ipvs.apply(&ops);
    let took = t0.elapsed();
    let rts = ipvs.round_trips() - rt0;
    let failed: Vec<_> = res.iter().filter_map(|r| r.as_ref().err()).take(3).collect();
    assert!(failed.is_empty(), "{} failed, e.g. {failed:?}", res.iter().filter(|r| r.is_err()).count());
    println!(
        "BATCH: {} ops in {:.3} s, {} round trips (window {}), {:.0} ops/s",
        ops.len(),
        took.as_secs_f64(),
        rts,
        ipvs.window(),
        ops.len() as f64 / took.as_secs_f64()
    );
    // Pipelining must hold: at most one round trip per hundred operations. (Not exactly
    // ops/window: under load a lost ACK halves the window and costs a few more.)
    assert!(rts * 100 <= ops.len() as u64, "{rts} round trips for {} ops", ops.len());

    // Present via our dump...
    let services = ipvs.services().unwrap();
    assert_eq!(services.len(), n_svc as usize);
    let mut total = 0;
    for e in &services {
        let d = ipvs.dests(e.service.key).unwrap();
        assert_eq!(d.len(), n_dest as usize, "{}", e.service.key);
        total += d.len();
    }
    assert_eq!(total, (n_svc * n_dest) as usize);
    // ...and via ipvsadm: 3 header lines, one per service and one per dest.
    if ipvsadm_rules().is_some() {
        let lines = sh(&["ipvsadm", "-Ln"]).lines().count();
        assert_eq!(lines, 3 + (n_svc + n_svc * n_dest) as usize);
    }

    // Same number of edits, one request per round trip, for comparison.
    let edits: Vec<Op> = ops
        .iter()
        .filter_map(|o| match o {
            Op::AddDest(k, d) => Some(Op::EditDest(*k, Dest { weight: d.weight + 1, ..*d })),
            _ => None,
        })
        .take(1000)
        .collect();
    let (rt0, t0) = (ipvs.round_trips(), Instant::now());
    for op in &edits {
        let Op::EditDest(k, d) = op else { unreachable!() };
        ipvs.edit_dest(k, d).unwrap();
    }
    let single = (t0.elapsed(), ipvs.round_trips() - rt0);
    let (rt0, t0) = (ipvs.round_trips(), Instant::now());
    assert!(ipvs.apply(&edits).iter().all(Result::is_ok));
    let piped = (t0.elapsed(), ipvs.round_trips() - rt0);
    println!(
        "BATCH: 1000 SET_DEST one-by-one {:.3} s / {} round trips; pipelined {:.3} s / {} round trips",
        single.0.as_secs_f64(),
        single.1,
        piped.0.as_secs_f64(),
        piped.1
    );
    assert_eq!(single.1, 1000);
    assert!(piped.1 <= 1000u64.div_ceil(ipvs.window() as u64));
    let t0 = Instant::now();
    ipvs.flush().unwrap();
    println!("BATCH: flush of 11000 entries {:.3} s", t0.elapsed().as_secs_f64());
    assert!(ipvs.services().unwrap().is_empty());
}

/// Run by tests/vm/kernel-suite.sh with ip_vs unloaded and the kernel's autoload broken:
/// open() must find the family missing, run modprobe once, and succeed.
#[test]
#[ignore = "needs root and IPVS: run through tests/ipvs_vm.rs"]
fn open_loads_ip_vs_when_missing() {
    let Ok(log) = std::env::var("KARD_EXPECT_MODPROBE_LOG") else {
        println!("skipped: only meaningful with ip_vs unloaded (tests/vm/kernel-suite.sh)");
        return;
    };
    assert!(!std::path::Path::new("/sys/module/ip_vs").exists(), "ip_vs is still loaded");
    let mut ipvs = netns();
    assert!(ipvs.info().unwrap().conn_tab_size > 0);
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(calls.lines().collect::<Vec<_>>(), ["-- ip_vs"], "modprobe calls: {calls:?}");
}

/// The client moves into `tokio::task::spawn_blocking` / a worker thread.
#[test]
fn client_is_send() {
    fn send<T: Send + 'static>() {}
    send::<Ipvs>();
    send::<IpvsError>();
}
