//! Our checker director against keepalived 2.2.7 in a QEMU VM with IPVS (tests/vm/run-in-vm.sh
//! runs tests/vm/check-director.sh): a real server's listener is killed and restarted, and the
//! time until IPVS drops it (or sets weight 0 with inhibit_on_failure) and takes it back must be
//! within one delay_before_retry of keepalived's. In the same boot, tests/vm/check-dynamic.sh
//! runs a misc_dynamic / notify / quorum / omega sequence on both and compares the IPVS table
//! after each step, the notify scripts' marker lines and the health log lines; and
//! tests/vm/check-regex.sh checks HTTP_GET url regexes (found, absent, regex_no_match,
//! caseless) on both, and tests/vm/check-reload.sh a SIGHUP with a changed LVS section. Prints
//! "SKIPPED: ..." where no VM can run (or with KARD_SKIP_VM=1).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

#[test]
fn checker_director_matches_keepalived_in_vm() {
    if std::env::var("KARD_SKIP_VM").is_ok_and(|v| v == "1") {
        println!("SKIPPED: KARD_SKIP_VM=1");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let reference = std::env::var("KEEPALIVED_REF").unwrap_or_else(|_| "/usr/sbin/keepalived".into());
    if !Path::new(&reference).exists() {
        println!("SKIPPED: keepalived 2.2.7 not installed at {reference}");
        return;
    }
    let t0 = Instant::now();
    let out = Command::new(root.join("tests/vm/run-in-vm.sh"))
        .current_dir(root)
        .args(["--timeout", "560", "--"])
        .arg(root.join("tests/vm/check-director.sh"))
        .arg(env!("CARGO_BIN_EXE_keepalived"))
        .arg(&reference)
        .output()
        .expect("run tests/vm/run-in-vm.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    match out.status.code() {
        Some(77) => println!("SKIPPED: cannot run a QEMU VM here (see the SKIP line above)"),
        Some(0) => {
            let compares = stdout.lines().filter(|l| l.contains("COMPARE ")).count();
            assert_eq!(compares, 2, "both modes compared");
            // tests/vm/check-dynamic.sh: tables per step, notify scripts and log lines.
            let equal = stdout.lines().filter(|l| l.contains("DYNAMIC ") && l.contains(": equal")).count();
            assert_eq!(equal, 3, "misc_dynamic run equal to keepalived's");
            // tests/vm/check-regex.sh: "REGEX <impl> <case> present|absent".
            let regex = |who: &str| -> Vec<String> {
                let lines = stdout.lines().filter_map(|l| l.split_once("REGEX ").map(|(_, r)| r));
                lines.filter_map(|r| r.strip_prefix(who)).map(|r| r.trim().to_string()).collect()
            };
            let want = ["found present", "absent absent", "no_match present", "caseless present"];
            assert_eq!(regex("keepalived"), want, "keepalived 2.2.7's regex outcomes");
            assert_eq!(regex("ours"), want, "our regex outcomes");
            // tests/vm/check-reload.sh: the tables before and after SIGHUP, and the lines about
            // the changes, equal to keepalived's (and keepalived's as measured once by hand).
            let lines = |tag: &str, who: &str| -> Vec<String> {
                let prefix = format!("{tag} {who} ");
                stdout.lines().filter_map(|l| l.split_once(&prefix).map(|(_, r)| r.to_string())).collect()
            };
            let ka_tables = lines("RELOAD", "keepalived");
            assert_eq!(ka_tables.len(), 2, "keepalived's reload run: {ka_tables:?}");
            assert!(ka_tables[1].contains("-s wrr") && !ka_tables[1].contains("127.0.0.3"), "{ka_tables:?}");
            assert_eq!(lines("RELOAD", "ours"), ka_tables, "IPVS tables before/after SIGHUP");
            let ka_log = lines("RELOADLOG", "keepalived");
            assert!(ka_log.iter().any(|l| l.starts_with("Removing Virtual Server")), "{ka_log:?}");
            assert_eq!(lines("RELOADLOG", "ours"), ka_log, "reload log lines");
            println!("checker VM test passed in {:.1} s", t0.elapsed().as_secs_f64());
        }
        other => panic!("checker VM test failed: exit {other:?} after {:.1} s", t0.elapsed().as_secs_f64()),
    }
}
