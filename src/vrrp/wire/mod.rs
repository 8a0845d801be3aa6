//! Wire formats VRRP needs: the VRRP advert (v2/v3, IPv4/IPv6), the IPv4 header keepalived builds
//! for its raw socket, and the gratuitous ARP / unsolicited Neighbour Advertisement frames sent on
//! a packet socket.
//!
//! Every format follows the same contract (the smoltcp `wire` style):
//! - `Packet<T: AsRef<[u8]>>` is a zero-copy view. `new_unchecked` wraps any buffer,
//!   `check_len` validates it, and `new_checked` does both. After `check_len` succeeds no getter
//!   or setter panics; variable-position fields are read through `get`, so they never panic.
//! - `Repr` is an owned, validated value. `Repr::parse` never panics on a checked packet, and
//!   `Repr::emit` checks the buffer length and returns `Error::Truncated` instead of panicking.
//! - Enums read from the wire carry an `Unknown(n)` variant so decoding never loses a value.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod ipv4;
pub mod ipv6;
pub mod ndisc;
pub mod vrrp;

#[cfg(test)]
mod captured;

use std::fmt;

/// Why a buffer could not be read (or written) as a given format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The buffer is shorter than the header or than the lengths it declares.
    Truncated,
    /// A version field other than the one(s) this format knows.
    BadVersion(u8),
    /// A VRRP type other than 1 (Advertisement), or an ICMPv6 type other than 136.
    BadType(u8),
    /// A VRRPv2 authentication type outside 0 (none), 1 (PASS), 2 (AH).
    BadAuthType(u8),
    /// The packet is longer than its header says (e.g. more bytes than `count` addresses need).
    LengthMismatch { expected: usize, actual: usize },
    /// A checksum that does not verify.
    BadChecksum,
    /// Well-formed but outside what we handle (fragments, non-Ethernet ARP, VRRPv2 over IPv6…).
    Unsupported(&'static str),
    /// A field value the format forbids (IHL < 5, zero-length ND option…).
    Malformed(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => write!(f, "packet truncated"),
            Error::BadVersion(v) => write!(f, "wrong version {v}"),
            Error::BadType(t) => write!(f, "invalid type {t}"),
            Error::BadAuthType(t) => write!(f, "invalid auth type {t}"),
            Error::LengthMismatch { expected, actual } => {
                write!(f, "packet length {actual} does not match the expected {expected}")
            }
            Error::BadChecksum => write!(f, "invalid checksum"),
            Error::Unsupported(what) => write!(f, "unsupported: {what}"),
            Error::Malformed(what) => write!(f, "malformed: {what}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Byte range of a fixed-position field.
pub(crate) type Field = std::ops::Range<usize>;
/// Byte range from a fixed offset to the end of the buffer.
pub(crate) type Rest = std::ops::RangeFrom<usize>;

/// Defines a wire enum with an `Unknown` catch-all and lossless conversions both ways.
macro_rules! enum_with_unknown {
    (
        $(#[$attr:meta])*
        pub enum $name:ident($ty:ty) {
            $( $(#[$vattr:meta])* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vattr])* $variant ),+,
            Unknown($ty),
        }

        impl From<$ty> for $name {
            fn from(value: $ty) -> Self {
                match value {
                    $( $value => $name::$variant ),+,
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for $ty {
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value ),+,
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}
pub(crate) use enum_with_unknown;

/// An Ethernet (EUI-48) address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// Reads a MAC from a slice of exactly 6 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<MacAddr> {
        <[u8; 6]>::try_from(bytes).ok().map(MacAddr)
    }

    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// The Ethernet multicast address an IPv6 multicast group maps to (RFC 2464 §7: 33:33 + low 32 bits).
    pub fn ipv6_multicast(group: &std::net::Ipv6Addr) -> MacAddr {
        let o = group.octets();
        MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// The IP family a VRRP instance runs over; VRRPv3 packets do not say it themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    /// Size of one address in a VRRP address list.
    pub const fn addr_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }
}

/// The RFC virtual router MAC: 00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID for IPv6
/// (RFC 5798 §7.3). keepalived uses it only with `use_vmac`.
pub const fn virtual_mac(vrid: u8, family: Family) -> MacAddr {
    let kind = match family {
        Family::Ipv4 => 0x01,
        Family::Ipv6 => 0x02,
    };
    MacAddr([0x00, 0x00, 0x5e, 0x00, kind, vrid])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_mac_per_family() {
        assert_eq!(virtual_mac(51, Family::Ipv4).to_string(), "00:00:5e:00:01:33");
        assert_eq!(virtual_mac(255, Family::Ipv6).to_string(), "00:00:5e:00:02:ff");
        assert_eq!(virtual_mac(1, Family::Ipv4).octets(), [0, 0, 0x5e, 0, 1, 1]);
    }

    #[test]
    fn ipv6_multicast_mac() {
        let all_nodes: std::net::Ipv6Addr = "ff02::1".parse().unwrap();
        assert_eq!(MacAddr::ipv6_multicast(&all_nodes), MacAddr([0x33, 0x33, 0, 0, 0, 1]));
        let vrrp: std::net::Ipv6Addr = "ff02::12".parse().unwrap();
        assert_eq!(MacAddr::ipv6_multicast(&vrrp).to_string(), "33:33:00:00:00:12");
    }

    #[test]
    fn mac_from_bytes_needs_six() {
        assert_eq!(MacAddr::from_bytes(&[1, 2, 3, 4, 5]), None);
        assert_eq!(MacAddr::from_bytes(&[1, 2, 3, 4, 5, 6]), Some(MacAddr([1, 2, 3, 4, 5, 6])));
    }

    #[test]
    fn errors_display() {
        assert_eq!(
            Error::LengthMismatch { expected: 20, actual: 24 }.to_string(),
            "packet length 24 does not match the expected 20"
        );
        assert_eq!(Error::BadVersion(4).to_string(), "wrong version 4");
    }

    enum_with_unknown! {
        pub enum Demo(u8) { One = 1, Two = 2 }
    }

    #[test]
    fn enum_with_unknown_round_trips() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(Demo::from(v)), v);
        }
        assert_eq!(Demo::from(2), Demo::Two);
        assert_eq!(Demo::from(9), Demo::Unknown(9));
    }
}
