//! IPVS (LVS) over generic netlink: the kernel table that virtual servers program.
//!
//! `wire` holds the kernel's numbers, the typed [`Service`]/[`Dest`] and the message codec;
//! `client` the blocking [`Ipvs`] handle on one netlink socket (single requests and the
//! pipelined [`Ipvs::apply`]); `error` the typed [`IpvsError`].

pub mod client;
pub mod error;
pub mod reconcile;
pub mod table;
pub mod wire;

pub use client::Ipvs;
pub use error::IpvsError;
pub use wire::{
    Dest, DestEntry, Family, Forward, Info, Op, Protocol, Service, ServiceEntry, ServiceKey, Stats, SvcFlags, Timeouts,
    Tunnel, TunnelCsum, TunnelType,
};
