//! The VRRP protocol (RFC 3768 v2, RFC 5798 v3) as keepalived 2.2.7 speaks it.
//!
//! `wire`: packet formats (adverts, gratuitous ARP, unsolicited NA) as zero-copy views and
//! owned representations; `fsm`: the per-instance state machine, sans I/O; `validate`: the
//! receive checks in keepalived's order; `socket`, `garp`, `addr`: the raw VRRP socket, the
//! packet socket for GARP/NA and the rtnetlink address calls; `route`, `vmac`: routes/rules
//! and the use_vmac macvlan; `runtime`: the tasks that tie them
//! together in the daemon.

pub mod addr;
pub mod fsm;
pub mod garp;
pub mod link;
pub mod route;
pub mod runtime;
pub mod socket;
pub mod stats;
pub mod sync;
pub mod sysctl;
pub mod track;
pub mod trackfile;
pub mod validate;
pub mod vmac;
pub mod wire;

pub use runtime::run_until;
