//! keepalived in Rust: a drop-in replacement for keepalived 2.2.7.
//!
//! Modules, one per concern: `cli` (the command line), `config` (keepalived.conf -> typed AST),
//! `ipvs` (IPVS over generic netlink), `exec` (running configured scripts), `vrrp` (the VRRP protocol).

pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod director;
pub mod exec;
pub mod ipvs;
pub mod logging;
pub mod systemd;
pub mod vrrp;
