//! keepalived.conf: reading (`source`, `lexer`), the block tree (`tree`), the typed sections
//! (`global`, `vrrp`, `lvs`, `checker`, `script`) and the `-d` dump.
//!
//! Flow: [`load`] -> `source::read_config` (lines) -> `tree::build` (nodes) -> [`parse_nodes`]
//! (root keywords dispatched to each section) -> each section's `finish` (keepalived's
//! post-parse completion: defaults, quirks and cross-checks) -> [`Config`].

pub mod checker;
pub mod diag;
pub mod global;
pub mod lexer;
pub mod lvs;
pub mod script;
pub mod source;
pub mod system;
pub mod tree;
pub mod vrrp;

use std::path::Path;

pub use diag::{Diagnostic, Diagnostics, Pos, Severity};
pub use source::SourceOptions;
use tree::{Ctx, Kw, Node};

/// The whole resolved configuration.
#[derive(Debug, Default, Clone)]
pub struct Config {
    pub global: global::GlobalDefs,
    pub vrrp: vrrp::VrrpConfig,
    pub lvs: lvs::LvsConfig,
}

/// Read, parse and complete the config at `path`. Never fails: problems are in the diagnostics,
/// whose `exit_code()` is what `keepalived -t` would return.
pub fn load(path: &Path, opts: &SourceOptions) -> (Config, Diagnostics) {
    stream(|diags, sink| source::read_config_each(path, opts, diags, sink))
}

/// As [`load`], from text in memory (tests, fuzzing, benchmarks).
pub fn load_str(name: &str, text: &str, opts: &SourceOptions) -> (Config, Diagnostics) {
    stream(|diags, sink| source::read_str_each(name, text, opts, diags, sink))
}

/// Reads, builds and parses in one pass: each line goes into the tree builder as the source
/// layer produces it, and each root block is parsed as soon as it is complete and then dropped,
/// so memory holds the resulting config, not the lines or the tree of the file.
fn stream(
    read: impl FnOnce(&mut Diagnostics, &mut dyn FnMut(source::Line, &mut Diagnostics)),
) -> (Config, Diagnostics) {
    let mut diags = Diagnostics::default();
    let mut cfg = Config::default();
    let mut builder = tree::Builder::default();
    let mut parse_root = |node: Node, diags: &mut Diagnostics| {
        let mut ctx = Ctx::new(diags);
        parse_root_nodes(std::slice::from_ref(&node), &mut ctx, &mut cfg);
    };
    read(&mut diags, &mut |line, diags| builder.push(line, diags, &mut parse_root));
    builder.finish(&mut diags, &mut parse_root);
    let mut ctx = Ctx::new(&mut diags);
    finish(&mut cfg, &mut ctx);
    (cfg, diags)
}

/// Dispatch the root keywords to the section that owns them.
pub fn parse_nodes(nodes: &[Node], ctx: &mut Ctx<'_>) -> Config {
    let mut cfg = Config::default();
    parse_root_nodes(nodes, ctx, &mut cfg);
    cfg
}

fn parse_root_nodes(nodes: &[Node], ctx: &mut Ctx<'_>, cfg: &mut Config) {
    ctx.walk(nodes, &mut |ctx, n| {
        if let Some(k) = global::parse_root(n, ctx, &mut cfg.global) {
            return k;
        }
        if let Some(k) = vrrp::parse_root(n, ctx, &mut cfg.vrrp) {
            return k;
        }
        if let Some(k) = lvs::parse_root(n, ctx, &mut cfg.lvs) {
            return k;
        }
        Kw::Unknown
    });
}

/// keepalived's post-parse completion, in its order: global, VRRP, LVS, then script security.
fn finish(cfg: &mut Config, ctx: &mut Ctx<'_>) {
    global::finish(cfg, ctx);
    vrrp::finish(cfg, ctx);
    lvs::finish(cfg, ctx);
    script::finish(cfg, ctx);
}

/// The resolved configuration as `-d/--dump-conf` prints it.
pub fn dump(cfg: &Config) -> String {
    dump_parts(cfg, &cfg.lvs)
}

/// As [`dump`], with the LVS section held apart (the daemon shares it with the director).
pub fn dump_parts(cfg: &Config, lvs_cfg: &lvs::LvsConfig) -> String {
    let mut out = String::new();
    global::dump(&cfg.global, &mut out);
    vrrp::dump(&cfg.vrrp, &mut out);
    lvs::dump(lvs_cfg, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The daemon dumps its running configuration with the LVS section held by the director.
    #[test]
    fn dump_parts_with_the_lvs_section_apart_equals_the_whole_dump() {
        let text = "global_defs {\n router_id R1\n}\nvirtual_server 10.0.0.1 80 {\n lb_kind NAT\n \
                    real_server 10.0.1.1 80 {\n notify_up /bin/true\n TCP_CHECK {\n connect_timeout 2\n }\n }\n}\n";
        let (mut cfg, _) = load_str("t.conf", text, &SourceOptions::default());
        let whole = dump(&cfg);
        assert!(whole.contains("Real Server = 10.0.1.1:80") && whole.contains("notify_up = /bin/true"), "{whole}");
        let lvs = std::mem::take(&mut cfg.lvs);
        assert_ne!(dump(&cfg), whole);
        assert_eq!(dump_parts(&cfg, &lvs), whole);
    }
}
