//! The first acceptance test: the seed's two director configs, byte for byte (with their inline
//! `!` comments in Chinese), pass `keepalived -t` and `-d` shows what keepalived understands:
//! the instance (state BACKUP, nopreempt, VRID 51, priority 100/90, PASS auth), the VIP, the
//! virtual server and its three real servers with their TCP_CHECK settings.

use std::path::Path;
use std::process::Command;

fn dump(conf: &str) -> (i32, String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/seed").join(conf);
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived"))
        .args(["-t", "-d", "-f"])
        .arg(&path)
        .output()
        .expect("run keepalived -t -d");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The lines of `text` that follow the line containing `header`, up to the next section header.
fn section<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| !l.contains(header));
    lines.next();
    lines.take_while(|l| !l.contains("------<")).map(str::trim).collect()
}

fn check(conf: &str, priority: &str) {
    let (code, out, err) = dump(conf);
    assert_eq!(code, 0, "{conf}: -t must pass; diagnostics:\n{err}");
    assert!(!err.contains("error"), "{conf}: no errors expected:\n{err}");
    let vrrp = section(&out, "VRRP Topology");
    for want in [
        "VRRP Instance = VI_1",
        "VRRP Version = 2",
        "State = BACKUP",
        "Interface = eth0",
        "Virtual Router ID = 51",
        priority,
        "Advert interval = 1 sec",
        "Preempt = disabled",
        "Authentication type = SIMPLE_PASSWORD",
        "Password = 1111",
        "Virtual IP (1):",
        "192.168.112.10 dev eth0 scope global",
    ] {
        assert!(vrrp.contains(&want), "{conf}: VRRP dump lacks '{want}':\n{}", vrrp.join("\n"));
    }
    let lvs = section(&out, "LVS Topology");
    for want in ["Virtual Server = 192.168.112.10:80", "delay_loop = 6, lb_algo = rr", "protocol = TCP", "lb_kind = DR"]
    {
        assert!(lvs.contains(&want), "{conf}: LVS dump lacks '{want}':\n{}", lvs.join("\n"));
    }
    for rs in ["192.168.112.13", "192.168.112.14", "192.168.112.15"] {
        let at = lvs
            .iter()
            .position(|l| *l == format!("Real Server = {rs}:80"))
            .unwrap_or_else(|| panic!("{conf}: no real server {rs}:\n{}", lvs.join("\n")));
        let block: Vec<&str> = lvs[at + 1..].iter().take_while(|l| !l.starts_with("Real Server")).copied().collect();
        for want in [
            "weight = 1".to_string(),
            "TCP_CHECK".to_string(),
            format!("connect_ip = {rs}, connect_port = 80"),
            "connect_timeout = 10".to_string(),
            "retry = 3, delay_before_retry = 3, delay_loop = 6, warmup = 6".to_string(),
        ] {
            assert!(block.contains(&want.as_str()), "{conf}: {rs} lacks '{want}':\n{}", block.join("\n"));
        }
    }
}

#[test]
fn seed_master_config() {
    check("keepalived.master.conf", "Priority = 100");
}

#[test]
fn seed_backup_config() {
    check("keepalived.backup.conf", "Priority = 90");
}
