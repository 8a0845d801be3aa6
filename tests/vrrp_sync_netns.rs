//! vrrp_sync_group and track_file against keepalived 2.2.7 in network namespaces.
//!
//! The sync lab: two nodes, each with eth0 on bridge br0 (tests/netns/lab.sh, 10.77.NET.N) and
//! eth1 on a second bridge br1 (added here, 10.177.NET.N), and a sync group of two instances,
//! VI_1 on eth0 and VI_2 on eth1. Skipped with a "SKIPPED:" line when not root, without
//! `ip netns`, or without /usr/sbin/keepalived (unless KARD_REQUIRE_ORACLE=1, then that fails).

use std::ops::Deref;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

#[macro_use]
mod common;
use common::netns::{self, Impl, Node, ip, secs, wait_for};

/// The lab of tests/netns/lab.sh, with a second bridge (br1, eth1 = 10.177.NET.i) when `two`.
struct Lab(netns::Lab);

impl Deref for Lab {
    type Target = netns::Lab;
    fn deref(&self) -> &netns::Lab {
        &self.0
    }
}

impl Lab {
    fn new(tag: &str, net: u8, n: usize, two: bool) -> Lab {
        let lab = Lab(netns::Lab::new("ks", tag, net, n));
        if two {
            let br = format!("{}-br", lab.prefix);
            ip(&["-n", &br, "link", "add", "br1", "type", "bridge"]);
            ip(&["-n", &br, "link", "set", "br1", "up"]);
            for i in 1..=n {
                let (peer, ns) = (format!("w{i}"), lab.ns(i));
                ip(&["link", "add", &peer, "netns", &br, "type", "veth", "peer", "name", "eth1", "netns", &ns]);
                ip(&["-n", &br, "link", "set", &peer, "master", "br1", "up"]);
                ip(&["-n", &ns, "addr", "add", &format!("10.177.{net}.{i}/24"), "dev", "eth1"]);
                ip(&["-n", &ns, "link", "set", "eth1", "up"]);
            }
        }
        lab
    }

    /// The VIP of VI_1 (eth0) or VI_2 (eth1).
    fn vip(&self, vi: usize) -> String {
        if vi == 1 { format!("10.77.{}.100", self.net) } else { format!("10.177.{}.100", self.net) }
    }

    fn has_vip(&self, node: usize, vi: usize) -> bool {
        self.has_addr(node, if vi == 1 { "eth0" } else { "eth1" }, &self.vip(vi))
    }

    /// (VI_1, VI_2) VIPs held by `node`.
    fn vips(&self, node: usize) -> (bool, bool) {
        (self.has_vip(node, 1), self.has_vip(node, 2))
    }

    fn link(&self, node: usize, dev: &str, state: &str) {
        ip(&["-n", &self.ns(node), "link", "set", dev, state]);
    }
}

/// Samples for `d` that `master` holds both VIPs and `other` neither: no split of the group.
fn assert_placement(lab: &Lab, master: usize, other: usize, d: Duration, what: &str, logs: &dyn Fn() -> String) {
    let t0 = Instant::now();
    while t0.elapsed() < d {
        let (m, o) = (lab.vips(master), lab.vips(other));
        assert!(
            m == (true, true) && o == (false, false),
            "{what}: node {master} holds {m:?}, node {other} holds {o:?} at {:?}\n{}",
            t0.elapsed(),
            logs()
        );
        sleep(Duration::from_millis(25));
    }
}

/// A sync group VG of VI_1 (eth0, VRID 51) and VI_2 (eth1, VRID 52), VRRPv2 1 s with PASS
/// auth, both at `prio`; `group_extra` goes inside the group, `top` before it.
fn sync_config(lab: &Lab, prio: u8, top: &str, group_extra: &str, inst_extra: &str) -> String {
    let inst = |n: usize, dev: &str| {
        format!(
            "vrrp_instance VI_{n} {{\n    state BACKUP\n    interface {dev}\n    virtual_router_id 5{n}\n    priority {prio}\n    \
             advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass syncpass\n    }}\n{inst_extra}    \
             virtual_ipaddress {{\n        {}/24\n    }}\n}}\n",
            lab.vip(n)
        )
    };
    format!(
        "global_defs {{\n    router_id test\n}}\n{top}vrrp_sync_group VG {{\n    group {{\n        VI_1\n        VI_2\n    }}\n{group_extra}}}\n{}{}",
        inst(1, "eth0"),
        inst(2, "eth1")
    )
}

struct SyncTimes {
    label: String,
    converge: Duration,
    link_down: Duration,
    link_up: Duration,
    file_fault: Duration,
    file_clear: Duration,
}

/// Node 1 runs `hi` (150), node 2 `lo` (100), the same sync group. The master's eth1 goes
/// down: its VI_2 faults, the group takes VI_1 down too, and the backup takes both VIPs; the
/// link returns: the master preempts both back. Then node 1's group-level track_file (weight 0)
/// gets a non-zero value: the whole group faults there, and again both VIPs move.
fn sync_scenario(tag: &str, net: u8, hi: Impl, lo: Impl) -> SyncTimes {
    let lab = Lab::new(tag, net, 2, true);
    let label = format!("sync group: master={} backup={}", hi.name(), lo.name());
    let tf = lab.dir.join("group.track");
    let top = format!("track_file gtf {{\n    file {}\n    weight 0\n    init_file 0 overwrite\n}}\n", tf.display());
    let group_track = "    track_file {\n        gtf\n    }\n";
    let n1 = Node::start(&lab, 1, hi, &sync_config(&lab, 150, &top, group_track, ""));
    let n2 = Node::start(&lab, 2, lo, &sync_config(&lab, 100, "", "", ""));
    let logs = || format!("--- node 1 ({}):\n{}\n--- node 2 ({}):\n{}", hi.name(), n1.log(), lo.name(), n2.log());
    let converge = wait_for(Duration::from_secs(15), || lab.vips(1) == (true, true) && lab.vips(2) == (false, false))
        .unwrap_or_else(|| panic!("{label}: no convergence\n{}", logs()));
    sleep(Duration::from_secs(1));
    assert_placement(&lab, 1, 2, Duration::from_secs(2), &format!("{label}, converged"), &logs);

    // eth1 of the master goes down: VI_2 FAULT, and VI_1 (whose own link is fine) follows at once.
    lab.link(1, "eth1", "down");
    wait_for(Duration::from_secs(1), || lab.vips(1) == (false, false))
        .unwrap_or_else(|| panic!("{label}: the master kept a VIP after its eth1 went down\n{}", logs()));
    let link_down = wait_for(Duration::from_secs(8), || lab.vips(2) == (true, true))
        .unwrap_or_else(|| panic!("{label}: no takeover of both VIPs\n{}", logs()));
    sleep(Duration::from_millis(500));
    assert_placement(&lab, 2, 1, Duration::from_secs(2), &format!("{label}, eth1 down"), &logs);
    assert!(n1.log().contains("VRRP_Group(VG) Syncing instances to FAULT state"), "{label}\n{}", logs());
    assert!(n2.log().contains("VRRP_Group(VG) Syncing instances to MASTER state"), "{label}\n{}", logs());

    // The link returns: BACKUP, then the higher priority preempts, both instances together.
    lab.link(1, "eth1", "up");
    let link_up = wait_for(Duration::from_secs(10), || lab.vips(1) == (true, true) && lab.vips(2) == (false, false))
        .unwrap_or_else(|| panic!("{label}: no preemption after eth1 up\n{}", logs()));
    sleep(Duration::from_millis(500));
    assert_placement(&lab, 1, 2, Duration::from_secs(2), &format!("{label}, eth1 back"), &logs);
    assert!(n2.log().contains("VRRP_Group(VG) Syncing instances to BACKUP state"), "{label}\n{}", logs());

    // The group's track_file (weight 0) reads non-zero: the group faults on node 1.
    std::fs::write(&tf, "1\n").unwrap();
    wait_for(Duration::from_secs(2), || lab.vips(1) == (false, false))
        .unwrap_or_else(|| panic!("{label}: track_file fault kept a VIP\n{}", logs()));
    let file_fault = wait_for(Duration::from_secs(8), || lab.vips(2) == (true, true))
        .unwrap_or_else(|| panic!("{label}: no takeover on track_file fault\n{}", logs()));
    sleep(Duration::from_millis(300));
    assert_placement(&lab, 2, 1, Duration::from_secs(1), &format!("{label}, track_file 1"), &logs);
    std::fs::write(&tf, "0\n").unwrap();
    let file_clear = wait_for(Duration::from_secs(10), || lab.vips(1) == (true, true) && lab.vips(2) == (false, false))
        .unwrap_or_else(|| panic!("{label}: no return after track_file 0\n{}", logs()));
    assert_placement(&lab, 1, 2, Duration::from_secs(1), &format!("{label}, track_file 0"), &logs);
    for (n, log) in [(1, n1.log()), (2, n2.log())] {
        for bad in ["invalid", "mismatch", "unexpected", "not present", "further ones are counted"] {
            assert!(!log.contains(bad), "{label}: node {n} rejected adverts ({bad}):\n{log}");
        }
    }
    SyncTimes { label, converge, link_down, link_up, file_fault, file_clear }
}

#[test]
fn sync_group_moves_together_both_roles() {
    skip_unless_lab!("vrrp_sync_netns");
    let rows =
        [sync_scenario("a", 61, Impl::Ours, Impl::Keepalived), sync_scenario("b", 62, Impl::Keepalived, Impl::Ours)];
    println!("== vrrp_sync_group of two instances on two bridges (v2, 1 s)");
    println!(
        "{:<46} {:>9} {:>11} {:>9} {:>11} {:>11}",
        "pairing", "converge", "eth1 down", "eth1 up", "file fault", "file clear"
    );
    for r in rows {
        println!(
            "{:<46} {:>9} {:>11} {:>9} {:>11} {:>11}",
            r.label,
            secs(r.converge),
            secs(r.link_down),
            secs(r.link_up),
            secs(r.file_fault),
            secs(r.file_clear)
        );
    }
}

/// One node alone with the sync group: BACKUP, MASTER, SIGTERM. The FIFO lines and the
/// notify calls (group and instance scripts) must be those of keepalived. With
/// `start_faulted`, eth1 is down at start and comes up 1.5 s later (FAULT, BACKUP, MASTER).
fn group_notifies(tag: &str, net: u8, which: Impl, start_faulted: bool) -> (Vec<String>, Vec<String>) {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let lab = Lab::new(tag, net, 1, true);
    let fifo = lab.dir.join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let mut reader =
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&fifo).expect("open fifo reader");
    let script = lab.dir.join("n.sh");
    let calls = lab.dir.join("calls");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$*\" >> {}\n", calls.display())).unwrap();
    let _ = Command::new("chmod").args(["755", &script.display().to_string()]).status();
    let s = script.display();
    let top = format!("global_defs {{\n    notify_fifo {}\n}}\n", fifo.display());
    let group = format!(
        "    notify_master \"{s} gmaster\"\n    notify_backup \"{s} gbackup\"\n    notify_fault \"{s} gfault\"\n    \
         notify_stop \"{s} gstop\"\n    notify \"{s} gnotify\"\n"
    );
    let inst = format!("    notify \"{s} inotify\"\n");
    if start_faulted {
        lab.link(1, "eth1", "down");
    }
    let mut n = Node::start(&lab, 1, which, &sync_config(&lab, 100, &top, &group, &inst));
    if start_faulted {
        sleep(Duration::from_millis(1500));
        lab.link(1, "eth1", "up");
    }
    wait_for(Duration::from_secs(8), || lab.vips(1) == (true, true))
        .unwrap_or_else(|| panic!("{}: never master\n{}", which.name(), n.log()));
    sleep(Duration::from_millis(300));
    n.term();
    let _ = n.child.wait();
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while let Ok(k) = reader.read(&mut buf) {
        if k == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buf[..k]));
    }
    let fifo_lines: Vec<String> = text.lines().map(String::from).collect();
    let mut got = Vec::new();
    wait_for(Duration::from_secs(3), || {
        got = std::fs::read_to_string(&calls).unwrap_or_default().lines().map(String::from).collect();
        got.len() >= if start_faulted { 18 } else { 12 }
    });
    sleep(Duration::from_millis(200));
    let mut got: Vec<String> = std::fs::read_to_string(&calls).unwrap_or_default().lines().map(String::from).collect();
    got.sort();
    (fifo_lines, got)
}

/// The group lines come before (startup BACKUP) or after (startup FAULT, transitions) the
/// members' lines.
fn check_fifo_order(who: &str, lines: &[String], start_faulted: bool) {
    let pos = |l: &str| lines.iter().position(|x| x == l).unwrap_or_else(|| panic!("{who}: no {l:?} in {lines:?}"));
    if start_faulted {
        let gf = pos("GROUP \"VG\" FAULT 0");
        assert!(pos("INSTANCE \"VI_1\" FAULT 100") < gf && pos("INSTANCE \"VI_2\" FAULT 100") < gf, "{who}: {lines:?}");
        let gb = pos("GROUP \"VG\" BACKUP 0");
        assert!(gf < gb && pos("INSTANCE \"VI_1\" BACKUP 100") < gb, "{who}: {lines:?}");
    } else {
        assert_eq!(lines.first().map(String::as_str), Some("GROUP \"VG\" BACKUP 0"), "{who}: {lines:?}");
    }
    let gm = pos("GROUP \"VG\" MASTER 0");
    assert!(pos("INSTANCE \"VI_1\" MASTER 100") < gm && pos("INSTANCE \"VI_2\" MASTER 100") < gm, "{who}: {lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("GROUP \"VG\" STOP 0"), "{who}: {lines:?}");
}

#[test]
fn sync_group_notifies_match_keepalived() {
    skip_unless_lab!("vrrp_sync_netns");
    compare_notifies("c", 63, "d", 64, false);
}

#[test]
fn sync_group_starting_in_fault_notifies_match_keepalived() {
    skip_unless_lab!("vrrp_sync_netns");
    compare_notifies("g", 67, "h", 68, true);
}

fn compare_notifies(ka_tag: &str, ka_net: u8, our_tag: &str, our_net: u8, start_faulted: bool) {
    let (ka_fifo, ka_calls) = group_notifies(ka_tag, ka_net, Impl::Keepalived, start_faulted);
    let (our_fifo, our_calls) = group_notifies(our_tag, our_net, Impl::Ours, start_faulted);
    println!("keepalived fifo: {ka_fifo:?}\nour fifo:        {our_fifo:?}");
    println!("keepalived calls: {ka_calls:?}\nour calls:        {our_calls:?}");
    check_fifo_order("keepalived", &ka_fifo, start_faulted);
    check_fifo_order("ours", &our_fifo, start_faulted);
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    assert_eq!(sorted(&our_fifo), sorted(&ka_fifo));
    assert!(ka_calls.iter().any(|l| l == "gnotify GROUP VG MASTER 0"), "oracle: {ka_calls:?}");
    assert_eq!(our_calls, ka_calls);
}

/// A plain instance (no group) tracking two files on node 1: `prio.track` (weight 1) and
/// `fault.track` (weight 0). Node 1 (priority 100) starts below node 2 (120); writing 50 makes it
/// 150 and it preempts; writing 1 into the weight-0 file puts it in FAULT and node 2 takes over.
fn track_file_scenario(tag: &str, net: u8, tracker: Impl, peer: Impl) -> (String, Duration, Duration, Duration) {
    let lab = Lab::new(tag, net, 2, false);
    let label = format!("track_file: tracking={} peer={}", tracker.name(), peer.name());
    let prio = lab.dir.join("prio.track");
    let fault = lab.dir.join("fault.track");
    std::fs::write(&fault, "0\n").unwrap();
    let top = format!(
        "track_file tp {{\n    file {}\n    weight 1\n    init_file 0\n}}\ntrack_file tz {{\n    file {}\n    weight 0\n}}\n",
        prio.display(),
        fault.display()
    );
    let conf = |p: u8, top: &str, extra: &str| {
        format!(
            "{top}vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority {p}\n    \
             advert_int 1\n{extra}    virtual_ipaddress {{\n        {}/24\n    }}\n}}\n",
            lab.vip(1)
        )
    };
    let track = "    track_file {\n        tp\n        tz\n    }\n";
    let n1 = Node::start(&lab, 1, tracker, &conf(100, &top, track));
    let n2 = Node::start(&lab, 2, peer, &conf(120, "", ""));
    let logs =
        || format!("--- node 1 ({}):\n{}\n--- node 2 ({}):\n{}", tracker.name(), n1.log(), peer.name(), n2.log());
    wait_for(Duration::from_secs(10), || lab.has_vip(2, 1) && !lab.has_vip(1, 1))
        .unwrap_or_else(|| panic!("{label}: node 2 (120) never master\n{}", logs()));
    assert_eq!(std::fs::read_to_string(&prio).unwrap(), "0\n", "init_file wrote the file");
    sleep(Duration::from_secs(1));
    std::fs::write(&prio, "50\n").unwrap();
    let preempt = wait_for(Duration::from_secs(8), || lab.has_vip(1, 1) && !lab.has_vip(2, 1))
        .unwrap_or_else(|| panic!("{label}: no preemption at 100 + 50\n{}", logs()));
    assert!(n1.log().contains("Changing effective priority from 100 to 150"), "{label}\n{}", logs());
    sleep(Duration::from_millis(500));
    std::fs::write(&fault, "1\n").unwrap();
    let to_fault = wait_for(Duration::from_secs(8), || lab.has_vip(2, 1) && !lab.has_vip(1, 1))
        .unwrap_or_else(|| panic!("{label}: no takeover on weight-0 file fault\n{}", logs()));
    sleep(Duration::from_millis(300));
    assert!(n1.log().contains("tracked file tz now FAULT state"), "{label}\n{}", logs());
    std::fs::write(&fault, "0\n").unwrap();
    let back = wait_for(Duration::from_secs(8), || lab.has_vip(1, 1) && !lab.has_vip(2, 1))
        .unwrap_or_else(|| panic!("{label}: no return after the fault cleared\n{}", logs()));
    (label, preempt, to_fault, back)
}

#[test]
fn track_file_priority_and_fault_both_roles() {
    skip_unless_lab!("vrrp_sync_netns");
    let rows = [
        track_file_scenario("e", 65, Impl::Ours, Impl::Keepalived),
        track_file_scenario("f", 66, Impl::Keepalived, Impl::Ours),
    ];
    println!("== track_file: weight 1 value 50 (100 -> 150 vs peer 120), then weight 0 value 1 (FAULT)");
    for (label, preempt, fault, back) in rows {
        println!(
            "{label:<44} preempt {:>8}  fault->peer {:>8}  clear->back {:>8}",
            secs(preempt),
            secs(fault),
            secs(back)
        );
    }
}
