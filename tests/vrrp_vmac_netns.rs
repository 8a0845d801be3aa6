//! use_vmac, virtual_routes/virtual_rules and static_ipaddress against keepalived 2.2.7 in
//! network namespaces: two VRRP nodes and a neighbour on one bridge (tests/netns/lab.sh).
//!
//! Checked for ours and keepalived in both roles: the VMAC `vrrp.51` (macvlan mode private,
//! 00:00:5e:00:01:33, up) exists on both nodes and carries the VIP on the master only; the
//! neighbour's ARP request for the VIP is answered with the virtual MAC only (the parent's
//! arp_ignore), adverts leave from the VMAC (or the parent with vmac_xmit_base); the virtual
//! route and rule exist only on the master; the static address exists from the start; after
//! kill -9 the backup takes over (VIP, route), the restarted node reuses its leftover VMAC and
//! preempts; after SIGTERM the VMAC, VIP, route, rule and static address are gone.
//! Skipped with a "SKIPPED:" line when not root, without `ip netns`, or without keepalived
//! (unless KARD_REQUIRE_ORACLE=1).

use std::ops::Deref;
use std::os::fd::AsRawFd;
use std::thread::sleep;
use std::time::{Duration, Instant};

#[macro_use]
mod common;
use common::netns::{self, Impl, Node, out, wait_for};

const VRID: u8 = 51;
const VMAC4: [u8; 6] = [0, 0, 0x5e, 0, 1, VRID];

/// Three nodes on one bridge (tests/netns/lab.sh): two VRRP nodes and a neighbour.
struct Lab(netns::Lab);

impl Deref for Lab {
    type Target = netns::Lab;
    fn deref(&self) -> &netns::Lab {
        &self.0
    }
}

impl Lab {
    fn new(tag: &str, net: u8) -> Lab {
        Lab(netns::Lab::new("kvm", tag, net, 3))
    }

    fn vip(&self) -> String {
        format!("10.77.{}.100", self.net)
    }

    fn has_vip(&self, i: usize) -> bool {
        self.has_addr(i, "vrrp.51", &self.vip())
    }

    fn has_route(&self, i: usize) -> bool {
        self.ip(i, &["route", "show", &format!("10.200.{}.0/24", self.net)]).contains("via")
    }

    fn has_rule(&self, i: usize) -> bool {
        self.ip(i, &["rule", "show"]).contains(&format!("from 10.201.{}.0/24 lookup 100", self.net))
    }

    fn has_static(&self, i: usize) -> bool {
        self.has_addr(i, "eth0", &format!("10.202.{}.{i}", self.net))
    }

    /// `ip -d link show vrrp.51`, empty when there is none.
    fn vmac_link(&self, i: usize) -> String {
        self.ip(i, &["-d", "link", "show", "vrrp.51"])
    }
}

fn config(lab: &Lab, i: usize, priority: u8, extra: &str) -> String {
    let n = lab.net;
    format!(
        "global_defs {{\n    router_id test\n    vrrp_version 3\n}}\n\
         static_ipaddress {{\n    10.202.{n}.{i}/24 dev eth0\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {VRID}\n    \
         priority {priority}\n    advert_int 0.1\n    use_vmac\n{extra}    virtual_ipaddress {{\n        10.77.{n}.100/24\n    }}\n    \
         virtual_routes {{\n        10.200.{n}.0/24 via 10.77.{n}.254 dev eth0\n    }}\n    \
         virtual_rules {{\n        from 10.201.{n}.0/24 table 100 priority 100\n    }}\n}}\n"
    )
}

/// Node `i` at `priority`, `extra` lines in its instance.
fn start(lab: &Lab, i: usize, which: Impl, priority: u8, extra: &str) -> Node {
    Node::start(lab, i, which, &config(lab, i, priority, extra))
}

/// Runs `f` on a thread inside namespace `ns`.
fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: setns on this thread only, with a valid namespace fd.
        assert_eq!(unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) }, 0, "setns {path}");
        f()
    })
    .join()
    .unwrap()
}

/// An AF_PACKET socket for all protocols on eth0 with a 50 ms receive timeout.
fn packet_socket() -> i32 {
    // SAFETY: plain socket(2); the caller closes it.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(0x0003u16.to_be())) };
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
    fd
}

/// From namespace `ns` (address `me`, MAC `my_mac`), sends one ARP request for `vip` and
/// returns the sender MACs of the replies seen within 500 ms.
fn arp_probe(ns: &str, me: std::net::Ipv4Addr, my_mac: [u8; 6], vip: std::net::Ipv4Addr) -> Vec<[u8; 6]> {
    in_ns(ns, move || {
        let fd = packet_socket();
        let c = std::ffi::CString::new("eth0").unwrap();
        // SAFETY: valid NUL-terminated name.
        let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
        let mut f = Vec::with_capacity(42);
        f.extend_from_slice(&[0xff; 6]);
        f.extend_from_slice(&my_mac);
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
        f.extend_from_slice(&my_mac);
        f.extend_from_slice(&me.octets());
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&vip.octets());
        // SAFETY: sockaddr_ll is plain data; zero is valid.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = 0x0806u16.to_be();
        sll.sll_ifindex = idx as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&[0xff; 6]);
        // SAFETY: buffer and address valid for the lengths passed.
        let rc = unsafe {
            libc::sendto(
                fd,
                f.as_ptr().cast(),
                f.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        assert!(rc > 0, "ARP probe not sent");
        let t0 = Instant::now();
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        while t0.elapsed() < Duration::from_millis(500) {
            // SAFETY: buffer valid for its length.
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 42 || buf[12..14] != [0x08, 0x06] || buf[20..22] != [0, 2] || buf[28..32] != vip.octets() {
                continue;
            }
            let mut sha = [0u8; 6];
            sha.copy_from_slice(&buf[22..28]);
            seen.push(sha);
        }
        // SAFETY: fd is ours.
        unsafe { libc::close(fd) };
        seen
    })
}

/// Source MACs of the VRRP (IPv4 protocol 112) frames namespace `ns` sees within `dur`.
fn advert_sources(ns: &str, dur: Duration) -> Vec<[u8; 6]> {
    in_ns(ns, move || {
        let fd = packet_socket();
        let t0 = Instant::now();
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        while t0.elapsed() < dur {
            // SAFETY: buffer valid for its length.
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 34 || buf[12..14] != [0x08, 0x00] || buf[23] != 112 {
                continue;
            }
            let mut src = [0u8; 6];
            src.copy_from_slice(&buf[6..12]);
            if !seen.contains(&src) {
                seen.push(src);
            }
        }
        // SAFETY: fd is ours.
        unsafe { libc::close(fd) };
        seen
    })
}

fn show(m: &[u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

fn assert_vmac_link(lab: &Lab, i: usize, label: &str) {
    let l = lab.vmac_link(i);
    for want in ["vrrp.51@eth0", "link/ether 00:00:5e:00:01:33", "macvlan mode private", ",UP", "addrgenmode none"] {
        assert!(l.contains(want), "{label}: node {i} VMAC lacks '{want}':\n{l}");
    }
}

/// The whole scenario for one pairing; returns (label, kill->backup, TERM->backup).
fn vmac_pair(tag: &str, net: u8, hi: Impl, lo: Impl) -> (String, Duration, Duration) {
    let lab = Lab::new(tag, net);
    let label = format!("use_vmac v3 0.1s: master={} backup={}", hi.name(), lo.name());
    let vip: std::net::Ipv4Addr = lab.vip().parse().unwrap();
    let me: std::net::Ipv4Addr = format!("10.77.{net}.3").parse().unwrap();
    let my_mac = lab.mac(3);
    // Master_Down of the priority-100 backup (3 x 0.1 s + skew 0.061 s) and a margin.
    let down = Duration::from_millis(361);
    let margin = Duration::from_millis(400);

    let n1 = start(&lab, 1, hi, 150, "");
    let n2 = start(&lab, 2, lo, 100, "");
    let logs = |a: &Node, b: &Node| format!("--- node 1\n{}\n--- node 2\n{}", a.log(), b.log());
    wait_for(Duration::from_secs(6), || lab.has_vip(1) && !lab.has_vip(2))
        .unwrap_or_else(|| panic!("{label}: no convergence\n{}", logs(&n1, &n2)));
    wait_for(Duration::from_secs(2), || lab.has_route(1) && lab.has_rule(1))
        .unwrap_or_else(|| panic!("{label}: master lacks the virtual route/rule\n{}", logs(&n1, &n2)));
    sleep(Duration::from_millis(300));
    for i in [1, 2] {
        assert_vmac_link(&lab, i, &label);
        assert!(lab.has_static(i), "{label}: node {i} lacks its static address");
    }
    assert!(!lab.has_vip(2) && !lab.has_route(2) && !lab.has_rule(2), "{label}: backup holds VIP/route/rule");
    // The neighbour resolves the VIP to the virtual MAC, and only to it.
    let replies = arp_probe(&lab.ns(3), me, my_mac, vip);
    assert!(!replies.is_empty(), "{label}: no ARP reply for the VIP");
    assert!(
        replies.iter().all(|m| *m == VMAC4),
        "{label}: ARP replies {:?}",
        replies.iter().map(show).collect::<Vec<_>>()
    );
    let srcs = advert_sources(&lab.ns(3), Duration::from_millis(400));
    assert_eq!(srcs, [VMAC4], "{label}: adverts from {:?}", srcs.iter().map(show).collect::<Vec<_>>());

    // kill -9 of the master's processes: the backup takes VIP and route; the VMAC answers.
    lab.kill_all(1);
    let kill = wait_for(down + Duration::from_secs(2), || lab.has_vip(2) && lab.has_route(2))
        .unwrap_or_else(|| panic!("{label}: no takeover after kill -9\n{}", logs(&n1, &n2)));
    assert!(kill <= down + margin, "{label}: takeover after kill took {kill:?}");
    let replies = arp_probe(&lab.ns(3), me, my_mac, vip);
    assert!(!replies.is_empty() && replies.iter().all(|m| *m == VMAC4), "{label}: ARP after failover {replies:?}");
    drop(n1);

    // Restart over the leftover VMAC: reused, and the higher priority preempts.
    let mut n1 = start(&lab, 1, hi, 150, "");
    wait_for(Duration::from_secs(6), || lab.has_vip(1) && !lab.has_vip(2) && !lab.has_route(2) && !lab.has_rule(2))
        .unwrap_or_else(|| panic!("{label}: no preemption over the leftover VMAC\n{}", logs(&n1, &n2)));
    assert_vmac_link(&lab, 1, &label);

    // SIGTERM: handover, and the stopped node removes everything it set.
    n1.term();
    let term = wait_for(Duration::from_secs(3), || lab.has_vip(2))
        .unwrap_or_else(|| panic!("{label}: no takeover after SIGTERM\n{}", logs(&n1, &n2)));
    let _ = n1.child.wait();
    assert!(lab.vmac_link(1).is_empty(), "{label}: VMAC left after stop:\n{}", lab.vmac_link(1));
    assert!(!lab.has_route(1) && !lab.has_rule(1), "{label}: route/rule left after stop");
    assert!(!lab.has_static(1), "{label}: static address left after stop (keepalived removes it)");
    assert!(lab.has_route(2) && lab.has_rule(2), "{label}: new master lacks route/rule");
    for (n, log) in [(1, n1.log()), (2, n2.log())] {
        for bad in ["cannot add", "cannot remove", "cannot start", "invalid", "mismatch"] {
            assert!(!log.contains(bad), "{label}: node {n} logged '{bad}':\n{log}");
        }
    }
    (label, kill, term)
}

#[test]
fn vmac_routes_static_both_roles() {
    skip_unless_lab!("vrrp_vmac_netns");
    let rows = [vmac_pair("a", 61, Impl::Ours, Impl::Keepalived), vmac_pair("b", 62, Impl::Keepalived, Impl::Ours)];
    println!("== use_vmac + virtual_routes/rules + static_ipaddress (v3 0.1 s)");
    for (label, kill, term) in rows {
        println!("{label:<48} kill->backup {:>7.3}s  TERM->backup {:>7.3}s", kill.as_secs_f64(), term.as_secs_f64());
    }
}

/// vmac_xmit_base: adverts leave from the parent's MAC, the VIP still answers with the VMAC.
fn xmit_base(tag: &str, net: u8, which: Impl) -> Vec<[u8; 6]> {
    let lab = Lab::new(tag, net);
    let vip: std::net::Ipv4Addr = lab.vip().parse().unwrap();
    let me: std::net::Ipv4Addr = format!("10.77.{net}.3").parse().unwrap();
    let n1 = start(&lab, 1, which, 150, "    vmac_xmit_base\n");
    wait_for(Duration::from_secs(6), || lab.has_vip(1)).unwrap_or_else(|| panic!("never master\n{}", n1.log()));
    let srcs = advert_sources(&lab.ns(3), Duration::from_millis(400));
    let base = lab.mac(1);
    assert_eq!(srcs, [base], "{}: adverts from {:?}", which.name(), srcs.iter().map(show).collect::<Vec<_>>());
    let replies = arp_probe(&lab.ns(3), me, lab.mac(3), vip);
    assert!(!replies.is_empty() && replies.iter().all(|m| *m == VMAC4), "{}: ARP {replies:?}", which.name());
    srcs
}

/// IPv6 instance: VMAC 00:00:5e:00:02:33 carrying the parent's link-local (the adverts'
/// source); the neighbour learns the VIP at the virtual MAC; kill -9 fails over.
fn vmac_v6_pair(tag: &str, net: u8, hi: Impl, lo: Impl) -> Duration {
    let lab = Lab::new(tag, net);
    let label = format!("use_vmac IPv6: master={} backup={}", hi.name(), lo.name());
    let vip = format!("fd00:77:{net}::100");
    let conf = |i: usize, prio: u8| {
        format!(
            "global_defs {{\n    router_id test\n}}\nvrrp_instance VI_6 {{\n    state BACKUP\n    interface eth0\n    \
             virtual_router_id {VRID}\n    priority {prio}\n    advert_int 0.1\n    use_vmac\n    \
             virtual_ipaddress {{\n        {vip}/64\n    }}\n}}\n"
        )
        .replace("VI_6", &format!("VI_{i}"))
    };
    let start = |i: usize, which: Impl, prio: u8| Node::start(&lab, i, which, &conf(i, prio));
    let has = |i: usize| lab.ip(i, &["-o", "-6", "addr", "show", "dev", "vrrp.51"]).contains(&format!(" {vip}/"));
    let n1 = start(1, hi, 150);
    let n2 = start(2, lo, 100);
    let logs = |a: &Node, b: &Node| format!("--- node 1\n{}\n--- node 2\n{}", a.log(), b.log());
    wait_for(Duration::from_secs(6), || has(1) && !has(2))
        .unwrap_or_else(|| panic!("{label}: no convergence\n{}", logs(&n1, &n2)));
    sleep(Duration::from_millis(300));
    assert!(has(1) && !has(2), "{label}: not a single master\n{}", logs(&n1, &n2));
    for i in [1, 2] {
        let l = lab.vmac_link(i);
        assert!(l.contains("link/ether 00:00:5e:00:02:33") && l.contains("macvlan mode private"), "{label}: {l}");
        // The parent's link-local, copied (deprecated, nodad) onto the VMAC.
        let parent_ll = lab.ip(i, &["-o", "-6", "addr", "show", "dev", "eth0", "scope", "link"]);
        let ll = parent_ll.split_whitespace().skip_while(|w| *w != "inet6").nth(1).unwrap_or("?").to_string();
        let on_vmac = lab.ip(i, &["-o", "-6", "addr", "show", "dev", "vrrp.51", "scope", "link"]);
        assert!(on_vmac.contains(&ll) && on_vmac.contains("deprecated"), "{label}: node {i} VMAC LL {on_vmac} vs {ll}");
    }
    // The neighbour talks to the VIP and learns it at the virtual MAC.
    let _ = lab.ip(3, &["addr", "add", &format!("fd00:77:{net}::3/64"), "dev", "eth0", "nodad"]);
    let target = vip.clone();
    let resolved = || {
        let t = target.clone();
        in_ns(&lab.ns(3), move || {
            let s = std::net::UdpSocket::bind("[::]:0").unwrap();
            let _ = s.send_to(b"x", (t.parse::<std::net::Ipv6Addr>().unwrap(), 9));
        });
        lab.ip(3, &["-6", "neigh", "show", &vip]).contains("lladdr 00:00:5e:00:02:33")
    };
    wait_for(Duration::from_secs(2), resolved)
        .unwrap_or_else(|| panic!("{label}: VIP not at the VMAC: {}", lab.ip(3, &["-6", "neigh"])));
    lab.kill_all(1);
    let kill = wait_for(Duration::from_secs(3), || has(2))
        .unwrap_or_else(|| panic!("{label}: no takeover after kill -9\n{}", logs(&n1, &n2)));
    assert!(kill <= Duration::from_millis(361 + 400), "{label}: takeover after {kill:?}");
    for (n, log) in [(1, n1.log()), (2, n2.log())] {
        for bad in ["cannot add", "cannot start", "invalid", "mismatch"] {
            assert!(!log.contains(bad), "{label}: node {n} logged '{bad}':\n{log}");
        }
    }
    kill
}

#[test]
fn vmac_ipv6_both_roles() {
    skip_unless_lab!("vrrp_vmac_netns");
    let a = vmac_v6_pair("g", 67, Impl::Ours, Impl::Keepalived);
    let b = vmac_v6_pair("h", 68, Impl::Keepalived, Impl::Ours);
    println!(
        "== use_vmac IPv6 kill->backup: ours master {:.3}s, keepalived master {:.3}s",
        a.as_secs_f64(),
        b.as_secs_f64()
    );
}

#[test]
fn vmac_xmit_base_sends_from_parent() {
    skip_unless_lab!("vrrp_vmac_netns");
    let ka = xmit_base("c", 63, Impl::Keepalived);
    let ours = xmit_base("d", 64, Impl::Ours);
    println!(
        "vmac_xmit_base advert sources: keepalived {:?}, ours {:?}",
        ka.iter().map(show).collect::<Vec<_>>(),
        ours.iter().map(show).collect::<Vec<_>>()
    );
}

/// The sysctls each implementation leaves on the VMAC and its parent (IPv4 instance).
fn sysctls(tag: &str, net: u8, which: Impl) -> Vec<String> {
    let lab = Lab::new(tag, net);
    let n1 = start(&lab, 1, which, 150, "");
    wait_for(Duration::from_secs(6), || lab.has_vip(1)).unwrap_or_else(|| panic!("never master\n{}", n1.log()));
    let mut v = Vec::new();
    for (fam, dev, key) in [
        ("ipv4", "vrrp.51", "arp_ignore"),
        ("ipv4", "vrrp.51", "arp_filter"),
        ("ipv4", "vrrp.51", "accept_local"),
        ("ipv4", "vrrp.51", "rp_filter"),
        ("ipv4", "vrrp.51", "promote_secondaries"),
        ("ipv6", "vrrp.51", "disable_ipv6"),
        ("ipv6", "vrrp.51", "addr_gen_mode"),
        ("ipv4", "eth0", "arp_ignore"),
        ("ipv4", "eth0", "arp_filter"),
    ] {
        let val = out(&["ip", "netns", "exec", &lab.ns(1), "cat", &format!("/proc/sys/net/{fam}/conf/{dev}/{key}")]);
        v.push(format!("{fam}.{dev}.{key}={}", val.trim()));
    }
    v
}

#[test]
fn vmac_sysctls_match_keepalived() {
    skip_unless_lab!("vrrp_vmac_netns");
    let ka = sysctls("e", 65, Impl::Keepalived);
    let ours = sysctls("f", 66, Impl::Ours);
    println!("keepalived: {ka:?}\nours:       {ours:?}");
    assert!(ka.iter().any(|l| l == "ipv4.vrrp.51.arp_ignore=1"), "{ka:?}");
    assert_eq!(ours, ka);
}
