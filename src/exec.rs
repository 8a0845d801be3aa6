//! Running configured scripts (notify scripts, quorum scripts, MISC_CHECK): one place that turns
//! a [`Script`] into a child process, so every subsystem runs them the same way.
//!
//! keepalived runs notify scripts asynchronously and never waits for them; a reaper task
//! collects each exit status so no zombie is left. A MISC_CHECK waits for its script with a
//! timeout and needs the child itself: it uses [`command`].

use std::process::Stdio;

use log::warn;
use tokio::process::Command;

use crate::config::script::Script;

/// The command for `s` with `extra` arguments appended, or None when keepalived would not run
/// it (disabled by the config checks, or no command at all). Standard streams go to /dev/null.
pub fn command(s: &Script, extra: &[&str]) -> Option<Command> {
    if s.disabled {
        return None;
    }
    let first = s.argv.first()?;
    // The file the config checks resolved, else the word as written (PATH lookup).
    let program = s.path.as_ref().map(|p| p.as_os_str().to_owned()).unwrap_or_else(|| first.into());
    let mut cmd = Command::new(program);
    cmd.args(s.argv.iter().skip(1)).args(extra);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    // Switch user only when it differs: a non-root daemon can still run its own scripts.
    // SAFETY: getegid/geteuid have no preconditions.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if let Some(g) = s.gid
        && g != egid
    {
        cmd.gid(g);
    }
    if let Some(u) = s.uid
        && u != euid
    {
        cmd.uid(u);
    }
    Some(cmd)
}

/// Start `s` without waiting for it. Must be called inside a tokio runtime. Returns whether a
/// process was started; a failure to start is logged.
pub fn spawn(s: &Script, extra: &[&str]) -> bool {
    let Some(mut cmd) = command(s, extra) else { return false };
    match cmd.spawn() {
        Ok(mut child) => {
            tokio::spawn(async move {
                let _ = child.wait().await;
            });
            true
        }
        Err(e) => {
            warn!("Unable to run script {}: {e}", s.display());
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    fn script(argv: &[&str]) -> Script {
        Script { argv: argv.iter().map(|s| s.to_string()).collect(), ..Default::default() }
    }

    async fn wait_for(path: &std::path::Path) -> Option<String> {
        for _ in 0..200 {
            if let Ok(s) = std::fs::read_to_string(path)
                && s.ends_with('\n')
            {
                return Some(s);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    #[tokio::test]
    async fn runs_with_configured_and_extra_arguments() {
        let dir = std::env::temp_dir().join(format!("kard-exec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let sh = dir.join("s.sh");
        std::fs::write(&sh, format!("#!/bin/sh\necho \"$#:$*\" > {}\n", out.display())).unwrap();
        std::fs::set_permissions(&sh, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(spawn(&script(&[sh.to_str().unwrap(), "a b", "c"]), &["X"]));
        assert_eq!(wait_for(&out).await.as_deref(), Some("3:a b c X\n"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn missing_or_disabled_scripts_do_not_run() {
        assert!(!spawn(&script(&["/nonexistent/kard-script"]), &[]));
        let mut s = script(&["/bin/true"]);
        s.disabled = true;
        assert!(command(&s, &[]).is_none());
        assert!(command(&Script::default(), &[]).is_none(), "no command at all");
    }

    #[tokio::test]
    async fn not_executable_is_a_failure_to_start() {
        let dir = std::env::temp_dir().join(format!("kard-exec-nx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sh = dir.join("s.sh");
        std::fs::write(&sh, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&sh, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(!spawn(&script(&[sh.to_str().unwrap()]), &[]));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
