//! Runs the real-kernel IPVS suite (tests/ipvs_kernel.rs) inside a QEMU VM whose kernel
//! has IPVS (tests/vm/run-in-vm.sh), in one boot. Prints "SKIPPED: ..." and passes where no
//! VM can run (no qemu and no apt to install it, or KARD_SKIP_VM=1).
//!
//! It builds nothing: it runs the ipvs_kernel test executable cargo already built next to
//! this one, so build both: `cargo test --test ipvs_kernel --test ipvs_vm`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The newest `ipvs_kernel-<hash>` executable in this test binary's directory.
fn kernel_test_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("ipvs_kernel-") && !name.contains('.')
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()
        .map(|(_, p)| p)
}

#[test]
fn ipvs_kernel_suite_in_vm() {
    if std::env::var("KARD_SKIP_VM").is_ok_and(|v| v == "1") {
        println!("SKIPPED: KARD_SKIP_VM=1");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(bin) = kernel_test_binary() else {
        panic!("no ipvs_kernel test binary next to this one: run `cargo test --test ipvs_kernel --test ipvs_vm`");
    };
    let t0 = Instant::now();
    let mut cmd = Command::new(root.join("tests/vm/run-in-vm.sh"));
    cmd.current_dir(root).arg("--").arg(root.join("tests/vm/kernel-suite.sh")).arg(&bin);
    if let Ok(filter) = std::env::var("KARD_VM_FILTER") {
        cmd.arg(filter);
    }
    let status = cmd.status().expect("run tests/vm/run-in-vm.sh");
    match status.code() {
        Some(77) => println!("SKIPPED: cannot run a QEMU VM here (see the SKIP line above)"),
        Some(0) => println!("VM suite passed in {:.1} s", t0.elapsed().as_secs_f64()),
        other => panic!("VM suite failed: exit {other:?} after {:.1} s", t0.elapsed().as_secs_f64()),
    }
}
