//! `global_defs` and the other global root keywords (`net_namespace`, `instance`, ...).

use std::fmt::Write;

use super::tree::{Ctx, Kw, Node};
use super::{Config, Pos};

#[derive(Debug, Default, Clone)]
pub struct GlobalDefs {
    pub pos: Option<Pos>,
    pub router_id: Option<String>,
    pub enable_script_security: bool,
}

/// Handle a root keyword if it is a global one.
pub fn parse_root(n: &Node, ctx: &mut Ctx<'_>, g: &mut GlobalDefs) -> Option<Kw> {
    match n.keyword() {
        "global_defs" => {
            g.pos = Some(n.pos().clone());
            ctx.walk(n.children(), &mut |ctx, c| match c.keyword() {
                "router_id" => {
                    g.router_id = ctx.need(c, 1).map(str::to_string);
                    Kw::Leaf
                }
                "enable_script_security" => {
                    g.enable_script_security = true;
                    Kw::Leaf
                }
                _ => Kw::Unknown,
            });
            Some(Kw::Block)
        }
        _ => None,
    }
}

pub fn finish(_cfg: &mut Config, _ctx: &mut Ctx<'_>) {}

pub fn dump(g: &GlobalDefs, out: &mut String) {
    let _ = writeln!(out, "------< Global definitions >------");
    if let Some(id) = &g.router_id {
        let _ = writeln!(out, " Router ID = {id}");
    }
}
