//! Differential test against keepalived 2.2.7: for every config under tests/configs/ipvs/ (no
//! checkers, so no health check interferes), keepalived's checker process and ours must program
//! the same IPVS table, and both must remove exactly what they added on SIGTERM. Runs in one
//! QEMU boot (tests/vm/run-in-vm.sh, tests/vm/ipvs-diff.sh); prints "SKIPPED: ..." and passes
//! where no VM can run or keepalived 2.2.7 is not installed. `KARD_SKIP_VM=1` skips it,
//! `KARD_DIFF_FILTER=name` runs only the configs whose file name contains `name`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const REFERENCE: &str = "/usr/sbin/keepalived";

#[test]
fn ipvs_tables_match_keepalived_2_2_7() {
    if std::env::var("KARD_SKIP_VM").is_ok_and(|v| v == "1") {
        println!("SKIPPED: KARD_SKIP_VM=1");
        return;
    }
    if !Path::new(REFERENCE).exists() {
        println!("SKIPPED: keepalived 2.2.7 is not installed at {REFERENCE}");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let filter = std::env::var("KARD_DIFF_FILTER").unwrap_or_default();
    let mut confs: Vec<_> = std::fs::read_dir(root.join("tests/configs/ipvs"))
        .expect("tests/configs/ipvs")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains(&filter)))
        .collect();
    confs.sort();
    assert!(!confs.is_empty(), "no config under tests/configs/ipvs matches {filter:?}");

    let t0 = Instant::now();
    let script = root.join("tests/vm/ipvs-diff.sh");
    let status = Command::new(root.join("tests/vm/run-in-vm.sh"))
        .current_dir(root)
        .arg("--")
        .arg(&script)
        .arg("run")
        .arg(env!("CARGO_BIN_EXE_keepalived"))
        .arg(REFERENCE)
        .args(&confs)
        .status()
        .expect("run tests/vm/run-in-vm.sh");
    let secs = t0.elapsed().as_secs_f64();
    match status.code() {
        Some(77) => {
            println!("SKIPPED: cannot run a QEMU VM here (see the SKIP line above)");
            return;
        }
        Some(0) => println!("VM phase done in {secs:.1} s"),
        other => panic!("VM phase failed: exit {other:?} after {secs:.1} s"),
    }
    // Sorting and diffing on the host: each exec costs a lot in the emulated VM.
    let status = Command::new(&script)
        .current_dir(root)
        .arg("compare")
        .args(&confs)
        .status()
        .expect("run tests/vm/ipvs-diff.sh compare");
    assert!(
        status.success(),
        "IPVS tables differ from keepalived 2.2.7's, or a daemon misbehaved (details above, files in target/ipvs-diff/)"
    );
    println!("{} configs: identical tables in {:.1} s", confs.len(), t0.elapsed().as_secs_f64());
}
