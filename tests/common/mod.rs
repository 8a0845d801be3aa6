//! Helpers shared by the integration tests.
#![allow(dead_code)]

#[macro_use]
pub mod netns;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// keepalived 2.2.7, the oracle for differential tests, if installed.
pub fn reference_keepalived() -> Option<PathBuf> {
    let path = std::env::var_os("KEEPALIVED_REF").map(PathBuf::from).unwrap_or_else(|| "/usr/sbin/keepalived".into());
    if path.exists() {
        return Some(path);
    }
    if std::env::var("KARD_REQUIRE_ORACLE").is_ok_and(|v| v == "1") {
        panic!("KARD_REQUIRE_ORACLE=1 but keepalived 2.2.7 is not at {}", path.display());
    }
    println!("SKIPPED: keepalived 2.2.7 not installed at {} (apt-get install keepalived)", path.display());
    None
}

pub fn walk_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Wait for `child` up to `limit`; kill it and return `None` if it is still running then.
pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.code(),
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}
