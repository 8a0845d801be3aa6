//! The seed deployment, whole, in the QEMU VM (tests/vm/seed-deploy.sh): two LVS-DR directors
//! with tests/corpus/seed/keepalived.{master,backup}.conf, three real servers, one client, run
//! first with our daemon and then with keepalived 2.2.7 in the same boot. Asserts that ours
//! serves the VIP, balances over all three real servers, fails over to director2, and drops
//! a dead real server and re-adds it.
//! Prints the timings side by side. Prints "SKIPPED: ..." where no VM can run (or
//! KARD_SKIP_VM=1). keepalived's own run is the reference and is not asserted.
//!
//! `seed_checkers_only_in_vm`: issue 4's acceptance test. One director runs the seed's master
//! config, unchanged, with `-C` (no VRRP; the VIP put on its eth0 by hand), for ours and for
//! keepalived 2.2.7 in one boot (`seed-deploy.sh -C`). Asserts that ours serves the VIP round
//! robin 3/3/3, drops a dead real server and takes it back (in the IPVS table and for the
//! client), the table's removal and re-add each within one delay_before_retry (read from the
//! config) of keepalived's timing, and leaves the IPVS table after SIGTERM as keepalived does.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::Instant;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived");
const ORACLE: &str = "/usr/sbin/keepalived";
const SEED_MASTER: &str = "tests/corpus/seed/keepalived.master.conf";
/// One VM at a time: two TCG VMs on a shared 2-core host would skew each other's timings.
static VM: Mutex<()> = Mutex::new(());

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

/// Boots the VM once and runs tests/vm/seed-deploy.sh ARGS there; None (after a SKIPPED line)
/// where no VM can run.
fn run_seed_deploy(args: &[String]) -> Option<Output> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let _one_vm = VM.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(root.join("tests/vm/run-in-vm.sh"))
        .current_dir(root)
        .args(["--timeout", "600", "--"])
        .arg(root.join("tests/vm/seed-deploy.sh"))
        .args(args)
        .output()
        .expect("run tests/vm/run-in-vm.sh");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if out.status.code() == Some(77) {
        println!("SKIPPED: cannot run a QEMU VM here (see the SKIP line above)");
        return None;
    }
    Some(out)
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

/// Results of one implementation: step -> value.
type Steps = BTreeMap<String, String>;

/// Runs tests/vm/seed-deploy.sh with `args` and prints `steps` for ours and keepalived side by
/// side under `title`: (ours, keepalived's, the VM's exit code), None when no VM can run here.
fn run_and_show(args: &[String], title: &str, steps: &[(&str, &str)]) -> Option<(Steps, Steps, Option<i32>)> {
    let t0 = Instant::now();
    let out = run_seed_deploy(args)?;
    let mut r = parse(&String::from_utf8_lossy(&out.stdout));
    let (ours, ka) = (r.remove("ours").unwrap_or_default(), r.remove("keepalived").unwrap_or_default());
    println!("\n{title} in the VM ({:.0} s, TCG):", t0.elapsed().as_secs_f64());
    println!("{:<55} {:>16} {:>18}", "step", "ours", "keepalived 2.2.7");
    for (step, what) in steps {
        println!("{what:<55} {:>16} {:>18}", fmt(ours.get(*step)), fmt(ka.get(*step)));
    }
    Some((ours, ka, out.status.code()))
}

#[test]
fn seed_deployment_in_vm() {
    if std::env::var("KARD_SKIP_VM").is_ok_and(|v| v == "1") {
        println!("SKIPPED: KARD_SKIP_VM=1");
        return;
    }
    let args = [OURS.to_string(), ORACLE.to_string()];
    let Some((ours, ka, code)) = run_and_show(&args, "seed deployment", &STEPS) else { return };
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
    assert!(ms(ours.get("rs_removed")).is_some(), "ours: dead real server not removed: {:?}", ours.get("rs_removed"));
    assert!(ms(ours.get("rs_restored")).is_some(), "ours: real server not re-added: {:?}", ours.get("rs_restored"));
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

const C_STEPS: [(&str, &str); 11] = [
    ("first_answer", "first HTTP answer via the VIP after start"),
    ("rr", "9 requests: answers per real server"),
    ("rs_removed", "rs1 httpd killed: gone from ipvsadm -Ln after"),
    ("rs_gone", "rs1 httpd killed: client no longer hits it after"),
    ("down_lag", "  removal - rs1's last check before the kill"),
    ("rs_restored", "rs1 httpd back: in ipvsadm -Ln again after"),
    ("rs_back", "rs1 httpd back: client reaches it again after"),
    ("up_lag", "  return - rs1's first check after the restart"),
    ("after_stop", "ipvsadm -Sn after SIGTERM"),
    ("cpu", "daemon CPU time, start to SIGTERM (guest clock)"),
    ("cpu_wall", "  over (wall time)"),
];
/// The timings that must match keepalived's within one delay_before_retry: the daemon's removal
/// and re-add as seen in the IPVS table, from the kill/restart and from the check. The client's
/// view of them (rs_gone, rs_back) is asserted to happen but not compared: it adds the client
/// poll's latency, which under TCG on a loaded host has reached 3.7 s on its own (rs_back 9.5 s
/// against rs_restored 5.8 s for ours, with keepalived's 5.9 s and 5.9 s in the same boot).
const C_COMPARED: [&str; 4] = ["rs_removed", "down_lag", "rs_restored", "up_lag"];

/// The config's delay_before_retry in ms: every real server's check must agree (the seed's do).
fn delay_before_retry_ms(conf: &str) -> Result<u64, String> {
    let mut vals: Vec<u64> = Vec::new();
    for line in conf.lines() {
        let line = line.split(['!', '#']).next().unwrap_or("");
        let mut w = line.split_whitespace();
        if w.next() == Some("delay_before_retry") {
            let v = w.next().ok_or("delay_before_retry without a value")?;
            let secs: f64 = v.parse().map_err(|_| format!("delay_before_retry {v}: not a number"))?;
            vals.push((secs * 1000.0).round() as u64);
        }
    }
    vals.dedup();
    match vals.as_slice() {
        [v] => Ok(*v),
        [] => Err("no delay_before_retry in the config".into()),
        _ => Err(format!("delay_before_retry differs between checks: {vals:?}")),
    }
}

/// Timings of ours more than `limit` ms away from keepalived's (or missing on either side).
fn mismatches(ours: &BTreeMap<String, String>, ka: &BTreeMap<String, String>, limit: u64) -> Vec<String> {
    let mut bad = Vec::new();
    for step in C_COMPARED {
        match (ms(ours.get(step)), ms(ka.get(step))) {
            (Some(o), Some(k)) if o.abs_diff(k) <= limit => {}
            (Some(o), Some(k)) => bad.push(format!("{step}: ours {o} ms vs keepalived {k} ms (> {limit} ms apart)")),
            _ => bad.push(format!("{step}: ours {:?} vs keepalived {:?}", ours.get(step), ka.get(step))),
        }
    }
    bad
}

#[test]
fn seed_checkers_only_in_vm() {
    if std::env::var("KARD_SKIP_VM").is_ok_and(|v| v == "1") {
        println!("SKIPPED: KARD_SKIP_VM=1");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let conf = std::fs::read_to_string(root.join(SEED_MASTER)).expect("read the seed's master config");
    let dbr = delay_before_retry_ms(&conf).expect("the seed's delay_before_retry");
    // Ours always runs; without keepalived 2.2.7 the comparison is skipped (with a SKIPPED line).
    let oracle = common::reference_keepalived();
    let mut args = vec![String::from("-C"), OURS.to_string()];
    args.extend(oracle.iter().map(|p| p.display().to_string()));
    let title = "seed master config with -C, VIP by hand";
    let Some((ours, ka, code)) = run_and_show(&args, title, &C_STEPS) else { return };
    println!("ours' table while running: {}", fmt(ours.get("table")));

    assert!(!ours.is_empty(), "no results from our run (VM exit {code:?}); see the output above");
    assert!(ms(ours.get("first_answer")).is_some(), "ours: the VIP never answered: {:?}", ours.get("first_answer"));
    assert_eq!(ours.get("rr").map(String::as_str), Some("rs1=3,rs2=3,rs3=3"), "ours: 9 requests not round robin");
    for step in ["rs_removed", "rs_gone", "rs_restored", "rs_back"] {
        assert!(ms(ours.get(step)).is_some(), "ours: {step}: {:?}", ours.get(step));
    }
    assert_eq!(ours.get("after_stop").map(String::as_str), Some("empty"), "ours: IPVS table left after SIGTERM");
    assert_eq!(ours.get("done").map(String::as_str), Some("0"), "ours: the scenario failed");
    if oracle.is_none() {
        return;
    }
    assert_eq!(ka.get("done").map(String::as_str), Some("0"), "the keepalived 2.2.7 reference run failed");
    assert_eq!(ours.get("table"), ka.get("table"), "IPVS tables while running differ");
    assert_eq!(ours.get("after_stop"), ka.get("after_stop"), "IPVS tables after SIGTERM differ");
    let bad = mismatches(&ours, &ka, dbr);
    assert!(
        bad.is_empty(),
        "timings differ from keepalived 2.2.7's by more than delay_before_retry:\n{}",
        bad.join("\n")
    );
    assert_eq!(code, Some(0), "VM exit");
}

#[test]
fn delay_before_retry_from_config() {
    assert_eq!(delay_before_retry_ms("TCP_CHECK {\n delay_before_retry 3\n}\n delay_before_retry 3 ! x"), Ok(3000));
    assert_eq!(delay_before_retry_ms("delay_before_retry 0.5"), Ok(500));
    assert!(delay_before_retry_ms("delay_loop 6").is_err());
    assert!(delay_before_retry_ms("delay_before_retry").is_err());
    assert!(delay_before_retry_ms("delay_before_retry x").is_err());
    assert!(delay_before_retry_ms("delay_before_retry 3\ndelay_before_retry 2").is_err());
    assert!(delay_before_retry_ms("! delay_before_retry 9\ndelay_before_retry 2").is_ok());
    let seed = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SEED_MASTER)).unwrap();
    assert_eq!(delay_before_retry_ms(&seed), Ok(3000));
}

#[test]
fn mismatches_flags_far_or_missing_timings() {
    let both = |o: &str, k: &str| {
        let line = |l: &str, v: &str| C_COMPARED.iter().map(|s| format!("SEED {l} {s} {v}\n")).collect::<String>();
        parse(&(line("ours", o) + &line("keepalived", k)))
    };
    let r = both("15000", "12000");
    assert!(mismatches(&r["ours"], &r["keepalived"], 3000).is_empty());
    let r = both("15001", "12000");
    assert_eq!(mismatches(&r["ours"], &r["keepalived"], 3000).len(), C_COMPARED.len());
    let r = both("timeout", "12000");
    assert_eq!(mismatches(&r["ours"], &r["keepalived"], 3000).len(), C_COMPARED.len());
}
