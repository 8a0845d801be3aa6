//! Health checkers: the per-checker state machine (`state`), the per-virtual-server health
//! model (`vs`), the engine that schedules probes and feeds the director (`engine`), and the
//! probes themselves (`tcp`, `http`, `ssl`, `misc`, `smtp`, `udp` for UDP and DNS, `ping`,
//! `file`); `suspend` follows the local addresses for `ha_suspend`.

pub mod engine;
pub mod file;
pub mod http;
pub mod md5;
pub mod misc;
pub mod ping;
pub mod smtp;
pub mod ssl;
pub mod state;
pub mod suspend;
pub mod tcp;
pub mod udp;
pub mod vs;
