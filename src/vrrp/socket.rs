//! Raw IPPROTO_VRRP (112) sockets and the interface facts an instance needs.
//!
//! One socket per instance serves both directions: `IP_HDRINCL` so we write the TOS 0xC0 / TTL
//! 255 header ourselves (as keepalived does), bound to the interface (`SO_BINDTODEVICE`), joined
//! to the VRRP group on that interface for multicast, multicast loop off so we do not hear
//! ourselves. Receives return the whole IPv4 datagram (raw sockets include the header).

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use super::wire::MacAddr;
use super::wire::ipv4::{PROTO_VRRP, TOS_NETWORK_CONTROL, VRRP_TTL};

/// The interface index of `name` in the current network namespace.
pub fn ifindex(name: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 { Err(io::Error::last_os_error()) } else { Ok(idx) }
}

/// An `ifreq` ioctl on a throwaway datagram socket; returns the filled request.
fn ifreq_ioctl(name: &str, req: libc::c_ulong) -> io::Result<libc::ifreq> {
    let bytes = name.as_bytes();
    if bytes.len() >= libc::IFNAMSIZ {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: ifreq is plain data; zero is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
    // SAFETY: `ifr` is a valid ifreq for these SIOCGIF* requests, which only write into it.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), req as _, &mut ifr) };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(ifr) }
}

/// The interface's hardware address.
pub fn if_mac(name: &str) -> io::Result<MacAddr> {
    let ifr = ifreq_ioctl(name, libc::SIOCGIFHWADDR)?;
    // SAFETY: SIOCGIFHWADDR fills the ifru_hwaddr member.
    let sa = unsafe { ifr.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (d, s) in mac.iter_mut().zip(sa.sa_data.iter()) {
        *d = *s as u8;
    }
    Ok(MacAddr(mac))
}

/// The interface's primary IPv4 address (keepalived's default source).
pub fn if_primary_v4(name: &str) -> io::Result<Ipv4Addr> {
    let ifr = ifreq_ioctl(name, libc::SIOCGIFADDR)?;
    // SAFETY: SIOCGIFADDR fills ifru_addr with a sockaddr_in for AF_INET.
    let sa = unsafe { ifr.ifr_ifru.ifru_addr };
    // sockaddr_in: family (2), port (2), address (4): the address is sa_data[2..6].
    let d = sa.sa_data;
    Ok(Ipv4Addr::new(d[2] as u8, d[3] as u8, d[4] as u8, d[5] as u8))
}

/// One instance's IPv4 VRRP socket.
pub struct VrrpSocket4 {
    fd: AsyncFd<Socket>,
}

impl VrrpSocket4 {
    /// Opens the socket on `ifname`; `group` is joined unless the instance is unicast.
    pub fn open(ifname: &str, group: Option<Ipv4Addr>) -> io::Result<VrrpSocket4> {
        let idx = ifindex(ifname)?;
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(i32::from(PROTO_VRRP))))?;
        s.set_header_included_v4(true)?;
        s.bind_device(Some(ifname.as_bytes()))?;
        s.set_tos_v4(u32::from(TOS_NETWORK_CONTROL))?;
        s.set_multicast_ttl_v4(u32::from(VRRP_TTL))?;
        s.set_multicast_loop_v4(false)?;
        if let Some(g) = group {
            s.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(idx))?;
        }
        s.set_nonblocking(true)?;
        // SAFETY: socket2's Socket owns its fd for its whole life and always returns the same one.
        let fd = unsafe { AsyncFd::register(s) }.map_err(|e| io::Error::other(e.to_string()))?;
        Ok(VrrpSocket4 { fd })
    }

    /// Receives one datagram (IP header included) into `buf`; returns its length.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| fd.get_ref().read(buf)) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    /// Sends a complete IPv4 datagram to `dst` (non-blocking; a full queue drops it, as a lost
    /// advert would be on the wire).
    pub fn send(&self, datagram: &[u8], dst: Ipv4Addr) -> io::Result<()> {
        let to = SockAddr::from(SocketAddrV4::new(dst, 0));
        self.fd.get_ref().send_to(datagram, &to).map(|_| ())
    }
}
