//! Script-valued keywords (`script`, `notify*`, `misc_path`, `quorum_up`, ...): shell-style
//! tokenizing, the script user, and keepalived's script-security checks.

use super::Config;
use super::tree::Ctx;

pub fn finish(_cfg: &mut Config, _ctx: &mut Ctx<'_>) {}
