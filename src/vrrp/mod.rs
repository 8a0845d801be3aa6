//! The VRRP protocol (RFC 3768 v2, RFC 5798 v3) as keepalived 2.2.7 speaks it.

pub mod wire;
