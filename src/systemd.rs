//! The systemd readiness protocol (`sd_notify`): Debian's keepalived.service is `Type=notify`, so
//! a daemon that never says `READY=1` is killed by systemd after its start timeout. The protocol is
//! one datagram per state change to the socket named by `$NOTIFY_SOCKET`; no crate needed.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

use log::debug;

/// Where to send state changes; does nothing when not started by systemd.
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
}

impl Notifier {
    /// From `$NOTIFY_SOCKET`: a path, or `@name` for the abstract namespace.
    pub fn from_env() -> Notifier {
        let target = std::env::var_os("NOTIFY_SOCKET").and_then(|v| {
            let v = v.to_string_lossy().into_owned();
            let addr = match v.strip_prefix('@') {
                Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
                None if v.starts_with('/') => SocketAddr::from_pathname(&v),
                None => return None,
            };
            let sock = UnixDatagram::unbound();
            match (addr, sock) {
                (Ok(a), Ok(s)) => Some((s, a)),
                (Err(e), _) | (_, Err(e)) => {
                    debug!("NOTIFY_SOCKET {v}: {e}");
                    None
                }
            }
        });
        Notifier { target }
    }

    /// Sends `msg` (e.g. `READY=1`); failures are only logged at debug: systemd may be gone.
    pub fn send(&self, msg: &str) {
        if let Some((sock, addr)) = &self.target
            && let Err(e) = sock.send_to_addr(msg.as_bytes(), addr)
        {
            debug!("sd_notify {msg:?}: {e}");
        }
    }

    pub fn ready(&self) {
        self.send("READY=1");
    }

    /// `RELOADING=1` with the monotonic timestamp newer systemd versions require for it.
    pub fn reloading(&self) {
        self.send(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }
}

fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_to_a_path_socket() {
        let dir = std::env::temp_dir().join(format!("kard-sdn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).unwrap();
        let n =
            Notifier { target: Some((UnixDatagram::unbound().unwrap(), SocketAddr::from_pathname(&path).unwrap())) };
        n.ready();
        n.reloading();
        let mut buf = [0u8; 128];
        let len = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"READY=1");
        let len = rx.recv(&mut buf).unwrap();
        let msg = std::str::from_utf8(&buf[..len]).unwrap();
        assert!(msg.starts_with("RELOADING=1\nMONOTONIC_USEC="), "{msg}");
        assert!(msg.rsplit('=').next().unwrap().parse::<u64>().unwrap() > 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_a_socket_nothing_happens() {
        Notifier { target: None }.ready();
    }
}
