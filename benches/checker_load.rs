//! Host harness for the checker engine's cost: the `genconf --checker-scale` config (VS x RS
//! TCP_CHECKs at delay_loop 1 on distinct 127.0.0.0/8 addresses, port 9000), run by the same
//! code path as the daemon (`check::engine::{specs, run}`) with a no-op director, against one
//! accept-and-close listener in a child process. Reports CPU per 1,000 checks and CPU s/min of
//! the checker process alone (the listener is another process), checks/s (listener accepts) and
//! memory (VmRSS after load and at the end, VmHWM).
//!
//! Runs in a fresh network namespace of its own (needs root: unshare(CLONE_NEWNET)), so every
//! packet stays on that namespace's loopback and port 9000 cannot clash with anything else.
//!
//! Run: `cargo bench --bench checker_load -- [VS] [RS] [WARMUP_S] [WINDOW_S]` (default 1000 10 5
//! 20). Profile: `perf record -g target/release/deps/checker_load-HASH 1000 10 5 20`.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "../examples/genconf.rs"]
#[allow(dead_code)] // only generate_checker_scale is used here
mod genconf;

struct Noop;

impl keepalived::check::engine::Health for Noop {
    fn set_alive(&mut self, _vs: usize, _rs: usize, _alive: bool) {}
    fn set_weight(&mut self, _vs: usize, _rs: usize, _weight: u32) {}
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("--listen") {
        listen();
        return;
    }
    let num = |i: usize, d: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    let (vs, rs, warmup, window) = (num(0, 1000), num(1, 10), num(2, 5), num(3, 20));
    if let Err(e) = own_netns() {
        println!("SKIPPED: cannot make a network namespace ({e}); run as root");
        return;
    }
    let mut listener = Listener::spawn();

    let text = genconf::generate_checker_scale(vs as usize, rs as usize);
    let rss_start = status_kb("VmRSS");
    let (cfg, diags) = keepalived::config::load_str("bench.conf", &text, &Default::default());
    drop(text);
    let errors = diags.list.iter().filter(|d| d.severity >= keepalived::config::Severity::Error).count();
    assert_eq!(errors, 0, "the generated config must load cleanly");
    let rss_loaded = status_kb("VmRSS");
    // As the daemon holds it (KARD_BENCH_KEEP=1): the LVS section shared with the director's
    // pool; else the checkers alone, so the figure is the engine's own memory.
    let keep = std::env::var_os("KARD_BENCH_KEEP").is_some();
    let specs = keepalived::check::engine::specs(&cfg);
    let rss_specs = status_kb("VmRSS");
    let mut cfg = cfg;
    let lvs = std::sync::Arc::new(std::mem::take(&mut cfg.lvs));
    let pool = keep.then(|| keepalived::director::Pool::shared(lvs.clone()).0);
    let kept = keep.then_some((cfg, lvs));
    // SAFETY: only the allocator's free memory is released.
    unsafe { libc::malloc_trim(0) };
    println!("memory: VmRSS with the probes built {rss_specs} KiB; kept config and pool: {keep}");
    let rss_built = status_kb("VmRSS");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let report = rt.block_on(async {
        let measure = async {
            tokio::time::sleep(Duration::from_secs(warmup)).await;
            let (c0, a0, t0) = (cpu(), listener.accepts(), Instant::now());
            tokio::time::sleep(Duration::from_secs(window)).await;
            let (c1, a1, el) = (cpu(), listener.accepts(), t0.elapsed());
            (c1 - c0, a1 - a0, el)
        };
        let seed = keepalived::check::engine::Seed::new(u64::from(std::process::id()));
        keepalived::check::engine::run(specs, &mut Noop, measure, seed).await
    });
    let (cpu_used, accepts, elapsed) = report;
    let secs = elapsed.as_secs_f64();
    println!("checkers: {} ({vs} x {rs}), warm-up {warmup} s, window {secs:.1} s", vs * rs);
    println!(
        "checks/s {:.0}; CPU {:.2} s/min; CPU per 1,000 checks {:.1} ms (user {:.1}, sys {:.1})",
        accepts as f64 / secs,
        cpu_used.total() * 60.0 / secs,
        cpu_used.total() * 1e6 / accepts.max(1) as f64,
        cpu_used.user * 1e6 / accepts.max(1) as f64,
        cpu_used.sys * 1e6 / accepts.max(1) as f64,
    );
    println!(
        "memory: VmRSS at start {} KiB, after config load {} KiB, checkers built and config \
         dropped {} KiB, at end {} KiB; VmHWM {} KiB",
        rss_start,
        rss_loaded,
        rss_built,
        status_kb("VmRSS"),
        status_kb("VmHWM")
    );
    drop((pool, kept));
    listener.stop();
}

/// Move this process into a new network namespace with its loopback up.
fn own_netns() -> std::io::Result<()> {
    // SAFETY: no threads exist yet; unshare only changes this process's namespace.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let st = Command::new("ip").args(["link", "set", "lo", "up"]).status()?;
    if !st.success() {
        return Err(std::io::Error::other("ip link set lo up failed"));
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct Cpu {
    user: f64,
    sys: f64,
}

impl Cpu {
    fn total(&self) -> f64 {
        self.user + self.sys
    }
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;
    fn sub(self, o: Cpu) -> Cpu {
        Cpu { user: self.user - o.user, sys: self.sys - o.sys }
    }
}

/// CPU time of this process (all threads).
fn cpu() -> Cpu {
    // SAFETY: getrusage writes only into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Cpu { user: s(ru.ru_utime), sys: s(ru.ru_stime) }
}

fn status_kb(key: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':')?.trim().strip_suffix(" kB")?.parse().ok())
        .unwrap_or(0)
}

/// The listener child: this binary with `--listen`; a line on its stdin asks for the count.
struct Listener(Child, BufReader<std::process::ChildStdout>);

impl Listener {
    fn spawn() -> Listener {
        let exe = std::env::current_exe().expect("own path");
        let mut child =
            Command::new(exe).arg("--listen").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("listener");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut ready = String::new();
        out.read_line(&mut ready).expect("listener ready");
        Listener(child, out)
    }

    fn accepts(&mut self) -> u64 {
        let _ = self.0.stdin.as_mut().expect("stdin").write_all(b"\n");
        let mut l = String::new();
        let _ = self.1.read_line(&mut l);
        l.trim().parse().unwrap_or(0)
    }

    fn stop(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn listen() {
    let addr: SocketAddr = "0.0.0.0:9000".parse().expect("addr");
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    s.set_reuse_address(true).expect("reuseaddr");
    s.bind(&addr.into()).expect("bind 0.0.0.0:9000");
    s.listen(4096).expect("listen");
    let l: TcpListener = s.into();
    let n = Arc::new(AtomicU64::new(0));
    let counter = n.clone();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if line.is_err() {
                break;
            }
            println!("{}", counter.load(Ordering::Relaxed));
        }
        std::process::exit(0);
    });
    println!("ready");
    loop {
        if let Ok((c, _)) = l.accept() {
            drop(c);
            n.fetch_add(1, Ordering::Relaxed);
        }
    }
}
