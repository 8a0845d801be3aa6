//! Checker blocks inside `real_server`: TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, SMTP_CHECK,
//! DNS_CHECK, UDP_CHECK, PING_CHECK, FILE_CHECK, BFD_CHECK.
//!
//! Parsing records what the block says ([`Timing`] keeps the configured timers); `lvs::finish`
//! then fills in the effective values (connect_timeout, retry, ... and the destination) so that
//! the checker engine never has to walk the VS -> RS -> checker default chain itself.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::Pos;
use super::script::{self, Script, UserArgs};
use super::tree::{Ctx, Kw, Node};

/// Timer options that may be set on a virtual server, a real server or a checker; each level
/// is the default for the next one down.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Timing {
    pub connect_timeout: Option<Duration>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    pub delay_loop: Option<Duration>,
}

/// keepalived's range for `delay_loop` (a TIMER in µs that must be > 0).
pub const MAX_TIMER: f64 = 18_446_744_073_709.0;
/// `connect_timeout` is held in a 32-bit µs field by keepalived.
pub const MAX_CONNECT_TIMEOUT: f64 = 4294.967295;

/// Which block a timing keyword was found in (only changes the message wording).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    VirtualServer,
    RealServer,
    Checker,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::VirtualServer => "virtual server ",
            Level::RealServer => "real server ",
            Level::Checker => "",
        }
    }
}

/// Handle a timing keyword (`connect_timeout`, `retry`, `delay_before_retry`, `warmup`,
/// `delay_loop`). `with_connect_timeout` is false for MISC_CHECK, which does not accept it.
pub fn parse_timing(
    n: &Node,
    ctx: &mut Ctx<'_>,
    t: &mut Timing,
    level: Level,
    with_connect_timeout: bool,
) -> Option<Kw> {
    let l = level.label();
    match n.keyword() {
        "connect_timeout" if with_connect_timeout => {
            if let Some(d) = ctx.timer(n, 1, 0.000001, MAX_CONNECT_TIMEOUT) {
                t.connect_timeout = Some(d);
            } else if n.arg(1).is_some() {
                ctx.error(n.pos(), format!("{l}connect_timeout invalid - ignoring"));
            }
        }
        "retry" => {
            if let Some(v) = ctx.uint(n, 1, 0, u64::from(u32::MAX)) {
                t.retry = Some(v as u32);
            } else if let Some(a) = n.arg_str(1) {
                ctx.error(n.pos(), format!("retry value invalid - {a}"));
            }
        }
        "delay_before_retry" => {
            if let Some(d) = ctx.timer(n, 1, 0.0, MAX_TIMER) {
                t.delay_before_retry = Some(d);
            }
        }
        "warmup" => {
            if let Some(d) = ctx.timer(n, 1, 0.0, MAX_TIMER) {
                t.warmup = Some(d);
            }
        }
        "delay_loop" => {
            if let Some(d) = ctx.timer(n, 1, 0.000001, MAX_TIMER) {
                t.delay_loop = Some(d);
            } else if let Some(a) = n.arg_str(1) {
                ctx.error(n.pos(), format!("{l}delay_loop '{a}' invalid - ignoring"));
            }
        }
        _ => return None,
    }
    Some(Kw::Leaf)
}

/// An optional `<BOOL>` (absent = true); a bad value is reported as `Invalid <what> parameter X`.
pub fn opt_bool(n: &Node, ctx: &mut Ctx<'_>, what: &str) -> Option<bool> {
    match n.arg(1) {
        None => Some(true),
        Some(t) => {
            let b = super::tree::parse_bool(&t.text);
            if b.is_none() {
                ctx.error(&t.pos, format!("Invalid {what} parameter {} (use on|off|true|false|yes|no)", t.text));
            }
            b
        }
    }
}

/// Connection options shared by the network checkers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConnOpts {
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    pub bindto: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    /// SO_MARK for the checker's packets.
    pub fwmark: Option<u32>,
}

fn parse_conn(n: &Node, ctx: &mut Ctx<'_>, c: &mut ConnOpts) -> Option<Kw> {
    match n.keyword() {
        "connect_ip" => {
            if let Some(s) = ctx.need(n, 1) {
                match s.parse::<IpAddr>() {
                    Ok(a) => c.connect_ip = Some(a),
                    Err(_) => ctx.error(n.pos(), format!("Invalid connect_ip address {s} - ignoring")),
                }
            }
        }
        "bindto" => {
            if let Some(s) = ctx.need(n, 1) {
                match s.parse::<IpAddr>() {
                    Ok(a) => c.bindto = Some(a),
                    Err(_) => ctx.error(n.pos(), format!("Invalid bindto address {s} - ignoring")),
                }
            }
        }
        "connect_port" => {
            if let Some(p) = ctx.uint(n, 1, 1, 65535) {
                c.connect_port = Some(p as u16);
            } else if let Some(a) = n.arg_str(1) {
                ctx.error(n.pos(), format!("Invalid checker connect_port '{a}'"));
            }
        }
        "bind_port" => {
            if let Some(p) = ctx.uint(n, 1, 1, 65535) {
                c.bind_port = Some(p as u16);
            } else if let Some(a) = n.arg_str(1) {
                ctx.error(n.pos(), format!("Invalid checker bind_port '{a}'"));
            }
        }
        "bind_if" => c.bind_if = ctx.need(n, 1).map(str::to_string),
        "fwmark" => {
            if let Some(v) = ctx.uint(n, 1, 0, u64::from(u32::MAX)) {
                c.fwmark = Some(v as u32);
            } else if let Some(a) = n.arg_str(1) {
                ctx.error(n.pos(), format!("Invalid fwmark connection value '{a}'"));
            }
        }
        _ => return None,
    }
    Some(Kw::Leaf)
}

/// One health checker, with its effective settings resolved by `lvs::finish`.
#[derive(Debug, Clone, PartialEq)]
pub struct Checker {
    pub pos: Pos,
    pub kind: CheckerKind,
    pub conn: ConnOpts,
    /// As written in the checker block.
    pub set: Timing,
    pub set_alpha: Option<bool>,
    pub log_all_failures: Option<bool>,
    // Effective values (checker -> real server -> virtual server -> type default).
    pub connect_timeout: Duration,
    pub retry: u32,
    pub delay_before_retry: Duration,
    pub delay_loop: Duration,
    /// Upper bound of the random delay before the first check.
    pub warmup: Duration,
    pub alpha: bool,
    /// Where the checker connects: `connect_ip`/`connect_port`, else the real server's.
    pub dest: SocketAddr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CheckerKind {
    Tcp,
    Http(HttpCheck),
    Ssl(HttpCheck),
    /// Boxed: the largest variant by far (its script), which every checker would pay for.
    Misc(Box<MiscCheck>),
    Smtp(SmtpCheck),
    Dns(DnsCheck),
    Udp(UdpCheck),
    Ping,
    File(FileCheck),
    Bfd(BfdCheck),
}

impl CheckerKind {
    pub fn name(&self) -> &'static str {
        match self {
            CheckerKind::Tcp => "TCP_CHECK",
            CheckerKind::Http(_) => "HTTP_GET",
            CheckerKind::Ssl(_) => "SSL_GET",
            CheckerKind::Misc(_) => "MISC_CHECK",
            CheckerKind::Smtp(_) => "SMTP_CHECK",
            CheckerKind::Dns(_) => "DNS_CHECK",
            CheckerKind::Udp(_) => "UDP_CHECK",
            CheckerKind::Ping => "PING_CHECK",
            CheckerKind::File(_) => "FILE_CHECK",
            CheckerKind::Bfd(_) => "BFD_CHECK",
        }
    }

    /// Type default for `retry` when nothing above sets it.
    pub fn default_retry(&self) -> u32 {
        match self {
            CheckerKind::Dns(_) => 3,
            CheckerKind::Misc(_) => 0,
            _ => 1,
        }
    }

    /// Type default for `delay_before_retry` given the effective `delay_loop`.
    pub fn default_delay_before_retry(&self, delay_loop: Duration) -> Duration {
        match self {
            CheckerKind::Http(_) | CheckerKind::Ssl(_) => Duration::from_secs(3),
            CheckerKind::Dns(_) => delay_loop,
            _ => Duration::from_secs(1),
        }
    }

    /// Whether the checker opens its own connections (connect_ip/port and friends apply).
    pub fn is_network(&self) -> bool {
        !matches!(self, CheckerKind::Misc(_) | CheckerKind::File(_) | CheckerKind::Bfd(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpProtocol {
    #[default]
    V1_0,
    /// 1.0 plus a `Connection: close` header.
    V1_0C,
    V1_1,
}

impl HttpProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpProtocol::V1_0 => "1.0",
            HttpProtocol::V1_0C => "1.0C",
            HttpProtocol::V1_1 => "1.1",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpCheck {
    pub urls: Vec<Url>,
    pub http_protocol: HttpProtocol,
    pub virtualhost: Option<String>,
    pub fast_recovery: bool,
    /// SSL_GET: send SNI (keepalived accepts the keyword in HTTP_GET too).
    pub enable_sni: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Url {
    pub pos: Option<Pos>,
    pub path: String,
    pub digest: Option<[u8; 16]>,
    /// Accepted status ranges (inclusive); 200-299 when none is configured.
    pub status_codes: Vec<(u16, u16)>,
    pub virtualhost: Option<String>,
    /// Resolved Host header value: this url's virtualhost, else the checker's, the real
    /// server's, the virtual server's; None means the connection address.
    pub host: Option<String>,
    pub regex: Option<String>,
    pub regex_no_match: bool,
    pub regex_options: Vec<String>,
    pub regex_min_offset: Option<u64>,
    pub regex_max_offset: Option<u64>,
    pub regex_stack: Option<(u64, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MiscCheck {
    pub path: Option<Script>,
    /// Script timeout; resolved to the checker's delay_loop when not configured (or 0).
    pub timeout: Duration,
    pub timeout_set: Option<Duration>,
    pub dynamic: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmtpCheck {
    pub helo_name: Option<String>,
    /// Deprecated `host { ... }` sub-blocks: extra destinations checked with the same settings.
    pub hosts: Vec<ConnOpts>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsType {
    A,
    Ns,
    Cname,
    #[default]
    Soa,
    Mx,
    Txt,
    Aaaa,
}

impl DnsType {
    pub fn parse(s: &str) -> Option<DnsType> {
        Some(match s.to_ascii_uppercase().as_str() {
            "A" => DnsType::A,
            "NS" => DnsType::Ns,
            "CNAME" => DnsType::Cname,
            "SOA" => DnsType::Soa,
            "MX" => DnsType::Mx,
            "TXT" => DnsType::Txt,
            "AAAA" => DnsType::Aaaa,
            _ => return None,
        })
    }
    /// The DNS QTYPE value.
    pub fn qtype(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Cname => 5,
            DnsType::Soa => 6,
            DnsType::Mx => 15,
            DnsType::Txt => 16,
            DnsType::Aaaa => 28,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            DnsType::A => "A",
            DnsType::Ns => "NS",
            DnsType::Cname => "CNAME",
            DnsType::Soa => "SOA",
            DnsType::Mx => "MX",
            DnsType::Txt => "TXT",
            DnsType::Aaaa => "AAAA",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsCheck {
    pub qtype: DnsType,
    pub name: String,
}

impl Default for DnsCheck {
    fn default() -> Self {
        DnsCheck { qtype: DnsType::Soa, name: ".".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpCheck {
    /// Data to send; None means a random payload.
    pub payload: Option<Vec<u8>>,
    pub require_reply: bool,
    /// Expected reply prefix and its mask (a 0 nibble in the mask is an `x` wildcard).
    pub reply: Option<(Vec<u8>, Vec<u8>)>,
    pub min_reply_length: u16,
    pub max_reply_length: u16,
}

impl Default for UdpCheck {
    fn default() -> Self {
        UdpCheck { payload: None, require_reply: false, reply: None, min_reply_length: 0, max_reply_length: 255 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileCheck {
    pub track_file: Option<String>,
    pub weight: i32,
    pub reverse: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BfdCheck {
    pub name: Option<String>,
}

/// Checker block names recognised inside `real_server`.
pub fn is_checker_keyword(kw: &str) -> bool {
    matches!(
        kw,
        "TCP_CHECK"
            | "HTTP_GET"
            | "SSL_GET"
            | "MISC_CHECK"
            | "SMTP_CHECK"
            | "DNS_CHECK"
            | "UDP_CHECK"
            | "PING_CHECK"
            | "FILE_CHECK"
            | "BFD_CHECK"
    )
}

/// Parse a checker block `n` (its keyword satisfies [`is_checker_keyword`]). `rs` names the real
/// server in messages. Returns None when keepalived would drop the checker.
pub fn parse(n: &Node, ctx: &mut Ctx<'_>, rs: &str, rs_addr: IpAddr) -> Option<Checker> {
    let mut kind = match n.keyword() {
        "TCP_CHECK" => CheckerKind::Tcp,
        "HTTP_GET" => CheckerKind::Http(HttpCheck::default()),
        "SSL_GET" => CheckerKind::Ssl(HttpCheck::default()),
        "MISC_CHECK" => CheckerKind::Misc(Box::default()),
        "SMTP_CHECK" => CheckerKind::Smtp(SmtpCheck::default()),
        "DNS_CHECK" => CheckerKind::Dns(DnsCheck::default()),
        "UDP_CHECK" => CheckerKind::Udp(UdpCheck::default()),
        "PING_CHECK" => CheckerKind::Ping,
        "FILE_CHECK" => CheckerKind::File(FileCheck::default()),
        "BFD_CHECK" => CheckerKind::Bfd(BfdCheck::default()),
        _ => return None,
    };
    let mut conn = ConnOpts::default();
    let mut set = Timing::default();
    let mut set_alpha = None;
    let mut log_all_failures = None;
    let mut misc_user: Option<(String, Option<String>)> = None;
    let mut bfd_bad = false;
    let network = kind.is_network();
    let is_misc = matches!(kind, CheckerKind::Misc(_));
    let has_common = !matches!(kind, CheckerKind::File(_) | CheckerKind::Bfd(_));
    ctx.walk(n.children(), &mut |ctx, c| {
        let kw = c.keyword();
        if network && let Some(k) = parse_conn(c, ctx, &mut conn) {
            return k;
        }
        if has_common && let Some(k) = parse_timing(c, ctx, &mut set, Level::Checker, !is_misc) {
            return k;
        }
        if kw == "alpha" && !matches!(kind, CheckerKind::File(_)) {
            set_alpha = opt_bool(c, ctx, "alpha");
            return Kw::Leaf;
        }
        if kw == "nb_get_retry" && matches!(kind, CheckerKind::Http(_) | CheckerKind::Ssl(_)) {
            // 2.2.7 still takes it as `retry` here (only here) but reports a config error.
            ctx.error(c.pos(), "nb_get_retry is deprecated - please use 'retry'");
            if let Some(v) = ctx.uint(c, 1, 0, u64::from(u32::MAX)) {
                set.retry = Some(v as u32);
            }
            return Kw::Leaf;
        }
        if kw == "log_all_failures" && has_common {
            log_all_failures = opt_bool(c, ctx, "log_all_failures");
            return Kw::Leaf;
        }
        match &mut kind {
            CheckerKind::Http(h) | CheckerKind::Ssl(h) => parse_http_kw(c, ctx, h),
            CheckerKind::Misc(m) => parse_misc_kw(c, ctx, m, &mut misc_user, &mut set),
            CheckerKind::Smtp(s) => parse_smtp_kw(c, ctx, s),
            CheckerKind::Dns(d) => parse_dns_kw(c, ctx, d),
            CheckerKind::Udp(u) => parse_udp_kw(c, ctx, u),
            CheckerKind::File(f) => parse_file_kw(c, ctx, f),
            CheckerKind::Bfd(b) => {
                if kw == "name" {
                    // Exactly one name; otherwise the checker is dropped.
                    if c.args().len() == 1 {
                        b.name = c.arg_str(1).map(str::to_string);
                    } else {
                        ctx.error(
                            c.pos(),
                            format!("({rs}) BFD_CHECK - No or too many names specified - skipping checker"),
                        );
                        bfd_bad = true;
                    }
                    Kw::Leaf
                } else {
                    Kw::Unknown
                }
            }
            CheckerKind::Tcp | CheckerKind::Ping => Kw::Unknown,
        }
    });
    // End-of-block checks, reported at the closing position keepalived uses (the block).
    let end = n.block.as_ref().map(|b| b.open.clone()).unwrap_or_else(|| n.pos().clone());
    if network {
        let dest = conn.connect_ip.unwrap_or(rs_addr);
        if let Some(b) = conn.bindto
            && b.is_ipv4() != dest.is_ipv4()
        {
            ctx.error(&end, format!("bindto address {b} does not match address family of connect_ip - skipping"));
            return None;
        }
        if let IpAddr::V6(v6) = dest
            && v6.segments()[0] & 0xffc0 == 0xfe80
            && conn.bind_if.is_none()
        {
            ctx.error(&end, format!("Checker link local address {dest} requires a bind_if"));
            return None;
        }
    }
    match &mut kind {
        CheckerKind::Http(h) | CheckerKind::Ssl(h) if h.urls.is_empty() => {
            ctx.error(&end, "HTTP/SSL_GET checker has no urls specified - ignoring");
            return None;
        }
        CheckerKind::Misc(m) => match &mut m.path {
            None => {
                ctx.error(&end, "No script path has been specified for MISC_CHECKER - skipping");
                return None;
            }
            Some(s) => {
                if let Some((u, g)) = misc_user {
                    s.user = Some(u);
                    s.group = g;
                }
            }
        },
        CheckerKind::File(f) if f.track_file.is_none() => {
            ctx.error(&end, "FILE_CHECK has no track_file specified - ignoring");
            return None;
        }
        CheckerKind::Bfd(b) if b.name.is_none() => {
            if !bfd_bad {
                ctx.error(&end, format!("({rs}) No name has been specified for BFD_CHECKER - skipping"));
            }
            return None;
        }
        CheckerKind::Udp(u) if u.min_reply_length > u.max_reply_length => {
            ctx.error(
                &end,
                format!(
                    "UDP_CHECK min_reply length {} > max_reply_length {} - will always fail",
                    u.min_reply_length, u.max_reply_length
                ),
            );
        }
        _ => {}
    }
    Some(Checker {
        pos: n.pos().clone(),
        kind,
        conn,
        set,
        set_alpha,
        log_all_failures,
        connect_timeout: Duration::from_secs(5),
        retry: 1,
        delay_before_retry: Duration::from_secs(1),
        delay_loop: Duration::from_secs(60),
        warmup: Duration::from_secs(60),
        alpha: false,
        dest: SocketAddr::new(IpAddr::from([0, 0, 0, 0]), 0),
    })
}

fn parse_http_kw(c: &Node, ctx: &mut Ctx<'_>, h: &mut HttpCheck) -> Kw {
    match c.keyword() {
        "url" => {
            if let Some(u) = parse_url(c, ctx) {
                h.urls.push(u);
            }
            Kw::Block
        }
        "http_protocol" => {
            if c.arg(1).is_none() {
                ctx.error(c.pos(), "Missing http_protocol version");
            }
            if let Some(s) = c.arg_str(1) {
                h.http_protocol = match s {
                    "1.0" => HttpProtocol::V1_0,
                    "1.0C" | "1.0c" => HttpProtocol::V1_0C,
                    "1.1" => HttpProtocol::V1_1,
                    _ => {
                        ctx.error(c.pos(), format!("Invalid http_protocol version {s}"));
                        h.http_protocol
                    }
                };
            }
            Kw::Leaf
        }
        "virtualhost" => {
            match c.arg_str(1) {
                Some(v) => h.virtualhost = Some(v.to_string()),
                None => ctx.error(c.pos(), "HTTP_GET virtualhost name missing"),
            }
            Kw::Leaf
        }
        "fast_recovery" => {
            if let Some(b) = opt_bool(c, ctx, "fast_recovery") {
                h.fast_recovery = b;
            }
            Kw::Leaf
        }
        "enable_sni" => {
            h.enable_sni = true;
            Kw::Leaf
        }
        _ => Kw::Unknown,
    }
}

fn parse_url(n: &Node, ctx: &mut Ctx<'_>) -> Option<Url> {
    let mut u = Url { pos: Some(n.pos().clone()), ..Url::default() };
    let mut have_path = false;
    ctx.walk(n.children(), &mut |ctx, c| {
        match c.keyword() {
            "path" => {
                if let Some(p) = ctx.need(c, 1) {
                    u.path = p.to_string();
                    have_path = true;
                }
            }
            "digest" => {
                if let Some(d) = ctx.need(c, 1) {
                    match parse_digest(d) {
                        // One digest per url: a second one (any value) is refused.
                        Some(_) if u.digest.is_some() => ctx.error(c.pos(), format!("Digest '{d}' is a duplicate")),
                        Some(v) => u.digest = Some(v),
                        None if d.len() != 32 => ctx.error(
                            c.pos(),
                            format!("digest '{d}' character length should be 32 rather than {}", d.len()),
                        ),
                        None => ctx.error(c.pos(), format!("digest '{d}' is not a hex MD5 digest")),
                    }
                }
            }
            "status_code" => {
                for t in c.args() {
                    match parse_status(&t.text) {
                        Some(r) => u.status_codes.push(r),
                        None => ctx.error(&t.pos, format!("Invalid HTTP_GET status code '{}'", t.text)),
                    }
                }
            }
            "virtualhost" => match c.arg_str(1) {
                Some(v) => u.virtualhost = Some(v.to_string()),
                None => ctx.error(c.pos(), "Missing HTTP_GET virtualhost name"),
            },
            // 2.2.7 does not check these values at config time (a bad pattern is no -t error);
            // the checker compiles and applies them (check::http::BodyRegex).
            "regex" => u.regex = c.arg_str(1).map(str::to_string),
            "regex_no_match" => u.regex_no_match = true,
            "regex_options" => u.regex_options = c.args().iter().map(|t| t.text.to_string()).collect(),
            "regex_min_offset" => u.regex_min_offset = c.arg_str(1).and_then(super::tree::parse_uint),
            "regex_max_offset" => u.regex_max_offset = c.arg_str(1).and_then(super::tree::parse_uint),
            "regex_stack" => {
                let num = |i| c.arg_str(i).and_then(super::tree::parse_uint);
                u.regex_stack = num(1).zip(num(2));
            }
            _ => return Kw::Unknown,
        }
        Kw::Leaf
    });
    if !have_path {
        let end = n.block.as_ref().map(|b| b.open.clone()).unwrap_or_else(|| n.pos().clone());
        ctx.error(&end, "HTTP/SSL_GET checker url has no path - ignoring");
        return None;
    }
    if u.status_codes.is_empty() {
        u.status_codes.push((200, 299));
    }
    Some(u)
}

/// `N` or `N-M` with 100 <= N <= M <= 599.
pub fn parse_status(s: &str) -> Option<(u16, u16)> {
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a, b),
        None => (s, s),
    };
    let a = super::tree::parse_uint(a)?;
    let b = super::tree::parse_uint(b)?;
    if !(100..=599).contains(&a) || !(100..=599).contains(&b) || a > b {
        return None;
    }
    Some((a as u16, b as u16))
}

/// 32 hex characters -> 16 bytes.
pub fn parse_digest(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn parse_misc_kw(
    c: &Node,
    ctx: &mut Ctx<'_>,
    m: &mut MiscCheck,
    user: &mut Option<(String, Option<String>)>,
    _set: &mut Timing,
) -> Kw {
    match c.keyword() {
        "misc_path" => {
            // A bare misc_path is not fatal in 2.2.7: the checker just has no path.
            if c.arg(1).is_some() {
                m.path = script::parse(c, ctx, UserArgs::Allowed);
            }
        }
        "misc_timeout" => {
            if let Some(v) = ctx.uint(c, 1, 0, u64::from(u32::MAX)) {
                m.timeout_set = if v == 0 { None } else { Some(Duration::from_secs(v)) };
            } else if let Some(a) = c.arg_str(1) {
                ctx.error(c.pos(), format!("Invalid misc_timeout value '{a}'"));
            }
        }
        "misc_dynamic" => m.dynamic = true,
        "user" => match c.arg_str(1) {
            Some(u) => *user = Some((u.to_string(), c.arg_str(2).map(str::to_string))),
            None => ctx.error(c.pos(), "No user specified for misc checker script"),
        },
        _ => return Kw::Unknown,
    }
    Kw::Leaf
}

fn parse_smtp_kw(c: &Node, ctx: &mut Ctx<'_>, s: &mut SmtpCheck) -> Kw {
    match c.keyword() {
        "helo_name" => {
            match c.arg_str(1) {
                Some(h) => s.helo_name = Some(h.to_string()),
                None => ctx.error(c.pos(), "SMTP_CHECK helo name missing"),
            }
            Kw::Leaf
        }
        "host" => {
            ctx.warn(c.pos(), "SMTP_CHECK 'host' block is deprecated - use a separate SMTP_CHECK");
            let mut h = ConnOpts::default();
            ctx.walk(c.children(), &mut |ctx, x| parse_conn(x, ctx, &mut h).unwrap_or(Kw::Unknown));
            s.hosts.push(h);
            Kw::Block
        }
        _ => Kw::Unknown,
    }
}

fn parse_dns_kw(c: &Node, ctx: &mut Ctx<'_>, d: &mut DnsCheck) -> Kw {
    match c.keyword() {
        "type" => {
            if let Some(t) = ctx.need(c, 1) {
                match DnsType::parse(t) {
                    Some(q) => d.qtype = q,
                    None => ctx.error(c.pos(), format!("Unknown DNS check type {t} - ignoring")),
                }
            }
        }
        "name" => {
            if let Some(nm) = ctx.need(c, 1) {
                d.name = nm.to_string();
            }
        }
        _ => return Kw::Unknown,
    }
    Kw::Leaf
}

fn parse_udp_kw(c: &Node, ctx: &mut Ctx<'_>, u: &mut UdpCheck) -> Kw {
    let rest: Vec<&str> = c.args().iter().map(|t| t.text.as_str()).collect();
    match c.keyword() {
        "payload" => {
            if rest.is_empty() {
                ctx.error(c.pos(), "UDP_CHECK payload requires a payload");
            } else {
                match parse_hex(&rest, false) {
                    Some((b, _)) => u.payload = Some(b),
                    None => ctx.error(c.pos(), "Invalid hex string for UDP_CHECK payload"),
                }
            }
        }
        "require_reply" => {
            u.require_reply = true;
            if !rest.is_empty() {
                match parse_hex(&rest, true) {
                    Some(r) => u.reply = Some(r),
                    None => ctx.error(c.pos(), "Invalid hex string for UDP_CHECK reply"),
                }
            }
        }
        "min_reply_length" | "max_reply_length" => {
            let which = if c.keyword() == "min_reply_length" { "min" } else { "max" };
            match ctx.uint(c, 1, 0, 65535) {
                Some(v) if which == "min" => u.min_reply_length = v as u16,
                Some(v) => u.max_reply_length = v as u16,
                None => {
                    if let Some(a) = c.arg_str(1) {
                        ctx.error(
                            c.pos(),
                            format!("UDP_CHECK {which} length {a} not valid - must be between 0 & 65535"),
                        );
                    }
                }
            }
        }
        _ => return Kw::Unknown,
    }
    Kw::Leaf
}

/// keepalived's free-format hex: each word is read two digits at a time from the left, an odd
/// last digit being a byte of its own (`Ab12f 3` = AB 12 0F 03). With `wild`, `x`/`X` digits
/// match anything: the returned mask has 0 in those nibbles.
pub fn parse_hex(words: &[&str], wild: bool) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut data = Vec::new();
    let mut mask = Vec::new();
    for w in words {
        let digits: Vec<char> = w.chars().collect();
        for pair in digits.chunks(2) {
            let mut v = 0u8;
            let mut m = 0u8;
            for &ch in pair {
                let (d, dm) = match ch {
                    'x' | 'X' if wild => (0, 0),
                    _ => (ch.to_digit(16)? as u8, 0xf),
                };
                v = (v << 4) | d;
                m = (m << 4) | dm;
            }
            data.push(v);
            mask.push(m);
        }
    }
    if data.is_empty() { None } else { Some((data, mask)) }
}

fn parse_file_kw(c: &Node, ctx: &mut Ctx<'_>, f: &mut FileCheck) -> Kw {
    match c.keyword() {
        "track_file" => f.track_file = ctx.need(c, 1).map(str::to_string),
        "weight" => {
            if c.arg(1).is_none() {
                ctx.error(c.pos(), "track file weight missing");
                return Kw::Leaf;
            }
            if let Some(w) = ctx.int(c, 1, -2147483647, 2147483647) {
                f.weight = w as i32;
            } else if c.arg(1).is_some() {
                ctx.error(c.pos(), "weight for track file must be in [-2147483647..2147483647] inclusive. Ignoring...");
            }
            match c.arg_str(2) {
                None => {}
                Some("reverse") => f.reverse = true,
                Some(o) => ctx.error(c.pos(), format!("unknown track file weight option {o} - ignoring")),
            }
        }
        _ => return Kw::Unknown,
    }
    Kw::Leaf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_free_format() {
        let (d, m) = parse_hex(&["Ab12f", "3", "456", "546443123"], false).unwrap();
        assert_eq!(d, [0xAB, 0x12, 0x0F, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03]);
        assert!(m.iter().all(|&b| b == 0xff || b == 0x0f));
        let (d, m) = parse_hex(&["1x"], true).unwrap();
        assert_eq!((d[0], m[0]), (0x10, 0xf0));
        assert_eq!(parse_hex(&["1x"], false), None);
        assert_eq!(parse_hex(&["zz"], false), None);
    }

    #[test]
    fn status_and_digest() {
        assert_eq!(parse_status("200"), Some((200, 200)));
        assert_eq!(parse_status("300-302"), Some((300, 302)));
        assert_eq!(parse_status("99"), None);
        assert_eq!(parse_status("600"), None);
        assert_eq!(parse_status("300-200"), None);
        assert_eq!(parse_status("x"), None);
        assert_eq!(parse_digest("9b3a0c85a887a256d6939da88aabd8cd").map(|d| d[0]), Some(0x9b));
        assert_eq!(parse_digest("9b3a"), None);
        assert_eq!(parse_digest("zz3a0c85a887a256d6939da88aabd8cd"), None);
    }

    #[test]
    fn defaults_by_type() {
        let dl = Duration::from_secs(7);
        assert_eq!(CheckerKind::Dns(DnsCheck::default()).default_retry(), 3);
        assert_eq!(CheckerKind::Misc(Box::default()).default_retry(), 0);
        assert_eq!(CheckerKind::Tcp.default_retry(), 1);
        assert_eq!(CheckerKind::Dns(DnsCheck::default()).default_delay_before_retry(dl), dl);
        assert_eq!(CheckerKind::Http(HttpCheck::default()).default_delay_before_retry(dl), Duration::from_secs(3));
        assert_eq!(CheckerKind::Ping.default_delay_before_retry(dl), Duration::from_secs(1));
        assert_eq!(DnsType::parse("aaaa").map(DnsType::qtype), Some(28));
    }
}
