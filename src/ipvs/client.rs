//! The IPVS client: one long-lived generic netlink socket, blocking (use it from
//! `spawn_blocking` or a dedicated thread in async code).
//!
//! Why neli's `NlSocket` and not its `NlRouter`: the router sends every request with its own
//! `send()` and hands replies to per-request channels through a background thread. The batch
//! path ([`Ipvs::apply`]) needs many requests packed into one `sendmsg` and their ACKs
//! matched by sequence number in bulk, which the router cannot do. One socket serves both the
//! single requests and the batches, so there is still exactly one socket and no thread.
//!
//! A "round trip" is one send of one or more requests followed by waiting for all their
//! replies; [`Ipvs::round_trips`] counts them.

use std::collections::HashMap;
use std::io;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::Duration;

use neli::consts::nl::NlmF;
use neli::consts::socket::{Msg, NlFamily};
use neli::socket::NlSocket;
use neli::utils::Groups;

use super::error::IpvsError;
use super::wire::{self, Dest, DestEntry, Info, Op, Reply, Service, ServiceEntry, ServiceKey, Timeouts, cmd};

/// Generic netlink controller (GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_*).
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_VERSION: u8 = 2;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;

/// Socket buffers we ask for (SO_*BUFFORCE needs CAP_NET_ADMIN, which IPVS needs anyway).
const SOCK_BUF: usize = 8 << 20;
/// Bytes of receive buffer one queued ACK may take (skb truesize, with margin).
const ACK_TRUESIZE: usize = 1024;
/// Largest single sendmsg in a batch (far below the forced send buffer).
const SEND_CHUNK: usize = 128 << 10;
const RECV_BUF: usize = 256 << 10;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A handle on the kernel's IPVS table of the current network namespace.
pub struct Ipvs {
    sock: NlSocket,
    family: u16,
    pid: u32,
    seq: u32,
    window: usize,
    round_trips: u64,
    buf: Vec<u8>,
}

struct Outstanding {
    op: &'static str,
    target: String,
    dump: bool,
    data: Vec<(u8, Vec<u8>)>,
    result: Option<Result<(), IpvsError>>,
}

fn sock_err(op: &'static str) -> impl Fn(io::Error) -> IpvsError {
    move |source| IpvsError::Socket { op, source }
}

fn setsockopt_int(fd: i32, level: i32, name: i32, val: i32) -> io::Result<()> {
    // SAFETY: `val` lives for the call and its size is passed.
    let rc =
        unsafe { libc::setsockopt(fd, level, name, (&val as *const i32).cast(), size_of::<i32>() as libc::socklen_t) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

fn getsockopt_int(fd: i32, level: i32, name: i32) -> io::Result<i32> {
    let mut val: i32 = 0;
    let mut len = size_of::<i32>() as libc::socklen_t;
    // SAFETY: `val`/`len` are valid for writes of the sizes given.
    let rc = unsafe { libc::getsockopt(fd, level, name, (&mut val as *mut i32).cast(), &mut len) };
    if rc == 0 { Ok(val) } else { Err(io::Error::last_os_error()) }
}

fn set_buf(fd: i32, force: i32, plain: i32) {
    // Best effort: FORCE needs CAP_NET_ADMIN; the plain one is capped by net.core.*mem_max.
    if setsockopt_int(fd, libc::SOL_SOCKET, force, SOCK_BUF as i32).is_err() {
        let _ = setsockopt_int(fd, libc::SOL_SOCKET, plain, SOCK_BUF as i32);
    }
}

/// Runs the kernel's modprobe for ip_vs (keepalived does the same when the family is
/// missing and module autoloading did not happen). Returns what happened, for the error.
fn modprobe_ip_vs() -> String {
    let path = std::fs::read_to_string("/proc/sys/kernel/modprobe")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| s.starts_with('/'))
        .unwrap_or_else(|| "/sbin/modprobe".to_string());
    match Command::new(&path)
        .args(["--", "ip_vs"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(st) if st.success() => format!("{path} ip_vs succeeded"),
        Ok(st) => format!("{path} ip_vs failed: {st}"),
        Err(e) => format!("{path} ip_vs could not run: {e}"),
    }
}

impl Ipvs {
    /// Opens the socket and resolves the IPVS family, loading ip_vs once if it is missing.
    pub fn open() -> Result<Ipvs, IpvsError> {
        let mut ipvs = Ipvs::connect()?;
        ipvs.family = match ipvs.resolve_family(wire::GENL_NAME)? {
            Some(id) => id,
            None => {
                let how = modprobe_ip_vs();
                ipvs.resolve_family(wire::GENL_NAME)?.ok_or(IpvsError::FamilyNotFound { modprobe: how })?
            }
        };
        Ok(ipvs)
    }

    /// The socket, configured, with no family resolved yet.
    fn connect() -> Result<Ipvs, IpvsError> {
        let sock = NlSocket::connect(NlFamily::Generic, None, Groups::empty()).map_err(sock_err("open"))?;
        sock.block().map_err(sock_err("open"))?;
        let fd = sock.as_raw_fd();
        let pid = sock.pid().map_err(sock_err("open"))?;
        set_buf(fd, libc::SO_RCVBUFFORCE, libc::SO_RCVBUF);
        set_buf(fd, libc::SO_SNDBUFFORCE, libc::SO_SNDBUF);
        // Error ACKs without a copy of the request: smaller, so more fit in the buffer.
        let _ = setsockopt_int(fd, libc::SOL_NETLINK, libc::NETLINK_CAP_ACK, 1);
        let rcvbuf = getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF).unwrap_or(212_992);
        let window = (usize::try_from(rcvbuf).unwrap_or(0) / ACK_TRUESIZE).clamp(8, 4096);
        let mut ipvs = Ipvs { sock, family: 0, pid, seq: 0, window, round_trips: 0, buf: vec![0; RECV_BUF] };
        ipvs.set_timeout(DEFAULT_TIMEOUT)?;
        Ok(ipvs)
    }

    /// How long a request waits for its reply before failing with `Timeout`.
    pub fn set_timeout(&mut self, t: Duration) -> Result<(), IpvsError> {
        let tv = libc::timeval {
            tv_sec: t.as_secs().min(i32::MAX as u64) as libc::time_t,
            tv_usec: t.subsec_micros() as libc::suseconds_t,
        };
        // SAFETY: `tv` lives for the call and its size is passed.
        let rc = unsafe {
            libc::setsockopt(
                self.sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc == 0 { Ok(()) } else { Err(sock_err("setsockopt")(io::Error::last_os_error())) }
    }

    /// The generic netlink family id of IPVS.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// Requests written then waited for, since open.
    pub fn round_trips(&self) -> u64 {
        self.round_trips
    }

    /// How many requests [`Ipvs::apply`] keeps in flight (bounded by the receive buffer).
    pub fn window(&self) -> usize {
        self.window
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// The id of a generic netlink family, None if the kernel has no such family.
    fn resolve_family(&mut self, family: &str) -> Result<Option<u16>, IpvsError> {
        let name = wire::attr(CTRL_ATTR_FAMILY_NAME, family).map_err(|detail| IpvsError::Invalid {
            op: "GETFAMILY",
            target: family.into(),
            detail,
        })?;
        let seq = self.next_seq();
        let msg = wire::encode_message(
            GENL_ID_CTRL,
            NlmF::REQUEST | NlmF::ACK,
            seq,
            CTRL_CMD_GETFAMILY,
            CTRL_VERSION,
            vec![name],
        )
        .map_err(|detail| IpvsError::Invalid { op: "GETFAMILY", target: family.into(), detail })?;
        let mut pending = HashMap::new();
        pending.insert(
            seq,
            Outstanding { op: "GETFAMILY", target: family.into(), dump: false, data: vec![], result: None },
        );
        self.exchange(&[msg], &mut pending);
        let out = pending.remove(&seq).ok_or(IpvsError::Protocol { op: "GETFAMILY", detail: "lost request".into() })?;
        match out.result {
            Some(Err(IpvsError::Kernel { errno, .. })) if errno == libc::ENOENT => return Ok(None),
            Some(Err(e)) => return Err(e),
            _ => {}
        }
        for (_, attrs) in &out.data {
            let a = wire::walk_attrs(attrs).map_err(|detail| IpvsError::Protocol { op: "GETFAMILY", detail })?;
            let id = a.iter().find(|(t, _)| *t == CTRL_ATTR_FAMILY_ID).and_then(|(_, p)| p.get(..2));
            if let Some(Ok(b)) = id.map(<[u8; 2]>::try_from) {
                return Ok(Some(u16::from_ne_bytes(b)));
            }
        }
        Err(IpvsError::Protocol { op: "GETFAMILY", detail: "reply without a family id".into() })
    }

    /// Sends `msgs` (already encoded; packed into datagrams of at most SEND_CHUNK bytes) and
    /// reads replies until every entry of `pending` has a result.
    fn exchange(&mut self, msgs: &[Vec<u8>], pending: &mut HashMap<u32, Outstanding>) {
        self.round_trips += 1;
        let mut chunk: Vec<u8> = Vec::new();
        let mut chunk_start = 0;
        let mut failure: Option<(usize, io::Error)> = None;
        for (i, m) in msgs.iter().enumerate() {
            if !chunk.is_empty() && chunk.len() + m.len() > SEND_CHUNK {
                if let Err(e) = self.sock.send(&chunk, Msg::empty()) {
                    failure = Some((chunk_start, e));
                    break;
                }
                chunk.clear();
                chunk_start = i;
            }
            chunk.extend_from_slice(m);
        }
        if failure.is_none()
            && !chunk.is_empty()
            && let Err(e) = self.sock.send(&chunk, Msg::empty())
        {
            failure = Some((chunk_start, e));
        }
        let Some((unsent, e)) = failure else {
            self.collect(pending, false);
            return;
        };
        // Requests from `unsent` on never reached the kernel; the earlier ones did and their
        // replies are queued.
        for m in msgs.get(unsent..).unwrap_or(&[]) {
            let seq = wire::split_messages(m).ok().and_then(|v| v.first().map(|r| r.seq));
            if let Some(o) = seq.and_then(|s| pending.get_mut(&s)) {
                o.result = Some(Err(IpvsError::Socket { op: o.op, source: io::Error::new(e.kind(), e.to_string()) }));
            }
        }
        self.collect(pending, true);
    }

    /// Reads replies into `pending`. Genetlink handles requests synchronously inside
    /// sendmsg, so every reply is queued by now unless the kernel dropped it (ENOBUFS);
    /// after a drop, or with `drain`, reading stops when the queue is empty.
    fn collect(&mut self, pending: &mut HashMap<u32, Outstanding>, mut drain: bool) {
        let mut left = pending.values().filter(|o| o.result.is_none()).count();
        while left > 0 {
            let flags = if drain { Msg::DONTWAIT } else { Msg::empty() };
            let n = match self.sock.recv(&mut self.buf[..], flags) {
                Ok((n, _)) => n,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    drain = true;
                    continue;
                }
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    for o in pending.values_mut().filter(|o| o.result.is_none()) {
                        let (op, target) = (o.op, std::mem::take(&mut o.target));
                        o.result = Some(Err(if drain {
                            IpvsError::Lost { op, target }
                        } else {
                            IpvsError::Timeout { op, target }
                        }));
                    }
                    return;
                }
                Err(e) => {
                    let kind = e.kind();
                    for o in pending.values_mut().filter(|o| o.result.is_none()) {
                        o.result =
                            Some(Err(IpvsError::Socket { op: o.op, source: io::Error::new(kind, e.to_string()) }));
                    }
                    return;
                }
            };
            let datagram = self.buf.get(..n).unwrap_or(&[]);
            left -= dispatch(datagram, self.pid, self.family, pending);
        }
    }

    /// One request, waited for; returns its data replies (command, attribute bytes).
    fn request(
        &mut self,
        op: &'static str,
        target: String,
        c: u8,
        attrs: Vec<neli::genl::Nlattr<u16, neli::types::Buffer>>,
        dump: bool,
    ) -> Result<Vec<(u8, Vec<u8>)>, IpvsError> {
        let seq = self.next_seq();
        // Dumps get no ACK (the kernel ends them with NLMSG_DONE); everything else asks for one,
        // because successful IPVS set operations are otherwise silent.
        let flags = if dump { NlmF::REQUEST | NlmF::DUMP } else { NlmF::REQUEST | NlmF::ACK };
        let msg = wire::encode_message(self.family, flags, seq, c, wire::GENL_VERSION, attrs)
            .map_err(|detail| IpvsError::Invalid { op, target: target.clone(), detail })?;
        let mut pending = HashMap::new();
        pending.insert(seq, Outstanding { op, target, dump, data: vec![], result: None });
        self.exchange(&[msg], &mut pending);
        let out = pending.remove(&seq).ok_or(IpvsError::Protocol { op, detail: "lost request".into() })?;
        match out.result {
            Some(Ok(())) => Ok(out.data),
            Some(Err(e)) => Err(e),
            None => Err(IpvsError::Protocol { op, detail: "no result".into() }),
        }
    }

    fn single(&mut self, op: Op) -> Result<(), IpvsError> {
        let r = op.encode()?;
        self.request(r.op, r.target, r.cmd, r.attrs, false).map(|_| ())
    }

    /// Version and connection table size of the kernel's IPVS.
    pub fn info(&mut self) -> Result<Info, IpvsError> {
        let data = self.request("GET_INFO", String::new(), cmd::GET_INFO, vec![], false)?;
        let (_, attrs) = data.first().ok_or(IpvsError::Protocol { op: "GET_INFO", detail: "no reply".into() })?;
        wire::decode_info(attrs).map_err(|detail| IpvsError::Protocol { op: "GET_INFO", detail })
    }

    /// TCP, TCP FIN and UDP connection timeouts, in seconds.
    pub fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        let data = self.request("GET_CONFIG", String::new(), cmd::GET_CONFIG, vec![], false)?;
        let (_, attrs) = data.first().ok_or(IpvsError::Protocol { op: "GET_CONFIG", detail: "no reply".into() })?;
        wire::decode_timeouts(attrs).map_err(|detail| IpvsError::Protocol { op: "GET_CONFIG", detail })
    }

    /// Sets the timeouts; a 0 leaves that one unchanged.
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), IpvsError> {
        self.single(Op::SetTimeouts(*t))
    }

    /// All services, in one dump.
    pub fn services(&mut self) -> Result<Vec<ServiceEntry>, IpvsError> {
        let data = self.request("GET_SERVICE", String::new(), cmd::GET_SERVICE, vec![], true)?;
        data.iter()
            .filter(|(c, _)| *c == cmd::NEW_SERVICE)
            .map(|(_, a)| wire::decode_service(a).map_err(|detail| IpvsError::Protocol { op: "GET_SERVICE", detail }))
            .collect()
    }

    /// One service, or None if it does not exist.
    pub fn service(&mut self, key: impl AsRef<ServiceKey>) -> Result<Option<ServiceEntry>, IpvsError> {
        let key = key.as_ref();
        let a = wire::service_attr(key, None).map_err(|detail| IpvsError::Invalid {
            op: "GET_SERVICE",
            target: key.to_string(),
            detail,
        })?;
        match self.request("GET_SERVICE", key.to_string(), cmd::GET_SERVICE, vec![a], false) {
            Ok(data) => match data.first() {
                Some((_, attrs)) => wire::decode_service(attrs)
                    .map(Some)
                    .map_err(|detail| IpvsError::Protocol { op: "GET_SERVICE", detail }),
                None => Ok(None),
            },
            Err(IpvsError::Kernel { errno, .. }) if errno == libc::ESRCH || errno == libc::ENOENT => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The destinations of a service, in one dump.
    pub fn dests(&mut self, svc: impl AsRef<ServiceKey>) -> Result<Vec<DestEntry>, IpvsError> {
        let key = svc.as_ref();
        let a = wire::service_attr(key, None).map_err(|detail| IpvsError::Invalid {
            op: "GET_DEST",
            target: key.to_string(),
            detail,
        })?;
        let data = self.request("GET_DEST", key.to_string(), cmd::GET_DEST, vec![a], true)?;
        data.iter()
            .filter(|(c, _)| *c == cmd::NEW_DEST)
            .map(|(_, a)| {
                wire::decode_dest(a, key.family()).map_err(|detail| IpvsError::Protocol { op: "GET_DEST", detail })
            })
            .collect()
    }

    pub fn add_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        self.single(Op::AddService(s.clone()))
    }
    pub fn edit_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        self.single(Op::EditService(s.clone()))
    }
    pub fn del_service(&mut self, svc: impl AsRef<ServiceKey>) -> Result<(), IpvsError> {
        self.single(Op::DelService(*svc.as_ref()))
    }
    pub fn add_dest(&mut self, svc: impl AsRef<ServiceKey>, d: &Dest) -> Result<(), IpvsError> {
        self.single(Op::AddDest(*svc.as_ref(), *d))
    }
    pub fn edit_dest(&mut self, svc: impl AsRef<ServiceKey>, d: &Dest) -> Result<(), IpvsError> {
        self.single(Op::EditDest(*svc.as_ref(), *d))
    }
    pub fn del_dest(&mut self, svc: impl AsRef<ServiceKey>, d: &Dest) -> Result<(), IpvsError> {
        self.single(Op::DelDest(*svc.as_ref(), *d))
    }
    /// Deletes every service (and destination) of this network namespace.
    pub fn flush(&mut self) -> Result<(), IpvsError> {
        self.single(Op::Flush)
    }
    /// Zeroes the counters of one service, or of all with None.
    pub fn zero(&mut self, svc: Option<&ServiceKey>) -> Result<(), IpvsError> {
        self.single(Op::Zero(svc.copied()))
    }

    /// Applies many changes pipelined: up to [`Ipvs::window`] requests (each with its own
    /// sequence number and NLM_F_ACK) are written before their ACKs are read, so N changes
    /// cost about N / window round trips. Not atomic: each result says how its change went,
    /// in the order given; a failed change does not stop the later ones.
    pub fn apply(&mut self, ops: &[Op]) -> Vec<Result<(), IpvsError>> {
        let mut results: Vec<Option<Result<(), IpvsError>>> = Vec::with_capacity(ops.len());
        let mut encoded = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            results.push(None);
            match op.encode() {
                Ok(r) => encoded.push((i, r)),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let mut encoded = encoded.into_iter().peekable();
        while encoded.peek().is_some() {
            // Read per window: apply() halves it after lost ACKs.
            let window: Vec<(usize, wire::Request)> = encoded.by_ref().take(self.window).collect();
            let mut msgs = Vec::with_capacity(window.len());
            let mut pending = HashMap::with_capacity(window.len());
            let mut index = HashMap::with_capacity(window.len());
            for (i, r) in window {
                let seq = self.next_seq();
                let flags = NlmF::REQUEST | NlmF::ACK;
                match wire::encode_message(self.family, flags, seq, r.cmd, wire::GENL_VERSION, r.attrs) {
                    Ok(m) => {
                        msgs.push(m);
                        pending.insert(
                            seq,
                            Outstanding { op: r.op, target: r.target, dump: false, data: vec![], result: None },
                        );
                        index.insert(seq, i);
                    }
                    Err(detail) => results[i] = Some(Err(IpvsError::Invalid { op: r.op, target: r.target, detail })),
                }
            }
            self.exchange(&msgs, &mut pending);
            // Lost ACKs mean the receive buffer overflowed: keep fewer in flight from now on.
            if pending.values().any(|o| matches!(o.result, Some(Err(IpvsError::Lost { .. })))) {
                self.window = (self.window / 2).max(8);
            }
            for (seq, o) in pending {
                if let Some(&i) = index.get(&seq) {
                    results[i] = Some(o.result.unwrap_or(Err(IpvsError::Lost { op: o.op, target: o.target })));
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(IpvsError::Protocol { op: "apply", detail: "no result".into() })))
            .collect()
    }
}

/// Routes the messages of one datagram to their requests; returns how many requests
/// got their final result. Replies for unknown sequence numbers (e.g. of a request that
/// timed out earlier) or from other ports are ignored.
fn dispatch(datagram: &[u8], pid: u32, family: u16, pending: &mut HashMap<u32, Outstanding>) -> usize {
    let msgs = match wire::split_messages(datagram) {
        Ok(m) => m,
        Err(detail) => {
            // A malformed datagram cannot be attributed; fail whoever is waiting for data.
            let mut done = 0;
            for o in pending.values_mut().filter(|o| o.result.is_none()) {
                o.result = Some(Err(IpvsError::Protocol { op: o.op, detail: detail.clone() }));
                done += 1;
            }
            return done;
        }
    };
    let mut done = 0;
    for m in msgs {
        if m.pid != pid && m.pid != 0 {
            continue;
        }
        let Some(o) = pending.get_mut(&m.seq) else { continue };
        if o.result.is_some() {
            continue;
        }
        let reply = match wire::classify(&m) {
            Ok(r) => r,
            Err(detail) => {
                o.result = Some(Err(IpvsError::Protocol { op: o.op, detail }));
                done += 1;
                continue;
            }
        };
        match reply {
            Reply::Data { cmd: c, attrs } if m.ty == family || m.ty == GENL_ID_CTRL => {
                o.data.push((c, attrs.to_vec()));
                // A do-request's reply without NLM_F_ACK would end it; we always ask for the
                // ACK, so only a non-MULTI reply to a dump is final.
                if o.dump && m.flags & wire::nlmsg::F_MULTI == 0 {
                    o.result = Some(Ok(()));
                    done += 1;
                }
            }
            Reply::Data { .. } | Reply::Other => {}
            Reply::Ack | Reply::Done => {
                o.result = Some(Ok(()));
                done += 1;
            }
            Reply::Error(errno) => {
                o.result = Some(Err(IpvsError::Kernel { op: o.op, target: std::mem::take(&mut o.target), errno }));
                done += 1;
            }
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nlmsg(ty: u16, flags: u16, seq: u32, pid: u32, payload: &[u8]) -> Vec<u8> {
        let len = 16 + payload.len();
        let mut v = Vec::new();
        v.extend_from_slice(&(len as u32).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&pid.to_ne_bytes());
        v.extend_from_slice(payload);
        while !v.len().is_multiple_of(4) {
            v.push(0);
        }
        v
    }

    fn err(code: i32, seq: u32) -> Vec<u8> {
        let mut p = code.to_ne_bytes().to_vec();
        p.extend_from_slice(&nlmsg(0x20, 5, seq, 7, &[])[..16]);
        nlmsg(wire::nlmsg::ERROR, 0, seq, 7, &p)
    }

    fn pending(seqs: &[u32], dump: bool) -> HashMap<u32, Outstanding> {
        seqs.iter()
            .map(|&s| (s, Outstanding { op: "NEW_DEST", target: format!("t{s}"), dump, data: vec![], result: None }))
            .collect()
    }

    #[test]
    fn dispatch_matches_acks_and_errors_by_sequence() {
        let mut p = pending(&[1, 2, 3], false);
        let mut d = err(0, 2);
        d.extend(err(-libc::EEXIST, 1));
        d.extend(err(0, 99)); // unknown seq: ignored
        assert_eq!(dispatch(&d, 7, 0x20, &mut p), 2);
        assert!(matches!(p[&2].result, Some(Ok(()))));
        match &p[&1].result {
            Some(Err(IpvsError::Kernel { op, target, errno })) => {
                assert_eq!((*op, target.as_str(), *errno), ("NEW_DEST", "t1", libc::EEXIST));
            }
            other => panic!("{other:?}"),
        }
        assert!(p[&3].result.is_none());
    }

    #[test]
    fn dispatch_ignores_other_ports_and_collects_dump_data() {
        let mut p = pending(&[5], true);
        let mut d = nlmsg(0x20, wire::nlmsg::F_MULTI, 5, 7, &[1, 1, 0, 0, 4, 0, 1, 0]);
        d.extend(nlmsg(wire::nlmsg::DONE, wire::nlmsg::F_MULTI, 5, 8, &0i32.to_ne_bytes())); // other port
        assert_eq!(dispatch(&d, 7, 0x20, &mut p), 0);
        assert_eq!(p[&5].data.len(), 1);
        let done = nlmsg(wire::nlmsg::DONE, wire::nlmsg::F_MULTI, 5, 7, &0i32.to_ne_bytes());
        assert_eq!(dispatch(&done, 7, 0x20, &mut p), 1);
        assert!(matches!(p[&5].result, Some(Ok(()))));
    }

    #[test]
    fn dispatch_fails_waiters_on_malformed_datagrams() {
        let mut p = pending(&[1, 2], false);
        let mut d = err(0, 1);
        d.truncate(10);
        assert_eq!(dispatch(&d, 7, 0x20, &mut p), 2);
        assert!(p.values().all(|o| matches!(o.result, Some(Err(IpvsError::Protocol { .. })))));
        // A truncated NLMSG_ERROR payload for a known seq fails that request only.
        let mut p = pending(&[1, 2], false);
        let bad = nlmsg(wire::nlmsg::ERROR, 0, 1, 7, &[1, 2]);
        assert_eq!(dispatch(&bad, 7, 0x20, &mut p), 1);
        assert!(matches!(p[&1].result, Some(Err(IpvsError::Protocol { .. }))));
        assert!(p[&2].result.is_none());
    }
}

/// These use a real generic netlink socket; they need neither root nor IPVS.
#[cfg(test)]
mod socket_tests {
    use super::*;

    #[test]
    fn resolves_an_existing_family_and_reports_a_missing_one() {
        let mut c = Ipvs::connect().unwrap();
        assert_eq!(c.resolve_family("nlctrl").unwrap(), Some(GENL_ID_CTRL));
        assert_eq!(c.resolve_family("NO_SUCH_FAMILY").unwrap(), None);
        assert_eq!(c.round_trips(), 2);
        assert!(c.window() >= 8);
    }

    #[test]
    fn missing_replies_become_timeout_or_lost() {
        let mut c = Ipvs::connect().unwrap();
        c.set_timeout(Duration::from_millis(50)).unwrap();
        let mk = |seq| {
            let mut p = HashMap::new();
            let o = Outstanding { op: "NEW_DEST", target: "x".into(), dump: false, data: vec![], result: None };
            p.insert(seq, o);
            p
        };
        let mut p = mk(4242);
        c.collect(&mut p, false);
        assert!(matches!(p[&4242].result, Some(Err(IpvsError::Timeout { op: "NEW_DEST", .. }))));
        let mut p = mk(4243);
        c.collect(&mut p, true);
        assert!(matches!(p[&4243].result, Some(Err(IpvsError::Lost { .. }))));
    }

    #[test]
    fn open_without_ipvs_is_a_typed_error() {
        // Where IPVS exists (and we may use it) open() succeeds; elsewhere it must say why.
        match Ipvs::open() {
            Ok(ipvs) => assert!(ipvs.family_id() >= 0x10 && ipvs.round_trips() >= 1),
            Err(e) => {
                assert!(matches!(e, IpvsError::FamilyNotFound { .. }), "{e}");
                assert!(e.to_string().contains("modprobe"), "{e}");
            }
        }
    }
}
