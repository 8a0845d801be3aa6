//! TCP_CHECK: success = the connection is established within `connect_timeout`. The connect
//! helper is shared by the checkers that talk TCP (HTTP_GET, SMTP_CHECK).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use log::info;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpSocket, TcpStream};

use super::engine::{Probe, ProbeFuture, log_failed};
use crate::config::checker::{Checker, ConnOpts};

/// Where and how a checker connects.
#[derive(Debug, Clone)]
pub struct Conn {
    pub dest: SocketAddr,
    pub opts: ConnOpts,
    pub timeout: Duration,
}

impl Conn {
    pub fn of(c: &Checker) -> Self {
        Conn { dest: c.dest, opts: c.conn.clone(), timeout: c.connect_timeout }
    }

    /// A non-blocking connect bound as configured (bindto, bind_port, bind_if, fwmark).
    pub async fn connect(&self) -> io::Result<TcpStream> {
        let sock = self.socket()?;
        match tokio::time::timeout(self.timeout, sock.connect(self.dest)).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timeout")),
        }
    }

    fn socket(&self) -> io::Result<TcpSocket> {
        let domain = if self.dest.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
        let s = Socket::new(domain, Type::STREAM.nonblocking().cloexec(), Some(Protocol::TCP))?;
        if let Some(ifname) = &self.opts.bind_if {
            s.bind_device(Some(ifname.as_bytes()))?;
        }
        if let Some(mark) = self.opts.fwmark {
            s.set_mark(mark)?;
        }
        if self.opts.bindto.is_some() || self.opts.bind_port.is_some() {
            let ip = self.opts.bindto.unwrap_or(if self.dest.is_ipv4() {
                std::net::Ipv4Addr::UNSPECIFIED.into()
            } else {
                std::net::Ipv6Addr::UNSPECIFIED.into()
            });
            if self.opts.bind_port.is_some() {
                s.set_reuse_address(true)?;
            }
            s.bind(&SocketAddr::new(ip, self.opts.bind_port.unwrap_or(0)).into())?;
        }
        Ok(TcpSocket::from_std_stream(std::net::TcpStream::from(s)))
    }
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
            match self.conn.connect().await {
                Ok(s) => {
                    // keepalived closes at once; a plain close is what it sends.
                    drop(s);
                    true
                }
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
