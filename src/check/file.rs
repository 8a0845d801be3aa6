//! FILE_CHECK: a real server follows the number written in a root `track_file`'s file.
//!
//! keepalived 2.2.7 (man5 "Track files", and its checker's track-file code):
//! * The file is read by the same rules as VRRP's track files ([`trackfile::read`]: C `strtol`
//!   base 0, missing or empty is 0, an out-of-range number is logged and the previous value
//!   kept), as keepalived shares that code between its VRRP and checker processes.
//! * The multiplier is FILE_CHECK's `weight` if set, else the `track_file`'s (with its
//!   `reverse`). Weight 0: a non-zero value is a FAULT (with `reverse`, a zero value is).
//!   Otherwise `value * weight` (negated by `reverse`, clamped to i32) is added to the real
//!   server's weight, and a result <= -2^31 is a FAULT.
//! * A FAULT takes the real server down and its weight contribution back to 0.
//!
//! keepalived reacts to inotify events at once; this probe is polled by the engine every second
//! (`schedule`), so a change takes effect within about a second.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use log::info;

use super::engine::{Probe, ProbeFuture};
use crate::config::checker::{Checker, CheckerKind, FileCheck};
use crate::config::vrrp::TrackFile;
use crate::vrrp::trackfile::{self, Reading};

/// How often the file is read.
pub const POLL: Duration = Duration::from_secs(1);

pub struct FileProbe {
    /// The track_file's name (keepalived's log lines name it, not the path).
    name: String,
    path: PathBuf,
    weight: i64,
    reverse: bool,
    label: String,
    /// The last valid value read (keepalived's `last_status`).
    value: i64,
}

impl FileProbe {
    /// The probe for `f` following `tf`; `label` names the real server as keepalived does.
    /// Applies the track_file's `init_file` first.
    pub fn new(f: &FileCheck, tf: &TrackFile, label: String) -> Option<Self> {
        let path = PathBuf::from(tf.file.as_ref()?);
        if let Some((value, overwrite)) = tf.init_file
            && let Err(e) = trackfile::init(&path, value, overwrite)
        {
            info!("Unable to initialise track file {} - {e}", path.display());
        }
        let (weight, reverse) = if f.weight != 0 { (f.weight, f.reverse) } else { (tf.weight, tf.weight_reverse) };
        Some(FileProbe { name: tf.name.clone(), path, weight: i64::from(weight), reverse, label, value: 0 })
    }

    /// Read the file into `value`, keeping the old value when the content is out of range.
    fn read(&mut self) {
        match trackfile::read(&self.path) {
            Reading::Value(v) => self.value = i64::from(v),
            Reading::Invalid(v) => info!("Invalid number {v} read from {} - ignoring", self.path.display()),
        }
    }

    /// The real server's weight change for `value`, None for a FAULT.
    pub fn status(&self) -> Option<i64> {
        status(self.value, self.weight, self.reverse)
    }
}

/// `value` through `weight`/`reverse`: Some(weight change), or None for a FAULT.
fn status(value: i64, weight: i64, reverse: bool) -> Option<i64> {
    if weight == 0 {
        return if (value != 0) != reverse { None } else { Some(0) };
    }
    let mult = if reverse { -weight } else { weight };
    let w = value.saturating_mul(mult).clamp(i64::from(i32::MIN), i64::from(i32::MAX));
    if w <= i64::from(i32::MIN) { None } else { Some(w) }
}

/// FILE_CHECK's schedule: a check every [`POLL`], no retry, no warmup spread (keepalived knows
/// the file's state at once). Other checkers are returned as they are.
pub fn schedule(c: &Checker) -> Cow<'_, Checker> {
    if !matches!(c.kind, CheckerKind::File(_)) {
        return Cow::Borrowed(c);
    }
    let mut c = c.clone();
    c.delay_loop = POLL;
    c.delay_before_retry = POLL;
    c.retry = 0;
    c.warmup = Duration::ZERO;
    Cow::Owned(c)
}

impl Probe for FileProbe {
    fn check(&mut self) -> ProbeFuture<'_> {
        Box::pin(async move {
            self.read();
            self.status().is_some()
        })
    }

    /// keepalived drops a FAULT file's contribution and restores it when the fault clears.
    fn weight_offset(&self, _configured: u32) -> i64 {
        self.status().unwrap_or(0)
    }

    fn log_first_up(&self) {}

    fn log_up(&self) {
        info!("({}): tracked file {} leaving FAULT state", self.label, self.name);
    }

    fn log_down(&self, _retries: u32, _first: bool) {
        info!("({}): tracked file {} now FAULT state", self.label, self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kard-file-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn track(path: &Path, weight: i32, reverse: bool, init: Option<(i64, bool)>) -> TrackFile {
        TrackFile {
            name: "tf".into(),
            pos: crate::config::Pos::none(),
            file: Some(path.to_string_lossy().into_owned()),
            weight,
            weight_reverse: reverse,
            init_file: init,
            removed: false,
        }
    }

    fn fc(weight: i32, reverse: bool) -> FileCheck {
        FileCheck { track_file: Some("tf".into()), weight, reverse }
    }

    #[test]
    fn status_by_weight() {
        // Weight 0: non-zero is a fault, reverse flips it.
        assert_eq!(status(0, 0, false), Some(0));
        assert_eq!(status(3, 0, false), None);
        assert_eq!(status(0, 0, true), None);
        assert_eq!(status(-1, 0, true), Some(0));
        // value * weight, negated by reverse, clamped; <= i32::MIN is a fault.
        assert_eq!(status(5, 2, false), Some(10));
        assert_eq!(status(5, 2, true), Some(-10));
        assert_eq!(status(-3, 4, false), Some(-12));
        assert_eq!(status(i64::from(i32::MAX), 2, false), Some(i64::from(i32::MAX)));
        assert_eq!(status(i64::from(i32::MIN), 1, false), None);
        assert_eq!(status(-2_000_000_000, 2, false), None);
        assert_eq!(status(2_000_000_000, 2, true), None);
    }

    /// The probe keeps its last valid value over an out-of-range one; 2^31 wraps to a FAULT.
    #[tokio::test]
    async fn probe_keeps_the_last_valid_value() {
        let d = scratch("values");
        let p = d.join("v");
        let mut probe = FileProbe::new(&fc(0, false), &track(&p, 1, false, None), "rs".into()).unwrap();
        for (text, value) in [("", 0), ("12\n", 12), ("2147483649", 12), ("-7", -7), ("2147483648", -(1 << 31))] {
            std::fs::write(&p, text).unwrap();
            let ok = probe.check().await;
            assert_eq!(probe.value, value, "{text:?}");
            assert_eq!(ok, value > i64::from(i32::MIN), "{text:?}");
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[tokio::test]
    async fn probe_follows_the_file() {
        let d = scratch("probe");
        let p = d.join("state");
        // FILE_CHECK without a weight uses the track_file's (3, not reversed).
        let mut probe = FileProbe::new(&fc(0, false), &track(&p, 3, false, None), "[10.0.0.2]:tcp:80".into()).unwrap();
        assert!(probe.check().await, "missing file = 0 = ok");
        assert_eq!(probe.weight_offset(1), 0);
        std::fs::write(&p, "4\n").unwrap();
        assert!(probe.check().await);
        assert_eq!(probe.weight_offset(1), 12);
        std::fs::write(&p, "-2").unwrap();
        assert!(probe.check().await);
        assert_eq!(probe.weight_offset(1), -6);
        // Out of range: ignored, the previous value stays.
        std::fs::write(&p, "5000000000").unwrap();
        assert!(probe.check().await);
        assert_eq!(probe.weight_offset(1), -6);
        std::fs::write(&p, "-2147483648").unwrap();
        assert!(!probe.check().await, "-2^31 * 3 is a fault");
        assert_eq!(probe.weight_offset(1), 0, "a fault contributes nothing");
        std::fs::remove_file(&p).unwrap();
        assert!(probe.check().await, "deleted = 0");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[tokio::test]
    async fn checker_weight_and_reverse_override_the_track_files() {
        let d = scratch("override");
        let p = d.join("state");
        std::fs::write(&p, "1").unwrap();
        let mut probe = FileProbe::new(&fc(5, true), &track(&p, 2, false, None), "rs".into()).unwrap();
        assert!(probe.check().await);
        assert_eq!(probe.weight_offset(0), -5);
        // Weight 0 on the track_file and none on the checker: a non-zero value is a fault.
        let mut probe = FileProbe::new(&fc(0, false), &track(&p, 0, false, None), "rs".into()).unwrap();
        assert!(!probe.check().await);
        std::fs::write(&p, "0").unwrap();
        assert!(probe.check().await);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn init_file_writes_unless_present() {
        let d = scratch("init");
        let p = d.join("state");
        FileProbe::new(&fc(0, false), &track(&p, 1, false, Some((7, false))), "rs".into()).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "7\n");
        std::fs::write(&p, "3").unwrap();
        FileProbe::new(&fc(0, false), &track(&p, 1, false, Some((7, false))), "rs".into()).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "3", "kept without overwrite");
        FileProbe::new(&fc(0, false), &track(&p, 1, false, Some((-1, true))), "rs".into()).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "-1\n");
        let no_file = TrackFile { file: None, ..track(&p, 1, false, None) };
        assert!(FileProbe::new(&fc(0, false), &no_file, "rs".into()).is_none());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn schedule_polls_file_checkers_only() {
        let cfg = crate::config::load_str(
            "t.conf",
            "track_file tf {\n file /tmp/x\n}\nvirtual_server 10.0.0.1 80 {\n delay_loop 30\n \
             real_server 10.0.0.2 80 {\n FILE_CHECK {\n track_file tf\n }\n TCP_CHECK {\n }\n }\n}\n",
            &Default::default(),
        )
        .0;
        let cs = &cfg.lvs.virtual_servers[0].real_servers[0].checkers;
        let f = schedule(&cs[0]);
        assert_eq!((f.delay_loop, f.retry, f.warmup), (POLL, 0, Duration::ZERO));
        assert!(matches!(schedule(&cs[1]), Cow::Borrowed(_)));
        assert_eq!(schedule(&cs[1]).delay_loop, Duration::from_secs(30));
    }

    /// Records the engine's calls as text: "up"/"down", "weight N".
    struct Rec(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl crate::check::engine::Health for Rec {
        fn set_alive(&mut self, _vs: usize, _rs: usize, alive: bool) {
            self.0.lock().unwrap().push(if alive { "up" } else { "down" }.into());
        }
        fn set_weight(&mut self, _vs: usize, _rs: usize, weight: u32) {
            self.0.lock().unwrap().push(format!("weight {weight}"));
        }
    }

    /// Runs the FILE_CHECK config `text` (its file at `p`) through the engine: after a first
    /// poll, writes each of `values` and waits for the engine's next call; returns the calls.
    async fn through_engine(text: &str, p: &Path, values: &[&str]) -> Vec<String> {
        use crate::check::engine;
        let cfg = crate::config::load_str("t.conf", text, &Default::default()).0;
        let specs = engine::specs(&cfg);
        assert_eq!(specs.len(), 1);
        let ev = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut rec = Rec(ev.clone());
        let scenario = {
            let ev = ev.clone();
            let p = p.to_path_buf();
            let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            async move {
                tokio::time::sleep(Duration::from_millis(1200)).await;
                let mut n = ev.lock().unwrap().len();
                for v in values {
                    std::fs::write(&p, v).unwrap();
                    let end = tokio::time::Instant::now() + Duration::from_secs(4);
                    while ev.lock().unwrap().len() <= n && tokio::time::Instant::now() < end {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    n = ev.lock().unwrap().len();
                }
            }
        };
        engine::run(specs, &mut rec, scenario, engine::Seed::new(1)).await;
        ev.lock().unwrap().clone()
    }

    /// Through the engine: writing a fault value takes the real server down within a poll,
    /// clearing it brings it back; with weight 0 the weight never moves.
    #[tokio::test]
    async fn engine_follows_the_file() {
        let d = scratch("engine");
        let p = d.join("state");
        let text = format!(
            "track_file tf {{\n file {}\n weight 0\n init_file 0 overwrite\n}}\nvirtual_server 10.0.0.1 80 {{\n \
             delay_loop 30\n real_server 10.0.0.2 80 {{\n FILE_CHECK {{\n track_file tf\n }}\n }}\n}}\n",
            p.display()
        );
        let calls = through_engine(&text, &p, &["1\n", "0\n"]).await;
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "0\n");
        assert_eq!(calls, ["down", "up"]);
        let _ = std::fs::remove_dir_all(&d);
    }

    /// A weighted FILE_CHECK moves the real server's weight by value x weight (here 1 + 5 x 2),
    /// back to the configured weight at 0, and a FAULT (value x weight <= -2^31) takes it down.
    #[tokio::test]
    async fn engine_moves_the_weight() {
        let d = scratch("weight");
        let p = d.join("state");
        let text = format!(
            "track_file tf {{\n file {}\n weight 2\n init_file 0 overwrite\n}}\nvirtual_server 10.0.0.1 80 {{\n \
             delay_loop 30\n real_server 10.0.0.2 80 {{\n weight 1\n FILE_CHECK {{\n track_file tf\n }}\n }}\n}}\n",
            p.display()
        );
        let calls = through_engine(&text, &p, &["5\n", "0\n", "-1073741824\n"]).await;
        assert_eq!(calls, ["weight 11", "weight 1", "down"]);
        let _ = std::fs::remove_dir_all(&d);
    }
}
