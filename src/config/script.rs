//! Script-valued keywords (`script`, `notify*`, `misc_path`, `quorum_up`, ...): shell-style
//! tokenizing, the script user, and keepalived's script-security checks.
//!
//! API used by every section: [`parse`] turns a script keyword's node into a [`Script`];
//! [`finish`] runs keepalived's end-of-parse checks over every script in the config
//! (`SECURITY VIOLATION ...`, missing/unsafe files, unknown users).
//!
//! keepalived 2.2.7's rules, as measured with `keepalived -t`:
//! - the script user is the explicit `[user [group]]`, else `script_user`, else
//!   `keepalived_script` if it exists, else root - but with `enable_script_security` there is no
//!   fallback to root (#2184): "Unable to set default user keepalived_script for script" (exit 5);
//! - a script that is found makes `-t` exit 6 unless `enable_script_security` is set;
//! - with script security, scripts that others could modify are disabled;
//! - a missing or insecure *track* script is a config error; a missing notify script is silently
//!   dropped (keepalived logs it only).

use std::fmt::Write;
use std::path::PathBuf;

use super::global::GlobalDefs;
use super::system;
use super::tree::{Ctx, Node};
use super::{Config, Pos};

/// The user scripts run as when none is configured and the user exists.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// A command to run, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    pub pos: Option<Pos>,
    /// The command and its arguments after keepalived's quoting and escape rules.
    pub argv: Vec<String>,
    /// `[username [groupname]]` written after the command, if the keyword allows it.
    pub user: Option<String>,
    pub group: Option<String>,
    /// Resolved by [`finish`]: who runs it.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Resolved by [`finish`]: the file `argv[0]` names (canonical path).
    pub path: Option<PathBuf>,
    /// Others could modify the file.
    pub insecure: bool,
    /// keepalived would not run it (user unknown, file missing, or insecure under script security).
    pub disabled: bool,
}

impl Script {
    /// keepalived's dump form: `'/usr/bin/echo' 'hi'`.
    pub fn display(&self) -> String {
        let mut s = String::new();
        for (i, a) in self.argv.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            if i == 0
                && let Some(p) = &self.path
            {
                let _ = write!(s, "'{}'", p.display());
                continue;
            }
            let _ = write!(s, "'{a}'");
        }
        if let (Some(u), Some(g)) = (self.uid, self.gid) {
            let _ = write!(s, ", uid:gid {u}:{g}");
        }
        s
    }
}

/// Whether `[username [groupname]]` may follow the command on the same line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserArgs {
    Allowed,
    NotAllowed,
}

/// Parse the script given after `n`'s keyword. Reports problems to `ctx`; `None` when unusable.
pub fn parse(n: &Node, ctx: &mut Ctx<'_>, user: UserArgs) -> Option<Script> {
    // keepalived re-reads the raw line for scripts: an unterminated quote (whose word the plain
    // tokenizer drops) is a config error there, only a line with no text at all is fatal.
    if n.rest_text().is_empty() {
        ctx.need(n, 1)?;
    }
    let words = match super::lexer::tokenize_shell(n.rest_text()) {
        Ok(w) => w,
        Err(_) => {
            ctx.error(n.pos(), format!("{}: unmatched quote in command (missing terminating quote)", n.keyword()));
            return None;
        }
    };
    let cmd = words.first()?;
    // The first word is the whole command; it is split again into the program and its arguments.
    let argv = match super::lexer::tokenize_shell(cmd) {
        Ok(a) if !a.is_empty() => a,
        _ => {
            ctx.error(n.pos(), format!("{}: empty or malformed command '{cmd}'", n.keyword()));
            return None;
        }
    };
    let (u, g) = match user {
        UserArgs::Allowed => (words.get(1).cloned(), words.get(2).cloned()),
        UserArgs::NotAllowed => (None, None),
    };
    Some(Script { pos: Some(n.pos().clone()), argv, user: u, group: g, ..Default::default() })
}

/// How a failing script is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A `vrrp_script`: problems are config errors naming it.
    Track,
    /// notify scripts, FIFO scripts, LVS scripts: problems disable the script quietly.
    Notify,
}

/// The default script user as keepalived computes it: Ok((uid, gid)) or Err(()) when none can be
/// set. `warn_root` is set when keepalived falls back to root with a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultUser {
    Ids(u32, u32),
    /// `keepalived_script` is missing and root is used (script security off).
    RootFallback,
    /// No usable default.
    None,
    /// `script_user` names an unknown user/group (already reported): scripts without their own
    /// user are dropped quietly.
    BadGlobal,
}

pub fn default_user(g: &GlobalDefs) -> DefaultUser {
    if let Some((u, grp, _)) = &g.script_user {
        return match system::user_group_ids(u, grp.as_deref()) {
            Some((uid, gid)) => DefaultUser::Ids(uid, gid),
            None => DefaultUser::BadGlobal,
        };
    }
    match system::user_ids(DEFAULT_SCRIPT_USER) {
        Some((uid, gid)) => DefaultUser::Ids(uid, gid),
        None if g.enable_script_security => DefaultUser::None,
        None => DefaultUser::RootFallback,
    }
}

/// Check `script_user` itself ("Error setting global script uid/gid").
pub fn check_global_user(g: &GlobalDefs, ctx: &mut Ctx<'_>) {
    if let Some((u, grp, pos)) = &g.script_user
        && system::user_group_ids(u, grp.as_deref()).is_none()
    {
        let who = match grp {
            Some(grp) => format!("{u}:{grp}"),
            None => u.clone(),
        };
        ctx.error(pos, format!("Error setting global script uid/gid: unknown user or group '{who}'"));
    }
}

/// Give `s` its uid/gid. Returns false (and reports as keepalived does for `kind`) when no user
/// can be set; the script is then disabled.
pub fn assign_user(s: &mut Script, g: &GlobalDefs, kind: Kind, ctx: &mut Ctx<'_>) -> bool {
    if s.uid.is_some() {
        return true;
    }
    let pos = s.pos.clone().unwrap_or_else(Pos::none);
    if let Some(u) = &s.user {
        match system::user_group_ids(u, s.group.as_deref()) {
            Some((uid, gid)) => {
                s.uid = Some(uid);
                s.gid = Some(gid);
                return true;
            }
            None => {
                let prog = s.argv.first().map(String::as_str).unwrap_or("");
                if kind == Kind::Track {
                    ctx.error(&pos, format!("Unable to set uid/gid for script '{prog}': unknown user/group"));
                } else {
                    ctx.warn(&pos, format!("Invalid user/group for script {prog} - ignoring"));
                }
                s.disabled = true;
                return false;
            }
        }
    }
    match default_user(g) {
        DefaultUser::Ids(uid, gid) => {
            s.uid = Some(uid);
            s.gid = Some(gid);
            true
        }
        DefaultUser::RootFallback => {
            s.uid = Some(0);
            s.gid = Some(0);
            true
        }
        DefaultUser::BadGlobal => {
            s.disabled = true;
            false
        }
        DefaultUser::None => {
            ctx.error(
                &pos,
                format!(
                    "Unable to set default user {DEFAULT_SCRIPT_USER} for script (user does not exist and \
                     enable_script_security forbids running as root; set script_user or a user on the script)"
                ),
            );
            s.disabled = true;
            false
        }
    }
}

/// What checking one script found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    pub found: bool,
    pub insecure: bool,
}

/// Locate the script's file and judge its permissions; disables it when keepalived would.
/// `name` is the vrrp_script name for track scripts.
pub fn check_file(s: &mut Script, g: &GlobalDefs, kind: Kind, name: &str, ctx: &mut Ctx<'_>) -> Flags {
    let mut flags = Flags::default();
    if s.disabled {
        return flags;
    }
    let pos = s.pos.clone().unwrap_or_else(Pos::none);
    let prog = s.argv.first().cloned().unwrap_or_default();
    let Some(path) = system::find_script(&prog) else {
        s.disabled = true;
        match kind {
            Kind::Track => ctx.error(
                &pos,
                format!("Disabling track script {name} since not found/accessible ('{prog}' does not exist)"),
            ),
            Kind::Notify => ctx.warn(&pos, format!("Cannot find script {prog} - disabling")),
        }
        return flags;
    };
    flags.found = true;
    if !prog.contains('/') {
        ctx.warn(
            &pos,
            format!("script `{prog}` resolved by path search to `{}`. Please specify full path.", path.display()),
        );
    }
    if let Some(why) = system::script_insecurity(&path, s.uid.unwrap_or(0)) {
        flags.insecure = true;
        s.insecure = true;
        if g.enable_script_security {
            s.disabled = true;
            match kind {
                Kind::Track => ctx.error(&pos, format!("Disabling track script {name} due to insecure ({why})")),
                Kind::Notify => {
                    ctx.warn(&pos, format!("Unsafe permissions found for script '{prog}': {why} - disabling"))
                }
            }
        }
    }
    s.path = Some(path);
    flags
}

/// keepalived's end-of-parse script checks over the whole config.
pub fn finish(cfg: &mut Config, ctx: &mut Ctx<'_>) {
    let g = cfg.global.clone();
    check_global_user(&g, ctx);
    let mut total = Flags::default();
    let mut root_fallback = false;
    // After a missing interface keepalived stops before its script checks; users are set at
    // parse time, so their errors still show.
    let files = !cfg.vrrp.missing_interface;
    let mut check = |s: &mut Script, kind: Kind, name: &str, ctx: &mut Ctx<'_>| {
        if s.uid.is_none() && s.user.is_none() && !s.disabled && default_user(&g) == DefaultUser::RootFallback {
            root_fallback = true;
        }
        if !s.disabled && assign_user(s, &g, kind, ctx) && files {
            let f = check_file(s, &g, kind, name, ctx);
            total.found |= f.found;
            total.insecure |= f.insecure;
        }
    };
    for s in [&mut cfg.global.startup_script, &mut cfg.global.shutdown_script].into_iter().flatten() {
        check(s, Kind::Notify, "", ctx);
    }
    // keepalived checks the VRRP side's scripts only when it would run a VRRP process: when at
    // least one vrrp_instance block was read (even one later dropped).
    if !cfg.vrrp.instances.is_empty() {
        for f in [&mut cfg.global.notify_fifo, &mut cfg.global.vrrp_notify_fifo] {
            if let Some(s) = &mut f.script {
                check(s, Kind::Notify, "", ctx);
            }
        }
        for vs in cfg.vrrp.scripts.iter_mut().filter(|vs| !vs.removed) {
            if let Some(s) = &mut vs.script {
                check(s, Kind::Track, &vs.name, ctx);
            }
        }
        for s in cfg.vrrp.notify_scripts_mut() {
            check(s, Kind::Notify, "", ctx);
        }
    }
    // lvs_notify_fifo_script belongs to the checker process: the LVS side includes it.
    for s in cfg.lvs.scripts_mut() {
        check(s, Kind::Notify, "", ctx);
    }
    if root_fallback {
        ctx.warn(&Pos::none(), format!("Script user '{DEFAULT_SCRIPT_USER}' does not exist - scripts run as root"));
    }
    if !g.enable_script_security && total.found {
        let extra = if total.insecure { " There are insecure scripts." } else { "" };
        let pos = cfg.global.pos.clone().unwrap_or_else(Pos::none);
        ctx.security(
            &pos,
            format!(
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled.{extra} \
                 (add enable_script_security to global_defs)"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{SourceOptions, load_str};
    use super::*;

    fn load(text: &str) -> (Config, Vec<String>, i32) {
        let (cfg, d) = load_str("s.conf", text, &SourceOptions::default());
        let msgs = d.list.iter().map(|x| x.message.clone()).collect();
        (cfg, msgs, d.exit_code())
    }

    fn notify(global: &str, line: &str) -> (Config, Vec<String>, i32) {
        load(&format!(
            "global_defs {{\n{global}\n}}\nvrrp_instance V {{\n interface lo\n virtual_router_id 1\n {line}\n}}\n"
        ))
    }

    fn has(m: &[String], s: &str) -> bool {
        m.iter().any(|x| x.contains(s))
    }

    #[test]
    fn parse_splits_command_and_user() {
        let (c, _, _) = notify("", "notify_master \"/bin/echo 'a b' c\" root root");
        let s = c.vrrp.instances[0].notify.master.as_ref().unwrap();
        assert_eq!(s.argv, ["/bin/echo", "a b", "c"]);
        assert_eq!(s.user.as_deref(), Some("root"));
        assert_eq!(s.group.as_deref(), Some("root"));
        let (_, m, _) = notify("", "notify_master \"/bin/echo");
        assert!(has(&m, "unmatched quote"));
        let (_, _, rc) = notify("", "notify_master");
        assert_eq!(rc, 2);
    }

    #[test]
    fn security_violation_without_script_security() {
        let (_, m, rc) = notify("", "notify_master /bin/true root");
        assert_eq!(rc, 6, "{m:?}");
        assert!(has(&m, "SECURITY VIOLATION"));
        let (_, m, rc) = notify("enable_script_security", "notify_master /bin/true root");
        assert!(!has(&m, "SECURITY VIOLATION"), "{m:?}");
        assert_ne!(rc, 6);
    }

    #[test]
    fn missing_notify_script_is_quiet() {
        let (c, m, _) = notify("enable_script_security", "notify_master /no/such/x root");
        assert!(!has(&m, "SECURITY VIOLATION"));
        assert!(c.vrrp.instances[0].notify.master.as_ref().unwrap().disabled);
    }

    #[test]
    fn user_errors() {
        let (_, m, rc) = notify("script_user no_such_user_x", "");
        assert_eq!(rc, 5);
        assert!(has(&m, "Error setting global script uid/gid"));
        let (c, _, _) = notify("enable_script_security", "notify_master /bin/true no_such_user_x");
        assert!(c.vrrp.instances[0].notify.master.as_ref().unwrap().disabled);
        if system::user_ids(DEFAULT_SCRIPT_USER).is_none() {
            let (_, m, rc) = notify("enable_script_security", "notify_master /bin/true");
            assert_eq!(rc, 5);
            assert!(has(&m, "Unable to set default user keepalived_script"));
            let (c, m, _) = notify("", "notify_master /bin/true");
            assert!(has(&m, "does not exist - scripts run as root"));
            assert_eq!(c.vrrp.instances[0].notify.master.as_ref().unwrap().uid, Some(0));
        }
    }

    #[test]
    fn display_form() {
        let s = Script { argv: vec!["a".into(), "b c".into()], uid: Some(0), gid: Some(0), ..Default::default() };
        assert_eq!(s.display(), "'a' 'b c', uid:gid 0:0");
    }
}
