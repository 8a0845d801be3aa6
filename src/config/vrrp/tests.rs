//! VRRP-side parser and completion tests. Instances use `lo`, which always exists (keepalived
//! rejects it for VRRP with a config error, but completion still runs, so every other check can
//! be observed); tests that need a clean exit code use a real multicast interface when the
//! machine has one.

use super::super::{SourceOptions, load_str};
use super::*;

fn load(text: &str) -> (Config, Vec<String>, i32) {
    let (cfg, d) = load_str("v.conf", text, &SourceOptions::default());
    let msgs = d.list.iter().map(|x| x.message.clone()).collect();
    (cfg, msgs, d.exit_code())
}

/// An instance on `lo` with VRID 1 and one VIP, plus `body`; `pre` goes before it.
fn inst(body: &str, pre: &str) -> (Config, Vec<String>, i32) {
    load(&format!(
        "{pre}\nvrrp_instance VI_1 {{\n interface lo\n virtual_router_id 1\n virtual_ipaddress {{\n  10.1.1.1\n }}\n{body}\n}}\n"
    ))
}

fn has(m: &[String], s: &str) -> bool {
    m.iter().any(|x| x.contains(s))
}

/// A non-loopback multicast interface of this machine, if any.
fn real_if() -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !system::if_is_loopback(n) && system::if_is_multicast(n))
        .collect();
    names.sort();
    names.into_iter().next()
}

use super::super::system;

#[test]
fn typed_instance() {
    let (c, m, _) = inst(
        "state MASTER\n priority 150\n advert_int 2\n nopreempt\n authentication {\n auth_type PASS\n auth_pass 123456789\n }\n \
         unicast_src_ip 10.0.0.1\n unicast_peer {\n 10.0.0.2\n 10.0.0.3 min_ttl 2\n }\n garp_master_delay 7\n \
         notify_master \"/bin/echo hi\" root\n use_vmac vrrp1\n no_accept\n preempt_delay 3\n",
        "",
    );
    assert!(has(&m, "Truncating auth_pass to 8 characters"));
    assert!(has(&m, "nopreempt will not work with initial state MASTER"));
    assert!(has(&m, "preempt delay will not work with initial state MASTER"));
    let i = &c.vrrp.instances[0];
    assert_eq!(i.state, InitialState::Master);
    assert_eq!(i.vrid, Some(1));
    assert_eq!(i.priority, 150);
    assert_eq!(i.advert_int, Duration::from_secs(2));
    assert!(!i.nopreempt);
    assert_eq!(i.preempt_delay, Duration::ZERO);
    let a = i.auth.as_ref().unwrap();
    assert_eq!(a.kind, Some(AuthType::Pass));
    assert_eq!(a.pass.as_deref(), Some(&b"12345678"[..]));
    assert_eq!(i.unicast_peers.len(), 2);
    assert_eq!(i.unicast_peers[1].min_ttl, Some(2));
    assert_eq!(i.garp.master_delay, Some(Duration::from_secs(7)));
    assert_eq!(i.garp.master_repeat, Some(5));
    assert_eq!(i.notify.master.as_ref().unwrap().argv, ["/bin/echo", "hi"]);
    assert_eq!(i.use_vmac.as_ref().unwrap().name.as_deref(), Some("vrrp1"));
    assert!(has(&m, "unicast with use_vmac requires vmac_xmit_base - setting"));
    assert!(i.vmac_xmit_base);
    assert_eq!(i.accept, Some(false));
    assert_eq!(i.version(), 2);
    assert_eq!(i.vips[0].addr, "10.1.1.1".parse::<std::net::IpAddr>().unwrap());
}

#[test]
fn defaults() {
    let (c, _, _) = inst("", "");
    let i = &c.vrrp.instances[0];
    assert_eq!(i.state, InitialState::Backup);
    assert_eq!(i.priority, 100);
    assert_eq!(i.advert_int, Duration::from_secs(1));
    assert_eq!(i.accept, Some(true));
    assert_eq!(i.garp.lower_prio_repeat, Some(5));
    // MASTER without a priority is the address owner.
    let (c, _, _) = inst("state MASTER", "");
    assert_eq!(c.vrrp.instances[0].priority, 255);
}

#[test]
fn clean_config_exits_0() {
    let Some(ifname) = real_if() else { return };
    let (_, m, rc) = load(&format!(
        "global_defs {{\n router_id r\n}}\nvrrp_instance VI_1 {{\n interface {ifname}\n virtual_router_id 51\n \
         priority 100\n virtual_ipaddress {{\n  192.168.112.10\n }}\n}}\n"
    ));
    assert_eq!(rc, 0, "{m:?}");
    let (_, m, rc) = load(&format!(
        "vrrp_instance VI_1 {{\n interface {ifname}\n virtual_router_id 51\n virtual_ipaddress {{\n  10.1.1.1\n }}\n \
         track_interface {{\n  {ifname}\n }}\n}}\n"
    ));
    assert_eq!(rc, 5);
    assert!(has(&m, "since own interface"), "{m:?}");
}

#[test]
fn instance_errors() {
    for (body, want) in [
        ("state master", "unknown state 'master'"),
        ("virtual_router_id 0", "VRID '0' not valid"),
        ("virtual_router_id 256", "VRID '256' not valid"),
        ("virtual_router_id x", "VRID 'x' not valid"),
        ("priority 0", "Priority '0' not valid"),
        ("priority 256", "Priority '256' not valid"),
        ("advert_int 0", "Advert interval (0) not valid"),
        ("advert_int 300", "Advert interval (300) not valid"),
        ("advert_int 0.5", "VRRPv2 advertisement interval 0.500000s must be an integer"),
        ("version 3\n advert_int 50", "Must be less than 40.96s"),
        ("version 3\n advert_int 0.123", "must be in units of 10ms"),
        ("version 4", "outside range [2, 3]"),
        ("priority 255\n nopreempt", "nopreempt is incompatible with priority 255"),
        ("state MASTER\n priority 100\n nopreempt", "nopreempt will not work with initial state MASTER"),
        ("authentication {\n auth_type FOO\n auth_pass x\n }", "unknown authentication type 'FOO'"),
        ("authentication {\n auth_type PASS\n }", "no password given"),
        (
            "version 3\n authentication {\n auth_type PASS\n auth_pass x\n }",
            "version 3 does not support authentication",
        ),
        (
            "state MASTER\n priority 100\n authentication {\n auth_type AH\n auth_pass x\n }",
            "incompatible with AH authentication",
        ),
        ("unicast_peer {\n 1.2.3\n }", "malformed unicast peer address[1.2.3]"),
        ("unicast_peer {\n 10.0.0.2 min_ttl x\n }", "unicast peer option"),
        ("unicast_src_ip 10.0.0.1", "unicast keyword has been specified without any unicast peers"),
        ("unicast_ttl 5", "Cannot use unicast_ttl without unicast peers"),
        ("mcast_src_ip 1.2.3", "malformed src address[1.2.3]"),
        ("mcast_dst_ip 10.0.0.1", "malformed mcast dest address"),
        ("preempt_delay 2000", "Preempt_delay '2000' not valid"),
        ("garp_master_delay x", "garp_master_delay 'x' invalid"),
        ("garp_master_repeat x", "garp_master_repeat 'x' invalid"),
        ("lower_prio_no_advert 1", "invalid lower_prio_no_advert 1"),
        ("track_script {\n nosuch\n }", "track script nosuch not found"),
        ("track_file {\n nosuch\n }", "track file nosuch not found"),
        ("track_process {\n nosuch\n }", "track process nosuch not found"),
        ("track_script {\n x weight 300\n }", "weight 300 must be between [-253..253]"),
        ("track_script {\n x weight\n }", "weight requires a value"),
        ("track_script {\n x bogus\n }", "unknown track script x option bogus"),
        ("track_script {\n x weight 1 no_reverse\n }", "weight option no_reverse"),
        ("old_unicast_checksum 1", "Unknown old_unicast_chksum mode 1"),
        ("lvs_sync_daemon_interface eth0", "lvs_sync_daemon_interface against a vrrp is deprecated"),
        ("bogus", "Unknown keyword 'bogus'"),
        ("virtual_ipaddress {\n fe80::1\n }", "address family must match VRRP instance [fe80::1]"),
        ("debug 5", "Debug value '5' not valid"),
        ("garp_extra_if", "garp_extra_if specified without time"),
        ("garp_extra_if all x", "garp_extra_if 'x' invalid"),
        ("garp_master_repeat 0", "garp_master_repeat must be greater than 0"),
        ("vrf x", "Cannot specify VRF interface and interface"),
        ("use_vmac /x/y", "too long or invalid characters"),
        ("native_ipv6", "Cannot specify native_ipv6 with IPv4 addresses"),
        ("vmac_xmit_base", "vmac_xmit_base is only valid with a vmac"),
        ("use_ipvlan", "IPv4 ipvlan requires a source ip address"),
        ("kernel_rx_buf_size", "invalid kernel_rx_buf_size"),
        ("linkbeat_use_polling", "'linkbeat_use_polling' in vrrp instance deprecated"),
        ("vmac_garp_intvl 1", "vmac_garp_intvl\" is deprecated"),
        ("check_unicast_src", "unicast keyword has been specified without any unicast peers"),
        ("old_unicast_checksum", "unicast keyword has been specified without any unicast peers"),
    ] {
        let (_, m, rc) = inst(body, "");
        assert_eq!(rc, 5, "{body}: {m:?}");
        assert!(has(&m, want), "{body}: {m:?}");
    }
    let (_, _, rc) = inst("state", "");
    assert_eq!(rc, 2);
}

#[test]
fn completion_errors() {
    let (c, m, _) = load("vrrp_instance V {\n interface lo\n virtual_ipaddress {\n 10.1.1.1\n }\n}\n");
    assert!(has(&m, "(V) the virtual router id must be set"));
    assert!(c.vrrp.instances[0].removed);
    let (_, m, _) = load("vrrp_instance V {\n virtual_router_id 1\n virtual_ipaddress {\n 10.1.1.1\n }\n}\n");
    assert!(has(&m, "(V) Unknown interface!"));
    let (_, m, _) = inst("", "");
    assert!(has(&m, "cannot use a loopback interface (lo)"));
    let (_, m, _) = load("vrrp_instance V {\n interface lo\n virtual_router_id 1\n}\n");
    assert!(has(&m, "No VIP specified; at least one is sensible"));
    let (_, m, _) = inst("", "global_defs {\n vrrp_strict\n}\n");
    assert!(!has(&m, "Strict"));
    let (_, m, _) = inst("authentication {\n auth_type PASS\n auth_pass x\n }", "global_defs {\n vrrp_strict\n}\n");
    assert!(has(&m, "Strict mode does not support authentication"));
    for (body, want) in [
        ("garp_lower_prio_delay 1", "no repeat garp delay"),
        ("garp_lower_prio_repeat 1", "no repeat garps"),
        ("down_timer_adverts 1", "down_timer_adverts is incompatible with strict mode"),
        ("higher_prio_send_advert", "higher_prio_send_advert to be clear"),
        ("lower_prio_no_advert off", "no lower priority advert"),
        ("accept", "accept mode for VRRP version 2"),
        ("preempt_delay 1", "preempt_delay is incompatible with strict mode"),
    ] {
        let (_, m, _) = inst(body, "global_defs {\n vrrp_strict\n}\n");
        assert!(has(&m, want), "{body}: {m:?}");
        let (_, m, _) = inst(body, "");
        assert!(!has(&m, want), "{body}: {m:?}");
    }
    let (_, m, _) = inst("state MASTER\n priority 100", "global_defs {\n vrrp_strict\n}\n");
    assert!(has(&m, "State MASTER must match being address owner"));
    let (_, m, _) = load("vrrp_instance V {\n interface lo\n virtual_router_id 1\n}\nvrrp_instance V {\n}\n");
    assert!(has(&m, "vrrp instance V already defined"));
}

#[test]
fn rounding_and_v6() {
    let (c, _, _) = inst("advert_int 0.5", "");
    assert_eq!(c.vrrp.instances[0].advert_int, Duration::from_secs(1));
    let (c, _, _) = inst("version 3\n advert_int 0.123", "");
    assert_eq!(c.vrrp.instances[0].advert_int, Duration::from_millis(120));
    let (c, m, _) = load(
        "vrrp_instance V {\n interface lo\n virtual_router_id 1\n version 2\n virtual_ipaddress {\n 2001:db8::1/64\n }\n}\n",
    );
    assert_eq!(c.vrrp.instances[0].version(), 3, "{m:?}");
    assert_eq!(c.vrrp.instances[0].ipv6, Some(true));
    let (_, m, _) = load(
        "vrrp_instance V {\n interface lo\n virtual_router_id 1\n virtual_ipaddress {\n 2001:db8::1/64\n }\n version 2\n}\n",
    );
    assert!(has(&m, "vrrp_version 2 conflicts"), "{m:?}");
    let (_, m, _) = load(
        "vrrp_instance V {\n interface lo\n virtual_router_id 1\n strict_mode\n virtual_ipaddress {\n 2001:db8::1/64\n }\n}\n",
    );
    assert!(has(&m, "first IPv6 VIP address must be link local"), "{m:?}");
}

#[test]
fn missing_interface_stops_checks() {
    let (c, m, rc) = load(
        "vrrp_instance V {\n interface no-such-if0\n virtual_ipaddress {\n 10.1.1.1\n }\n notify_master /bin/true\n}\n",
    );
    assert_eq!(rc, 5);
    assert!(has(&m, "interface no-such-if0 for vrrp_instance V doesn't exist"));
    assert!(has(&m, "Non-existent interface specified in configuration"));
    assert!(!has(&m, "virtual router id"), "{m:?}");
    assert!(!has(&m, "SECURITY VIOLATION"));
    assert!(c.vrrp.missing_interface);
    for body in ["track_interface {\n no-such-if0\n }", "virtual_ipaddress {\n 10.1.1.2 dev no-such-if0\n }"] {
        let (_, m, _) = inst(body, "");
        assert!(has(&m, "Non-existent interface specified"), "{body}: {m:?}");
    }
    let (_, m, _) = load("static_ipaddress {\n 10.9.9.9/32 dev no-such-if0\n}\n");
    assert!(has(&m, "Non-existent interface specified"), "{m:?}");
    let (_, m, _) = load("garp_group {\n garp_interval 1\n interface no-such-if0\n}\n");
    assert!(has(&m, "Non-existent interface specified"), "{m:?}");
    let (_, m, _) = load("static_routes {\n 10.9.0.0/16 dev no-such-if0\n}\n");
    assert!(has(&m, "Non-existent interface specified"), "{m:?}");
    let (_, m, _) = inst("virtual_routes {\n 10.9.0.0/16 dev no-such-if0\n }", "");
    assert!(has(&m, "interface no-such-if0 for VROUTE nexthop doesn't exist"), "{m:?}");
    // dynamic_interfaces: keepalived waits for the interface instead.
    let (c, m, _) = load(
        "global_defs {\n dynamic_interfaces\n}\nvrrp_instance V {\n interface no-such-if0\n virtual_router_id 1\n \
         virtual_ipaddress {\n 10.1.1.1 dev no-such-if1\n }\n}\n",
    );
    assert!(!has(&m, "Non-existent interface specified"), "{m:?}");
    assert!(!c.vrrp.missing_interface);
}

#[test]
fn duplicate_vrids() {
    let Some(ifname) = real_if() else { return };
    let two = |a: &str, b: &str| {
        load(&format!(
            "vrrp_instance A {{\n interface {ifname}\n virtual_router_id 1\n virtual_ipaddress {{\n 10.1.1.1\n }}\n{a}\n}}\n\
             vrrp_instance B {{\n interface {ifname}\n virtual_router_id 1\n virtual_ipaddress {{\n 10.1.1.2\n }}\n{b}\n}}\n"
        ))
    };
    let (_, m, _) = two("", "");
    assert!(has(&m, &format!("A and B both use VRID 1 with IPv4 on interface {ifname}")), "{m:?}");
    let (_, m, _) = two("unicast_peer {\n 10.0.0.2\n }", "unicast_peer {\n 10.0.0.3\n }");
    assert!(!has(&m, "both use VRID"));
    let (_, m, _) = two("unicast_peer {\n 10.0.0.2\n }", "unicast_peer {\n 10.0.0.2\n }");
    assert!(has(&m, "both use VRID"));
    let (_, m, _) = two("", "virtual_ipaddress {\n }");
    assert!(has(&m, "both use VRID"));
}

#[test]
fn vrrp_script_and_trackers() {
    let (c, m, _) = inst(
        "track_script {\n chk\n }",
        "global_defs {\n enable_script_security\n script_user root\n}\nvrrp_script chk {\n script \"/bin/echo 'a b' c\"\n \
         interval 2\n timeout 3\n weight -20 reverse\n rise 2\n fall 3\n init_fail\n}\n",
    );
    let s = &c.vrrp.scripts[0];
    assert_eq!(s.script.as_ref().unwrap().argv, ["/bin/echo", "a b", "c"]);
    assert_eq!((s.interval, s.timeout), (Duration::from_secs(2), Some(Duration::from_secs(3))));
    assert_eq!((s.weight, s.weight_reverse, s.rise, s.fall, s.init_fail), (-20, true, 2, 3, true));
    assert!(!has(&m, "track script chk not found"), "{m:?}");
    assert_eq!(c.vrrp.instances[0].track_scripts[0].weight, Some(-20));
    for (pre, want) in [
        ("vrrp_script chk {\n interval 1\n}", "No script set for vrrp_script chk - removing"),
        ("vrrp_script chk {\n script /bin/true\n weight 254\n}", "weight 254 must be in [-253, 253]"),
        ("vrrp_script chk {\n script /bin/true\n bogus\n}", "Unknown keyword 'bogus'"),
        ("vrrp_track_process p {\n weight 1\n}", "track process 'p' process name not specified"),
        ("vrrp_track_process p {\n process x\n param_match x\n}", "Invalid param_match type x"),
        ("track_file f {\n weight 1\n}", "No file set for track_file f - ignoring"),
        ("track_file f {\n file /x\n init_file x\n}", "invalid init_file value"),
        ("track_file f {\n file /x\n init_file 255\n}", "outside sensible range [-254, 254]"),
        ("track_file f {\n file /x\n file /y\n}", "File already set for track file f"),
        ("track_file f {\n file /x\n weight\n}", "No weight specified for track file f"),
        ("track_file f {\n file /x\n weight 1 x\n}", "unknown weight option x"),
        ("vrrp_track_process p {\n process a\n process b\n}", "Process already set for track process p"),
        ("vrrp_track_process p {\n process a\n weight\n}", "No weight specified for track process p"),
        ("vrrp_track_process p {\n process a\n fork_delay 0\n}", "outside range"),
        ("vrrp_script chk {\n script /bin/true\n interval 0\n}", "interval must be greater than 0"),
        ("vrrp_script chk {\n script /bin/true\n timeout 1.5\n}", "not a valid number"),
        ("garp_group {\n interface lo\n}", "garp group 0 does not have any delay set"),
        ("bfd_instance b {\n}", "BFD instance b has no neighbor address set"),
        ("bfd_instance b {\n neighbor_ip 10.0.0.9\n idle_tx 100\n}", "idle_tx value 100 is not valid"),
        ("bfd_instance b {\n neighbor_ip 10.0.0.9\n bogus\n}", "Unknown keyword 'bogus'"),
        ("track_group t {\n bogus\n}", "Unknown keyword 'bogus'"),
        ("linkbeat_interfaces {\n lo FOO\n}", "Unknown linkbeat type FOO"),
        ("linkbeat_interfaces x {\n}", "Block linkbeat_interfaces has extra parameters x"),
        ("interface_up_down_delays {\n lo 300\n}", "Invalid up/down delay"),
        ("static_routes {\n 10.0.0.0/8 bogus 1\n}", "Unknown route option"),
        ("static_rules {\n bogus\n}", "Unknown rule option"),
    ] {
        let sec = "global_defs {\n enable_script_security\n script_user root\n}\n";
        let (_, m, rc) = inst("", &format!("{sec}{pre}"));
        assert_eq!(rc, 5, "{pre}: {m:?}");
        assert!(has(&m, want), "{pre}: {m:?}");
    }
    let (c, m, _) = load(
        "vrrp_track_process p {\n process haproxy -x\n weight 2 reverse\n quorum 2\n}\ntrack_file f {\n file /tmp/x\n \
         weight -3\n init_file 1 overwrite\n}\ninterface_up_down_delays {\n lo 2 3\n}\nstatic_routes {\n 10.8.0.0/16 dev lo\n}\n",
    );
    assert!(m.is_empty(), "{m:?}");
    assert_eq!(c.vrrp.track_processes[0].process, ["haproxy", "-x"]);
    assert_eq!(c.vrrp.track_processes[0].quorum, 2);
    assert_eq!(c.vrrp.track_files[0].init_file, Some((1, true)));
    assert_eq!(c.vrrp.interface_up_down_delays[0].up, Duration::from_secs(3));
    assert_eq!(c.vrrp.static_routes.len(), 1);
}

#[test]
fn owner_ignores_weighted_trackers() {
    let (c, m, _) = inst(
        "priority 255\n track_script {\n chk weight 10\n }",
        "global_defs {\n enable_script_security\n script_user root\n}\nvrrp_script chk {\n script /bin/true\n}\n",
    );
    assert!(has(&m, "ignoring tracked script chk with weights due to address_owner"));
    assert!(c.vrrp.instances[0].track_scripts.is_empty());
}

#[test]
fn track_script_security() {
    let sec = "global_defs {\n enable_script_security\n script_user root\n}\n";
    let (_, m, rc) = inst("", &format!("{sec}vrrp_script chk {{\n script /no/such/x\n}}\n"));
    assert_eq!(rc, 5);
    assert!(has(&m, "Disabling track script chk since not found/accessible"));
    let (_, m, _) = inst(
        "track_script {\n chk\n }",
        &format!("{sec}vrrp_script chk {{\n script /bin/true\n user no_such_user_x\n}}\n"),
    );
    assert!(has(&m, "Unable to set uid/gid for script"));
    assert!(has(&m, "track script chk not found"));
    let dir = std::env::temp_dir().join(format!("kavrrp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("ww.sh");
    std::fs::write(&f, "#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (_, m, rc) = inst("", &format!("{sec}vrrp_script chk {{\n script {}\n}}\n", f.display()));
    assert!(has(&m, "Disabling track script chk due to insecure"), "{m:?}");
    assert_eq!(rc, 5);
    let (_, m, rc) = inst("", &format!("vrrp_script chk {{\n script {}\n user root\n}}\n", f.display()));
    assert!(has(&m, "There are insecure scripts"), "{m:?}");
    assert_eq!(rc, 6);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sync_groups() {
    let (c, m, _) = load(
        "vrrp_sync_group G {\n group {\n  A\n  B\n  X\n }\n notify_master /bin/true\n global_tracking\n}\n\
         vrrp_sync_group H {\n group {\n  A\n }\n}\nvrrp_sync_group E {\n}\n\
         vrrp_instance A {\n interface lo\n virtual_router_id 1\n virtual_ipaddress {\n 10.1.1.1\n }\n}\n\
         vrrp_instance B {\n interface lo\n virtual_router_id 2\n virtual_ipaddress {\n 10.1.1.2\n }\n}\n",
    );
    assert!(has(&m, "Virtual router X specified in sync group G doesn't exist"));
    assert!(has(&m, "Virtual router A cannot exist in more than one sync group; ignoring H"));
    assert!(has(&m, "Sync group H, no matching virtual router found"));
    assert!(has(&m, "Sync group E has no virtual router(s). removing"));
    assert!(has(&m, "global_tracking is deprecated"));
    let g = &c.vrrp.sync_groups[0];
    assert_eq!(g.members.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(), ["A", "B"]);
    assert!(g.notify.master.is_some());
    let (_, m, _) = load(
        "vrrp_sync_group G {\n group {\n  A\n }\n}\n\
         vrrp_instance A {\n interface lo\n virtual_router_id 1\n virtual_ipaddress {\n 10.1.1.1\n }\n}\n",
    );
    assert!(has(&m, "Sync group G has only 1 virtual router(s)"));
    let (_, m, _) = load(
        "vrrp_sync_group G {\n group {\n  A\n  B\n }\n}\n\
         vrrp_instance A {\n interface lo\n virtual_router_id 1\n priority 255\n virtual_ipaddress {\n 10.1.1.1\n }\n}\n\
         vrrp_instance B {\n interface lo\n virtual_router_id 2\n virtual_ipaddress {\n 10.1.1.2\n }\n}\n",
    );
    assert!(has(&m, "Sync group G has some member(s) as address owner and some not as address owner"), "{m:?}");
}

#[test]
fn dump_instance() {
    let (c, _, _) = inst(
        "state BACKUP\n nopreempt\n authentication {\n auth_type PASS\n auth_pass 1111\n }\n virtual_ipaddress {\n 192.168.1.1/24 label lo:1\n }",
        "",
    );
    let mut s = String::new();
    dump(&c.vrrp, &mut s);
    for want in [
        " VRRP Instance = VI_1\n",
        "   State = BACKUP\n",
        "   Virtual Router ID = 1\n",
        "   Priority = 100\n",
        "   Advert interval = 1 sec\n",
        "   Preempt = disabled\n",
        "   Authentication type = SIMPLE_PASSWORD\n",
        "   Password = 1111\n",
        "   Virtual IP (2):\n",
        // lo was rejected (loopback), so no device is shown.
        "     10.1.1.1 scope global\n",
        "     192.168.1.1/24 scope global label lo:1\n",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
}

#[test]
fn sync_group_member_tracking_rules() {
    let text = |extra: &str| {
        format!(
            "vrrp_script s {{\n script /bin/true\n weight -20\n}}\nvrrp_script z {{\n script /bin/true\n}}\n\
             track_file f {{\n file /tmp/x\n weight 5\n}}\ntrack_file f0 {{\n file /tmp/y\n weight 0\n}}\n\
             vrrp_sync_group G {{\n group {{\n  A\n  B\n }}\n track_interface {{\n  lo\n }}\n \
             track_script {{\n  s\n  nosuch\n }}\n track_file {{\n  f weight 3 reverse\n  nofile\n }}\n{extra}}}\n\
             vrrp_instance A {{\n interface lo\n virtual_router_id 1\n virtual_ipaddress {{\n 10.1.1.1\n }}\n \
             track_script {{\n  s\n  z\n }}\n track_file {{\n  f\n  f0\n }}\n track_interface {{\n  lo weight 10\n }}\n}}\n\
             vrrp_instance B {{\n interface lo\n virtual_router_id 2\n dont_track_primary\n virtual_ipaddress {{\n 10.1.1.2\n }}\n}}\n"
        )
    };
    let (c, m, _) = load(&text(""));
    assert!(has(&m, "(A) ignoring lo tracked interface weight due to SYNC group"), "{m:?}");
    assert!(has(&m, "(A) ignoring tracked script s with weights due to SYNC group"), "{m:?}");
    assert!(has(&m, "(A) ignoring tracked file f with weight 5 due to SYNC group"), "{m:?}");
    assert!(has(&m, "(A) track_interface lo is configured on VRRP instance and sync group"), "{m:?}");
    assert!(!has(&m, "(B) track_interface lo"), "B does not track its own interface: {m:?}");
    assert!(has(&m, "(G) track script nosuch not found, ignoring..."), "{m:?}");
    assert!(has(&m, "(G) track file nofile not found, ignoring..."), "{m:?}");
    let a = &c.vrrp.instances[0];
    assert_eq!(a.track_scripts.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["z"]);
    assert_eq!(a.track_files.iter().map(|t| (t.name.as_str(), t.weight)).collect::<Vec<_>>(), [("f0", Some(0))]);
    assert_eq!(a.track_interfaces[0].weight, Some(10), "2.2.7 keeps the interface weight despite the message");
    let g = &c.vrrp.sync_groups[0];
    assert_eq!(g.track_scripts.len(), 1);
    assert_eq!((g.track_scripts[0].weight, g.track_scripts[0].reverse), (Some(-20), false), "the script's weight");
    assert_eq!((g.track_files[0].weight, g.track_files[0].reverse), (Some(3), true));
    // sync_group_tracking_weight (and the deprecated global_tracking) keep member weights.
    for kw in [" sync_group_tracking_weight\n", " global_tracking\n"] {
        let (c, m, _) = load(&text(kw));
        assert!(!has(&m, "due to SYNC group"), "{kw}: {m:?}");
        assert_eq!(c.vrrp.instances[0].track_scripts.len(), 2);
        assert_eq!(c.vrrp.instances[0].track_files.len(), 2);
    }
}

#[test]
fn sync_group_missing_tracked_interface() {
    let (c, m, _) = load(
        "vrrp_sync_group G {\n group {\n  A\n }\n track_interface {\n  nosuch0\n }\n}\n\
         vrrp_instance A {\n interface lo\n virtual_router_id 1\n virtual_ipaddress {\n 10.1.1.1\n }\n}\n",
    );
    assert!(has(&m, "(G) tracked interface nosuch0 doesn't exist"), "{m:?}");
    assert!(c.vrrp.missing_interface);
}
