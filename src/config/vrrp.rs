//! VRRP-side sections: `vrrp_script`, `vrrp_track_file`/`track_file`, `vrrp_track_process`,
//! `vrrp_sync_group`, `garp_group`, `vrrp_instance`, `static_ipaddress`/`_routes`/`_rules`.

use super::Config;
use super::tree::{Ctx, Kw, Node};

#[derive(Debug, Default, Clone)]
pub struct VrrpConfig {}

pub fn parse_root(_n: &Node, _ctx: &mut Ctx<'_>, _v: &mut VrrpConfig) -> Option<Kw> {
    None
}

pub fn finish(_cfg: &mut Config, _ctx: &mut Ctx<'_>) {}

pub fn dump(_v: &VrrpConfig, _out: &mut String) {}
