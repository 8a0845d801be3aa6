//! Checkers against real listeners on 127.0.0.1: the engine, the probes and keepalived's retry
//! timing end to end (no IPVS: a recorder stands in for the director).

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keepalived::check::engine::{self, Health, Seed};
use keepalived::check::misc::{MiscProbe, Outcome};
use keepalived::config::checker::CheckerKind;
use keepalived::config::{self, Config, Severity, SourceOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

type Events = Arc<Mutex<Vec<(Instant, usize, bool)>>>;

struct Rec(Events);

impl Health for Rec {
    fn set_alive(&mut self, _vs: usize, rs: usize, alive: bool) {
        self.0.lock().unwrap().push((Instant::now(), rs, alive));
    }
    // No dynamic checker here (tests/check_scripts.rs covers weights).
    fn set_weight(&mut self, _vs: usize, _rs: usize, _weight: u32) {}
}

fn load(text: &str) -> Config {
    let (cfg, diags) = config::load_str("test.conf", text, &SourceOptions::default());
    let bad: Vec<_> = diags.list.iter().filter(|d| d.severity != Severity::Warning).map(|d| d.to_string()).collect();
    assert!(bad.is_empty(), "config errors: {bad:?}");
    cfg
}

fn vs(port: u16, delay_loop: &str, checker: &str) -> String {
    format!(
        "virtual_server 127.0.0.1 80 {{\n delay_loop {delay_loop}\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
         real_server 127.0.0.1 {port} {{\n{checker}\n }}\n}}\n"
    )
}

/// Wait until `events` holds `n` entries; the time of the n-th relative to `t0`, in seconds.
async fn nth_event(ev: &Events, n: usize, t0: Instant, limit: Duration) -> Option<(f64, bool)> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Some(&(t, _, up)) = ev.lock().unwrap().get(n - 1) {
            return Some(((t - t0).as_secs_f64(), up));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

async fn sleep_until(t0: Instant, secs: f64) {
    tokio::time::sleep_until(t0 + Duration::from_secs_f64(secs)).await;
}

fn free_listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn assert_near(what: &str, got: f64, want: f64, late: f64) {
    assert!(got >= want - 0.05 && got <= want + late, "{what}: at {got:.3}s, expected {want:.3}s (+{late})");
}

const TCP: &str = "TCP_CHECK {\n connect_timeout 0.5\n retry 2\n delay_before_retry 0.3\n warmup 0\n}";

/// Closed listener: DOWN after retry+1 failures spaced by delay_before_retry; reopened: UP on
/// the first success, one delay_loop later.
#[tokio::test]
async fn tcp_down_after_retries_and_up_on_first_success() {
    let (l, port) = free_listener();
    let cfg = load(&vs(port, "0.5", TCP));
    let ev: Events = Arc::default();
    let mut rec = Rec(ev.clone());
    let t0 = Instant::now();
    let scenario = {
        let ev = ev.clone();
        async move {
            // Checks at 1.0 and 1.5 succeed; closed at 1.7: fails at 2.0, retries at 2.3, 2.6.
            sleep_until(t0, 1.7).await;
            assert!(ev.lock().unwrap().is_empty(), "no change while the listener is up");
            drop(l);
            let down = nth_event(&ev, 1, t0, Duration::from_secs(4)).await.expect("marked down");
            assert!(!down.1);
            assert_near("down", down.0, 2.6, 0.25);
            // Reopened at once: the next delay_loop tick (3.1) succeeds.
            let _l = TcpListener::bind(("127.0.0.1", port)).unwrap();
            let up = nth_event(&ev, 2, t0, Duration::from_secs(4)).await.expect("back up");
            assert!(up.1);
            assert_near("up", up.0, down.0 + 0.5, 0.25);
        }
    };
    engine::run(engine::specs(&cfg), &mut rec, scenario, Seed::new(1)).await;
}

/// One failed check followed by a success within the retries changes nothing.
#[tokio::test]
async fn tcp_single_failure_within_retries_is_absorbed() {
    let (l, port) = free_listener();
    let cfg = load(&vs(port, "0.5", TCP));
    let ev: Events = Arc::default();
    let mut rec = Rec(ev.clone());
    let t0 = Instant::now();
    let scenario = {
        let ev = ev.clone();
        async move {
            sleep_until(t0, 1.7).await;
            drop(l);
            // The 2.0 check fails; reopened before the 2.3 retry.
            sleep_until(t0, 2.15).await;
            let _l = TcpListener::bind(("127.0.0.1", port)).unwrap();
            sleep_until(t0, 3.5).await;
            assert!(ev.lock().unwrap().is_empty(), "{:?}", ev.lock().unwrap());
        }
    };
    engine::run(engine::specs(&cfg), &mut rec, scenario, Seed::new(1)).await;
}

/// A minimal HTTP server: answers every request with the current (status, body) and records
/// the requests.
async fn http_server(
    state: Arc<Mutex<(u16, &'static str)>>,
    seen: Arc<Mutex<Vec<String>>>,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let h = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else { return };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            seen.lock().unwrap().push(String::from_utf8_lossy(&req).into_owned());
            let (code, body) = *state.lock().unwrap();
            let resp = format!("HTTP/1.0 {code} X\r\nContent-Type: text/plain\r\n\r\n{body}");
            let _ = s.write_all(resp.as_bytes()).await;
        }
    });
    (addr, h)
}

#[tokio::test]
async fn http_digest_and_status() {
    let state = Arc::new(Mutex::new((200, "hello")));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (addr, server) = http_server(state.clone(), seen.clone()).await;
    // md5("hello")
    let check = "HTTP_GET {\n url {\n path /health\n digest 5d41402abc4b2a76b9719d911017c592\n }\n \
                 connect_timeout 0.5\n retry 1\n delay_before_retry 0.2\n warmup 0\n}";
    let cfg = load(&vs(addr.port(), "0.4", check));
    let ev: Events = Arc::default();
    let mut rec = Rec(ev.clone());
    let t0 = Instant::now();
    let scenario = {
        let ev = ev.clone();
        let seen = seen.clone();
        async move {
            // Checks at 1.0 ok; body changed at 1.2: fails at 1.4, retry at 1.6 -> down.
            sleep_until(t0, 1.2).await;
            assert!(ev.lock().unwrap().is_empty());
            let first = seen.lock().unwrap().first().cloned().expect("a request");
            assert_eq!(
                first,
                format!(
                    "GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:{}\r\n\r\n",
                    addr.port()
                )
            );
            state.lock().unwrap().1 = "bye";
            let down = nth_event(&ev, 1, t0, Duration::from_secs(3)).await.expect("digest mismatch -> down");
            assert!(!down.1);
            assert_near("digest down", down.0, 1.6, 0.25);
            state.lock().unwrap().1 = "hello";
            let up = nth_event(&ev, 2, t0, Duration::from_secs(3)).await.expect("up again");
            assert!(up.1);
            assert_near("up", up.0, down.0 + 0.4, 0.25);
            // A right body with a status outside 200-299 fails too.
            state.lock().unwrap().0 = 503;
            let down = nth_event(&ev, 3, t0, Duration::from_secs(3)).await.expect("status -> down");
            assert!(!down.1);
        }
    };
    engine::run(engine::specs(&cfg), &mut rec, scenario, Seed::new(1)).await;
    server.abort();
}

#[tokio::test]
async fn http_status_code_ranges() {
    let state = Arc::new(Mutex::new((404, "")));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (addr, server) = http_server(state.clone(), seen).await;
    let check = "HTTP_GET {\n url {\n path /gone\n status_code 404 410-419\n }\n \
                 connect_timeout 0.5\n retry 0\n warmup 0\n alpha\n}";
    let cfg = load(&vs(addr.port(), "0.3", check));
    let ev: Events = Arc::default();
    let mut rec = Rec(ev.clone());
    let t0 = Instant::now();
    let scenario = {
        let ev = ev.clone();
        async move {
            let up = nth_event(&ev, 1, t0, Duration::from_secs(3)).await.expect("alpha: up on 404");
            assert!(up.1);
            assert_near("alpha up", up.0, 1.0, 0.25);
            state.lock().unwrap().0 = 415;
            sleep_until(t0, 1.8).await;
            assert_eq!(ev.lock().unwrap().len(), 1, "415 is in 410-419");
            state.lock().unwrap().0 = 200;
            let down = nth_event(&ev, 2, t0, Duration::from_secs(3)).await.expect("200 is not accepted");
            assert!(!down.1);
        }
    };
    engine::run(engine::specs(&cfg), &mut rec, scenario, Seed::new(1)).await;
    server.abort();
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("kard-check-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn script(dir: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn misc_config(path: &std::path::Path, extra: &str) -> Config {
    let check = format!("MISC_CHECK {{\n misc_path \"{}\"\n misc_timeout 1\n warmup 0\n{extra}\n}}", path.display());
    load(&format!("global_defs {{\n enable_script_security\n script_user root\n}}\n{}", vs(80, "0.3", &check)))
}

/// Exit 0 up, 1 down (MISC retry defaults to 0: one failure is enough).
#[tokio::test]
async fn misc_exit_codes_drive_the_state() {
    let dir = scratch("misc");
    let code = dir.join("code");
    std::fs::write(&code, "0").unwrap();
    let p = script(&dir, "check.sh", &format!("exit $(cat {})", code.display()));
    let cfg = misc_config(&p, "");
    let ev: Events = Arc::default();
    let mut rec = Rec(ev.clone());
    let t0 = Instant::now();
    let scenario = {
        let ev = ev.clone();
        let code = code.clone();
        async move {
            sleep_until(t0, 1.5).await;
            assert!(ev.lock().unwrap().is_empty());
            std::fs::write(&code, "1").unwrap();
            let down = nth_event(&ev, 1, t0, Duration::from_secs(3)).await.expect("exit 1 -> down");
            assert!(!down.1);
            std::fs::write(&code, "0").unwrap();
            let up = nth_event(&ev, 2, t0, Duration::from_secs(3)).await.expect("exit 0 -> up");
            assert!(up.1);
            assert_near("up", up.0, down.0 + 0.3, 0.3);
        }
    };
    engine::run(engine::specs(&cfg), &mut rec, scenario, Seed::new(1)).await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn misc_probe(cfg: &Config) -> MiscProbe {
    let c = &cfg.lvs.virtual_servers[0].real_servers[0].checkers[0];
    let CheckerKind::Misc(m) = &c.kind else { panic!("not a MISC_CHECK") };
    MiscProbe::new(m, "test".into(), c.retry).expect("runnable")
}

#[tokio::test]
async fn misc_dynamic_codes_are_weights() {
    let dir = scratch("dyn");
    let p = script(&dir, "w.sh", "exit 12");
    let probe = misc_probe(&misc_config(&p, "misc_dynamic"));
    assert_eq!(probe.run_once().await, Outcome::Weight(10));
    let p = script(&dir, "f.sh", "exit 1");
    assert_eq!(misc_probe(&misc_config(&p, "misc_dynamic")).run_once().await, Outcome::Failure(Some(1)));
    // Without misc_dynamic any non-zero code is a failure.
    let p = script(&dir, "n.sh", "exit 12");
    assert_eq!(misc_probe(&misc_config(&p, "")).run_once().await, Outcome::Failure(Some(12)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A script that ignores SIGTERM is killed 2 s after the timeout, with its children.
#[tokio::test]
async fn misc_timeout_sigterm_then_sigkill() {
    let dir = scratch("timeout");
    let pid = dir.join("pid");
    let p = script(&dir, "hang.sh", &format!("echo $$ > {}\ntrap '' TERM\nwhile :; do sleep 0.1; done", pid.display()));
    let probe = misc_probe(&misc_config(&p, ""));
    let t = Instant::now();
    assert_eq!(probe.run_once().await, Outcome::TimedOut);
    let took = t.elapsed().as_secs_f64();
    assert!((2.9..3.7).contains(&took), "timeout 1 + 2 s grace, took {took}");
    let pid: i32 = std::fs::read_to_string(&pid).unwrap().trim().parse().unwrap();
    // SAFETY: signal 0 only probes for existence.
    assert_eq!(unsafe { libc::kill(pid, 0) }, -1, "the script is gone");
    // A script that honours SIGTERM ends at once.
    let p = script(&dir, "slow.sh", "sleep 5");
    let t = Instant::now();
    assert_eq!(misc_probe(&misc_config(&p, "")).run_once().await, Outcome::TimedOut);
    assert!(t.elapsed() < Duration::from_millis(2000), "{:?}", t.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The probe of the only checker in `cfg`.
fn only_probe(cfg: &Config) -> Box<dyn engine::Probe> {
    let mut specs = engine::specs(cfg);
    assert_eq!(specs.len(), 1, "one runnable checker");
    specs.remove(0).probe
}

/// An SMTP server that greets with `greeting` and answers HELO with 250; returns the HELO line.
async fn smtp_once(l: tokio::net::TcpListener, greeting: &'static str) -> String {
    let (s, _) = l.accept().await.unwrap();
    let (r, mut w) = s.into_split();
    let mut r = tokio::io::BufReader::new(r);
    w.write_all(greeting.as_bytes()).await.unwrap();
    let mut helo = String::new();
    let _ = tokio::io::AsyncBufReadExt::read_line(&mut r, &mut helo).await;
    let _ = w.write_all(b"250-hello\r\n250 ok\r\n").await;
    let mut quit = String::new();
    let _ = tokio::io::AsyncBufReadExt::read_line(&mut r, &mut quit).await;
    helo
}

#[tokio::test]
async fn smtp_greeting_helo_quit() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let cfg = load(&vs(port, "1", "SMTP_CHECK {\n connect_timeout 0.5\n helo_name probe.example\n}"));
    let mut p = only_probe(&cfg);
    let server = tokio::spawn(smtp_once(l, "220-mail\r\n220 ready\r\n"));
    assert!(p.check().await);
    assert_eq!(server.await.unwrap(), "HELO probe.example\r\n");

    let l = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let server = tokio::spawn(smtp_once(l, "554 go away\r\n"));
    assert!(!p.check().await, "554 greeting");
    server.abort();
    // Nothing listening any more.
    assert!(!p.check().await);
}

#[tokio::test]
async fn smtp_default_helo_and_silent_server_timeout() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let cfg = load(&vs(port, "1", "SMTP_CHECK {\n connect_timeout 0.3\n}"));
    let mut p = only_probe(&cfg);
    let server = tokio::spawn(smtp_once(l, "220 ready\r\n"));
    assert!(p.check().await);
    assert_eq!(server.await.unwrap(), "HELO smtpchecker.keepalived.org\r\n");
    // Accepts but never greets: fails after connect_timeout.
    let _l = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let t = Instant::now();
    assert!(!p.check().await);
    assert!(t.elapsed() >= Duration::from_millis(280), "{:?}", t.elapsed());
}

fn udp_vs(port: u16, checker: &str) -> String {
    format!(
        "virtual_server 127.0.0.1 53 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol UDP\n \
         real_server 127.0.0.1 {port} {{\n{checker}\n }}\n}}\n"
    )
}

#[tokio::test]
async fn udp_reply_pattern_silence_and_port_unreachable() {
    let srv = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = srv.local_addr().unwrap().port();
    let reply: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(b"OK1".to_vec()));
    let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let server = {
        let (reply, seen) = (reply.clone(), seen.clone());
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            loop {
                let (n, from) = srv.recv_from(&mut buf).await.unwrap();
                seen.lock().unwrap().push(buf[..n].to_vec());
                let r = reply.lock().unwrap().clone();
                if !r.is_empty() {
                    srv.send_to(&r, from).await.unwrap();
                }
            }
        })
    };
    // "OK" then any digit in the high nibble 3x.
    let check = "UDP_CHECK {\n connect_timeout 0.3\n payload 68656c6c6f\n require_reply 4f4b 3x\n}";
    let mut p = only_probe(&load(&udp_vs(port, check)));
    assert!(p.check().await);
    assert_eq!(seen.lock().unwrap()[0], b"hello");
    *reply.lock().unwrap() = b"NO1".to_vec();
    assert!(!p.check().await, "pattern mismatch");
    *reply.lock().unwrap() = Vec::new();
    assert!(!p.check().await, "reply required");
    // Without require_reply silence is success, an ICMP port unreachable is not.
    let mut p = only_probe(&load(&udp_vs(port, "UDP_CHECK {\n connect_timeout 0.3\n}")));
    assert!(p.check().await, "silence");
    server.abort();
    let _ = server.await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!p.check().await, "port unreachable");
}

#[tokio::test]
async fn dns_query_and_rcode() {
    let srv = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = srv.local_addr().unwrap().port();
    let rcode = Arc::new(Mutex::new(0u8));
    let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let server = {
        let (rcode, seen) = (rcode.clone(), seen.clone());
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            loop {
                let (n, from) = srv.recv_from(&mut buf).await.unwrap();
                let q = buf[..n].to_vec();
                seen.lock().unwrap().push(q.clone());
                let mut r = q;
                r[2] |= 0x80;
                r[3] = 0x80 | *rcode.lock().unwrap();
                srv.send_to(&r, from).await.unwrap();
            }
        })
    };
    let check = "DNS_CHECK {\n connect_timeout 0.3\n type A\n name example.org\n}";
    let mut p = only_probe(&load(&udp_vs(port, check)));
    assert!(p.check().await);
    let q = seen.lock().unwrap()[0].clone();
    assert_eq!(q[2], 0x01, "RD set");
    assert_eq!(&q[12..], b"\x07example\x03org\x00\x00\x01\x00\x01");
    *rcode.lock().unwrap() = 3;
    assert!(!p.check().await, "NXDOMAIN");
    server.abort();
}

#[tokio::test]
async fn ping_loopback() {
    let cfg = load(&vs(80, "1", "PING_CHECK {\n connect_timeout 0.5\n}"));
    // Unprivileged ICMP sockets need our group in net.ipv4.ping_group_range.
    if socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, Some(socket2::Protocol::ICMPV4)).is_err() {
        println!("SKIPPED: no unprivileged ICMP socket here (net.ipv4.ping_group_range)");
        return;
    }
    let mut p = only_probe(&cfg);
    assert!(p.check().await, "127.0.0.1 answers pings");
}
