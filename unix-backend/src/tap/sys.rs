//! The ioctls a TAP device needs, and nothing else: why a module of its own.
//!
//! rustix has no safe wrapper for `TUNSETIFF` or for the `SIOC[GS]IF*`
//! requests that read and set an interface's flags, MTU and hardware
//! address, so they go through `rustix::ioctl::ioctl`, which is `unsafe`:
//! the compiler cannot check that the argument is the structure the kernel
//! expects for that request. Every such call is here, each on an [`IfReq`],
//! the one structure all of them take, so the invariant to check is the same
//! everywhere: the request takes a `struct ifreq *`, and [`IfReq`] is at
//! least as large and as aligned as the kernel's `struct ifreq`.
//!
//! The `SIOC*` requests are made on a *control socket* (an `AF_UNIX`
//! datagram socket: netdevice(7) says any socket will do, and a Unix socket
//! needs no privilege and no IP stack). The kernel resolves the interface
//! name in the socket's network namespace, which is the namespace of the
//! thread that made it, so the control socket is made next to the TAP fd.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::ioctl::{ioctl, opcode, Opcode, Updater};
use rustix::net::{AddressFamily, SocketFlags, SocketType};

/// `IFNAMSIZ`: an interface name's buffer, NUL included.
pub(crate) const IFNAMSIZ: usize = 16;

/// `IFF_UP`: administratively up.
pub(crate) const IFF_UP: u16 = 0x1;
/// `IFF_RUNNING`: operationally up (for a TAP: its fd is attached).
pub(crate) const IFF_RUNNING: u16 = 0x40;

/// `IFF_TAP`: an Ethernet (layer 2) device.
const IFF_TAP: u16 = 0x0002;
/// `IFF_NO_PI`: frames without the 4-byte packet-information prefix.
const IFF_NO_PI: u16 = 0x1000;

/// `TUNSETIFF` is `_IOW('T', 202, int)` although it takes (and writes back)
/// a `struct ifreq *`: the encoded size is that of an `int`.
const TUNSETIFF: Opcode = opcode::write::<core::ffi::c_int>(b'T', 202);
const SIOCGIFFLAGS: Opcode = 0x8913;
const SIOCSIFFLAGS: Opcode = 0x8914;
const SIOCGIFMTU: Opcode = 0x8921;
const SIOCSIFMTU: Opcode = 0x8922;
const SIOCGIFHWADDR: Opcode = 0x8927;

/// `ARPHRD_ETHER`: the address family of an Ethernet hardware address.
const ARPHRD_ETHER: u16 = 1;

/// The kernel's `struct ifreq`: a name, then a union (flags as a `short`, the
/// MTU as an `int`, a hardware address as a `struct sockaddr`, …) that is at
/// most 24 bytes (`struct ifmap` on 64-bit targets) and pointer-aligned.
/// This is 40 bytes, 8-aligned: at least the kernel's size and alignment on
/// every Linux target, so the kernel never reads or writes past it.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub(crate) struct IfReq {
    name: [u8; IFNAMSIZ],
    data: [u8; 24],
}

impl IfReq {
    /// A request for interface `name`, its union zeroed.
    ///
    /// # Errors
    /// `InvalidInput` for a name of `IFNAMSIZ` bytes or more, or holding a
    /// NUL (the kernel would read a different name).
    pub(crate) fn new(name: &str) -> io::Result<IfReq> {
        let bytes = name.as_bytes();
        if bytes.len() >= IFNAMSIZ || bytes.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "interface name {name:?}: at most {} bytes, no NUL",
                    IFNAMSIZ - 1
                ),
            ));
        }
        let mut req = IfReq {
            name: [0; IFNAMSIZ],
            data: [0; 24],
        };
        req.name[..bytes.len()].copy_from_slice(bytes);
        Ok(req)
    }

    /// The name, up to its NUL (the kernel writes back the name it chose).
    pub(crate) fn name(&self) -> String {
        let end = self.name.iter().position(|&b| b == 0).unwrap_or(IFNAMSIZ);
        String::from_utf8_lossy(&self.name[..end]).into_owned()
    }

    fn short(&self) -> u16 {
        u16::from_ne_bytes([self.data[0], self.data[1]])
    }

    fn set_short(&mut self, v: u16) {
        self.data[..2].copy_from_slice(&v.to_ne_bytes());
    }

    fn int(&self) -> i32 {
        i32::from_ne_bytes([self.data[0], self.data[1], self.data[2], self.data[3]])
    }

    fn set_int(&mut self, v: i32) {
        self.data[..4].copy_from_slice(&v.to_ne_bytes());
    }
}

/// `ioctl(fd, request, &mut req)` for a request that takes a `struct ifreq *`.
///
/// # Safety
/// `request` is a request whose argument is a `struct ifreq *` that the
/// kernel reads and may write back.
unsafe fn ifreq_ioctl<const REQUEST: Opcode>(fd: impl AsFd, req: &mut IfReq) -> io::Result<()> {
    // SAFETY: the caller guarantees REQUEST takes a `struct ifreq *`;
    // `IfReq` is at least as large and as aligned as the kernel's struct
    // (see its doc), and `req` is a live, exclusive borrow for the call.
    unsafe { ioctl(fd, Updater::<REQUEST, IfReq>::new(req)) }.map_err(Into::into)
}

/// Opens `/dev/net/tun` (nonblocking, close-on-exec) and attaches it to TAP
/// interface `name` (created if absent; an empty name lets the kernel pick
/// one). Returns the fd and the interface's actual name.
pub(crate) fn open_tap(name: &str) -> io::Result<(OwnedFd, String)> {
    let mut req = IfReq::new(name)?;
    req.set_short(IFF_TAP | IFF_NO_PI);
    let fd = rustix::fs::open(
        "/dev/net/tun",
        OFlags::RDWR | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    // SAFETY: TUNSETIFF takes a `struct ifreq *` (flags in, name written
    // back).
    unsafe { ifreq_ioctl::<TUNSETIFF>(&fd, &mut req) }?;
    Ok((fd, req.name()))
}

/// A socket for the `SIOC*` requests, in this thread's network namespace.
pub(crate) fn control_socket() -> io::Result<OwnedFd> {
    Ok(rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )?)
}

/// The interface's flags (`SIOCGIFFLAGS`).
pub(crate) fn flags(ctl: impl AsFd, name: &str) -> io::Result<u16> {
    let mut req = IfReq::new(name)?;
    // SAFETY: SIOCGIFFLAGS takes a `struct ifreq *` and writes `ifr_flags`.
    unsafe { ifreq_ioctl::<SIOCGIFFLAGS>(ctl, &mut req) }?;
    Ok(req.short())
}

/// Sets the interface's flags (`SIOCSIFFLAGS`; needs `CAP_NET_ADMIN`).
pub(crate) fn set_flags(ctl: impl AsFd, name: &str, flags: u16) -> io::Result<()> {
    let mut req = IfReq::new(name)?;
    req.set_short(flags);
    // SAFETY: SIOCSIFFLAGS takes a `struct ifreq *` and reads `ifr_flags`.
    unsafe { ifreq_ioctl::<SIOCSIFFLAGS>(ctl, &mut req) }
}

/// The interface's MTU (`SIOCGIFMTU`).
pub(crate) fn mtu(ctl: impl AsFd, name: &str) -> io::Result<usize> {
    let mut req = IfReq::new(name)?;
    // SAFETY: SIOCGIFMTU takes a `struct ifreq *` and writes `ifr_mtu`.
    unsafe { ifreq_ioctl::<SIOCGIFMTU>(ctl, &mut req) }?;
    usize::try_from(req.int()).map_err(|_| io::Error::other("negative MTU"))
}

/// Sets the interface's MTU (`SIOCSIFMTU`; needs `CAP_NET_ADMIN`).
pub(crate) fn set_mtu(ctl: impl AsFd, name: &str, mtu: usize) -> io::Result<()> {
    let mut req = IfReq::new(name)?;
    let mtu = i32::try_from(mtu).map_err(|_| io::ErrorKind::InvalidInput)?;
    req.set_int(mtu);
    // SAFETY: SIOCSIFMTU takes a `struct ifreq *` and reads `ifr_mtu`.
    unsafe { ifreq_ioctl::<SIOCSIFMTU>(ctl, &mut req) }
}

/// The interface's Ethernet address (`SIOCGIFHWADDR`).
pub(crate) fn hwaddr(ctl: impl AsFd, name: &str) -> io::Result<[u8; 6]> {
    let mut req = IfReq::new(name)?;
    // SAFETY: SIOCGIFHWADDR takes a `struct ifreq *` and writes
    // `ifr_hwaddr`, a `struct sockaddr` (family, then the address bytes).
    unsafe { ifreq_ioctl::<SIOCGIFHWADDR>(ctl, &mut req) }?;
    if req.short() != ARPHRD_ETHER {
        return Err(io::Error::other("not an Ethernet interface"));
    }
    let mut mac = [0; 6];
    mac.copy_from_slice(&req.data[2..8]);
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifreq_matches_the_kernel_layout() {
        // x86_64/aarch64: `struct ifreq` is 40 bytes, 8-aligned.
        assert!(core::mem::size_of::<IfReq>() >= 40);
        assert!(core::mem::align_of::<IfReq>() >= core::mem::align_of::<usize>());
        assert_eq!(TUNSETIFF, 0x4004_54ca);
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(IfReq::new("0123456789abcdef").is_err());
        assert!(IfReq::new("a\0b").is_err());
        assert_eq!(IfReq::new("tap0").unwrap().name(), "tap0");
        assert_eq!(IfReq::new("").unwrap().name(), "");
    }
}
