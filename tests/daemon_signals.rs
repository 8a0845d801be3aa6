//! A SIGTERM that arrives as soon as the daemon shows signs of life (its pid file) must stop it
//! through its normal shutdown (exit 0, pid files removed), never kill it outright: the IPVS
//! director's cleanup runs on that path, so an early kill would leave the table behind.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigterm_right_after_start_is_a_clean_stop() {
    let dir: PathBuf = std::env::temp_dir().join(format!("kard-sig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let conf = dir.join("k.conf");
    std::fs::write(&conf, "global_defs {\n  router_id T\n}\n").expect("config");
    for round in 0..20 {
        let pid_file = dir.join(format!("p{round}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_keepalived"))
            .args(["-C", "-n", "-l", "-G", "-f"])
            .arg(&conf)
            .arg("-p")
            .arg(&pid_file)
            .arg("-c")
            .arg(dir.join(format!("c{round}")))
            .arg("-r")
            .arg(dir.join(format!("r{round}")))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn keepalived");
        let t0 = Instant::now();
        while !pid_file.exists() {
            assert!(t0.elapsed() < Duration::from_secs(10), "no pid file after 10 s");
            std::thread::yield_now();
        }
        let pid = i32::try_from(child.id()).expect("pid fits");
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let status = child.wait().expect("wait");
        assert!(status.success(), "round {round}: {status:?} (killed by the signal instead of stopping)");
        assert!(!pid_file.exists(), "round {round}: pid file left behind");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
