//! MISC_CHECK with misc_dynamic, notify_up/notify_down and quorum_up/quorum_down end to end:
//! the engine runs real scripts, the director's pure part (`Pool`) turns verdicts into IPVS
//! operations and starts the notify scripts, which leave marker lines in a file. No IPVS: the
//! operations are recorded.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keepalived::check::engine::{self, Health, Seed};
use keepalived::config::{self, Severity, SourceOptions};
use keepalived::director::Pool;
use keepalived::ipvs::wire::Op;

/// Carries out the pool's effects like the director, recording the IPVS operations.
struct Live {
    pool: Pool,
    ops: Arc<Mutex<Vec<Op>>>,
}

impl Live {
    fn take(&mut self, fx: keepalived::director::Effects) {
        fx.announce();
        self.ops.lock().unwrap().extend(fx.ops);
    }
}

impl Health for Live {
    fn set_alive(&mut self, vs: usize, rs: usize, alive: bool) {
        let fx = self.pool.set_alive(vs, rs, alive);
        self.take(fx);
    }
    fn set_weight(&mut self, vs: usize, rs: usize, weight: u32) {
        let fx = self.pool.set_weight(vs, rs, weight);
        self.take(fx);
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kard-scripts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_script(path: &Path, body: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(String::from).collect()
}

/// Wait until `cond` holds, polling every 20 ms; false after `limit`.
async fn until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < end {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

fn weights_of(ops: &[Op]) -> Vec<(String, Option<u32>)> {
    ops.iter()
        .filter_map(|op| match op {
            Op::AddDest(_, d) => Some((format!("add {}", d.addr), Some(d.weight))),
            Op::EditDest(_, d) => Some((format!("edit {}", d.addr), Some(d.weight))),
            Op::DelDest(_, d) => Some((format!("del {}", d.addr), None)),
            _ => None,
        })
        .collect()
}

/// Real server A (weight 5, misc_dynamic) and B (weight 2) under quorum 6. A's script exits
/// with the code in `code`: 10 (weight 8), then 1 (down: quorum lost), then 0 (back at its
/// configured weight 5: quorum regained). Then B goes down: its notify_down is not executable,
/// which must not disturb anything else.
#[tokio::test]
async fn dynamic_weight_and_notify_scripts_end_to_end() {
    let dir = scratch("e2e");
    let code = dir.join("code.A");
    let code_b = dir.join("code.B");
    let notes = dir.join("notes");
    std::fs::write(&code, "10\n").unwrap();
    std::fs::write(&code_b, "0\n").unwrap();
    write_script(&dir.join("misc.sh"), &format!("exit $(cat {}/code.$1)", dir.display()), 0o755);
    write_script(&dir.join("note.sh"), &format!("echo \"$#:$*\" >> {}", notes.display()), 0o755);
    write_script(&dir.join("noexec.sh"), "exit 0", 0o644);
    let d = dir.display();
    let text = format!(
        "virtual_server 10.9.9.9 80 {{\n delay_loop 1\n lb_algo wrr\n lb_kind NAT\n protocol TCP\n quorum 6\n\
         quorum_up \"{d}/note.sh QUP 'two words'\"\n quorum_down \"{d}/note.sh QDOWN\"\n\
         real_server 10.0.1.2 80 {{\n weight 5\n notify_up \"{d}/note.sh UP_A\"\n notify_down \"{d}/note.sh DOWN_A\"\n\
         MISC_CHECK {{\n misc_path \"{d}/misc.sh A\"\n misc_dynamic\n warmup 0\n }}\n }}\n\
         real_server 10.0.2.2 80 {{\n weight 2\n notify_down \"{d}/noexec.sh\"\n\
         MISC_CHECK {{\n misc_path \"{d}/misc.sh B\"\n warmup 0\n }}\n }}\n}}\n"
    );
    let (cfg, diags) = config::load_str("scripts.conf", &text, &SourceOptions::default());
    let fatal: Vec<_> = diags.list.iter().filter(|d| d.severity == Severity::Fatal).map(|d| d.to_string()).collect();
    assert!(fatal.is_empty(), "{fatal:?}");

    let ops = Arc::new(Mutex::new(Vec::new()));
    let (pool, start) = Pool::new(&cfg);
    let mut live = Live { pool, ops: ops.clone() };
    let notes2 = notes.clone();
    let ops2 = ops.clone();
    let scenario = async move {
        start.announce();
        let n = |want: &[&str]| {
            let l = lines(&notes2);
            want.iter().all(|w| l.iter().any(|x| x == w))
        };
        let ok = until(Duration::from_secs(5), || n(&["2:QUP two words"])).await;
        assert!(ok, "quorum_up at start: {:?}", lines(&notes2));
        // Exit 10: weight 8, one edit, no script.
        let ok = until(Duration::from_secs(5), || !ops2.lock().unwrap().is_empty()).await;
        assert!(ok, "no weight edit");
        assert_eq!(weights_of(&ops2.lock().unwrap()), [("edit 10.0.1.2".into(), Some(8))]);
        std::fs::write(&code, "1\n").unwrap();
        let ok = until(Duration::from_secs(5), || n(&["1:DOWN_A", "1:QDOWN"])).await;
        assert!(ok, "notify_down and quorum_down: {:?}", lines(&notes2));
        std::fs::write(&code, "0\n").unwrap();
        let ok = until(Duration::from_secs(5), || n(&["1:UP_A"]) && lines(&notes2).len() >= 5).await;
        assert!(ok, "notify_up and quorum_up: {:?}", lines(&notes2));
        // B down: its notify_down cannot run; quorum (5 < 6) is lost all the same.
        std::fs::write(&code_b, "1\n").unwrap();
        let ok = until(Duration::from_secs(5), || lines(&notes2).len() >= 6).await;
        assert!(ok, "quorum_down after B: {:?}", lines(&notes2));
    };
    engine::run(engine::specs(&cfg), &mut live, scenario, Seed::new(1)).await;
    let mut got = lines(&notes);
    assert_eq!(got.remove(0), "2:QUP two words");
    got.sort();
    assert_eq!(got, ["1:DOWN_A", "1:QDOWN", "1:QDOWN", "1:UP_A", "2:QUP two words"]);
    assert_eq!(
        weights_of(&ops.lock().unwrap()),
        [
            ("edit 10.0.1.2".into(), Some(8)),
            ("del 10.0.1.2".into(), None),
            // Exit 0 restored the configured weight before the server came back: one add.
            ("add 10.0.1.2".into(), Some(5)),
            ("del 10.0.2.2".into(), None),
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
