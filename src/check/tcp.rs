//! TCP_CHECK: success = the connection is established within `connect_timeout`. The connect
//! helper is shared by the checkers that talk TCP (HTTP_GET, SMTP_CHECK).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use log::info;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::net::{TcpSocket, TcpStream};

use super::engine::{Probe, ProbeFuture, coarse_now, log_failed};
use crate::config::checker::{Checker, ConnOpts};

/// Where and how a checker connects.
#[derive(Debug, Clone)]
pub struct Conn {
    pub dest: SocketAddr,
    /// Boxed and only when set: most checkers have none, and 10,000 probes would carry 80
    /// bytes each for nothing.
    pub opts: Option<Box<ConnOpts>>,
    pub timeout: Duration,
}

impl Conn {
    pub fn of(c: &Checker) -> Self {
        let opts = (c.conn != ConnOpts::default()).then(|| Box::new(c.conn.clone()));
        Conn { dest: c.dest, opts, timeout: c.connect_timeout }
    }

    /// A non-blocking connect bound as configured (bindto, bind_port, bind_if, fwmark).
    pub async fn connect(&self) -> io::Result<TcpStream> {
        let sock = self.socket()?;
        match tokio::time::timeout_at(coarse_now() + self.timeout, sock.connect(self.dest)).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timeout")),
        }
    }

    /// TCP_CHECK's whole check: does a connection get established within the timeout? The
    /// least the kernel can be asked for it: socket, connect, one readiness wait, close (plus
    /// the reactor's add/remove). The connect result is read from the readiness itself (an
    /// error or hang-up means failure), so no SO_ERROR read; the socket is closed at once,
    /// without shutdown, as keepalived does.
    pub async fn established(&self) -> io::Result<()> {
        let sock = self.socket2()?;
        match sock.connect(&self.dest.into()) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        // A server on this host (or one a switch away) has usually answered by the time
        // connect returns: one poll without waiting settles it, without the reactor.
        match poll_now(&sock) {
            Some(Ok(())) => return Ok(()),
            Some(Err(e)) => return Err(e),
            None => {}
        }
        // SAFETY: the AsyncFd owns the socket, so its fd stays open and the same until dropped.
        let fd = unsafe { AsyncFd::register_with_interest(sock, Interest::WRITABLE) }.map_err(|e| e.into_parts().1)?;
        let ready = match tokio::time::timeout_at(coarse_now() + self.timeout, fd.writable()).await {
            Ok(r) => r?.ready(),
            Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "connect timeout")),
        };
        if ready.is_write_closed() {
            // Refused, reset or unreachable: the error is the socket's (one read, failures only).
            let err = fd.get_ref().take_error()?;
            return Err(err.unwrap_or_else(|| io::Error::from(io::ErrorKind::ConnectionRefused)));
        }
        Ok(())
    }

    fn socket(&self) -> io::Result<TcpSocket> {
        Ok(TcpSocket::from_std_stream(std::net::TcpStream::from(self.socket2()?)))
    }

    fn socket2(&self) -> io::Result<Socket> {
        let domain = if self.dest.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
        let s = Socket::new(domain, Type::STREAM.nonblocking().cloexec(), Some(Protocol::TCP))?;
        let Some(opts) = &self.opts else { return Ok(s) };
        if let Some(ifname) = &opts.bind_if {
            s.bind_device(Some(ifname.as_bytes()))?;
        }
        if let Some(mark) = opts.fwmark {
            s.set_mark(mark)?;
        }
        if opts.bindto.is_some() || opts.bind_port.is_some() {
            let ip = opts.bindto.unwrap_or(if self.dest.is_ipv4() {
                std::net::Ipv4Addr::UNSPECIFIED.into()
            } else {
                std::net::Ipv6Addr::UNSPECIFIED.into()
            });
            if opts.bind_port.is_some() {
                s.set_reuse_address(true)?;
            }
            s.bind(&SocketAddr::new(ip, opts.bind_port.unwrap_or(0)).into())?;
        }
        Ok(s)
    }
}

/// The connect's outcome if it is already known: `poll` with no wait for writability.
fn poll_now(sock: &Socket) -> Option<io::Result<()>> {
    use std::os::fd::AsRawFd;
    let mut pfd = libc::pollfd { fd: sock.as_raw_fd(), events: libc::POLLOUT, revents: 0 };
    // SAFETY: one valid pollfd for an fd we own, zero timeout.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    if n < 0 {
        return Some(Err(io::Error::last_os_error()));
    }
    if n == 0 {
        return None;
    }
    if pfd.revents & (libc::POLLERR | libc::POLLHUP) != 0 {
        // Refused or reset: the reason is the socket's error.
        return Some(Err(sock.take_error().ok().flatten().unwrap_or_else(|| io::ErrorKind::ConnectionRefused.into())));
    }
    (pfd.revents & libc::POLLOUT != 0).then_some(Ok(()))
}

pub struct TcpProbe {
    conn: Conn,
    label: String,
}

impl TcpProbe {
    /// `label`: the checker's `[ip]:proto:port` for the log lines.
    pub fn new(c: &Checker, label: String) -> Self {
        TcpProbe { conn: Conn::of(c), label }
    }
}

impl Probe for TcpProbe {
    fn check(&mut self) -> ProbeFuture<'_> {
        Box::pin(async move {
            match self.conn.established().await {
                Ok(()) => true,
                Err(e) => {
                    log::debug!("TCP connection to {} failed: {e}", self.label);
                    false
                }
            }
        })
    }

    fn log_up(&self) {
        info!("TCP connection to {} success.", self.label);
    }

    fn log_down(&self, retries: u32, first: bool) {
        log_failed("TCP_CHECK", &self.label, retries, first);
    }

    fn log_failure(&self) {
        info!("TCP_CHECK on service {} failed.", self.label);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(dest: SocketAddr, timeout_ms: u64) -> Conn {
        Conn { dest, opts: None, timeout: Duration::from_millis(timeout_ms) }
    }

    #[tokio::test]
    async fn established_to_a_listener_and_refused_without_one() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        assert!(conn(addr, 2000).established().await.is_ok());
        drop(l);
        let e = conn(addr, 2000).established().await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
    }

    /// A listener whose accept queue is full drops SYNs: the connect hangs until the timeout.
    #[tokio::test]
    async fn a_hanging_connect_times_out() {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).unwrap();
        s.listen(0).unwrap();
        let addr = s.local_addr().unwrap().as_socket().unwrap();
        // Fill the queue (never accepted): the kernel keeps backlog + 1 connections.
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(Socket::new(Domain::IPV4, Type::STREAM.nonblocking(), None).unwrap());
            let _ = held.last().unwrap().connect(&addr.into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let t0 = std::time::Instant::now();
        let e = conn(addr, 300).established().await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        assert!(t0.elapsed() >= Duration::from_millis(300));
    }

    #[tokio::test]
    async fn a_bad_bind_address_fails_before_connecting() {
        let mut c = conn(SocketAddr::from(([127, 0, 0, 1], 9)), 100);
        // Not an address of this host: bind fails (EADDRNOTAVAIL).
        c.opts = Some(Box::new(ConnOpts { bindto: Some([192, 0, 2, 1].into()), ..ConnOpts::default() }));
        assert!(c.established().await.is_err());
    }
}
