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

/// Under systemd (Debian's unit is `Type=notify`, reload = `kill -HUP`): READY=1 once started,
/// RELOADING=1 then READY=1 around a SIGHUP that leaves the daemon running, a SIGUSR1 data dump in
/// $TMPDIR/keepalived.data, and STOPPING=1 at SIGTERM with a clean exit.
#[test]
fn systemd_notify_reload_and_data_dump() {
    use std::os::unix::net::UnixDatagram;
    let dir: PathBuf = std::env::temp_dir().join(format!("kard-sd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let conf = dir.join("k.conf");
    std::fs::write(&conf, "global_defs {\n  router_id SD_TEST\n}\n").expect("config");
    let sock_path = dir.join("notify");
    let sock = UnixDatagram::bind(&sock_path).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let recv = || {
        let mut buf = [0u8; 256];
        let n = sock.recv(&mut buf).expect("a notify message within 20 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_keepalived"))
        .args(["-C", "-n", "-l", "-G", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.join("p"))
        .arg("-c")
        .arg(dir.join("c"))
        .arg("-r")
        .arg(dir.join("r"))
        .env("NOTIFY_SOCKET", &sock_path)
        .env("TMPDIR", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn keepalived");
    let pid = i32::try_from(child.id()).expect("pid fits");
    // SAFETY (all kill calls): kill(2) on our own child's pid.
    let signal = |sig| assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
    assert_eq!(recv(), "READY=1");

    // A reload with a fatally broken file (keepalived's -t exits 2: `smtp_server` without its
    // parameter) keeps the daemon and its config running, and says so to systemd.
    std::fs::write(&conf, "global_defs {\n  smtp_server\n}\n").expect("config");
    signal(libc::SIGHUP);
    assert!(recv().starts_with("RELOADING=1\nMONOTONIC_USEC="));
    assert_eq!(recv(), "READY=1");
    assert!(child.try_wait().expect("try_wait").is_none(), "SIGHUP killed the daemon");

    signal(libc::SIGUSR1);
    let data = dir.join("keepalived.data");
    let t0 = Instant::now();
    while !data.exists() {
        assert!(t0.elapsed() < Duration::from_secs(10), "no keepalived.data after SIGUSR1");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let text = std::fs::read_to_string(&data).expect("read keepalived.data");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&data).expect("stat keepalived.data").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "keepalived writes its dumps private");
    assert!(text.contains("SD_TEST"), "the dump holds the running config (router_id SD_TEST):\n{text}");

    signal(libc::SIGUSR2);
    signal(libc::SIGTERM);
    assert_eq!(recv(), "STOPPING=1");
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
