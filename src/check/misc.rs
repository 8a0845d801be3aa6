//! MISC_CHECK: run a script per check. Exit 0 = success, 1 = failure; with `misc_dynamic`,
//! 2..=255 is a success that asks for weight `code - 2`. A script still running after
//! `misc_timeout` gets SIGTERM, then SIGKILL 2 s later, and counts as a failure.
//!
//! misc_dynamic as 2.2.7 does it (measured in the VM): the checker's offset from the real
//! server's configured weight is `code - 2 - weight`, and the offsets of all the server's
//! dynamic checkers add up (two checkers exiting 12 and 7 on a weight-3 server: 3 + 7 + 2 = 12).
//! Exit 0 sets the offset back to 0 (the configured weight); a failure leaves it as it was.
//! Without misc_dynamic, 2..=255 are failures ("exited with status 10").

use std::process::ExitStatus;
use std::time::Duration;

use log::{info, warn};
use tokio::process::Child;

use super::engine::{Probe, ProbeFuture};
use crate::config::checker::MiscCheck;
use crate::config::script::Script;

/// keepalived's grace period between SIGTERM and SIGKILL for a timed-out script.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// What one script run said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// misc_dynamic: success with this weight.
    Weight(u32),
    Failure(Option<i32>),
    TimedOut,
}

impl Outcome {
    pub fn ok(self) -> bool {
        matches!(self, Outcome::Success | Outcome::Weight(_))
    }
}

/// Interpret an exit status as keepalived does.
pub fn outcome(status: ExitStatus, dynamic: bool) -> Outcome {
    match status.code() {
        Some(0) => Outcome::Success,
        Some(c @ 2..=255) if dynamic => Outcome::Weight((c - 2) as u32),
        c => Outcome::Failure(c),
    }
}

pub struct MiscProbe {
    script: Script,
    timeout: Duration,
    dynamic: bool,
    /// misc_dynamic: the weight the last dynamic success asked for; None after exit 0.
    weight: Option<u32>,
    /// `[rs]:proto:port VS [vs]:proto:port`, as 2.2.7 names the check.
    target: String,
    retry: u32,
    last: Outcome,
}

impl MiscProbe {
    /// None when there is nothing keepalived would run (no path, or the script is disabled).
    pub fn new(m: &MiscCheck, target: String, retry: u32) -> Option<Self> {
        let s = m.path.as_ref()?;
        if s.disabled || s.argv.is_empty() {
            return None;
        }
        Some(MiscProbe {
            script: s.clone(),
            timeout: m.timeout,
            dynamic: m.dynamic,
            weight: None,
            target,
            retry,
            last: Outcome::Success,
        })
    }

    fn label(&self) -> String {
        self.script.argv.join(" ")
    }

    fn spawn(&self) -> std::io::Result<Child> {
        let mut cmd = crate::exec::command(&self.script, &[])
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "script disabled"))?;
        // Its own process group, so a timeout kills whatever the script started too.
        cmd.kill_on_drop(true).process_group(0);
        cmd.spawn()
    }

    /// Record a result's effect on the dynamic weight: exit 0 goes back to the configured
    /// weight, 2..=255 asks for `code - 2`, a failure changes nothing.
    fn note_weight(&mut self, o: Outcome) {
        match o {
            Outcome::Success => self.weight = None,
            Outcome::Weight(w) => self.weight = Some(w),
            Outcome::Failure(_) | Outcome::TimedOut => {}
        }
    }

    pub async fn run_once(&self) -> Outcome {
        let mut child = match self.spawn() {
            Ok(c) => c,
            Err(e) => {
                warn!("Misc check for [{}]: cannot run it: {e}", self.label());
                return Outcome::Failure(None);
            }
        };
        match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(Ok(st)) => outcome(st, self.dynamic),
            Ok(Err(_)) => Outcome::Failure(None),
            Err(_) => {
                info!("Misc check for [{}] timed out", self.label());
                terminate(&mut child).await;
                Outcome::TimedOut
            }
        }
    }
}

/// SIGTERM to the script's process group, SIGKILL after the grace period.
async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        // SAFETY: kill has no memory preconditions; the negative pid is the group we created.
        unsafe { libc::kill(-(pid as i32), libc::SIGTERM) };
    }
    if tokio::time::timeout(KILL_GRACE, child.wait()).await.is_err() {
        if let Some(pid) = child.id() {
            // SAFETY: as above.
            unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
        }
        let _ = child.wait().await;
    }
}

impl Probe for MiscProbe {
    fn check(&mut self) -> ProbeFuture<'_> {
        Box::pin(async move {
            let o = self.run_once().await;
            self.last = o;
            self.note_weight(o);
            if let Outcome::Failure(Some(c)) = o {
                log::debug!("Misc check for [{}] exited with status {c}", self.label());
            }
            o.ok()
        })
    }

    fn weight_offset(&self, configured: u32) -> i64 {
        match self.weight {
            Some(w) if self.dynamic => i64::from(w) - i64::from(configured),
            _ => 0,
        }
    }

    fn log_up(&self) {
        info!("Misc check for [{}] by [{}] succeeded.", self.target, self.label());
    }

    fn log_down(&self, _retries: u32, _first: bool) {
        let (t, s, r) = (&self.target, self.label(), self.retry);
        if self.last == Outcome::TimedOut {
            // Seen from 2.2.7: "timed out after 1 retry."
            match r {
                0 => info!("Misc check for [{t}] by [{s}] timed out with retry disabled."),
                1 => info!("Misc check for [{t}] by [{s}] timed out after 1 retry."),
                _ => info!("Misc check for [{t}] by [{s}] timed out after {r} retries."),
            }
            return;
        }
        let why = match self.last {
            Outcome::Failure(Some(c)) => format!("exited with status {c}"),
            _ => "could not be run".into(),
        };
        if self.retry == 0 {
            info!("Misc check for [{}] by [{}] failed with retry disabled ({why}).", self.target, self.label());
        } else {
            info!(
                "Misc check for [{}] by [{}] failed after {} retries ({why}).",
                self.target,
                self.label(),
                self.retry
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn exit_codes() {
        let code = |c: i32| ExitStatus::from_raw(c << 8);
        assert_eq!(outcome(code(0), false), Outcome::Success);
        assert_eq!(outcome(code(1), false), Outcome::Failure(Some(1)));
        assert_eq!(outcome(code(12), false), Outcome::Failure(Some(12)));
        assert_eq!(outcome(code(1), true), Outcome::Failure(Some(1)));
        assert_eq!(outcome(code(2), true), Outcome::Weight(0));
        assert_eq!(outcome(code(255), true), Outcome::Weight(253));
        assert_eq!(outcome(ExitStatus::from_raw(libc::SIGKILL), true), Outcome::Failure(None));
    }

    #[test]
    fn nothing_to_run() {
        assert!(MiscProbe::new(&MiscCheck::default(), String::new(), 0).is_none());
        let disabled = Script { argv: vec!["/bin/true".into()], disabled: true, ..Default::default() };
        let m = MiscCheck { path: Some(disabled), ..Default::default() };
        assert!(MiscProbe::new(&m, String::new(), 0).is_none());
    }

    fn probe(argv: &[&str], dynamic: bool) -> MiscProbe {
        let script = Script { argv: argv.iter().map(|s| s.to_string()).collect(), ..Default::default() };
        let m = MiscCheck { path: Some(script), timeout: Duration::from_secs(5), timeout_set: None, dynamic };
        MiscProbe::new(&m, "t".into(), 0).unwrap()
    }

    /// Exit 0 means the configured weight, 2..=255 a weight of code - 2, a failure keeps the
    /// last weight asked for; without misc_dynamic the weight never moves.
    #[test]
    fn dynamic_weight_offsets() {
        let mut p = probe(&["/bin/true"], true);
        assert_eq!(p.weight_offset(5), 0);
        p.note_weight(Outcome::Weight(8));
        assert_eq!(p.weight_offset(5), 3);
        assert_eq!(p.weight_offset(10), -2);
        p.note_weight(Outcome::Failure(Some(1)));
        p.note_weight(Outcome::TimedOut);
        assert_eq!(p.weight_offset(5), 3, "a failure keeps the weight");
        p.note_weight(Outcome::Success);
        assert_eq!(p.weight_offset(5), 0, "exit 0 goes back to the configured weight");
        let mut p = probe(&["/bin/true"], false);
        p.note_weight(Outcome::Weight(8));
        assert_eq!(p.weight_offset(5), 0);
    }

    #[tokio::test]
    async fn exit_codes_of_real_scripts() {
        let sh = |code: &str| probe(&["/bin/sh", "-c", &format!("exit {code}")], true);
        assert_eq!(sh("0").run_once().await, Outcome::Success);
        assert_eq!(sh("1").run_once().await, Outcome::Failure(Some(1)));
        assert_eq!(sh("10").run_once().await, Outcome::Weight(8));
        assert_eq!(sh("255").run_once().await, Outcome::Weight(253));
        // The shell cannot exit 256+: it wraps to 0..=255, as any process's status.
        assert_eq!(sh("258").run_once().await, Outcome::Weight(0));
        let plain = probe(&["/bin/sh", "-c", "exit 10"], false);
        assert_eq!(plain.run_once().await, Outcome::Failure(Some(10)), "status 10 fails without misc_dynamic");
        let killed = probe(&["/bin/sh", "-c", "kill -9 $$"], true);
        assert_eq!(killed.run_once().await, Outcome::Failure(None), "killed by a signal");
    }

    #[tokio::test]
    async fn missing_or_not_executable_script_fails_the_check() {
        assert_eq!(probe(&["/nonexistent/kard-misc"], true).run_once().await, Outcome::Failure(None));
        use std::os::unix::fs::PermissionsExt;
        let f = std::env::temp_dir().join(format!("kard-misc-nx-{}", std::process::id()));
        std::fs::write(&f, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut p = probe(&[f.to_str().unwrap()], true);
        assert!(!p.check().await);
        assert_eq!(p.weight_offset(1), 0);
        std::fs::remove_file(&f).unwrap();
    }
}
