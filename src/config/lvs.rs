//! LVS-side sections: `virtual_server_group`, `virtual_server` (IP port, fwmark, group),
//! `real_server`, and the global `SSL` block. Checker blocks are parsed in `checker`.

use super::Config;
use super::tree::{Ctx, Kw, Node};

#[derive(Debug, Default, Clone)]
pub struct LvsConfig {}

pub fn parse_root(_n: &Node, _ctx: &mut Ctx<'_>, _l: &mut LvsConfig) -> Option<Kw> {
    None
}

pub fn finish(_cfg: &mut Config, _ctx: &mut Ctx<'_>) {}

pub fn dump(_l: &LvsConfig, _out: &mut String) {}
impl LvsConfig { pub fn scripts_mut(&mut self) -> impl Iterator<Item = &mut super::script::Script> { std::iter::empty() } }
