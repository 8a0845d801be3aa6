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

/// The interface's IPv6 link-local address (keepalived's IPv6 source), from /proc/net/if_inet6
/// of the current network namespace.
pub fn if_link_local_v6(name: &str) -> io::Result<std::net::Ipv6Addr> {
    let text = std::fs::read_to_string("/proc/net/if_inet6")?;
    parse_if_inet6(&text, name).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no IPv6 link-local address"))
}

/// Finds `name`'s link-scope (0x20) address in if_inet6 text; tentative (0x40) ones are skipped.
pub fn parse_if_inet6(text: &str, name: &str) -> Option<std::net::Ipv6Addr> {
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [addr, _idx, _plen, scope, flags, dev] = f.as_slice() else { continue };
        if *dev != name || *scope != "20" {
            continue;
        }
        if u32::from_str_radix(flags, 16).is_ok_and(|fl| fl & 0x40 != 0) {
            continue;
        }
        let v = u128::from_str_radix(addr, 16).ok()?;
        return Some(std::net::Ipv6Addr::from(v));
    }
    None
}

fn setsockopt_int(fd: i32, level: i32, name: i32, val: i32) -> io::Result<()> {
    // SAFETY: `val` lives for the call and its size is passed.
    let rc =
        unsafe { libc::setsockopt(fd, level, name, (&val as *const i32).cast(), size_of::<i32>() as libc::socklen_t) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// One received IPv6 VRRP message: the kernel reports what the IPv4 header would carry.
#[derive(Debug, Clone, Copy)]
pub struct Rx6 {
    pub src: std::net::Ipv6Addr,
    pub dst: std::net::Ipv6Addr,
    pub hop_limit: u8,
    pub len: usize,
}

/// One instance's IPv6 VRRP sockets. Receive: joined to the group, kernel checksum check
/// (`IPV6_CHECKSUM`), hop limit and destination from ancillary data. Send: bound to our
/// link-local source, hop limit 255, traffic class 0xC0, kernel checksum, never read (a drop-all
/// filter keeps its queue empty).
pub struct VrrpSocket6 {
    rx: AsyncFd<Socket>,
    tx: Socket,
    ifindex: u32,
}

/// Offset of the VRRP checksum for `IPV6_CHECKSUM`.
const VRRP_CSUM_OFFSET: i32 = 6;

impl VrrpSocket6 {
    pub fn open(ifname: &str, src: std::net::Ipv6Addr, group: Option<std::net::Ipv6Addr>) -> io::Result<VrrpSocket6> {
        let idx = ifindex(ifname)?;
        let proto = Some(Protocol::from(i32::from(PROTO_VRRP)));
        let rx = Socket::new(Domain::IPV6, Type::RAW, proto)?;
        rx.bind_device(Some(ifname.as_bytes()))?;
        let fd = rx.as_raw_fd();
        setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, VRRP_CSUM_OFFSET)?;
        setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)?;
        setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
        if let Some(g) = group {
            rx.join_multicast_v6(&g, idx)?;
        }
        rx.set_nonblocking(true)?;
        let tx = Socket::new(Domain::IPV6, Type::RAW, proto)?;
        tx.bind_device(Some(ifname.as_bytes()))?;
        setsockopt_int(tx.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, VRRP_CSUM_OFFSET)?;
        tx.set_multicast_hops_v6(u32::from(VRRP_TTL))?;
        tx.set_unicast_hops_v6(u32::from(VRRP_TTL))?;
        tx.set_multicast_loop_v6(false)?;
        tx.set_multicast_if_v6(idx)?;
        tx.set_tclass_v6(u32::from(TOS_NETWORK_CONTROL))?;
        tx.attach_filter(&[socket2::SockFilter::new(0x06, 0, 0, 0)])?;
        tx.bind(&SockAddr::from(std::net::SocketAddrV6::new(src, 0, 0, idx)))?;
        tx.set_nonblocking(true)?;
        // SAFETY: socket2's Socket owns its fd for its whole life and always returns the same one.
        let rx = unsafe { AsyncFd::register(rx) }.map_err(|e| io::Error::other(e.to_string()))?;
        Ok(VrrpSocket6 { rx, tx, ifindex: idx })
    }

    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Rx6> {
        loop {
            let mut guard = self.rx.readable().await?;
            match guard.try_io(|fd| recvmsg6(fd.get_ref().as_raw_fd(), buf)) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    /// Sends a VRRP message (checksum left to the kernel) to `dst`.
    pub fn send(&self, msg: &[u8], dst: std::net::Ipv6Addr) -> io::Result<()> {
        let to = SockAddr::from(std::net::SocketAddrV6::new(dst, 0, 0, self.ifindex));
        self.tx.send_to(msg, &to).map(|_| ())
    }
}

fn recvmsg6(fd: i32, buf: &mut [u8]) -> io::Result<Rx6> {
    // SAFETY: all structures are plain data, zero-initialised, and every pointer handed to
    // recvmsg points into a live local buffer of the length given; the CMSG_* walk stays
    // inside `cbuf` as reported by the kernel in msg_controllen.
    unsafe {
        let mut from: libc::sockaddr_in6 = std::mem::zeroed();
        let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
        let mut cbuf = [0u64; 32];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_name = (&mut from as *mut libc::sockaddr_in6).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = size_of_val(&cbuf) as _;
        let n = libc::recvmsg(fd, &mut msg, 0);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut rx = Rx6 {
            src: std::net::Ipv6Addr::from(from.sin6_addr.s6_addr),
            dst: std::net::Ipv6Addr::UNSPECIFIED,
            hop_limit: 0,
            len: n as usize,
        };
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let h = std::ptr::read_unaligned(c);
            let data = libc::CMSG_DATA(c);
            if h.cmsg_level == libc::IPPROTO_IPV6 && h.cmsg_type == libc::IPV6_HOPLIMIT {
                let v: i32 = std::ptr::read_unaligned(data.cast());
                rx.hop_limit = v.clamp(0, 255) as u8;
            } else if h.cmsg_level == libc::IPPROTO_IPV6 && h.cmsg_type == libc::IPV6_PKTINFO {
                let pi: libc::in6_pktinfo = std::ptr::read_unaligned(data.cast());
                rx.dst = std::net::Ipv6Addr::from(pi.ipi6_addr.s6_addr);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
        Ok(rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_inet6_link_local() {
        let text = "fd000000000000000000000000000001 02 40 00 80     eth0\n\
                    fe800000000000000000000000000099 02 40 20 c0     eth0\n\
                    fe80000000000000c8c2ccfffefb092f 02 40 20 80     eth0\n\
                    fe800000000000000000000000000002 03 40 20 80     eth1\n\
                    garbage\n";
        assert_eq!(parse_if_inet6(text, "eth0"), Some("fe80::c8c2:ccff:fefb:92f".parse().unwrap()));
        assert_eq!(parse_if_inet6(text, "eth1"), Some("fe80::2".parse().unwrap()));
        assert_eq!(parse_if_inet6(text, "eth2"), None);
        assert_eq!(parse_if_inet6("zz 02 40 20 80 eth0\n", "eth0"), None);
    }
}
