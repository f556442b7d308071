//! The kernel's end of a TAP link: an `AF_PACKET` socket bound to the
//! interface ([`PacketSocket`]), and the same as a [`Net`] ([`PacketNet`]).
//!
//! Why `AF_PACKET`: a frame the TAP device writes is one the interface
//! *receives*, and a raw packet socket bound to the interface sees exactly
//! that frame, byte for byte, before any protocol looks at it; a frame sent
//! on the socket is one the interface *transmits*, which tun hands to the
//! TAP device's `read`. So the socket is an independent, byte-exact probe of
//! both directions. It ignores frames the interface transmits
//! (`PACKET_IGNORE_OUTGOING`), so it never reads back what it or the kernel
//! sent, and its receive buffer is forced large (32 MiB) so that a burst
//! written by the TAP device is queued, not dropped, while the test is not
//! reading.
//!
//! [`PacketNet`] wraps the socket as a `Net` so the io crate's conformance
//! suite, which needs two `Net`s on a lossless link, can run on a
//! (`TapDevice`, `PacketNet`) pair. Its MAC is the interface's own address;
//! the TAP device's differs by design.

use std::cell::Cell;
use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use shimmer_io::net::{LinkState, MacAddr, Net, NetStats, ETHERNET_HEADER_LEN};
use shimmer_io::page::{Buf, PagePool, PAGE_SIZE};
use shimmer_io::{Error, Result};
use shimmer_unix::reactor::{Interest, Reactor, Ready, Registration};
use shimmer_unix::tap::{TapDevice, TapOptions};

use super::netns;

const ETH_P_ALL: u16 = 0x0003;

/// A TAP device `name` (MTU `mtu`, up, pages from `pool`) and its kernel
/// side: the usual start of a TAP test, inside [`netns::block_on_in_netns`].
///
/// # Panics
/// If either cannot be opened.
pub fn tap_with_peer(name: &str, mtu: usize, pool: &PagePool) -> (TapDevice, PacketSocket) {
    let options = TapOptions {
        mtu: Some(mtu),
        pool: Some(pool.clone()),
        ..TapOptions::new()
    };
    let tap =
        TapDevice::open_with(name, options).unwrap_or_else(|e| panic!("open tap {name}: {e}"));
    let peer = PacketSocket::open(name).unwrap_or_else(|e| panic!("AF_PACKET on {name}: {e}"));
    (tap, peer)
}

/// A raw `AF_PACKET` socket bound to one interface (nonblocking).
pub struct PacketSocket {
    fd: OwnedFd,
    name: String,
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn setsockopt_int(
    fd: &OwnedFd,
    level: libc::c_int,
    opt: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the option takes an `int`; the pointer and length describe `v`.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            (&v as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

impl PacketSocket {
    /// A socket bound to interface `name` (in the calling thread's
    /// namespace), seeing every frame the interface receives.
    pub fn open(name: &str) -> io::Result<PacketSocket> {
        let ifindex = netns::ifindex(name)?;
        // SAFETY: plain socket(2); checked.
        let raw = check(unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                i32::from(ETH_P_ALL.to_be()),
            )
        })?;
        // SAFETY: a new fd nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        setsockopt_int(
            &fd,
            libc::SOL_PACKET,
            23, /* PACKET_IGNORE_OUTGOING */
            1,
        )?;
        setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 32 << 20)?;
        // SAFETY: all-zero is a valid sockaddr_ll.
        let mut sll: libc::sockaddr_ll = unsafe { mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ALL.to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: the pointer and length describe `sll`, a sockaddr_ll.
        check(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })?;
        Ok(PacketSocket {
            fd,
            name: name.to_owned(),
        })
    }

    /// The interface's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Transmits `frame` on the interface (to the TAP device).
    pub fn send(&self, frame: &[u8]) -> io::Result<usize> {
        // SAFETY: the pointer and length describe `frame`.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// Transmits `frame`, retrying while the socket's buffer is full.
    pub fn send_all(&self, frame: &[u8]) {
        loop {
            match self.send(frame) {
                Ok(n) => {
                    assert_eq!(n, frame.len(), "AF_PACKET sent part of a frame");
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("AF_PACKET send of {} bytes: {e}", frame.len()),
            }
        }
    }

    /// A frame the interface received, if one is queued: its real length
    /// (more than `buf.len()` if it was truncated).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: the pointer and length describe `buf`; MSG_TRUNC only
        // changes the length returned.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// The next frame the interface receives within `timeout`, as a vector.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 65536];
        loop {
            match self.try_recv(&mut buf) {
                Ok(n) => {
                    buf.truncate(n);
                    return Some(buf);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    let mut pfd = libc::pollfd {
                        fd: self.fd.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
                    // SAFETY: one valid pollfd.
                    unsafe { libc::poll(&mut pfd, 1, ms) };
                }
                // Reported once after the interface went down (and is
                // perhaps up again): not a frame, not a failure.
                Err(e) if e.raw_os_error() == Some(libc::ENETDOWN) => {}
                Err(e) => panic!("AF_PACKET recv: {e}"),
            }
        }
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A [`PacketSocket`] as a [`Net`]: frames are read into pool pages, sent
/// from pool pages. Counters as a device's.
pub struct PacketNet {
    reg: Option<Registration>,
    sock: PacketSocket,
    pool: PagePool,
    mac: MacAddr,
    mtu: usize,
    stats: Cell<NetStats>,
    tx_blocked: Cell<bool>,
    tx_ready: Cell<Option<Ready>>,
}

impl PacketNet {
    /// Opens a socket on interface `name`, registered with this thread's
    /// reactor, taking its pages from `pool`.
    pub fn open(name: &str, pool: PagePool) -> io::Result<PacketNet> {
        let sock = PacketSocket::open(name)?;
        let reactor = Reactor::current().ok_or_else(|| io::Error::other("no reactor"))?;
        let reg = reactor.register(sock.as_fd(), Interest::Both)?;
        Ok(PacketNet {
            reg: Some(reg),
            mac: MacAddr(netns::hwaddr(name)?),
            mtu: netns::mtu(name)?,
            sock,
            pool,
            stats: Cell::new(NetStats::default()),
            tx_blocked: Cell::new(false),
            tx_ready: Cell::new(None),
        })
    }

    fn reg(&self) -> &Registration {
        self.reg.as_ref().expect("registered until drop")
    }

    fn update(&self, f: impl FnOnce(&mut NetStats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }
}

impl Net for PacketNet {
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<Buf>> {
        loop {
            let ready = match self.reg().poll_read_ready(cx) {
                Poll::Ready(r) => r,
                Poll::Pending => return Poll::Pending,
            };
            let mut page = self.pool.try_alloc()?;
            match self.sock.try_recv(&mut page[..]) {
                Ok(n) if n > PAGE_SIZE => self.update(|s| s.rx_dropped += 1),
                Ok(n) => {
                    let mut frame = page.freeze();
                    frame.truncate(n);
                    self.update(|s| {
                        s.rx_frames += 1;
                        s.rx_bytes += n as u64;
                    });
                    return Poll::Ready(Ok(frame));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.reg().clear_read_ready(ready)
                }
                Err(e) if e.raw_os_error() == Some(libc::ENETDOWN) => {}
                Err(e) => return Poll::Ready(Err(shimmer_unix::error::from_io(&e))),
            }
        }
    }

    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if !self.tx_blocked.get() {
            return Poll::Ready(Ok(()));
        }
        match self.reg().poll_write_ready(cx) {
            Poll::Ready(r) => {
                self.tx_ready.set(Some(r));
                self.tx_blocked.set(false);
                Poll::Ready(Ok(()))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn send<F: FnOnce(&mut [u8]) -> usize>(&self, len: usize, fill: F) -> Result<()> {
        let refuse = |e| {
            self.update(|s| s.tx_errors += 1);
            Err(e)
        };
        if len > self.max_frame_len() {
            return refuse(Error::TooLarge);
        }
        if self.tx_blocked.get() {
            return refuse(Error::WouldBlock);
        }
        let mut page = match self.pool.try_alloc() {
            Ok(p) => p,
            Err(e) => return refuse(e),
        };
        page[..len].fill(0);
        let used = fill(&mut page[..len]);
        if used > len || used < ETHERNET_HEADER_LEN {
            return refuse(Error::InvalidInput);
        }
        match self.sock.send(&page[..used]) {
            Ok(_) => {
                self.update(|s| {
                    s.tx_frames += 1;
                    s.tx_bytes += used as u64;
                });
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.tx_blocked.set(true);
                if let Some(r) = self.tx_ready.take() {
                    self.reg().clear_write_ready(r);
                }
                refuse(Error::WouldBlock)
            }
            Err(e) => refuse(shimmer_unix::error::from_io(&e)),
        }
    }

    fn mac(&self) -> MacAddr {
        self.mac
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn link(&self) -> LinkState {
        match netns::flags(&self.sock.name) {
            Ok(f) if f & netns::IFF_UP != 0 && f & netns::IFF_RUNNING != 0 => LinkState::Up,
            _ => LinkState::Down,
        }
    }

    fn stats(&self) -> NetStats {
        self.stats.get()
    }
}

impl Drop for PacketNet {
    fn drop(&mut self) {
        if let Some(reg) = self.reg.take() {
            let _ = reg.deregister(self.sock.as_fd());
        }
    }
}
