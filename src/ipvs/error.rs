//! Typed IPVS errors: each names the operation and the service or destination it was about,
//! so a log line says what failed without the caller re-deriving context.

use std::fmt;
use std::io;

/// An IPVS failure.
#[derive(Debug)]
pub enum IpvsError {
    /// The netlink socket itself failed (open, setsockopt, send, receive).
    Socket { op: &'static str, source: io::Error },
    /// The "IPVS" generic netlink family does not exist, even after `modprobe ip_vs`.
    FamilyNotFound { modprobe: String },
    /// The kernel refused the request with an errno.
    Kernel { op: &'static str, target: String, errno: i32 },
    /// No reply within the socket's receive timeout.
    Timeout { op: &'static str, target: String },
    /// The ACK never arrived although later ones did (dropped reply, e.g. ENOBUFS):
    /// the request's outcome is unknown.
    Lost { op: &'static str, target: String },
    /// A reply was malformed or of an unexpected shape.
    Protocol { op: &'static str, detail: String },
    /// A request could not be encoded (e.g. scheduler name too long).
    Invalid { op: &'static str, target: String, detail: String },
}

impl IpvsError {
    /// The kernel errno, when the kernel refused the request.
    pub fn errno(&self) -> Option<i32> {
        match self {
            IpvsError::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// The netlink operation this error is about.
    pub fn op(&self) -> &'static str {
        match self {
            IpvsError::Socket { op, .. }
            | IpvsError::Kernel { op, .. }
            | IpvsError::Timeout { op, .. }
            | IpvsError::Lost { op, .. }
            | IpvsError::Protocol { op, .. }
            | IpvsError::Invalid { op, .. } => op,
            IpvsError::FamilyNotFound { .. } => "GETFAMILY",
        }
    }
}

fn with_target(f: &mut fmt::Formatter<'_>, op: &str, target: &str) -> fmt::Result {
    if target.is_empty() { write!(f, "IPVS {op}") } else { write!(f, "IPVS {op} {target}") }
}

impl fmt::Display for IpvsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpvsError::Socket { op, source } => write!(f, "IPVS {op}: netlink socket: {source}"),
            IpvsError::FamilyNotFound { modprobe } => {
                write!(f, "IPVS generic netlink family not found (is the ip_vs module available? {modprobe})")
            }
            IpvsError::Kernel { op, target, errno } => {
                with_target(f, op, target)?;
                write!(f, ": {}", io::Error::from_raw_os_error(*errno))
            }
            IpvsError::Timeout { op, target } => {
                with_target(f, op, target)?;
                write!(f, ": no reply from the kernel (timeout)")
            }
            IpvsError::Lost { op, target } => {
                with_target(f, op, target)?;
                write!(f, ": reply lost, outcome unknown")
            }
            IpvsError::Protocol { op, detail } => write!(f, "IPVS {op}: malformed reply: {detail}"),
            IpvsError::Invalid { op, target, detail } => {
                with_target(f, op, target)?;
                write!(f, ": invalid request: {detail}")
            }
        }
    }
}

impl std::error::Error for IpvsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IpvsError::Socket { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_error_names_op_target_and_errno() {
        let e = IpvsError::Kernel {
            op: "NEW_DEST",
            target: "[10.0.0.2]:80 of TCP 10.0.0.1:80".into(),
            errno: libc::EEXIST,
        };
        let s = e.to_string();
        assert!(s.starts_with("IPVS NEW_DEST [10.0.0.2]:80 of TCP 10.0.0.1:80: "), "{s}");
        assert!(s.contains("exists"), "{s}");
        assert_eq!(e.errno(), Some(libc::EEXIST));
        assert_eq!(e.op(), "NEW_DEST");
    }

    #[test]
    fn other_variants_display_and_have_no_errno() {
        let cases = [
            IpvsError::Socket { op: "FLUSH", source: io::Error::from_raw_os_error(libc::EPERM) },
            IpvsError::FamilyNotFound { modprobe: "modprobe failed".into() },
            IpvsError::Timeout { op: "GET_INFO", target: String::new() },
            IpvsError::Lost { op: "DEL_SERVICE", target: "UDP 10.0.0.1:53".into() },
            IpvsError::Protocol { op: "GET_SERVICE", detail: "short".into() },
            IpvsError::Invalid { op: "NEW_SERVICE", target: "x".into(), detail: "y".into() },
        ];
        for e in &cases {
            assert!(e.errno().is_none());
            assert!(e.to_string().starts_with("IPVS"), "{e}");
        }
        assert!(cases[0].to_string().contains("FLUSH"));
        assert!(std::error::Error::source(&cases[0]).is_some());
        assert!(cases[2].to_string().contains("timeout"));
        assert_eq!(cases[2].to_string(), "IPVS GET_INFO: no reply from the kernel (timeout)");
        assert_eq!(cases[1].op(), "GETFAMILY");
    }
}
