//! The network-namespace lab shared by the netns suites (tests/vrrp_*netns.rs): namespaces from
//! tests/netns/lab.sh, a daemon (ours or keepalived 2.2.7) per node with its log, and polling.
//! Each suite wraps [`Lab`] with the addresses and checks of its own topology.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

pub const ORACLE: &str = "/usr/sbin/keepalived";
pub const OURS: &str = env!("CARGO_BIN_EXE_keepalived");
const LAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/netns/lab.sh");

/// Why the netns suites cannot run here (not root, no `ip netns`, no keepalived), or None.
/// A missing keepalived panics instead with KARD_REQUIRE_ORACLE=1 (CI).
pub fn skip_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    let ok = Command::new("ip").args(["netns", "list"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !ok.is_ok_and(|s| s.success()) {
        return Some("`ip netns` unavailable".into());
    }
    if !Path::new(ORACLE).exists() {
        if std::env::var("KARD_REQUIRE_ORACLE").as_deref() == Ok("1") {
            panic!("{ORACLE} is absent and KARD_REQUIRE_ORACLE=1");
        }
        return Some(format!("{ORACLE} absent"));
    }
    None
}

/// Returns from the test with a "SKIPPED: SUITE: why" line when the lab cannot run.
#[allow(unused_macros)]
macro_rules! skip_unless_lab {
    ($suite:expr) => {
        if let Some(why) = common::netns::skip_reason() {
            println!("SKIPPED: {}: {why}", $suite);
            return;
        }
    };
}

/// Which daemon a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    Ours,
    Keepalived,
}

impl Impl {
    pub fn name(self) -> &'static str {
        match self {
            Impl::Ours => "ours",
            Impl::Keepalived => "keepalived",
        }
    }

    pub fn bin(self) -> &'static str {
        match self {
            Impl::Ours => OURS,
            Impl::Keepalived => ORACLE,
        }
    }
}

/// Runs `ip ARGS`; panics when it fails (lab setup).
pub fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().unwrap();
    assert!(st.success(), "ip {args:?} failed");
}

/// The standard output of `args` (empty when it cannot run).
pub fn out(args: &[&str]) -> String {
    let Some((cmd, rest)) = args.split_first() else { return String::new() };
    Command::new(cmd).args(rest).output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
}

/// Namespaces `{prefix}-br` (bridge br0) and `{prefix}-1..n` (eth0 = 10.77.NET.i/24), and a
/// scratch directory for configs and logs; all removed on drop (the directory is kept when the
/// test fails, to read).
pub struct Lab {
    pub prefix: String,
    pub n: usize,
    pub dir: PathBuf,
    pub net: u8,
}

impl Lab {
    /// `kind` tells suites apart in namespace names (a few letters) and the directory name;
    /// `tag` tells the tests of a suite apart.
    pub fn new(kind: &str, tag: &str, net: u8, n: usize) -> Lab {
        let prefix = format!("{kind}{}{tag}", std::process::id() % 100_000);
        let dir = std::env::temp_dir().join(format!("netns-{prefix}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Leftovers of an earlier crashed run with the same name.
        let _ = Command::new("sh").args([LAB, "down", &prefix, &n.to_string()]).status();
        let lab = Lab { prefix, n, dir, net };
        let st = Command::new("sh").args([LAB, "up", &lab.prefix, &net.to_string(), &n.to_string()]).status().unwrap();
        assert!(st.success(), "lab setup failed");
        lab
    }

    pub fn ns(&self, i: usize) -> String {
        format!("{}-{i}", self.prefix)
    }

    /// `ip -n NODE ARGS`, its output.
    pub fn ip(&self, i: usize, args: &[&str]) -> String {
        let ns = self.ns(i);
        let mut v = vec!["ip", "-n", ns.as_str()];
        v.extend_from_slice(args);
        out(&v)
    }

    /// Whether `addr` is on `dev` of node `i`.
    pub fn has_addr(&self, i: usize, dev: &str, addr: &str) -> bool {
        self.ip(i, &["-o", "addr", "show", "dev", dev]).contains(&format!(" {addr}/"))
    }

    /// The MAC address of node `i`'s eth0.
    pub fn mac(&self, i: usize) -> [u8; 6] {
        let text = self.ip(i, &["-o", "link", "show", "eth0"]);
        let word = text.split_whitespace().skip_while(|w| *w != "link/ether").nth(1).unwrap_or("");
        let mut m = [0u8; 6];
        for (d, p) in m.iter_mut().zip(word.split(':')) {
            *d = u8::from_str_radix(p, 16).unwrap_or(0);
        }
        m
    }

    /// Kills every process in node `i`'s namespace (a crash of the whole node's daemons).
    pub fn kill_all(&self, i: usize) {
        let text = out(&["ip", "netns", "pids", &self.ns(i)]);
        let pids: Vec<&str> = text.split_whitespace().collect();
        // One kill(1) for all, so keepalived's VRRP child is not told first by its dying parent.
        let _ = Command::new("kill").arg("-9").args(&pids).status();
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("sh").args([LAB, "down", &self.prefix, &self.n.to_string()]).status();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A daemon running `conf_text` in node `i`'s namespace (`-n -l -D -P`, private pid files), its
/// output in `{dir}/{i}-{impl}.log`; killed on drop.
pub struct Node {
    pub child: Child,
    log: PathBuf,
    tmp: PathBuf,
}

impl Node {
    pub fn start(lab: &Lab, i: usize, which: Impl, conf_text: &str) -> Node {
        let tag = format!("{i}-{}", which.name());
        let conf = lab.dir.join(format!("{tag}.conf"));
        std::fs::write(&conf, conf_text).unwrap();
        let log = lab.dir.join(format!("{tag}.log"));
        let f = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let pid = |s: &str| lab.dir.join(format!("{tag}.{s}.pid")).display().to_string();
        for s in ["main", "vrrp", "check"] {
            // A killed run leaves them, and keepalived then refuses to start.
            let _ = std::fs::remove_file(pid(s));
        }
        // Its own TMPDIR: where the signal dumps (keepalived.data, keepalived.stats) go.
        let tmp = lab.dir.join(format!("{tag}.tmp"));
        std::fs::create_dir_all(&tmp).unwrap();
        let child = Command::new("ip")
            .env("TMPDIR", &tmp)
            .args(["netns", "exec", &lab.ns(i), which.bin(), "-n", "-l", "-D", "-P", "-f"])
            .arg(&conf)
            .args(["-p", &pid("main"), "-r", &pid("vrrp"), "-c", &pid("check")])
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .unwrap();
        Node { child, log, tmp }
    }

    pub fn term(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `sig` (e.g. "-USR2") and returns the file `name` the daemon then writes in its
    /// TMPDIR, waiting up to 2 s for it (None if it never appears).
    pub fn signal_dump(&self, sig: &str, name: &str) -> Option<String> {
        let path = self.tmp.join(name);
        let _ = std::fs::remove_file(&path);
        let _ = Command::new("kill").args([sig, &self.child.id().to_string()]).status();
        wait_for(Duration::from_secs(2), || std::fs::metadata(&path).is_ok_and(|m| m.len() > 0))?;
        // Written in one go by ours; keepalived may still be writing: let it finish.
        sleep(Duration::from_millis(100));
        std::fs::read_to_string(&path).ok()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `cond` every 10 ms; the time it took, or None after `limit`.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if cond() {
            return Some(t0.elapsed());
        }
        sleep(Duration::from_millis(10));
    }
    None
}

pub fn secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}
