//! Health checkers: the per-checker state machine (`state`), and (next) the TCP/HTTP/... probes
//! that feed it and the real-server aggregation that turns verdicts into IPVS changes.

pub mod state;
pub mod vs;
