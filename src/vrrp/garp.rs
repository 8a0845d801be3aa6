//! Gratuitous ARP / unsolicited NA on a send-only AF_PACKET socket.
//!
//! The socket is opened for ETH_P_ARP as keepalived does, with a drop-all BPF filter attached so
//! nothing ever queues on it: without the filter every ARP on the link piled up unread in the
//! receive buffer (keepalived #839 / #1973, reported as a memory leak).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use super::wire::{MacAddr, arp, ndisc};

/// How one burst is paced (keepalived's `garp_master_repeat` and `garp_interval`/`gna_interval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    pub repeat: u32,
    pub garp_interval: Duration,
    pub gna_interval: Duration,
}

pub struct GarpSocket {
    fd: OwnedFd,
    ifindex: u32,
    mac: MacAddr,
}

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;

impl GarpSocket {
    pub fn open(ifindex: u32, mac: MacAddr) -> io::Result<GarpSocket> {
        // SAFETY: plain socket(2); the fd is owned right after.
        let raw =
            unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, i32::from(ETH_P_ARP.to_be())) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh, valid fd nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // BPF "ret #0": accept zero bytes of every packet, i.e. drop all.
        let mut prog = [libc::sock_filter { code: 0x06, jt: 0, jf: 0, k: 0 }];
        let fprog = libc::sock_fprog { len: 1, filter: prog.as_mut_ptr() };
        // SAFETY: `fprog` and the program it points to live for the call; the size is passed.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&fprog as *const libc::sock_fprog).cast(),
                size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(GarpSocket { fd, ifindex, mac })
    }

    fn send_frame(&self, frame: &[u8], proto: u16, dst: MacAddr) -> io::Result<()> {
        // SAFETY: sockaddr_ll is plain data; zero is valid.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto.to_be();
        sll.sll_ifindex = self.ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&dst.octets());
        // SAFETY: buffer and address are valid for the lengths passed.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    }

    pub fn send_garp(&self, vip: Ipv4Addr) -> io::Result<()> {
        let f = arp::FrameRepr::gratuitous(self.mac, vip);
        self.send_frame(&f.to_bytes(), ETH_P_ARP, f.dst_addr)
    }

    pub fn send_na(&self, vip: Ipv6Addr, router: bool) -> io::Result<()> {
        let f = ndisc::FrameRepr::unsolicited(self.mac, vip, router);
        self.send_frame(&f.to_bytes(), ETH_P_IPV6, f.dst_mac)
    }

    /// Sends one burst for `addrs`: `repeat` rounds, spaced by the interval of each family.
    pub async fn burst(&self, addrs: &[IpAddr], pacing: Pacing) {
        for round in 0..pacing.repeat {
            for a in addrs {
                let (r, gap) = match a {
                    IpAddr::V4(v4) => (self.send_garp(*v4), pacing.garp_interval),
                    IpAddr::V6(v6) => (self.send_na(*v6, false), pacing.gna_interval),
                };
                if let Err(e) = r {
                    log::debug!("gratuitous ARP/NA for {a} failed: {e}");
                }
                if !gap.is_zero() {
                    tokio::time::sleep(gap).await;
                }
            }
            if round + 1 < pacing.repeat {
                tokio::task::yield_now().await;
            }
        }
    }
}
