//! The VRRP protocol (RFC 3768 v2, RFC 5798 v3) as keepalived 2.2.7 speaks it.
//!
//! `wire`: packet formats (adverts, gratuitous ARP, unsolicited NA) as zero-copy views and
//! owned representations; `fsm`: the per-instance state machine, sans I/O.

pub mod fsm;
pub mod wire;
