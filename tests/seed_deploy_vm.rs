//! The seed deployment, whole, in the QEMU VM (tests/vm/seed-deploy.sh): two LVS-DR directors
//! with tests/corpus/seed/keepalived.{master,backup}.conf, three real servers, one client, run
//! first with our daemon and then with keepalived 2.2.7 in the same boot. Asserts that ours
//! serves the VIP, balances over all three real servers, fails over to director2, and (once
//! the health checkers exist, src/check/tcp.rs) drops a dead real server and re-adds it.
//! Prints the timings side by side. Prints "SKIPPED: ..." where no VM can run (or
//! KARD_SKIP_VM=1). keepalived's own run is the reference and is not asserted.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived");
const ORACLE: &str = "/usr/sbin/keepalived";
const STEPS: [(&str, &str); 7] = [
    ("first_answer", "first HTTP answer via the VIP after start (ms)"),
    ("master", "initial master"),
    ("rr", "9 requests: answers per real server"),
    ("vip_moved", "kill -9 director1: VIP on director2 after (ms)"),
    ("failover", "kill -9 director1: client answered again after (ms)"),
    ("rs_removed", "rs1 listener killed: gone from ipvsadm -Ln after (ms)"),
    ("rs_restored", "rs1 listener back: in ipvsadm -Ln again after (ms)"),
];

/// `SEED <label> <step> <value>` lines (behind run-in-vm.sh's `vm| ` prefix): label -> step -> value.
fn parse(out: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut r: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for line in out.lines() {
        let line = line.strip_prefix("vm| ").unwrap_or(line);
        let mut f = line.splitn(4, ' ');
        if f.next() != Some("SEED") {
            continue;
        }
        if let (Some(label), Some(step), Some(value)) = (f.next(), f.next(), f.next()) {
            r.entry(label.to_string()).or_default().insert(step.to_string(), value.to_string());
        }
    }
    r
}

fn ms(v: Option<&String>) -> Option<u64> {
    v?.parse().ok()
}

fn fmt(v: Option<&String>) -> String {
    match (ms(v), v) {
        (Some(n), _) => format!("{:.1} s", n as f64 / 1000.0),
        (None, Some(s)) => s.clone(),
        (None, None) => "-".into(),
    }
}

#[test]
fn seed_deployment_in_vm() {
    if std::env::var("KARD_SKIP_VM").is_ok_and(|v| v == "1") {
        println!("SKIPPED: KARD_SKIP_VM=1");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let checkers = root.join("src/check/tcp.rs").exists();
    let ours_arg = if checkers { OURS.to_string() } else { format!("nocheck:{OURS}") };
    let t0 = Instant::now();
    let out = Command::new(root.join("tests/vm/run-in-vm.sh"))
        .current_dir(root)
        .args(["--timeout", "600", "--"])
        .arg(root.join("tests/vm/seed-deploy.sh"))
        .arg(&ours_arg)
        .arg(ORACLE)
        .output()
        .expect("run tests/vm/run-in-vm.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    let code = out.status.code();
    if code == Some(77) {
        println!("SKIPPED: cannot run a QEMU VM here (see the SKIP line above)");
        return;
    }
    let r = parse(&stdout);
    let empty = BTreeMap::new();
    let ours = r.get("ours").unwrap_or(&empty);
    let ka = r.get("keepalived").unwrap_or(&empty);

    println!("\nseed deployment in the VM ({:.0} s, TCG):", t0.elapsed().as_secs_f64());
    println!("{:<55} {:>16} {:>18}", "step", "ours", "keepalived 2.2.7");
    for (step, what) in STEPS {
        println!("{what:<55} {:>16} {:>18}", fmt(ours.get(step)), fmt(ka.get(step)));
    }
    if !checkers {
        println!("(ours: health checkers not built yet, so the real-server steps did not run)");
    }
    if ka.get("done").map(String::as_str) != Some("0") {
        println!("WARNING: the keepalived 2.2.7 reference run did not complete");
    }

    assert!(!ours.is_empty(), "no results from our run (VM exit {code:?}); see the output above");
    assert!(ms(ours.get("first_answer")).is_some(), "ours: the VIP never answered: {:?}", ours.get("first_answer"));
    let rr = ours.get("rr").cloned().unwrap_or_default();
    let per_rs: Vec<u32> = rr.split(',').filter_map(|kv| kv.split_once('=')?.1.parse().ok()).collect();
    assert!(per_rs.len() == 3 && per_rs.iter().all(|&n| n > 0), "ours: not all three real servers answered: {rr}");
    assert_eq!(ours.get("master").map(String::as_str), Some("director1"), "ours: director1 should be the first master");
    assert!(ms(ours.get("vip_moved")).is_some(), "ours: director2 never took the VIP: {:?}", ours.get("vip_moved"));
    assert!(ms(ours.get("failover")).is_some(), "ours: no answer after failover: {:?}", ours.get("failover"));
    if checkers {
        assert!(
            ms(ours.get("rs_removed")).is_some(),
            "ours: dead real server not removed: {:?}",
            ours.get("rs_removed")
        );
        assert!(ms(ours.get("rs_restored")).is_some(), "ours: real server not re-added: {:?}", ours.get("rs_restored"));
    }
    assert_eq!(ours.get("done").map(String::as_str), Some("0"), "ours: the scenario failed");
    assert!(code == Some(0) || ka.get("done").map(String::as_str) != Some("0"), "VM exit {code:?}");
}

#[test]
fn parse_reads_seed_lines_only() {
    let r = parse("vm| SEED ours rr rs1=3,rs2=3,rs3=3\nvm| noise\nSEED keepalived failover 1200\nSEED short\n");
    assert_eq!(r["ours"]["rr"], "rs1=3,rs2=3,rs3=3");
    assert_eq!(ms(r["keepalived"].get("failover")), Some(1200));
    assert_eq!(r.len(), 2);
    assert_eq!(fmt(Some(&"timeout".to_string())), "timeout");
    assert_eq!(fmt(None), "-");
}
