//! VRRP interop with keepalived 2.2.7 in network namespaces: our daemon and the real one on one
//! bridge, in both roles, VRRPv2 (PASS auth, 1 s) and VRRPv3 (0.1 s).
//!
//! Each test builds its own lab (tests/netns/lab.sh: a bridge namespace plus one namespace per
//! node, names unique per test) and tears it down on drop, even when an assertion fails.
//! Skipped with a "SKIPPED:" line when not root, without `ip netns`, or without
//! /usr/sbin/keepalived (unless KARD_REQUIRE_ORACLE=1, then that fails).

use std::ops::Deref;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

#[macro_use]
mod common;
use common::netns::{self, Impl, Node, secs, wait_for};

/// The two-node lab of tests/netns/lab.sh, with the VIP in IPv4 or IPv6.
struct Lab {
    base: netns::Lab,
    /// The VIP is IPv6 (fd00:77:NET::100/64).
    v6: bool,
}

impl Deref for Lab {
    type Target = netns::Lab;
    fn deref(&self) -> &netns::Lab {
        &self.base
    }
}

impl Lab {
    fn new(tag: &str, net: u8, n: usize) -> Lab {
        Lab { base: netns::Lab::new("kv", tag, net, n), v6: false }
    }

    fn vip(&self) -> String {
        if self.v6 { format!("fd00:77:{}::100", self.net) } else { format!("10.77.{}.100", self.net) }
    }

    fn vip_prefix(&self) -> &'static str {
        if self.v6 { "64" } else { "24" }
    }

    fn has_vip(&self, i: usize) -> bool {
        self.has_addr(i, "eth0", &self.vip())
    }
}

struct Conf {
    version: u8,
    advert: &'static str,
    priority: u8,
    nopreempt: bool,
    /// unicast_src_ip (own eth0 address) and unicast_peer (the other node of a pair).
    unicast: bool,
    /// Extra lines inside the instance block.
    extra: String,
    /// Extra top-level blocks (vrrp_script).
    top: String,
    /// v2 PASS password.
    pass: &'static str,
}

impl Conf {
    fn new(version: u8, advert: &'static str, priority: u8) -> Conf {
        Conf {
            version,
            advert,
            priority,
            nopreempt: false,
            unicast: false,
            extra: String::new(),
            top: String::new(),
            pass: "s3cret!!",
        }
    }
}

fn config(lab: &Lab, i: usize, c: &Conf) -> String {
    let auth = if c.version == 2 {
        format!("    authentication {{\n        auth_type PASS\n        auth_pass {}\n    }}\n", c.pass)
    } else {
        String::new()
    };
    let mut nopreempt = if c.nopreempt { "    nopreempt\n".to_string() } else { String::new() };
    if c.unicast {
        let other = if i == 1 { 2 } else { 1 };
        nopreempt.push_str(&format!(
            "    unicast_src_ip 10.77.{n}.{i}\n    unicast_peer {{\n        10.77.{n}.{other}\n    }}\n",
            n = lab.net
        ));
    }
    nopreempt.push_str(&c.extra);
    format!(
        "global_defs {{\n    router_id test\n    vrrp_version {v}\n}}\n{top}\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {p}\n    advert_int {a}\n{nopreempt}{auth}    virtual_ipaddress {{\n        {vip}/{plen}\n    }}\n}}\n",
        v = c.version,
        p = c.priority,
        a = c.advert,
        vip = lab.vip(),
        plen = lab.vip_prefix(),
        top = c.top,
    )
}

/// Node `i` running `c` with `which`.
fn start(lab: &Lab, i: usize, which: Impl, c: &Conf) -> Node {
    Node::start(lab, i, which, &config(lab, i, c))
}

/// Samples for `d` that exactly node `master` holds the VIP; panics on a dual master.
fn assert_single_master(lab: &Lab, master: usize, other: usize, d: Duration, what: &str) {
    let t0 = Instant::now();
    while t0.elapsed() < d {
        let (m, o) = (lab.has_vip(master), lab.has_vip(other));
        assert!(!(m && o), "{what}: dual master at {:?}", t0.elapsed());
        assert!(m && !o, "{what}: node {master} lost the VIP (other has it: {o}) at {:?}", t0.elapsed());
        sleep(Duration::from_millis(25));
    }
}

struct Timings {
    label: String,
    converge: Duration,
    failover_kill: Duration,
    preempt: Duration,
    failover_term: Duration,
}

/// (a)/(b), (c), (d) for one pairing: node 1 runs `hi` at priority 150, node 2 runs `lo` at 100.
fn pair_scenario(tag: &str, net: u8, version: u8, advert: &'static str, hi: Impl, lo: Impl) -> Timings {
    pair_scenario_with(tag, net, version, advert, false, hi, lo)
}

fn pair_scenario_v6(tag: &str, net: u8, hi: Impl, lo: Impl) -> Timings {
    let mut lab = Lab::new(tag, net, 2);
    lab.v6 = true;
    run_pair(lab, 3, "0.1", false, hi, lo)
}

fn pair_scenario_with(
    tag: &str,
    net: u8,
    version: u8,
    advert: &'static str,
    unicast: bool,
    hi: Impl,
    lo: Impl,
) -> Timings {
    run_pair(Lab::new(tag, net, 2), version, advert, unicast, hi, lo)
}

fn run_pair(lab: Lab, version: u8, advert: &'static str, unicast: bool, hi: Impl, lo: Impl) -> Timings {
    let mode = match (unicast, lab.v6) {
        (true, _) => " unicast",
        (false, true) => " IPv6",
        _ => "",
    };
    let label = format!("v{version}{mode} adv {advert}s: master={} backup={}", hi.name(), lo.name());
    let adv = Duration::from_secs_f64(advert.parse().unwrap());
    // Master_Down of the priority-100 backup and the skew, as keepalived computes them.
    let skew = if version == 2 { Duration::from_micros(609_375) } else { adv.mul_f64(156.0 / 256.0) };
    let down = adv * 3 + skew;
    let margin = if version == 2 { Duration::from_millis(600) } else { Duration::from_millis(350) };
    let hc = Conf { unicast, ..Conf::new(version, advert, 150) };
    let lc = Conf { unicast, ..Conf::new(version, advert, 100) };
    let t0 = Instant::now();
    let mut n1 = start(&lab, 1, hi, &hc);
    let n2 = start(&lab, 2, lo, &lc);
    // (a)/(b): the higher priority ends up master; nobody else holds the VIP.
    let limit = down * 3 + Duration::from_secs(2);
    let conv = wait_for(limit, || lab.has_vip(1) && !lab.has_vip(2));
    let converge = conv.unwrap_or_else(|| panic!("{label}: no convergence\n{}\n{}", n1.log(), n2.log()));
    // Let a possible transient double master (both timers racing) settle, then sample.
    sleep(adv * 2);
    assert_single_master(&lab, 1, 2, adv * 4, &label);
    let _ = t0;

    // (c): every process of the master killed: the backup takes over within Master_Down.
    lab.kill_all(1);
    let t = Instant::now();
    let got = wait_for(down + Duration::from_secs(3), || lab.has_vip(2));
    let failover_kill = got.unwrap_or_else(|| panic!("{label}: backup never took over after kill -9\n{}", n2.log()));
    assert!(
        failover_kill <= down + margin,
        "{label}: failover after kill took {failover_kill:?}, Master_Down {down:?}"
    );
    let _ = t;
    drop(n1);

    // The higher priority returns: it waits a full Master_Down (discarding lower adverts), then
    // preempts; the old master yields.
    n1 = start(&lab, 1, hi, &hc);
    let got = wait_for(down * 2 + Duration::from_secs(3), || lab.has_vip(1) && !lab.has_vip(2));
    let preempt = got.unwrap_or_else(|| panic!("{label}: no preemption on return\n{}\n{}", n1.log(), n2.log()));
    sleep(adv);
    assert_single_master(&lab, 1, 2, adv * 2, &label);

    // (d): SIGTERM on the master: priority-0 advert, the backup takes over after its skew.
    n1.term();
    let got = wait_for(down + Duration::from_secs(3), || lab.has_vip(2));
    let failover_term = got.unwrap_or_else(|| panic!("{label}: no takeover after SIGTERM\n{}", n2.log()));
    assert!(failover_term <= skew + margin, "{label}: graceful handover took {failover_term:?}, skew {skew:?}");
    let _ = n1.child.wait();
    assert!(!lab.has_vip(1), "{label}: the stopped master kept the VIP");
    // Neither side rejected the other's adverts (ours or keepalived's wording).
    for (n, log) in [(1, n1.log()), (2, n2.log())] {
        for bad in ["invalid", "mismatch", "unexpected", "not present", "further ones are counted"] {
            assert!(!log.contains(bad), "{label}: node {n} rejected adverts ({bad}):\n{log}");
        }
    }
    drop(n2);
    Timings { label, converge, failover_kill, preempt, failover_term }
}

fn print_table(title: &str, rows: &[Timings]) {
    println!("== {title}");
    println!("{:<48} {:>10} {:>14} {:>10} {:>14}", "pairing", "converge", "kill->backup", "preempt", "TERM->backup");
    for r in rows {
        println!(
            "{:<48} {:>10} {:>14} {:>10} {:>14}",
            r.label,
            secs(r.converge),
            secs(r.failover_kill),
            secs(r.preempt),
            secs(r.failover_term)
        );
    }
}

#[test]
fn v2_pass_1s_both_roles() {
    skip_unless_lab!("vrrp_netns");
    let rows = vec![
        pair_scenario("a", 11, 2, "1", Impl::Ours, Impl::Keepalived),
        pair_scenario("b", 12, 2, "1", Impl::Keepalived, Impl::Ours),
    ];
    print_table("VRRPv2 PASS advert_int 1", &rows);
}

/// The same scenario with one implementation on both sides, as the reference for the table.
#[test]
fn v2_pass_1s_same_impl() {
    skip_unless_lab!("vrrp_netns");
    let rows = vec![
        pair_scenario("i", 19, 2, "1", Impl::Keepalived, Impl::Keepalived),
        pair_scenario("j", 20, 2, "1", Impl::Ours, Impl::Ours),
    ];
    print_table("VRRPv2 PASS advert_int 1 (same implementation)", &rows);
}

#[test]
fn v3_100ms_both_roles() {
    skip_unless_lab!("vrrp_netns");
    let rows = vec![
        pair_scenario("c", 13, 3, "0.1", Impl::Ours, Impl::Keepalived),
        pair_scenario("d", 14, 3, "0.1", Impl::Keepalived, Impl::Ours),
        pair_scenario("e", 15, 3, "0.1", Impl::Keepalived, Impl::Keepalived),
        pair_scenario("f", 16, 3, "0.1", Impl::Ours, Impl::Ours),
    ];
    print_table("VRRPv3 advert_int 0.1", &rows);
}

/// (e): both nodes `state BACKUP` + nopreempt: a higher priority that returns does not take
/// over from the running lower-priority master.
fn nopreempt_scenario(tag: &str, net: u8, hi: Impl, lo: Impl) {
    let lab = Lab::new(tag, net, 2);
    let label = format!("nopreempt: running master={} (100), returning={} (150)", lo.name(), hi.name());
    let lo_node = start(&lab, 2, lo, &Conf { nopreempt: true, ..Conf::new(2, "1", 100) });
    let got = wait_for(Duration::from_secs(8), || lab.has_vip(2));
    got.unwrap_or_else(|| panic!("{label}: lone node never became master\n{}", lo_node.log()));
    let hi_node = start(&lab, 1, hi, &Conf { nopreempt: true, ..Conf::new(2, "1", 150) });
    // Longer than the Master_Down (3.41 s) after which it would preempt without nopreempt.
    assert_single_master(&lab, 2, 1, Duration::from_secs(6), &label);
    drop(hi_node);
    drop(lo_node);
    println!("{label}: master kept for 6 s");
}

#[test]
fn nopreempt_keeps_master() {
    skip_unless_lab!("vrrp_netns");
    nopreempt_scenario("g", 17, Impl::Ours, Impl::Keepalived);
    nopreempt_scenario("h", 18, Impl::Keepalived, Impl::Ours);
}

#[test]
fn unicast_v3_100ms_and_v2_both_roles() {
    skip_unless_lab!("vrrp_netns");
    let rows = vec![
        pair_scenario_with("k", 21, 3, "0.1", true, Impl::Ours, Impl::Keepalived),
        pair_scenario_with("l", 22, 3, "0.1", true, Impl::Keepalived, Impl::Ours),
        pair_scenario_with("m", 23, 2, "1", true, Impl::Ours, Impl::Keepalived),
        pair_scenario_with("n", 24, 2, "1", true, Impl::Keepalived, Impl::Ours),
    ];
    print_table("unicast (unicast_src_ip / unicast_peer)", &rows);
}

/// Notify scripts: each implementation alone goes BACKUP -> MASTER -> (SIGTERM) STOP; the
/// script calls (notify_STATE with its own args, generic notify with
/// `INSTANCE name STATE prio` appended) must be the same set.
fn notify_calls(tag: &str, net: u8, which: Impl) -> Vec<String> {
    let lab = Lab::new(tag, net, 1);
    let script = lab.dir.join("n.sh");
    let out = lab.dir.join("calls");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$*\" >> {}\n", out.display())).unwrap();
    let _ = Command::new("chmod").args(["755", &script.display().to_string()]).status();
    let s = script.display();
    let extra = format!(
        "    notify_master \"{s} master x\"\n    notify_backup \"{s} backup\"\n    notify_stop \"{s} stop\"\n    \
         notify {s}\n"
    );
    let mut n = start(&lab, 1, which, &Conf { extra, ..Conf::new(3, "0.1", 100) });
    wait_for(Duration::from_secs(5), || lab.has_vip(1)).unwrap_or_else(|| panic!("never master\n{}", n.log()));
    sleep(Duration::from_millis(300));
    n.term();
    let _ = n.child.wait();
    let mut calls = Vec::new();
    wait_for(Duration::from_secs(3), || {
        calls = std::fs::read_to_string(&out).unwrap_or_default().lines().map(String::from).collect();
        calls.len() >= 6
    });
    sleep(Duration::from_millis(200));
    calls = std::fs::read_to_string(&out).unwrap_or_default().lines().map(String::from).collect();
    calls.sort();
    calls
}

#[test]
fn notify_scripts_match_keepalived() {
    skip_unless_lab!("vrrp_netns");
    let ka = notify_calls("o", 25, Impl::Keepalived);
    let ours = notify_calls("p", 26, Impl::Ours);
    println!("keepalived notify calls: {ka:?}");
    println!("our notify calls:        {ours:?}");
    assert!(ka.iter().any(|l| l == "INSTANCE VI_1 MASTER 100"), "oracle ran no generic notify: {ka:?}");
    assert_eq!(ours, ka);
}

/// A notify FIFO in the lab's directory, opened for reading (non-blocking) before any daemon
/// writes to it: its path and the reader for [`drain_fifo`].
fn lab_fifo(lab: &Lab) -> (std::path::PathBuf, std::fs::File) {
    use std::os::unix::fs::OpenOptionsExt;
    let fifo = lab.dir.join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader =
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&fifo).expect("open fifo reader");
    (fifo, reader)
}

/// The lines written to the FIFO so far.
fn drain_fifo(mut reader: std::fs::File) -> Vec<String> {
    use std::io::Read;
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while let Ok(k) = reader.read(&mut buf) {
        if k == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buf[..k]));
    }
    text.lines().map(String::from).collect()
}

/// track_script: the master (150) tracks a script with weight -60; when it fails the master
/// advertises 90 and the backup (100) takes over; when it recovers the master preempts back.
fn track_scenario(tag: &str, net: u8, hi: Impl, lo: Impl) -> (String, Duration, Duration, Vec<String>) {
    let lab = Lab::new(tag, net, 2);
    let (fifo, reader) = lab_fifo(&lab);
    let label = format!("track_script: master={} backup={}", hi.name(), lo.name());
    let flag = lab.dir.join("healthy");
    std::fs::write(&flag, "").unwrap();
    let chk = lab.dir.join("chk.sh");
    std::fs::write(&chk, format!("#!/bin/sh\n[ -e {} ]\n", flag.display())).unwrap();
    let _ = Command::new("chmod").args(["755", &chk.display().to_string()]).status();
    let top = format!(
        "global_defs {{\n    notify_fifo {}\n}}\nvrrp_script chk {{\n    script {}\n    interval 1\n    weight -60\n    \
         fall 1\n    rise 1\n}}\n",
        fifo.display(),
        chk.display()
    );
    let extra = "    notify_priority_changes\n    track_script {\n        chk\n    }\n".to_string();
    let n1 = start(&lab, 1, hi, &Conf { top, extra, ..Conf::new(2, "1", 150) });
    let n2 = start(&lab, 2, lo, &Conf::new(2, "1", 100));
    wait_for(Duration::from_secs(10), || lab.has_vip(1) && !lab.has_vip(2))
        .unwrap_or_else(|| panic!("{label}: no convergence\n{}\n{}", n1.log(), n2.log()));
    std::fs::remove_file(&flag).unwrap();
    let down = wait_for(Duration::from_secs(8), || lab.has_vip(2) && !lab.has_vip(1))
        .unwrap_or_else(|| panic!("{label}: no takeover on script failure\n{}\n{}", n1.log(), n2.log()));
    // Script interval (1 s) + Master_Down of the backup (3.61 s) + margin.
    assert!(down <= Duration::from_millis(1000 + 3609 + 700), "{label}: takeover after {down:?}");
    assert!(n1.log().contains("Changing effective priority from 150 to 90"), "{label}:\n{}", n1.log());
    std::fs::write(&flag, "").unwrap();
    let up = wait_for(Duration::from_secs(8), || lab.has_vip(1) && !lab.has_vip(2))
        .unwrap_or_else(|| panic!("{label}: no preemption on recovery\n{}\n{}", n1.log(), n2.log()));
    sleep(Duration::from_millis(300));
    (label, down, up, drain_fifo(reader))
}

#[test]
fn track_script_weight_both_roles() {
    skip_unless_lab!("vrrp_netns");
    let rows =
        [track_scenario("q", 27, Impl::Ours, Impl::Keepalived), track_scenario("r", 28, Impl::Keepalived, Impl::Ours)];
    println!("== track_script weight -60 (150 -> 90 vs backup 100)");
    for (label, down, up, fifo) in &rows {
        println!("{label:<48} fail->backup {:>8}  recover->master {:>8}", secs(*down), secs(*up));
        println!("    notify_fifo with notify_priority_changes: {fifo:?}");
    }
    // The tracking node's FIFO (priority changes included), ours as keepalived's.
    assert!(rows[1].3.iter().any(|l| l == "INSTANCE \"VI_1\" MASTER_PRIORITY 90"), "{:?}", rows[1].3);
    assert_eq!(rows[0].3, rows[1].3);
}

#[test]
fn ipv6_v3_100ms_both_roles() {
    skip_unless_lab!("vrrp_netns");
    let rows = vec![
        pair_scenario_v6("s", 29, Impl::Ours, Impl::Keepalived),
        pair_scenario_v6("t", 30, Impl::Keepalived, Impl::Ours),
    ];
    print_table("VRRPv3 IPv6 advert_int 0.1 (unsolicited NA)", &rows);
}

/// Captures, from inside namespace `ns`, the arrival times of gratuitous ARPs for `vip`.
/// The times of the gratuitous ARPs for `vip` seen in namespace `ns` during `dur` (only those
/// sent from MAC `from`, if given).
fn sniff_garps(
    ns: &str,
    vip: std::net::Ipv4Addr,
    from: Option<[u8; 6]>,
    dur: Duration,
) -> std::thread::JoinHandle<Vec<Duration>> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open(&path).unwrap();
        // SAFETY: setns on this thread only, with a valid namespace fd.
        assert_eq!(unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }, 0, "setns {path}");
        // SAFETY: plain socket(2); closed below.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(0x0806u16.to_be())) };
        assert!(fd >= 0);
        let tv = libc::timeval { tv_sec: 0, tv_usec: 50_000 };
        // SAFETY: valid option buffer of the size passed.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        let t0 = Instant::now();
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        while t0.elapsed() < dur {
            // SAFETY: buffer valid for its length.
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 42 {
                continue;
            }
            // Ethernet (14) + ARP: opcode at 20..22, sender IP at 28..32, target IP at 38..42.
            let spa = std::net::Ipv4Addr::new(buf[28], buf[29], buf[30], buf[31]);
            let tpa = std::net::Ipv4Addr::new(buf[38], buf[39], buf[40], buf[41]);
            let src_ok = from.is_none_or(|m| buf[6..12] == m);
            if buf[12..14] == [0x08, 0x06] && spa == vip && tpa == vip && src_ok {
                seen.push(t0.elapsed());
            }
        }
        // SAFETY: fd is ours.
        unsafe { libc::close(fd) };
        seen
    })
}

/// GARP pacing on becoming master (defaults: 5 at once, 5 more after garp_master_delay 5 s),
/// captured on the wire from the other node's namespace, ours next to keepalived's.
fn garp_times(tag: &str, net: u8, which: Impl) -> Vec<Duration> {
    let lab = Lab::new(tag, net, 2);
    let vip: std::net::Ipv4Addr = lab.vip().parse().unwrap();
    let sniffer = sniff_garps(&lab.ns(2), vip, None, Duration::from_millis(7000));
    sleep(Duration::from_millis(100));
    let n = start(&lab, 1, which, &Conf::new(3, "0.1", 100));
    let seen = sniffer.join().unwrap();
    drop(n);
    seen
}

#[test]
fn garp_bursts_match_keepalived() {
    skip_unless_lab!("vrrp_netns");
    let ka = garp_times("u", 31, Impl::Keepalived);
    let ours = garp_times("v", 32, Impl::Ours);
    let show = |v: &[Duration]| v.iter().map(|d| format!("{:.2}", d.as_secs_f64())).collect::<Vec<_>>().join(" ");
    println!("== gratuitous ARPs seen by the other node (s after capture start)");
    println!("keepalived: {} GARPs: {}", ka.len(), show(&ka));
    println!("ours:       {} GARPs: {}", ours.len(), show(&ours));
    assert_eq!(ka.len(), 10, "oracle: 5 + 5 expected");
    assert_eq!(ours.len(), ka.len());
    let gap = |v: &[Duration]| v[5].saturating_sub(v[0]);
    assert!(gap(&ours) >= Duration::from_millis(4800) && gap(&ours) <= Duration::from_millis(5300), "{:?}", gap(&ours));
}

/// Two masters: node 2 (keepalived, priority 100) stops hearing node 1 (`which`, priority 150,
/// v2 at 1 s) while node 1 still hears node 2, so node 1 receives a lower-priority advert
/// every second. The gratuitous ARPs node 1 sends in the `WINDOW` after node 2 took the VIP
/// (defaults: garp_lower_prio_repeat 5 per advert, a second set garp_lower_prio_delay 5 s
/// later), seen from node 3; and what node 1 wrote to its notify FIFO and how its
/// notify_master_rx_lower_pri script was called (one "args:N" line per call).
fn lower_prio_garps(tag: &str, net: u8, which: Impl) -> (Vec<Duration>, Vec<String>, Vec<String>) {
    const WINDOW: Duration = Duration::from_millis(7500);
    let lab = Lab::new(tag, net, 3);
    let vip: std::net::Ipv4Addr = lab.vip().parse().unwrap();
    let (fifo, reader) = lab_fifo(&lab);
    let (script, calls) = (lab.dir.join("lower.sh"), lab.dir.join("calls"));
    std::fs::write(&script, format!("#!/bin/sh\necho \"args:$#\" >> {}\n", calls.display())).unwrap();
    let _ = Command::new("chmod").args(["755", &script.display().to_string()]).status();
    let conf = Conf {
        top: format!("global_defs {{\n    notify_fifo {}\n}}\n", fifo.display()),
        extra: format!("    notify_master_rx_lower_pri {}\n", script.display()),
        ..Conf::new(2, "1", 150)
    };
    let n1 = start(&lab, 1, which, &conf);
    wait_for(Duration::from_secs(6), || lab.has_vip(1)).unwrap_or_else(|| panic!("no master\n{}", n1.log()));
    // Multicast (the adverts) no longer reaches node 2; broadcast (GARPs) and node 2's
    // adverts to node 1 still flow.
    netns::ip(&[
        "-n",
        &format!("{}-br", lab.prefix),
        "link",
        "set",
        "dev",
        "v2",
        "type",
        "bridge_slave",
        "mcast_flood",
        "off",
    ]);
    let n2 = start(&lab, 2, Impl::Keepalived, &Conf::new(2, "1", 100));
    wait_for(Duration::from_secs(8), || lab.has_vip(2)).unwrap_or_else(|| panic!("node 2 never master\n{}", n2.log()));
    let seen = sniff_garps(&lab.ns(3), vip, Some(lab.mac(1)), WINDOW).join().unwrap();
    assert!(lab.has_vip(1), "node 1 lost the VIP\n{}", n1.log());
    assert!(n1.log().contains("forcing new election"), "{}", n1.log());
    drop(n1);
    let fifo_lines = drain_fifo(reader).into_iter().filter(|l| l.contains("LOWER")).collect();
    let calls = std::fs::read_to_string(&calls).unwrap_or_default().lines().map(String::from).collect();
    (seen, fifo_lines, calls)
}

#[test]
fn lower_priority_advert_garps_match_keepalived() {
    skip_unless_lab!("vrrp_netns");
    let (ka, ka_fifo, ka_calls) = lower_prio_garps("H", 44, Impl::Keepalived);
    let (ours, our_fifo, our_calls) = lower_prio_garps("I", 45, Impl::Ours);
    let show = |v: &[Duration]| v.iter().map(|d| format!("{:.2}", d.as_secs_f64())).collect::<Vec<_>>().join(" ");
    println!("== GARPs of a master hearing lower-priority adverts (s into the window)");
    println!("keepalived: {} GARPs: {}", ka.len(), show(&ka));
    println!("ours:       {} GARPs: {}", ours.len(), show(&ours));
    assert!(ka.len() >= 30, "oracle: 5 per lower-priority advert expected");
    // The window catches the adverts at a different phase: allow one burst either way.
    assert!(ours.len().abs_diff(ka.len()) <= 5, "ours {} vs keepalived {}", ours.len(), ka.len());
    // One FIFO line and one argument-less script run per lower-priority advert (about one a
    // second, so the counts depend on the phase): the same lines, a similar count.
    println!("keepalived: FIFO {ka_fifo:?}, script {ka_calls:?}");
    println!("ours:       FIFO {our_fifo:?}, script {our_calls:?}");
    let line = "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150";
    for (who, fifo, calls) in [("keepalived", &ka_fifo, &ka_calls), ("ours", &our_fifo, &our_calls)] {
        assert!(fifo.len() >= 5 && fifo.iter().all(|l| l == line), "{who}: {fifo:?}");
        assert!(calls.len() + 1 >= fifo.len() && calls.iter().all(|c| c == "args:0"), "{who}: {calls:?}");
    }
    assert!(our_fifo.len().abs_diff(ka_fifo.len()) <= 1, "{our_fifo:?} vs {ka_fifo:?}");
}

/// The master's interface goes down: it enters FAULT and drops the VIP, the backup takes over
/// after its Master_Down; the link comes back: BACKUP, then preemption.
fn link_fault_scenario(tag: &str, net: u8, hi: Impl, lo: Impl) -> (String, Duration, Duration) {
    let lab = Lab::new(tag, net, 2);
    let label = format!("link down: master={} backup={}", hi.name(), lo.name());
    let n1 = start(&lab, 1, hi, &Conf::new(3, "0.1", 150));
    let n2 = start(&lab, 2, lo, &Conf::new(3, "0.1", 100));
    wait_for(Duration::from_secs(5), || lab.has_vip(1) && !lab.has_vip(2))
        .unwrap_or_else(|| panic!("{label}: no convergence\n{}\n{}", n1.log(), n2.log()));
    let link = |state: &str| {
        let st = Command::new("ip").args(["-n", &lab.ns(1), "link", "set", "eth0", state]).status().unwrap();
        assert!(st.success());
    };
    link("down");
    let down = wait_for(Duration::from_secs(3), || lab.has_vip(2) && !lab.has_vip(1))
        .unwrap_or_else(|| panic!("{label}: no takeover on link down\n{}\n{}", n1.log(), n2.log()));
    sleep(Duration::from_millis(300));
    assert!(n1.log().contains("Entering FAULT STATE"), "{label}:\n{}", n1.log());
    link("up");
    let up = wait_for(Duration::from_secs(5), || lab.has_vip(1) && !lab.has_vip(2))
        .unwrap_or_else(|| panic!("{label}: no preemption after link up\n{}\n{}", n1.log(), n2.log()));
    (label, down, up)
}

#[test]
fn link_down_fault_both_roles() {
    skip_unless_lab!("vrrp_netns");
    let rows = [
        link_fault_scenario("w", 33, Impl::Ours, Impl::Keepalived),
        link_fault_scenario("x", 34, Impl::Keepalived, Impl::Ours),
    ];
    println!("== interface down on the master (v3 0.1 s)");
    for (label, down, up) in rows {
        println!("{label:<48} down->backup {:>8}  up->master {:>8}", secs(down), secs(up));
    }
}

/// Different PASS passwords: each side rejects the other's adverts, so both become master (as
/// 2.2.7 does). keepalived logs every rejected packet; we log once per (reason, source).
#[test]
fn auth_mismatch_rejected_and_logged_once() {
    skip_unless_lab!("vrrp_netns");
    let lab = Lab::new("y", 35, 2);
    let n1 = start(&lab, 1, Impl::Keepalived, &Conf { pass: "aaaaaaaa", ..Conf::new(2, "1", 150) });
    let n2 = start(&lab, 2, Impl::Ours, &Conf { pass: "bbbbbbbb", ..Conf::new(2, "1", 100) });
    wait_for(Duration::from_secs(6), || lab.has_vip(1) && lab.has_vip(2))
        .unwrap_or_else(|| panic!("expected both masters\n{}\n{}", n1.log(), n2.log()));
    sleep(Duration::from_secs(3));
    let ka = n1.log().matches("received an invalid passwd!").count();
    // Nodes run with -D, where ours logs the rest at debug level, without that suffix.
    let ours = n2.log().matches("received an invalid passwd! (from 10.77.35.1; further ones are counted").count();
    println!("== PASS mismatch: 'received an invalid passwd!' lines: keepalived {ka}, ours {ours}");
    assert!(ka >= 3, "oracle logs each packet:\n{}", n1.log());
    assert_eq!(ours, 1, "{}", n2.log());
}

/// notify_fifo: the lines written (BACKUP, MASTER, STOP) compared with keepalived's.
/// Also returns eth0's promote_secondaries (the instance sets it) before, while and after the
/// daemon runs.
fn fifo_lines(tag: &str, net: u8, which: Impl) -> (Vec<String>, [String; 3]) {
    let lab = Lab::new(tag, net, 1);
    let (fifo, reader) = lab_fifo(&lab);
    let promote = || {
        let path = "/proc/sys/net/ipv4/conf/eth0/promote_secondaries";
        netns::out(&["ip", "netns", "exec", &lab.ns(1), "cat", path]).trim().to_string()
    };
    let before = promote();
    let top = format!("global_defs {{\n    notify_fifo {}\n}}\n", fifo.display());
    let extra = "    promote_secondaries\n".to_string();
    let mut n = start(&lab, 1, which, &Conf { top, extra, ..Conf::new(3, "0.1", 100) });
    wait_for(Duration::from_secs(5), || lab.has_vip(1)).unwrap_or_else(|| panic!("never master\n{}", n.log()));
    let during = promote();
    n.term();
    let _ = n.child.wait();
    (drain_fifo(reader), [before, during, promote()])
}

#[test]
fn notify_fifo_matches_keepalived() {
    skip_unless_lab!("vrrp_netns");
    let (ka, ka_promote) = fifo_lines("z", 36, Impl::Keepalived);
    let (ours, our_promote) = fifo_lines("A", 37, Impl::Ours);
    println!("keepalived fifo: {ka:?}, promote_secondaries before/while/after {ka_promote:?}");
    println!("our fifo:        {ours:?}, promote_secondaries before/while/after {our_promote:?}");
    assert!(ka.iter().any(|l| l == "INSTANCE \"VI_1\" MASTER 100"), "{ka:?}");
    assert_eq!(ours, ka);
    assert_eq!(ka_promote, ["0", "1", "0"]);
    assert_eq!(our_promote, ka_promote);
}

/// Equal priorities: one master, kept (a BACKUP accepts an equal-priority advert whatever the
/// address; the address only breaks a tie between two masters).
fn tie_scenario(tag: &str, net: u8, low_addr: Impl, high_addr: Impl) -> Duration {
    let lab = Lab::new(tag, net, 2);
    let n1 = start(&lab, 1, low_addr, &Conf::new(3, "0.1", 100));
    let n2 = start(&lab, 2, high_addr, &Conf::new(3, "0.1", 100));
    let t = wait_for(Duration::from_secs(5), || lab.has_vip(1) != lab.has_vip(2))
        .unwrap_or_else(|| panic!("tie: no single master\n{}\n{}", n1.log(), n2.log()));
    sleep(Duration::from_millis(500));
    let (m, o) = if lab.has_vip(1) { (1, 2) } else { (2, 1) };
    assert_single_master(&lab, m, o, Duration::from_secs(1), "equal priority");
    t
}

/// Priority 255 + state MASTER: master at once, no Master_Down wait.
fn owner_start(tag: &str, net: u8, which: Impl) -> Duration {
    let lab = Lab::new(tag, net, 1);
    let extra = String::new();
    let mut c = Conf { extra, ..Conf::new(2, "1", 255) };
    c.top = String::new();
    let text = config(&lab, 1, &c).replace("state BACKUP", "state MASTER");
    let t0 = Instant::now();
    let _node = Node::start(&lab, 1, which, &text);
    let got = wait_for(Duration::from_secs(3), || lab.has_vip(1));
    got.map(|_| t0.elapsed()).unwrap_or_else(|| panic!("owner never master"))
}

#[test]
fn equal_priority_and_owner() {
    skip_unless_lab!("vrrp_netns");
    let a = tie_scenario("B", 38, Impl::Keepalived, Impl::Ours);
    let b = tie_scenario("C", 39, Impl::Ours, Impl::Keepalived);
    let ka = owner_start("D", 40, Impl::Keepalived);
    let ours = owner_start("E", 41, Impl::Ours);
    println!(
        "== equal priority 100: single stable master after {} (ours at .2), {} (keepalived at .2)",
        secs(a),
        secs(b)
    );
    println!("== priority 255 state MASTER, start -> VIP: keepalived {}, ours {}", secs(ka), secs(ours));
    assert!(ours < Duration::from_millis(1500), "an owner does not wait Master_Down (3 s + skew)");
}

/// SIGUSR2 on both nodes of a pair (node 1 `hi` at 150 and master, then node 2 `lo` at 100,
/// v3 at 0.1 s): the `keepalived.stats` each writes in its TMPDIR, (master's, backup's).
fn stats_pair(tag: &str, net: u8, hi: Impl, lo: Impl) -> (String, String) {
    let lab = Lab::new(tag, net, 2);
    // The backup starts once the master holds the VIP: started together, whichever daemon is
    // up first may be master for an advert or two (keepalived starts slower than ours).
    let n1 = start(&lab, 1, hi, &Conf::new(3, "0.1", 150));
    wait_for(Duration::from_secs(5), || lab.has_vip(1)).unwrap_or_else(|| panic!("stats: no master\n{}", n1.log()));
    let n2 = start(&lab, 2, lo, &Conf::new(3, "0.1", 100));
    sleep(Duration::from_millis(800));
    assert!(lab.has_vip(1) && !lab.has_vip(2), "stats: not converged\n{}\n{}", n1.log(), n2.log());
    let dump = |n: &Node| n.signal_dump("-USR2", "keepalived.stats").unwrap_or_else(|| panic!("no stats\n{}", n.log()));
    (dump(&n1), dump(&n2))
}

/// The file's lines with the advert counts (timing-dependent) reduced to zero / non-zero.
fn stats_shape(text: &str) -> Vec<String> {
    let mut section = "";
    text.lines()
        .map(|l| {
            let t = l.trim();
            if t.ends_with(':') {
                section = if t == "Advertisements:" { "adverts" } else { "" };
            }
            match t.split_once(": ") {
                Some((k @ ("Received" | "Sent"), v)) if section == "adverts" => {
                    format!("{}{k}: {}", &l[..l.len() - t.len()], if v == "0" { "0" } else { "some" })
                }
                _ => l.to_string(),
            }
        })
        .collect()
}

/// SIGUSR2 writes keepalived.stats in 2.2.7's layout, with the same counts as keepalived for a
/// master and a backup (advert counts: zero or not).
#[test]
fn usr2_stats_match_keepalived() {
    skip_unless_lab!("vrrp_netns");
    let (ours_m, ka_b) = stats_pair("F", 42, Impl::Ours, Impl::Keepalived);
    let (ka_m, ours_b) = stats_pair("G", 43, Impl::Keepalived, Impl::Ours);
    println!(
        "keepalived as master:\n{ka_m}\nours as master:\n{ours_m}\nkeepalived as backup:\n{ka_b}\nours as backup:\n{ours_b}"
    );
    assert!(ka_m.starts_with("VRRP Instance: VI_1\n") && ka_m.contains("  Became master: 1\n"), "{ka_m}");
    assert_eq!(stats_shape(&ours_m), stats_shape(&ka_m));
    assert_eq!(stats_shape(&ours_b), stats_shape(&ka_b));
    assert_eq!(stats_shape(&ours_b).get(2).map(String::as_str), Some("    Received: some"), "{ours_b}");
    assert!(ours_b.contains("  Became master: 0\n"), "{ours_b}");
}

/// SIGHUP on the master (node 1, `which`, priority 150; node 2 keepalived at 100, v2 at 1 s),
/// four reloads in a row: unchanged, a VIP added, priority 150 -> 120, then VI_1 replaced by a
/// new VI_2 (VRID 52). Checked: the master keeps its VIPs through the first three with no
/// takeover by node 2 and no state change; the added VIP appears; removing VI_1 hands its VIP
/// to node 2 at once (priority 0) and VI_2 becomes master on its own. Returns the hand-over
/// time after the last reload.
fn reload_scenario(tag: &str, net: u8, which: Impl) -> Duration {
    let lab = Lab::new(tag, net, 2);
    let (vip, vip2, vip3) = (lab.vip(), format!("10.77.{net}.101"), format!("10.77.{net}.200"));
    // config()'s instance (PASS auth, as node 2's), with `extra` lines after its VIPs. An
    // added VIP goes to virtual_ipaddress_excluded: a changed advert address list would make
    // node 2 reject node 1's adverts (and take over), reload or not.
    let conf1 = |prio: u8, extra: &str| {
        config(&lab, 1, &Conf::new(2, "1", prio)).replacen(
            "    virtual_ipaddress {",
            &format!("{extra}    virtual_ipaddress {{"),
            1,
        )
    };
    let excluded = format!("    virtual_ipaddress_excluded {{\n        {vip2}/24\n    }}\n");
    let mut n1 = Node::start(&lab, 1, which, &conf1(150, ""));
    wait_for(Duration::from_secs(6), || lab.has_vip(1)).unwrap_or_else(|| panic!("no master\n{}", n1.log()));
    let n2 = start(&lab, 2, Impl::Keepalived, &Conf::new(2, "1", 100));
    sleep(Duration::from_millis(1500));
    let path = lab.dir.join(format!("1-{}.conf", which.name()));
    let hup = |text: &str| {
        std::fs::write(&path, text).unwrap();
        let _ = Command::new("kill").args(["-HUP", &n1.child.id().to_string()]).status();
    };
    let steps =
        [("unchanged", conf1(150, "")), ("VIP added", conf1(150, &excluded)), ("priority 120", conf1(120, &excluded))];
    for (what, text) in &steps {
        hup(text);
        assert_single_master(&lab, 1, 2, Duration::from_millis(2500), &format!("{}: reload {what}", which.name()));
    }
    assert!(lab.has_addr(1, "eth0", &vip2), "{}: the added VIP is missing\n{}", which.name(), n1.log());
    let log1 = n1.log();
    assert_eq!(log1.matches("Entering MASTER STATE").count(), 1, "{}: state changed on reload\n{log1}", which.name());
    assert!(!n2.log().contains("Entering MASTER STATE"), "node 2 took over\n{}", n2.log());
    hup(&conf1(100, "")
        .replace("VI_1", "VI_2")
        .replace("virtual_router_id 51", "virtual_router_id 52")
        .replace(&vip, &vip3));
    let t = wait_for(Duration::from_secs(3), || lab.has_vip(2) && !lab.has_vip(1))
        .unwrap_or_else(|| panic!("{}: VI_1 not handed over\n{}\n{}", which.name(), n1.log(), n2.log()));
    assert!(!lab.has_addr(1, "eth0", &vip2), "{}: the removed instance left a VIP", which.name());
    wait_for(Duration::from_secs(6), || lab.has_addr(1, "eth0", &vip3))
        .unwrap_or_else(|| panic!("{}: the new VI_2 never master\n{}", which.name(), n1.log()));
    n1.term();
    t
}

#[test]
fn sighup_reload_matches_keepalived() {
    skip_unless_lab!("vrrp_netns");
    let ka = reload_scenario("J", 46, Impl::Keepalived);
    let ours = reload_scenario("K", 47, Impl::Ours);
    println!(
        "== reload removing the master's instance -> VIP on the backup: keepalived {}, ours {}",
        secs(ka),
        secs(ours)
    );
    assert!(ours < Duration::from_millis(1500), "priority 0 on removal: the backup takes over within its skew");
}
