//! IPVS generic netlink wire format: the numbers of include/uapi/linux/ip_vs.h, typed
//! services and destinations, request encoding (through neli's attribute builders) and
//! bounds-checked decoding of replies.
//!
//! Kernel encoding rules (net/netfilter/ipvs/ip_vs_ctl.c): integers are host-endian except
//! PORT and TUN_PORT (big-endian); addresses are raw network-order bytes; the service
//! NETMASK is read with nla_get_be32, so IPv4 sends the mask bytes and IPv6 sends the prefix
//! length as a host-endian u32; FLAGS is `struct ip_vs_flags { flags, mask }`.
//!
//! Replies are decoded by our own walker rather than neli's parsers: neli 0.7.5 computes
//! `nl_len - 16` and the NLMSG_ERROR remainder without checks, which panics on a malformed
//! length in debug builds, and one bad message must not take the daemon down.

use std::fmt;
use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use neli::consts::nl::NlmF;
use neli::genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, Nlattr, NlattrBuilder};
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::types::{Buffer, GenlBuffer};
use neli::{Size, ToBytes};

/// Generic netlink family name and version (IPVS_GENL_NAME, IPVS_GENL_VERSION).
pub const GENL_NAME: &str = "IPVS";
pub const GENL_VERSION: u8 = 1;

/// Commands (enum IPVS_CMD_*, wire value = enum order).
pub mod cmd {
    pub const NEW_SERVICE: u8 = 1;
    pub const SET_SERVICE: u8 = 2;
    pub const DEL_SERVICE: u8 = 3;
    pub const GET_SERVICE: u8 = 4;
    pub const NEW_DEST: u8 = 5;
    pub const SET_DEST: u8 = 6;
    pub const DEL_DEST: u8 = 7;
    pub const GET_DEST: u8 = 8;
    pub const NEW_DAEMON: u8 = 9;
    pub const DEL_DAEMON: u8 = 10;
    pub const GET_DAEMON: u8 = 11;
    pub const SET_CONFIG: u8 = 12;
    pub const GET_CONFIG: u8 = 13;
    pub const SET_INFO: u8 = 14;
    pub const GET_INFO: u8 = 15;
    pub const ZERO: u8 = 16;
    pub const FLUSH: u8 = 17;
}

/// Top-level attributes (IPVS_CMD_ATTR_*).
pub mod cmd_attr {
    pub const SERVICE: u16 = 1;
    pub const DEST: u16 = 2;
    pub const DAEMON: u16 = 3;
    pub const TIMEOUT_TCP: u16 = 4;
    pub const TIMEOUT_TCP_FIN: u16 = 5;
    pub const TIMEOUT_UDP: u16 = 6;
}

/// Service attributes, nested in SERVICE (IPVS_SVC_ATTR_*).
pub mod svc_attr {
    pub const AF: u16 = 1;
    pub const PROTOCOL: u16 = 2;
    pub const ADDR: u16 = 3;
    pub const PORT: u16 = 4;
    pub const FWMARK: u16 = 5;
    pub const SCHED_NAME: u16 = 6;
    pub const FLAGS: u16 = 7;
    pub const TIMEOUT: u16 = 8;
    pub const NETMASK: u16 = 9;
    pub const STATS: u16 = 10;
    pub const PE_NAME: u16 = 11;
    pub const STATS64: u16 = 12;
}

/// Destination attributes, nested in DEST (IPVS_DEST_ATTR_*).
pub mod dest_attr {
    pub const ADDR: u16 = 1;
    pub const PORT: u16 = 2;
    pub const FWD_METHOD: u16 = 3;
    pub const WEIGHT: u16 = 4;
    pub const U_THRESH: u16 = 5;
    pub const L_THRESH: u16 = 6;
    pub const ACTIVE_CONNS: u16 = 7;
    pub const INACT_CONNS: u16 = 8;
    pub const PERSIST_CONNS: u16 = 9;
    pub const STATS: u16 = 10;
    pub const ADDR_FAMILY: u16 = 11;
    pub const STATS64: u16 = 12;
    pub const TUN_TYPE: u16 = 13;
    pub const TUN_PORT: u16 = 14;
    pub const TUN_FLAGS: u16 = 15;
}

/// Statistics attributes, nested in STATS / STATS64 (IPVS_STATS_ATTR_*).
pub mod stats_attr {
    pub const CONNS: u16 = 1;
    pub const INPKTS: u16 = 2;
    pub const OUTPKTS: u16 = 3;
    pub const INBYTES: u16 = 4;
    pub const OUTBYTES: u16 = 5;
    pub const CPS: u16 = 6;
    pub const INPPS: u16 = 7;
    pub const OUTPPS: u16 = 8;
    pub const INBPS: u16 = 9;
    pub const OUTBPS: u16 = 10;
    pub const PAD: u16 = 11;
}

/// GET_INFO reply attributes (IPVS_INFO_ATTR_*).
pub mod info_attr {
    pub const VERSION: u16 = 1;
    pub const CONN_TAB_SIZE: u16 = 2;
}

/// Forwarding methods (IP_VS_CONN_F_*, masked by IP_VS_CONN_F_FWD_MASK).
pub mod fwd {
    pub const MASQ: u32 = 0;
    pub const LOCALNODE: u32 = 1;
    pub const TUNNEL: u32 = 2;
    pub const DROUTE: u32 = 3;
    pub const BYPASS: u32 = 4;
    pub const MASK: u32 = 7;
}

/// Tunnel types (IP_VS_CONN_F_TUNNEL_TYPE_*) and checksum flags (IP_VS_TUNNEL_ENCAP_FLAG_*).
pub mod tun {
    pub const IPIP: u8 = 0;
    pub const GUE: u8 = 1;
    pub const GRE: u8 = 2;
    pub const NOCSUM: u16 = 0;
    pub const CSUM: u16 = 1 << 0;
    pub const REMCSUM: u16 = 1 << 1;
}

/// Longest scheduler / persistence engine name (IP_VS_SCHEDNAME_MAXLEN and IP_VS_PENAME_MAXLEN
/// are 16 including the NUL).
pub const NAME_MAX: usize = 15;

const AF_INET: u16 = libc::AF_INET as u16;
const AF_INET6: u16 = libc::AF_INET6 as u16;
const NLA_TYPE_MASK: u16 = 0x3fff;

/// Netlink message types and flags used here (linux/netlink.h).
pub mod nlmsg {
    pub const NOOP: u16 = 1;
    pub const ERROR: u16 = 2;
    pub const DONE: u16 = 3;
    pub const OVERRUN: u16 = 4;
    pub const F_MULTI: u16 = 2;
    pub const HDRLEN: usize = 16;
}

// ---------------------------------------------------------------------------------------
// Types

/// Address family of a service or destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
    fn af(self) -> u16 {
        match self {
            Family::V4 => AF_INET,
            Family::V6 => AF_INET6,
        }
    }
    fn from_af(af: u16) -> Option<Family> {
        match af {
            AF_INET => Some(Family::V4),
            AF_INET6 => Some(Family::V6),
            _ => None,
        }
    }
}

/// Transport protocol of an address-based service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
    /// A number the kernel reported that we do not model.
    Other(u16),
}

impl Protocol {
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => libc::IPPROTO_TCP as u16,
            Protocol::Udp => libc::IPPROTO_UDP as u16,
            Protocol::Sctp => libc::IPPROTO_SCTP as u16,
            Protocol::Other(n) => n,
        }
    }
    pub fn from_number(n: u16) -> Protocol {
        match n as i32 {
            libc::IPPROTO_TCP => Protocol::Tcp,
            libc::IPPROTO_UDP => Protocol::Udp,
            libc::IPPROTO_SCTP => Protocol::Sctp,
            _ => Protocol::Other(n),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Tcp => f.write_str("TCP"),
            Protocol::Udp => f.write_str("UDP"),
            Protocol::Sctp => f.write_str("SCTP"),
            Protocol::Other(n) => write!(f, "proto {n}"),
        }
    }
}

/// What identifies a virtual service: protocol+address+port, or a firewall mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKey {
    Addr { protocol: Protocol, addr: IpAddr, port: u16 },
    Fwmark { family: Family, mark: u32 },
}

impl ServiceKey {
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

impl AsRef<ServiceKey> for ServiceKey {
    fn as_ref(&self) -> &ServiceKey {
        self
    }
}

fn fmt_addr_port(f: &mut fmt::Formatter<'_>, addr: &IpAddr, port: u16) -> fmt::Result {
    match addr {
        IpAddr::V4(a) => write!(f, "{a}:{port}"),
        IpAddr::V6(a) => write!(f, "[{a}]:{port}"),
    }
}

/// ipvsadm-like: `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`, `FWM 5`, `FWM 5 IPv6`.
impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr { protocol, addr, port } => {
                write!(f, "{protocol} ")?;
                fmt_addr_port(f, addr, *port)
            }
            ServiceKey::Fwmark { family: Family::V4, mark } => write!(f, "FWM {mark}"),
            ServiceKey::Fwmark { family: Family::V6, mark } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// Service flags (IP_VS_SVC_F_*). SCHED1..3 mean different things per scheduler.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SvcFlags(pub u32);

impl SvcFlags {
    pub const PERSISTENT: SvcFlags = SvcFlags(0x1);
    /// Kernel-internal; stripped from decoded services and ignored by the kernel on input.
    pub const HASHED: SvcFlags = SvcFlags(0x2);
    pub const ONEPACKET: SvcFlags = SvcFlags(0x4);
    pub const SCHED1: SvcFlags = SvcFlags(0x8);
    pub const SCHED2: SvcFlags = SvcFlags(0x10);
    pub const SCHED3: SvcFlags = SvcFlags(0x20);
    pub const SH_FALLBACK: SvcFlags = Self::SCHED1;
    pub const SH_PORT: SvcFlags = Self::SCHED2;
    pub const MH_FALLBACK: SvcFlags = Self::SCHED1;
    pub const MH_PORT: SvcFlags = Self::SCHED2;

    pub fn contains(self, other: SvcFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for SvcFlags {
    type Output = SvcFlags;
    fn bitor(self, rhs: SvcFlags) -> SvcFlags {
        SvcFlags(self.0 | rhs.0)
    }
}

/// A virtual service as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub key: ServiceKey,
    /// Scheduler name, e.g. "wrr" (at most 15 bytes).
    pub scheduler: String,
    pub flags: SvcFlags,
    /// Persistence timeout in seconds (used when `flags` has PERSISTENT).
    pub timeout: u32,
    /// Persistence granularity: IPv4 mask as a u32 (`Ipv4Addr::to_bits`, e.g. 0xffffffff),
    /// IPv6 prefix length 1..=128.
    pub netmask: u32,
    /// Persistence engine, e.g. "sip".
    pub pe_name: Option<String>,
}

impl Service {
    /// A service with the kernel's defaults: no flags, no persistence, full netmask.
    pub fn new(key: ServiceKey, scheduler: &str) -> Service {
        let netmask = match key.family() {
            Family::V4 => u32::MAX,
            Family::V6 => 128,
        };
        Service {
            key,
            scheduler: scheduler.to_string(),
            flags: SvcFlags::default(),
            timeout: 0,
            netmask,
            pe_name: None,
        }
    }
}

impl AsRef<ServiceKey> for Service {
    fn as_ref(&self) -> &ServiceKey {
        &self.key
    }
}

/// Tunnel encapsulation (IP_VS_CONN_F_TUNNEL_TYPE_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelType {
    Ipip,
    Gue,
    Gre,
    Other(u8),
}

/// Outer checksum for GUE/GRE tunnels (IP_VS_TUNNEL_ENCAP_FLAG_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelCsum {
    NoCsum,
    Csum,
    RemCsum,
    Other(u16),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tunnel {
    pub kind: TunnelType,
    /// UDP port for GUE (must be non-zero for GUE).
    pub port: u16,
    pub csum: TunnelCsum,
}

impl Default for Tunnel {
    fn default() -> Tunnel {
        Tunnel { kind: TunnelType::Ipip, port: 0, csum: TunnelCsum::NoCsum }
    }
}

/// Packet forwarding method of a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Forward {
    /// NAT ("masq").
    Masq,
    /// Local node (the kernel reports this for local addresses given as Masq).
    Local,
    /// IP-in-IP / GUE / GRE ("tunnel").
    Tunnel(Tunnel),
    /// Direct routing ("route", "dr").
    Route,
    Bypass,
    Other(u32),
}

/// A real server of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dest {
    pub addr: IpAddr,
    pub port: u16,
    pub fwd: Forward,
    /// 0..=i32::MAX (the kernel's `int`; larger values are refused with ERANGE).
    pub weight: u32,
    /// Upper connection threshold (0 = none).
    pub u_threshold: u32,
    /// Lower connection threshold (0 = none).
    pub l_threshold: u32,
}

impl Dest {
    pub fn new(addr: IpAddr, port: u16, fwd: Forward, weight: u32) -> Dest {
        Dest { addr, port, fwd, weight, u_threshold: 0, l_threshold: 0 }
    }
}

/// `[10.0.0.2]:80`: the brackets keep it apart from the service in "X of Y" messages.
impl fmt::Display for Dest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]:{}", self.addr, self.port)
    }
}

/// Traffic counters (from STATS64, or the 32-bit STATS on old kernels).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// A service as dumped by the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEntry {
    pub service: Service,
    pub stats: Stats,
}

/// A destination as dumped by the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestEntry {
    pub dest: Dest,
    pub active_conns: u32,
    pub inact_conns: u32,
    pub persist_conns: u32,
    pub stats: Stats,
}

/// GET_INFO reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// 0x010201 means 1.2.1.
    pub version: u32,
    pub conn_tab_size: u32,
}

impl Info {
    pub fn version_string(&self) -> String {
        let v = self.version;
        format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
    }
}

/// Connection timeouts in seconds. In SET_CONFIG a 0 leaves that timeout unchanged
/// (the kernel's rule).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// One change to the IPVS table, for [`crate::ipvs::Ipvs::apply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    AddService(Service),
    EditService(Service),
    DelService(ServiceKey),
    AddDest(ServiceKey, Dest),
    EditDest(ServiceKey, Dest),
    DelDest(ServiceKey, Dest),
    /// Zero the counters of one service, or of all when None.
    Zero(Option<ServiceKey>),
    Flush,
    SetTimeouts(Timeouts),
}

// ---------------------------------------------------------------------------------------
// Encoding

/// An encoded request body: the command, its attributes, and the names used in errors.
pub struct Request {
    pub cmd: u8,
    pub attrs: Vec<Nlattr<u16, Buffer>>,
    pub op: &'static str,
    pub target: String,
}

/// Name of a command as used in error messages.
pub fn cmd_name(c: u8) -> &'static str {
    match c {
        cmd::NEW_SERVICE => "NEW_SERVICE",
        cmd::SET_SERVICE => "SET_SERVICE",
        cmd::DEL_SERVICE => "DEL_SERVICE",
        cmd::GET_SERVICE => "GET_SERVICE",
        cmd::NEW_DEST => "NEW_DEST",
        cmd::SET_DEST => "SET_DEST",
        cmd::DEL_DEST => "DEL_DEST",
        cmd::GET_DEST => "GET_DEST",
        cmd::SET_CONFIG => "SET_CONFIG",
        cmd::GET_CONFIG => "GET_CONFIG",
        cmd::GET_INFO => "GET_INFO",
        cmd::ZERO => "ZERO",
        cmd::FLUSH => "FLUSH",
        _ => "UNKNOWN",
    }
}

pub fn attr<P: Size + ToBytes>(ty: u16, payload: P) -> Result<Nlattr<u16, Buffer>, String> {
    let t = AttrTypeBuilder::default().nla_type(ty).build().map_err(|e| e.to_string())?;
    NlattrBuilder::default().nla_type(t).nla_payload(payload).build().map_err(|e| e.to_string())
}

fn nest(ty: u16, inner: &[Nlattr<u16, Buffer>]) -> Result<Nlattr<u16, Buffer>, String> {
    let mut outer = attr(ty, Buffer::new())?;
    for a in inner {
        outer = outer.nest(a).map_err(|e| e.to_string())?;
    }
    Ok(outer)
}

fn addr_bytes(addr: &IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > NAME_MAX || name.contains('\0') {
        return Err(format!("{what} name {name:?} must be 1..={NAME_MAX} bytes without NUL"));
    }
    Ok(())
}

/// The SERVICE nest: identifying fields only, or the full service (NEW/SET).
pub fn service_attr(key: &ServiceKey, full: Option<&Service>) -> Result<Nlattr<u16, Buffer>, String> {
    let mut a = vec![attr(svc_attr::AF, key.family().af())?];
    match key {
        ServiceKey::Addr { protocol, addr, port } => {
            a.push(attr(svc_attr::PROTOCOL, protocol.number())?);
            a.push(attr(svc_attr::ADDR, addr_bytes(addr))?);
            a.push(attr(svc_attr::PORT, port.to_be_bytes())?);
        }
        ServiceKey::Fwmark { mark, .. } => a.push(attr(svc_attr::FWMARK, *mark)?),
    }
    if let Some(s) = full {
        check_name("scheduler", &s.scheduler)?;
        a.push(attr(svc_attr::SCHED_NAME, s.scheduler.as_str())?);
        if let Some(pe) = &s.pe_name {
            check_name("persistence engine", pe)?;
            a.push(attr(svc_attr::PE_NAME, pe.as_str())?);
        }
        let mut flags = [0u8; 8];
        flags[..4].copy_from_slice(&s.flags.0.to_ne_bytes());
        flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
        a.push(attr(svc_attr::FLAGS, flags)?);
        a.push(attr(svc_attr::TIMEOUT, s.timeout)?);
        let netmask = match key.family() {
            Family::V4 => s.netmask.to_be_bytes(),
            Family::V6 => {
                if !(1..=128).contains(&s.netmask) {
                    return Err(format!("IPv6 netmask must be a prefix length 1..=128, not {}", s.netmask));
                }
                s.netmask.to_ne_bytes()
            }
        };
        a.push(attr(svc_attr::NETMASK, netmask)?);
    }
    nest(cmd_attr::SERVICE, &a)
}

/// The DEST nest: identifying fields only (DEL), or the full destination (NEW/SET).
pub fn dest_attr(d: &Dest, full: bool) -> Result<Nlattr<u16, Buffer>, String> {
    let mut a = vec![
        attr(dest_attr::ADDR, addr_bytes(&d.addr))?,
        attr(dest_attr::PORT, d.port.to_be_bytes())?,
        attr(dest_attr::ADDR_FAMILY, Family::of(&d.addr).af())?,
    ];
    if full {
        if d.weight > i32::MAX as u32 {
            return Err(format!("weight {} exceeds {}", d.weight, i32::MAX));
        }
        let method = match d.fwd {
            Forward::Masq => fwd::MASQ,
            Forward::Local => fwd::LOCALNODE,
            Forward::Tunnel(_) => fwd::TUNNEL,
            Forward::Route => fwd::DROUTE,
            Forward::Bypass => fwd::BYPASS,
            Forward::Other(n) => n,
        };
        a.push(attr(dest_attr::FWD_METHOD, method)?);
        a.push(attr(dest_attr::WEIGHT, d.weight)?);
        a.push(attr(dest_attr::U_THRESH, d.u_threshold)?);
        a.push(attr(dest_attr::L_THRESH, d.l_threshold)?);
        if let Forward::Tunnel(t) = d.fwd {
            let kind = match t.kind {
                TunnelType::Ipip => tun::IPIP,
                TunnelType::Gue => tun::GUE,
                TunnelType::Gre => tun::GRE,
                TunnelType::Other(n) => n,
            };
            let csum = match t.csum {
                TunnelCsum::NoCsum => tun::NOCSUM,
                TunnelCsum::Csum => tun::CSUM,
                TunnelCsum::RemCsum => tun::REMCSUM,
                TunnelCsum::Other(n) => n,
            };
            a.push(attr(dest_attr::TUN_TYPE, kind)?);
            a.push(attr(dest_attr::TUN_PORT, t.port.to_be_bytes())?);
            a.push(attr(dest_attr::TUN_FLAGS, csum)?);
        }
    }
    nest(cmd_attr::DEST, &a)
}

fn timeouts_attrs(t: &Timeouts) -> Result<Vec<Nlattr<u16, Buffer>>, String> {
    // Only the non-zero ones: an absent attribute keeps the kernel's value.
    let mut a = Vec::new();
    for (ty, v) in
        [(cmd_attr::TIMEOUT_TCP, t.tcp), (cmd_attr::TIMEOUT_TCP_FIN, t.tcp_fin), (cmd_attr::TIMEOUT_UDP, t.udp)]
    {
        if v != 0 {
            a.push(attr(ty, v)?);
        }
    }
    Ok(a)
}

impl Op {
    /// The command, attributes and error-message names of this change.
    pub fn encode(&self) -> Result<Request, crate::ipvs::IpvsError> {
        let (c, target) = self.describe();
        let op = cmd_name(c);
        let attrs = match self {
            Op::AddService(s) | Op::EditService(s) => vec![service_attr(&s.key, Some(s))],
            Op::DelService(k) | Op::Zero(Some(k)) => vec![service_attr(k, None)],
            Op::AddDest(k, d) | Op::EditDest(k, d) => vec![service_attr(k, None), dest_attr(d, true)],
            Op::DelDest(k, d) => vec![service_attr(k, None), dest_attr(d, false)],
            Op::Zero(None) | Op::Flush => vec![],
            Op::SetTimeouts(t) => match timeouts_attrs(t) {
                Ok(v) => v.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            },
        };
        let attrs = attrs
            .into_iter()
            .collect::<Result<Vec<_>, String>>()
            .map_err(|detail| crate::ipvs::IpvsError::Invalid { op, target: target.clone(), detail })?;
        Ok(Request { cmd: c, attrs, op, target })
    }

    /// The command and a human description of the object (`[10.0.0.2]:80 of TCP 10.0.0.1:80`).
    pub fn describe(&self) -> (u8, String) {
        match self {
            Op::AddService(s) => (cmd::NEW_SERVICE, s.key.to_string()),
            Op::EditService(s) => (cmd::SET_SERVICE, s.key.to_string()),
            Op::DelService(k) => (cmd::DEL_SERVICE, k.to_string()),
            Op::AddDest(k, d) => (cmd::NEW_DEST, format!("{d} of {k}")),
            Op::EditDest(k, d) => (cmd::SET_DEST, format!("{d} of {k}")),
            Op::DelDest(k, d) => (cmd::DEL_DEST, format!("{d} of {k}")),
            Op::Zero(Some(k)) => (cmd::ZERO, k.to_string()),
            Op::Zero(None) => (cmd::ZERO, String::new()),
            Op::Flush => (cmd::FLUSH, String::new()),
            Op::SetTimeouts(t) => (cmd::SET_CONFIG, format!("timeouts {}/{}/{}", t.tcp, t.tcp_fin, t.udp)),
        }
    }
}

/// A whole netlink message: nlmsghdr + genlmsghdr + attributes, as bytes.
pub fn encode_message(
    family: u16,
    flags: NlmF,
    seq: u32,
    c: u8,
    version: u8,
    attrs: Vec<Nlattr<u16, Buffer>>,
) -> Result<Vec<u8>, String> {
    let genl: Genlmsghdr<u8, u16> = GenlmsghdrBuilder::default()
        .cmd(c)
        .version(version)
        .attrs(attrs.into_iter().collect::<GenlBuffer<u16, Buffer>>())
        .build()
        .map_err(|e| e.to_string())?;
    encode_genl(family, flags, seq, genl)
}

/// Serialises any generic netlink message (also used for the controller's GETFAMILY).
pub fn encode_genl<C, T>(family: u16, flags: NlmF, seq: u32, genl: Genlmsghdr<C, T>) -> Result<Vec<u8>, String>
where
    Genlmsghdr<C, T>: Size + ToBytes + fmt::Debug,
{
    let msg = NlmsghdrBuilder::default()
        .nl_type(family)
        .nl_flags(flags)
        .nl_seq(seq)
        .nl_pid(0)
        .nl_payload(NlPayload::Payload(genl))
        .build()
        .map_err(|e| e.to_string())?;
    let mut buf = Cursor::new(Vec::with_capacity(msg.padded_size()));
    msg.to_bytes(&mut buf).map_err(|e| e.to_string())?;
    Ok(buf.into_inner())
}

// ---------------------------------------------------------------------------------------
// Decoding (every read is bounds-checked; malformed input yields Err, never a panic)

/// One netlink message of a received datagram.
#[derive(Debug, PartialEq, Eq)]
pub struct RawMsg<'a> {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
    pub payload: &'a [u8],
}

fn rd<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Splits a datagram into its netlink messages.
pub fn split_messages(buf: &[u8]) -> Result<Vec<RawMsg<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        let len = rd::<4>(rest, 0).map(u32::from_ne_bytes).ok_or("truncated nlmsghdr")? as usize;
        if len < nlmsg::HDRLEN || len > rest.len() {
            return Err(format!("bad nlmsg_len {len} with {} bytes left", rest.len()));
        }
        let ty = rd::<2>(rest, 4).map(u16::from_ne_bytes).ok_or("truncated")?;
        let flags = rd::<2>(rest, 6).map(u16::from_ne_bytes).ok_or("truncated")?;
        let seq = rd::<4>(rest, 8).map(u32::from_ne_bytes).ok_or("truncated")?;
        let pid = rd::<4>(rest, 12).map(u32::from_ne_bytes).ok_or("truncated")?;
        let payload = rest.get(nlmsg::HDRLEN..len).ok_or("truncated payload")?;
        out.push(RawMsg { ty, flags, seq, pid, payload });
        let adv = len.checked_add(3).map(|l| l & !3).unwrap_or(len).min(rest.len());
        rest = rest.get(adv..).unwrap_or(&[]);
    }
    Ok(out)
}

/// What a received message means to a waiting request.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply<'a> {
    /// A generic netlink message of our family: command + its attribute bytes.
    Data { cmd: u8, attrs: &'a [u8] },
    /// NLMSG_ERROR with error 0.
    Ack,
    /// NLMSG_ERROR with a (positive) errno, or a dump ending in error.
    Error(i32),
    /// NLMSG_DONE: the end of a dump.
    Done,
    /// NOOP / OVERRUN / messages of other types: ignored.
    Other,
}

/// Interprets one message's payload.
pub fn classify<'a>(m: &RawMsg<'a>) -> Result<Reply<'a>, String> {
    match m.ty {
        nlmsg::ERROR | nlmsg::DONE => {
            // DONE carries an int too; a dump that failed ends with a negative one.
            let code = match rd::<4>(m.payload, 0) {
                Some(b) => i32::from_ne_bytes(b),
                None if m.ty == nlmsg::DONE => 0,
                None => return Err("truncated NLMSG_ERROR".into()),
            };
            Ok(match (m.ty, code) {
                (nlmsg::ERROR, 0) => Reply::Ack,
                (nlmsg::DONE, 0) => Reply::Done,
                (_, c) => Reply::Error(c.checked_neg().unwrap_or(i32::MAX).max(1)),
            })
        }
        nlmsg::NOOP | nlmsg::OVERRUN => Ok(Reply::Other),
        t if t < 16 => Ok(Reply::Other),
        _ => {
            let c = *m.payload.first().ok_or("empty generic netlink message")?;
            if m.payload.len() < 4 {
                return Err("truncated genlmsghdr".into());
            }
            Ok(Reply::Data { cmd: c, attrs: m.payload.get(4..).unwrap_or(&[]) })
        }
    }
}

/// Walks a run of attributes: (type without NESTED/BYTEORDER bits, payload).
pub fn walk_attrs(mut b: &[u8]) -> Result<Vec<(u16, &[u8])>, String> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = rd::<2>(b, 0).map(u16::from_ne_bytes).ok_or("truncated nla")? as usize;
        let ty = rd::<2>(b, 2).map(u16::from_ne_bytes).ok_or("truncated nla")? & NLA_TYPE_MASK;
        if len < 4 || len > b.len() {
            return Err(format!("bad nla_len {len} with {} bytes left", b.len()));
        }
        out.push((ty, b.get(4..len).unwrap_or(&[])));
        let adv = ((len + 3) & !3).min(b.len());
        b = b.get(adv..).unwrap_or(&[]);
    }
    Ok(out)
}

fn find<'a>(attrs: &[(u16, &'a [u8])], ty: u16) -> Option<&'a [u8]> {
    attrs.iter().find(|(t, _)| *t == ty).map(|(_, p)| *p)
}

fn get_u8(attrs: &[(u16, &[u8])], ty: u16) -> Option<u8> {
    find(attrs, ty)?.first().copied()
}
fn get_u16(attrs: &[(u16, &[u8])], ty: u16) -> Option<u16> {
    rd::<2>(find(attrs, ty)?, 0).map(u16::from_ne_bytes)
}
fn get_be16(attrs: &[(u16, &[u8])], ty: u16) -> Option<u16> {
    rd::<2>(find(attrs, ty)?, 0).map(u16::from_be_bytes)
}
fn get_u32(attrs: &[(u16, &[u8])], ty: u16) -> Option<u32> {
    rd::<4>(find(attrs, ty)?, 0).map(u32::from_ne_bytes)
}
fn get_u64(attrs: &[(u16, &[u8])], ty: u16) -> Option<u64> {
    rd::<8>(find(attrs, ty)?, 0).map(u64::from_ne_bytes)
}

fn get_str(attrs: &[(u16, &[u8])], ty: u16) -> Option<String> {
    let b = find(attrs, ty)?;
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    Some(String::from_utf8_lossy(b.get(..end).unwrap_or(b)).into_owned())
}

fn get_addr(attrs: &[(u16, &[u8])], ty: u16, fam: Family) -> Option<IpAddr> {
    let b = find(attrs, ty)?;
    Some(match fam {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(rd::<4>(b, 0)?)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(rd::<16>(b, 0)?)),
    })
}

fn decode_stats(attrs: &[(u16, &[u8])], s64: u16, s32: u16) -> Result<Stats, String> {
    let (nested, wide) = match (find(attrs, s64), find(attrs, s32)) {
        (Some(b), _) => (b, true),
        (None, Some(b)) => (b, false),
        (None, None) => return Ok(Stats::default()),
    };
    let a = walk_attrs(nested)?;
    let g = |ty: u16| -> u64 {
        if wide || ty == stats_attr::INBYTES || ty == stats_attr::OUTBYTES {
            get_u64(&a, ty).unwrap_or(0)
        } else {
            get_u32(&a, ty).map(u64::from).unwrap_or(0)
        }
    };
    Ok(Stats {
        conns: g(stats_attr::CONNS),
        inpkts: g(stats_attr::INPKTS),
        outpkts: g(stats_attr::OUTPKTS),
        inbytes: g(stats_attr::INBYTES),
        outbytes: g(stats_attr::OUTBYTES),
        cps: g(stats_attr::CPS),
        inpps: g(stats_attr::INPPS),
        outpps: g(stats_attr::OUTPPS),
        inbps: g(stats_attr::INBPS),
        outbps: g(stats_attr::OUTBPS),
    })
}

fn nested_in<'a>(top: &'a [u8], ty: u16, what: &str) -> Result<Vec<(u16, &'a [u8])>, String> {
    let outer = walk_attrs(top)?;
    let inner = find(&outer, ty).ok_or_else(|| format!("reply without the {what} attribute"))?;
    walk_attrs(inner)
}

/// Decodes the attributes of a NEW_SERVICE record (GET_SERVICE reply or dump).
pub fn decode_service(top_attrs: &[u8]) -> Result<ServiceEntry, String> {
    let a = nested_in(top_attrs, cmd_attr::SERVICE, "SERVICE")?;
    let af = get_u16(&a, svc_attr::AF).ok_or("service without AF")?;
    let fam = Family::from_af(af).ok_or_else(|| format!("service with unknown AF {af}"))?;
    let key = match get_u32(&a, svc_attr::FWMARK) {
        Some(mark) if mark != 0 => ServiceKey::Fwmark { family: fam, mark },
        _ => ServiceKey::Addr {
            protocol: Protocol::from_number(get_u16(&a, svc_attr::PROTOCOL).ok_or("service without PROTOCOL")?),
            addr: get_addr(&a, svc_attr::ADDR, fam).ok_or("service without a valid ADDR")?,
            port: get_be16(&a, svc_attr::PORT).ok_or("service without PORT")?,
        },
    };
    let flags = find(&a, svc_attr::FLAGS).and_then(|b| rd::<4>(b, 0)).map(u32::from_ne_bytes).unwrap_or(0);
    let netmask = match (find(&a, svc_attr::NETMASK).and_then(|b| rd::<4>(b, 0)), fam) {
        (Some(b), Family::V4) => u32::from_be_bytes(b),
        (Some(b), Family::V6) => u32::from_ne_bytes(b),
        (None, Family::V4) => u32::MAX,
        (None, Family::V6) => 128,
    };
    let service = Service {
        key,
        scheduler: get_str(&a, svc_attr::SCHED_NAME).unwrap_or_default(),
        flags: SvcFlags(flags & !SvcFlags::HASHED.0),
        timeout: get_u32(&a, svc_attr::TIMEOUT).unwrap_or(0),
        netmask,
        pe_name: get_str(&a, svc_attr::PE_NAME).filter(|s| !s.is_empty()),
    };
    let stats = decode_stats(&a, svc_attr::STATS64, svc_attr::STATS)?;
    Ok(ServiceEntry { service, stats })
}

/// Decodes the attributes of a NEW_DEST record (GET_DEST dump). `svc_family` is used when
/// the kernel sends no ADDR_FAMILY (kernels before 4.3).
pub fn decode_dest(top_attrs: &[u8], svc_family: Family) -> Result<DestEntry, String> {
    let a = nested_in(top_attrs, cmd_attr::DEST, "DEST")?;
    let fam = match get_u16(&a, dest_attr::ADDR_FAMILY) {
        Some(0) | None => svc_family,
        Some(af) => Family::from_af(af).ok_or_else(|| format!("dest with unknown AF {af}"))?,
    };
    let method = get_u32(&a, dest_attr::FWD_METHOD).ok_or("dest without FWD_METHOD")? & fwd::MASK;
    let fwd_m = match method {
        fwd::MASQ => Forward::Masq,
        fwd::LOCALNODE => Forward::Local,
        fwd::TUNNEL => Forward::Tunnel(Tunnel {
            kind: match get_u8(&a, dest_attr::TUN_TYPE).unwrap_or(tun::IPIP) {
                tun::IPIP => TunnelType::Ipip,
                tun::GUE => TunnelType::Gue,
                tun::GRE => TunnelType::Gre,
                n => TunnelType::Other(n),
            },
            port: get_be16(&a, dest_attr::TUN_PORT).unwrap_or(0),
            csum: match get_u16(&a, dest_attr::TUN_FLAGS).unwrap_or(tun::NOCSUM) {
                tun::NOCSUM => TunnelCsum::NoCsum,
                tun::CSUM => TunnelCsum::Csum,
                tun::REMCSUM => TunnelCsum::RemCsum,
                n => TunnelCsum::Other(n),
            },
        }),
        fwd::DROUTE => Forward::Route,
        fwd::BYPASS => Forward::Bypass,
        n => Forward::Other(n),
    };
    let dest = Dest {
        addr: get_addr(&a, dest_attr::ADDR, fam).ok_or("dest without a valid ADDR")?,
        port: get_be16(&a, dest_attr::PORT).ok_or("dest without PORT")?,
        fwd: fwd_m,
        weight: get_u32(&a, dest_attr::WEIGHT).unwrap_or(0),
        u_threshold: get_u32(&a, dest_attr::U_THRESH).unwrap_or(0),
        l_threshold: get_u32(&a, dest_attr::L_THRESH).unwrap_or(0),
    };
    Ok(DestEntry {
        dest,
        active_conns: get_u32(&a, dest_attr::ACTIVE_CONNS).unwrap_or(0),
        inact_conns: get_u32(&a, dest_attr::INACT_CONNS).unwrap_or(0),
        persist_conns: get_u32(&a, dest_attr::PERSIST_CONNS).unwrap_or(0),
        stats: decode_stats(&a, dest_attr::STATS64, dest_attr::STATS)?,
    })
}

/// Decodes the GET_INFO reply (command SET_INFO).
pub fn decode_info(top_attrs: &[u8]) -> Result<Info, String> {
    let a = walk_attrs(top_attrs)?;
    Ok(Info {
        version: get_u32(&a, info_attr::VERSION).ok_or("info without VERSION")?,
        conn_tab_size: get_u32(&a, info_attr::CONN_TAB_SIZE).ok_or("info without CONN_TAB_SIZE")?,
    })
}

/// Decodes the GET_CONFIG reply (command SET_CONFIG); absent timeouts read as 0.
pub fn decode_timeouts(top_attrs: &[u8]) -> Result<Timeouts, String> {
    let a = walk_attrs(top_attrs)?;
    Ok(Timeouts {
        tcp: get_u32(&a, cmd_attr::TIMEOUT_TCP).unwrap_or(0),
        tcp_fin: get_u32(&a, cmd_attr::TIMEOUT_TCP_FIN).unwrap_or(0),
        udp: get_u32(&a, cmd_attr::TIMEOUT_UDP).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers of include/uapi/linux/ip_vs.h (and linux/netlink.h), written out from the
    /// header so that a renumbering here cannot go unnoticed.
    #[test]
    fn constants_match_the_kernel_header() {
        assert_eq!((GENL_NAME, GENL_VERSION, NAME_MAX), ("IPVS", 1, 15));
        let cmds = [
            cmd::NEW_SERVICE,
            cmd::SET_SERVICE,
            cmd::DEL_SERVICE,
            cmd::GET_SERVICE,
            cmd::NEW_DEST,
            cmd::SET_DEST,
            cmd::DEL_DEST,
            cmd::GET_DEST,
            cmd::NEW_DAEMON,
            cmd::DEL_DAEMON,
            cmd::GET_DAEMON,
            cmd::SET_CONFIG,
            cmd::GET_CONFIG,
            cmd::SET_INFO,
            cmd::GET_INFO,
            cmd::ZERO,
            cmd::FLUSH,
        ];
        assert_eq!(cmds, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
        use cmd_attr as c;
        assert_eq!(
            [c::SERVICE, c::DEST, c::DAEMON, c::TIMEOUT_TCP, c::TIMEOUT_TCP_FIN, c::TIMEOUT_UDP],
            [1, 2, 3, 4, 5, 6]
        );
        use svc_attr as s;
        assert_eq!(
            [
                s::AF,
                s::PROTOCOL,
                s::ADDR,
                s::PORT,
                s::FWMARK,
                s::SCHED_NAME,
                s::FLAGS,
                s::TIMEOUT,
                s::NETMASK,
                s::STATS,
                s::PE_NAME,
                s::STATS64
            ],
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
        );
        use dest_attr as d;
        assert_eq!(
            [
                d::ADDR,
                d::PORT,
                d::FWD_METHOD,
                d::WEIGHT,
                d::U_THRESH,
                d::L_THRESH,
                d::ACTIVE_CONNS,
                d::INACT_CONNS,
                d::PERSIST_CONNS,
                d::STATS,
                d::ADDR_FAMILY,
                d::STATS64,
                d::TUN_TYPE,
                d::TUN_PORT,
                d::TUN_FLAGS
            ],
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
        );
        use stats_attr as st;
        assert_eq!(
            [
                st::CONNS,
                st::INPKTS,
                st::OUTPKTS,
                st::INBYTES,
                st::OUTBYTES,
                st::CPS,
                st::INPPS,
                st::OUTPPS,
                st::INBPS,
                st::OUTBPS,
                st::PAD
            ],
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
        );
        assert_eq!((info_attr::VERSION, info_attr::CONN_TAB_SIZE), (1, 2));
        assert_eq!([fwd::MASQ, fwd::LOCALNODE, fwd::TUNNEL, fwd::DROUTE, fwd::BYPASS, fwd::MASK], [0, 1, 2, 3, 4, 7]);
        assert_eq!([tun::IPIP, tun::GUE, tun::GRE], [0, 1, 2]);
        assert_eq!([tun::NOCSUM, tun::CSUM, tun::REMCSUM], [0, 1, 2]);
        let f = [
            SvcFlags::PERSISTENT,
            SvcFlags::HASHED,
            SvcFlags::ONEPACKET,
            SvcFlags::SCHED1,
            SvcFlags::SCHED2,
            SvcFlags::SCHED3,
        ];
        assert_eq!(f.map(|x| x.0), [0x1, 0x2, 0x4, 0x8, 0x10, 0x20]);
        assert_eq!((SvcFlags::SH_FALLBACK, SvcFlags::SH_PORT), (SvcFlags(0x8), SvcFlags(0x10)));
        assert_eq!((SvcFlags::MH_FALLBACK, SvcFlags::MH_PORT), (SvcFlags(0x8), SvcFlags(0x10)));
        assert_eq!((AF_INET, AF_INET6), (2, 10));
        assert_eq!([Protocol::Tcp, Protocol::Udp, Protocol::Sctp].map(Protocol::number), [6, 17, 132]);
        assert_eq!((nlmsg::NOOP, nlmsg::ERROR, nlmsg::DONE, nlmsg::OVERRUN, nlmsg::F_MULTI), (1, 2, 3, 4, 2));
    }

    fn v4(a: &str) -> IpAddr {
        a.parse().unwrap()
    }

    fn tcp80() -> ServiceKey {
        ServiceKey::Addr { protocol: Protocol::Tcp, addr: v4("10.0.0.1"), port: 80 }
    }

    fn encode_op(op: &Op) -> Vec<u8> {
        let r = op.encode().unwrap();
        encode_message(0x1b, NlmF::REQUEST | NlmF::ACK, 1, r.cmd, GENL_VERSION, r.attrs).unwrap()
    }

    /// Reference §2.6: NEW_SERVICE 10.0.0.1:80/tcp wrr, no persistence.
    #[cfg(target_endian = "little")]
    #[test]
    fn golden_new_service_ipv4_tcp_wrr() {
        #[rustfmt::skip]
        let want: &[u8] = &[
            0x5c, 0, 0, 0,  0x1b, 0,  0x05, 0,  1, 0, 0, 0,  0, 0, 0, 0, // nlmsghdr
            1, 1, 0, 0,                                                  // genl: NEW_SERVICE v1
            0x48, 0, 0x01, 0x80,                                         // SERVICE (nested)
            6, 0, 1, 0,  2, 0, 0, 0,                                     // AF_INET
            6, 0, 2, 0,  6, 0, 0, 0,                                     // TCP
            8, 0, 3, 0,  10, 0, 0, 1,                                    // 10.0.0.1
            6, 0, 4, 0,  0, 80, 0, 0,                                    // port 80, big-endian
            8, 0, 6, 0,  b'w', b'r', b'r', 0,                            // "wrr\0"
            12, 0, 7, 0,  0, 0, 0, 0,  0xff, 0xff, 0xff, 0xff,           // flags 0, mask ~0
            8, 0, 8, 0,  0, 0, 0, 0,                                     // timeout 0
            8, 0, 9, 0,  0xff, 0xff, 0xff, 0xff,                         // netmask 255.255.255.255
        ];
        assert_eq!(encode_op(&Op::AddService(Service::new(tcp80(), "wrr"))), want);
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn golden_new_dest_dr_with_thresholds() {
        let d = Dest {
            addr: v4("10.0.0.2"),
            port: 8080,
            fwd: Forward::Route,
            weight: 5,
            u_threshold: 100,
            l_threshold: 10,
        };
        #[rustfmt::skip]
        let want: &[u8] = &[
            0x74, 0, 0, 0,  0x1b, 0,  0x05, 0,  1, 0, 0, 0,  0, 0, 0, 0,
            5, 1, 0, 0,                                                  // NEW_DEST
            0x24, 0, 0x01, 0x80,                                         // SERVICE: identity only
            6, 0, 1, 0,  2, 0, 0, 0,
            6, 0, 2, 0,  6, 0, 0, 0,
            8, 0, 3, 0,  10, 0, 0, 1,
            6, 0, 4, 0,  0, 80, 0, 0,
            0x3c, 0, 0x02, 0x80,                                         // DEST (nested)
            8, 0, 1, 0,  10, 0, 0, 2,                                    // addr
            6, 0, 2, 0,  0x1f, 0x90, 0, 0,                               // port 8080 big-endian
            6, 0, 11, 0,  2, 0, 0, 0,                                    // ADDR_FAMILY AF_INET
            8, 0, 3, 0,  3, 0, 0, 0,                                     // FWD_METHOD DROUTE
            8, 0, 4, 0,  5, 0, 0, 0,                                     // weight
            8, 0, 5, 0,  100, 0, 0, 0,                                   // u_threshold
            8, 0, 6, 0,  10, 0, 0, 0,                                    // l_threshold
        ];
        assert_eq!(encode_op(&Op::AddDest(tcp80(), d)), want);
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn golden_tunnel_dest_ipv6_persistent_service_and_fwmark() {
        let d = Dest::new(
            "2001:db8::2".parse().unwrap(),
            0,
            Forward::Tunnel(Tunnel { kind: TunnelType::Gue, port: 6081, csum: TunnelCsum::Csum }),
            1,
        );
        let k = ServiceKey::Fwmark { family: Family::V6, mark: 7 };
        let bytes = encode_op(&Op::EditDest(k, d));
        #[rustfmt::skip]
        let dest_tail: &[u8] = &[
            8, 0, 3, 0,  2, 0, 0, 0,                                     // FWD_METHOD TUNNEL
            8, 0, 4, 0,  1, 0, 0, 0,
            8, 0, 5, 0,  0, 0, 0, 0,
            8, 0, 6, 0,  0, 0, 0, 0,
            5, 0, 13, 0,  1, 0, 0, 0,                                    // TUN_TYPE GUE (u8)
            6, 0, 14, 0,  0x17, 0xc1, 0, 0,                              // TUN_PORT 6081 big-endian
            6, 0, 15, 0,  1, 0, 0, 0,                                    // TUN_FLAGS CSUM
        ];
        assert!(bytes.ends_with(dest_tail), "{bytes:02x?}");
        #[rustfmt::skip]
        let svc: &[u8] = &[
            6, 1, 0, 0,                                                  // SET_DEST
            0x14, 0, 0x01, 0x80,  6, 0, 1, 0,  10, 0, 0, 0,  8, 0, 5, 0,  7, 0, 0, 0, // AF6 + FWMARK 7
        ];
        assert_eq!(&bytes[16..16 + svc.len()], svc);

        let mut s = Service::new(
            ServiceKey::Addr { protocol: Protocol::Udp, addr: "2001:db8::1".parse().unwrap(), port: 53 },
            "sh",
        );
        s.flags = SvcFlags::PERSISTENT | SvcFlags::SH_PORT;
        s.timeout = 300;
        s.netmask = 64;
        let bytes = encode_op(&Op::AddService(s.clone()));
        #[rustfmt::skip]
        let tail: &[u8] = &[
            7, 0, 6, 0,  b's', b'h', 0, 0,                               // "sh\0" + pad
            12, 0, 7, 0,  0x11, 0, 0, 0,  0xff, 0xff, 0xff, 0xff,
            8, 0, 8, 0,  0x2c, 1, 0, 0,                                  // 300 s
            8, 0, 9, 0,  64, 0, 0, 0,                                    // IPv6 prefix, host order
        ];
        assert!(bytes.ends_with(tail), "{bytes:02x?}");
        s.netmask = 0;
        assert!(matches!(Op::AddService(s).encode(), Err(crate::ipvs::IpvsError::Invalid { .. })));
    }

    #[test]
    fn invalid_requests_are_refused_before_sending() {
        let mut s = Service::new(tcp80(), "a_scheduler_name_too_long");
        let e = Op::AddService(s.clone()).encode().err().unwrap();
        assert_eq!(e.op(), "NEW_SERVICE");
        assert!(e.to_string().contains("TCP 10.0.0.1:80"), "{e}");
        s.scheduler = String::new();
        assert!(Op::EditService(s.clone()).encode().is_err());
        s.scheduler = "rr".into();
        s.pe_name = Some("bad\0".into());
        assert!(Op::AddService(s).encode().is_err());
        let d = Dest::new(v4("10.0.0.2"), 80, Forward::Masq, u32::MAX);
        let e = Op::AddDest(tcp80(), d).encode().err().unwrap();
        assert!(e.to_string().contains("[10.0.0.2]:80 of TCP 10.0.0.1:80"), "{e}");
        // Identity-only ops do not look at the weight.
        assert!(Op::DelDest(tcp80(), d).encode().is_ok());
    }

    #[test]
    fn set_timeouts_sends_only_non_zero_values_and_flush_has_no_attrs() {
        let r = Op::SetTimeouts(Timeouts { tcp: 900, tcp_fin: 0, udp: 300 }).encode().unwrap();
        assert_eq!(r.cmd, cmd::SET_CONFIG);
        let types: Vec<u16> = r.attrs.iter().map(|a| u16::from(a.nla_type())).collect();
        assert_eq!(types, [cmd_attr::TIMEOUT_TCP, cmd_attr::TIMEOUT_UDP]);
        assert!(Op::Flush.encode().unwrap().attrs.is_empty());
        assert!(Op::Zero(None).encode().unwrap().attrs.is_empty());
        assert_eq!(Op::Zero(Some(tcp80())).encode().unwrap().attrs.len(), 1);
    }

    #[test]
    fn display_of_keys_and_dests() {
        assert_eq!(tcp80().to_string(), "TCP 10.0.0.1:80");
        let k = ServiceKey::Addr { protocol: Protocol::Sctp, addr: "2001:db8::1".parse().unwrap(), port: 9 };
        assert_eq!(k.to_string(), "SCTP [2001:db8::1]:9");
        assert_eq!(ServiceKey::Fwmark { family: Family::V4, mark: 5 }.to_string(), "FWM 5");
        assert_eq!(ServiceKey::Fwmark { family: Family::V6, mark: 5 }.to_string(), "FWM 5 IPv6");
        assert_eq!(Protocol::Other(99).to_string(), "proto 99");
        let (_, t) = Op::DelDest(tcp80(), Dest::new(v4("10.0.0.2"), 80, Forward::Masq, 1)).describe();
        assert_eq!(t, "[10.0.0.2]:80 of TCP 10.0.0.1:80");
        assert_eq!(Info { version: 0x010201, conn_tab_size: 4096 }.version_string(), "1.2.1");
    }

    // --- decoding -------------------------------------------------------------------

    fn na(ty: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = ((4 + payload.len()) as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(payload);
        while !v.len().is_multiple_of(4) {
            v.push(0);
        }
        v
    }

    fn msg(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = ((16 + payload.len()) as u32).to_ne_bytes().to_vec();
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&42u32.to_ne_bytes());
        v.extend_from_slice(payload);
        v
    }

    /// A GET_SERVICE dump datagram shaped like the kernel's (ip_vs_genl_fill_service):
    /// 16-byte ADDR, HASHED flag set, STATS and STATS64, then NLMSG_DONE.
    fn service_dump() -> Vec<u8> {
        let mut s64 = na(stats_attr::CONNS, &5u64.to_ne_bytes());
        s64.extend(na(stats_attr::INBYTES, &1000u64.to_ne_bytes()));
        let mut s32 = na(stats_attr::CONNS, &5u32.to_ne_bytes());
        s32.extend(na(stats_attr::INBYTES, &1000u64.to_ne_bytes()));
        let mut addr = [0u8; 16];
        addr[..4].copy_from_slice(&[10, 0, 0, 1]);
        let mut svc = na(svc_attr::AF, &2u16.to_ne_bytes());
        svc.extend(na(svc_attr::PROTOCOL, &6u16.to_ne_bytes()));
        svc.extend(na(svc_attr::ADDR, &addr));
        svc.extend(na(svc_attr::PORT, &[0, 80]));
        svc.extend(na(svc_attr::SCHED_NAME, b"wrr\0"));
        svc.extend(na(svc_attr::FLAGS, &[3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]));
        svc.extend(na(svc_attr::TIMEOUT, &300u32.to_ne_bytes()));
        svc.extend(na(svc_attr::NETMASK, &[255, 255, 255, 0]));
        svc.extend(na(svc_attr::STATS | 0x8000, &s32));
        svc.extend(na(svc_attr::STATS64 | 0x8000, &s64));
        let mut genl = vec![cmd::NEW_SERVICE, 1, 0, 0];
        genl.extend(na(cmd_attr::SERVICE | 0x8000, &svc));
        let mut d = msg(0x1b, nlmsg::F_MULTI, 9, &genl);
        d.extend(msg(nlmsg::DONE, nlmsg::F_MULTI, 9, &0i32.to_ne_bytes()));
        d
    }

    #[test]
    fn decodes_a_service_dump() {
        let d = service_dump();
        let msgs = split_messages(&d).unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!((msgs[0].ty, msgs[0].seq, msgs[0].pid), (0x1b, 9, 42));
        let Reply::Data { cmd: c, attrs } = classify(&msgs[0]).unwrap() else { panic!() };
        assert_eq!(c, cmd::NEW_SERVICE);
        let e = decode_service(attrs).unwrap();
        let mut want = Service::new(tcp80(), "wrr");
        want.flags = SvcFlags::PERSISTENT; // HASHED stripped
        want.timeout = 300;
        want.netmask = 0xffff_ff00;
        assert_eq!(e.service, want);
        assert_eq!((e.stats.conns, e.stats.inbytes, e.stats.outpkts), (5, 1000, 0));
        assert_eq!(classify(&msgs[1]).unwrap(), Reply::Done);
    }

    #[test]
    fn decodes_dests_info_timeouts_and_errors() {
        let mut dest = na(dest_attr::ADDR, &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        dest.extend(na(dest_attr::PORT, &[0x1f, 0x90]));
        dest.extend(na(dest_attr::FWD_METHOD, &(2u32 | 0x100).to_ne_bytes())); // extra conn flags masked
        dest.extend(na(dest_attr::WEIGHT, &7u32.to_ne_bytes()));
        dest.extend(na(dest_attr::U_THRESH, &9u32.to_ne_bytes()));
        dest.extend(na(dest_attr::L_THRESH, &3u32.to_ne_bytes()));
        dest.extend(na(dest_attr::ACTIVE_CONNS, &4u32.to_ne_bytes()));
        dest.extend(na(dest_attr::ADDR_FAMILY, &10u16.to_ne_bytes()));
        dest.extend(na(dest_attr::TUN_TYPE, &[2]));
        dest.extend(na(dest_attr::TUN_PORT, &[0, 0]));
        dest.extend(na(dest_attr::TUN_FLAGS, &2u16.to_ne_bytes()));
        let top = na(cmd_attr::DEST, &dest);
        let e = decode_dest(&top, Family::V4).unwrap();
        let t = Tunnel { kind: TunnelType::Gre, port: 0, csum: TunnelCsum::RemCsum };
        assert_eq!(
            e.dest,
            Dest {
                addr: "2001:db8::2".parse().unwrap(),
                port: 8080,
                fwd: Forward::Tunnel(t),
                weight: 7,
                u_threshold: 9,
                l_threshold: 3
            }
        );
        assert_eq!(e.active_conns, 4);

        let mut info = na(info_attr::VERSION, &0x010201u32.to_ne_bytes());
        info.extend(na(info_attr::CONN_TAB_SIZE, &4096u32.to_ne_bytes()));
        assert_eq!(decode_info(&info).unwrap(), Info { version: 0x010201, conn_tab_size: 4096 });
        assert!(decode_info(&info[..8]).is_err());

        let mut t = na(cmd_attr::TIMEOUT_TCP, &900u32.to_ne_bytes());
        t.extend(na(cmd_attr::TIMEOUT_UDP, &300u32.to_ne_bytes()));
        assert_eq!(decode_timeouts(&t).unwrap(), Timeouts { tcp: 900, tcp_fin: 0, udp: 300 });

        let mut p = (-libc::EEXIST).to_ne_bytes().to_vec();
        p.extend_from_slice(&[0; 16]);
        let m = msg(nlmsg::ERROR, 0, 3, &p);
        let msgs = split_messages(&m).unwrap();
        assert_eq!(classify(&msgs[0]).unwrap(), Reply::Error(libc::EEXIST));
        let m = msg(nlmsg::DONE, nlmsg::F_MULTI, 3, &(-libc::EINVAL).to_ne_bytes());
        assert_eq!(classify(&split_messages(&m).unwrap()[0]).unwrap(), Reply::Error(libc::EINVAL));
        let m = msg(nlmsg::ERROR, 0, 3, &i32::MIN.to_ne_bytes());
        assert_eq!(classify(&split_messages(&m).unwrap()[0]).unwrap(), Reply::Error(i32::MAX));
    }

    #[test]
    fn malformed_replies_are_errors() {
        assert!(split_messages(&[1, 2, 3]).is_err());
        let mut m = msg(0x1b, 0, 1, &[1, 1, 0, 0]);
        m[0] = 8; // nlmsg_len shorter than the header
        assert!(split_messages(&m).is_err());
        let mut m = msg(0x1b, 0, 1, &[1, 1, 0, 0]);
        m[0] = 200; // longer than the datagram
        assert!(split_messages(&m).is_err());
        let m = msg(0x1b, 0, 1, &[1, 1]);
        assert!(classify(&split_messages(&m).unwrap()[0]).is_err());
        assert!(walk_attrs(&[3, 0, 1, 0]).is_err());
        assert!(walk_attrs(&[9, 0, 1, 0, 0]).is_err());
        assert!(decode_service(&na(cmd_attr::DEST, &[])).is_err());
        assert!(decode_service(&na(cmd_attr::SERVICE, &na(svc_attr::AF, &7u16.to_ne_bytes()))).is_err());
        let mut svc = na(svc_attr::AF, &2u16.to_ne_bytes());
        svc.extend(na(svc_attr::PROTOCOL, &6u16.to_ne_bytes()));
        svc.extend(na(svc_attr::ADDR, &[10, 0])); // short address
        svc.extend(na(svc_attr::PORT, &[0, 80]));
        assert!(decode_service(&na(cmd_attr::SERVICE, &svc)).is_err());
        assert!(decode_dest(&na(cmd_attr::DEST, &na(dest_attr::ADDR, &[1, 2, 3, 4])), Family::V4).is_err());
        // Unknown/future values decode to Other instead of failing.
        let mut d = na(dest_attr::ADDR, &[1, 2, 3, 4]);
        d.extend(na(dest_attr::PORT, &[0, 1]));
        d.extend(na(dest_attr::FWD_METHOD, &5u32.to_ne_bytes()));
        assert_eq!(decode_dest(&na(cmd_attr::DEST, &d), Family::V4).unwrap().dest.fwd, Forward::Other(5));
    }

    /// Every truncation and every single-byte corruption of a dump must decode to Ok or Err.
    #[test]
    fn no_panic_on_truncated_or_corrupted_dumps() {
        let d = service_dump();
        let run = |b: &[u8]| {
            if let Ok(msgs) = split_messages(b) {
                for m in &msgs {
                    if let Ok(Reply::Data { attrs, .. }) = classify(m) {
                        let _ = decode_service(attrs);
                        let _ = decode_dest(attrs, Family::V6);
                        let _ = decode_info(attrs);
                        let _ = decode_timeouts(attrs);
                    }
                }
            }
        };
        for n in 0..=d.len() {
            run(&d[..n]);
        }
        for i in 0..d.len() {
            for v in [0u8, 1, 3, 4, 0x7f, 0x80, 0xff] {
                let mut c = d.clone();
                c[i] = v;
                run(&c);
            }
        }
    }
}
