//! keepalived in Rust: a drop-in replacement for keepalived 2.2.7.
//!
//! Modules, one per concern: `config` (keepalived.conf -> typed AST), `cli` (the command line).

pub mod cli;
pub mod config;
