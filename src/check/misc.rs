//! MISC_CHECK: run a script per check. Exit 0 = success, 1 = failure; with `misc_dynamic`,
//! 2..=255 is a success that asks for weight `code - 2`. A script still running after
//! `misc_timeout` gets SIGTERM, then SIGKILL 2 s later, and counts as a failure.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use log::{info, warn};
use tokio::process::{Child, Command};

use super::engine::{Probe, ProbeFuture};
use crate::config::checker::MiscCheck;

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
    argv: Vec<String>,
    program: String,
    uid: Option<u32>,
    gid: Option<u32>,
    timeout: Duration,
    dynamic: bool,
    last_weight: Option<u32>,
    /// `[rs]:proto:port VS [vs]:proto:port`, as 2.2.7 names the check.
    target: String,
    retry: u32,
    last: Outcome,
}

impl MiscProbe {
    /// None when there is nothing keepalived would run (no path, or the script is disabled).
    pub fn new(m: &MiscCheck, target: String, retry: u32) -> Option<Self> {
        let s = m.path.as_ref()?;
        if s.disabled {
            return None;
        }
        let first = s.argv.first()?;
        let program = s.path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| first.clone());
        Some(MiscProbe {
            argv: s.argv.clone(),
            program,
            uid: s.uid,
            gid: s.gid,
            timeout: m.timeout,
            dynamic: m.dynamic,
            last_weight: None,
            target,
            retry,
            last: Outcome::Success,
        })
    }

    fn label(&self) -> String {
        self.argv.join(" ")
    }

    fn spawn(&self) -> std::io::Result<Child> {
        let mut cmd = Command::new(&self.program);
        cmd.args(self.argv.iter().skip(1)).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        cmd.kill_on_drop(true).process_group(0);
        // Switch user only when it differs: a non-root daemon can still run its own scripts.
        // SAFETY: getegid/geteuid have no preconditions.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        if let Some(g) = self.gid
            && g != egid
        {
            cmd.gid(g);
        }
        if let Some(u) = self.uid
            && u != euid
        {
            cmd.uid(u);
        }
        cmd.spawn()
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
            if let Outcome::Weight(w) = o
                && self.last_weight != Some(w)
            {
                // Weight changes need a director weight API; logged until it exists.
                info!("Misc check for [{}] asks for weight {w}", self.label());
                self.last_weight = Some(w);
            }
            if let Outcome::Failure(Some(c)) = o {
                log::debug!("Misc check for [{}] exited with status {c}", self.label());
            }
            o.ok()
        })
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
    }
}
