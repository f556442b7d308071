//! A TAP device as a [`Net`]: [`TapDevice`], opened with [`TapOptions`].
//!
//! On Unix, shimmer's own TCP/IP (and packet tools such as `pktgen`) reach
//! the wire through a TAP interface: the kernel sees an Ethernet interface,
//! and every frame it transmits there is one `read(2)` on our fd, every frame
//! we `write(2)` is one the interface receives. It is the closest a Linux
//! process gets to owning a NIC, so it is measured against a plain blocking
//! read/write loop on the same tap, and built around that:
//!
//! * **One syscall per frame, no copy, no allocation.** A frame is read
//!   straight into a page of the device's [`PagePool`] and handed out as
//!   that page ([`Buf`], zero-copy); a frame sent is filled by the caller
//!   directly in a page the device keeps for it and written from there. The
//!   pool's pages are recycled, so the steady state allocates nothing.
//! * **Reads batched until `EAGAIN`.** The fd is registered once,
//!   edge-triggered, with the thread's [`Reactor`]. When it
//!   is readable, `poll_recv` reads frames into a small queue until the
//!   kernel says `EAGAIN` (only then is readiness cleared) or the queue is
//!   full (readiness stays set and the next call reads on). A burst thus
//!   costs one wakeup, not one per frame, and the kernel's per-tap queue
//!   (`txqueuelen`, 1000 frames by default) is drained promptly.
//! * **Sending never waits, in practice.** The tun driver's send buffer is
//!   unbounded (`INT_MAX`) and a write is handed to the kernel's receive
//!   path synchronously, so `write(2)` does not answer `EAGAIN`;
//!   `poll_send_ready` is therefore ready at once, with no syscall. Should
//!   the kernel ever answer `EAGAIN`, `send` says
//!   [`WouldBlock`](shimmer_io::Error::WouldBlock) and `poll_send_ready` waits
//!   for the next writable edge.
//! * **A down link drops, it does not fail.** While the interface is
//!   administratively down the kernel answers every write with `EIO`. Like
//!   a NIC whose cable is out, the device then counts the frame in
//!   `tx_dropped` and `send` succeeds: a stack keeps running and its
//!   retransmissions flow again once the link is up. [`Net::link`] asks the
//!   kernel (`SIOCGIFFLAGS`: `IFF_UP` and `IFF_RUNNING`).
//! * **The device's MAC is not the interface's.** The tap interface is the
//!   *host's* end of the cable and has its own address; a stack on this
//!   device is the other end and must use a different one (a Linux bridge
//!   drops frames whose source is one of its own ports' addresses, exactly
//!   as QEMU's guest NIC and its tap differ). [`Net::mac`] is
//!   [`TapOptions::mac`], or else the interface's address with the
//!   locally-administered bit set and the last bit flipped: distinct from
//!   it, and stable for a persistent tap, so a DHCP lease survives a
//!   restart.
//! * **A frame always fits a page.** The MTU is at most [`MAX_MTU`] (4081):
//!   a frame is then at most 4095 bytes, one less than a page. tun
//!   truncates a frame longer than the buffer without saying so, so a read
//!   that fills the whole page can only be an oversized frame (the MTU was
//!   raised behind our back) and is dropped (`rx_dropped`), never handed out
//!   truncated. A frame that fits but exceeds `max_frame_len()` (one with
//!   a VLAN tag, say) is handed out whole.
//! * **No address filter.** Every frame the kernel transmits on the
//!   interface is received, whatever its destination (as a NIC in
//!   promiscuous mode): the stack above filters, as it must on netfront.
//! * **Cancellation.** A frame leaves the internal queue only inside the
//!   `poll_recv` that returns it, so a dropped `recv()` loses nothing; `send`
//!   is synchronous.
//! * **The device going away** (`ip link del` while open) makes tun answer
//!   `EBADFD` and report `EPOLLERR`. The first read or write that meets it
//!   drops what was read ahead, and from then on every operation answers
//!   [`DeviceGone`](shimmer_io::Error::DeviceGone) (frames read ahead
//!   *before* the interface went may still come out first: they were
//!   received).
//!
//! Opening needs `/dev/net/tun` and, to create an interface or change its
//! MTU or state, `CAP_NET_ADMIN`; attaching to a persistent tap owned by the
//! user (`ip tuntap add tap0 mode tap user $USER`) that is already up needs
//! neither. The interface is created in the network namespace of the thread
//! that opens it, and, unless persistent, disappears when the device is
//! dropped.
//!
//! ```no_run
//! use shimmer_io::net::Net;
//! use shimmer_unix::tap::TapDevice;
//!
//! shimmer_unix::block_on(async {
//!     let tap = TapDevice::open("tap0")?;
//!     let frame = tap.recv().await?; // a page the kernel filled
//!     println!("{} bytes from {:02x?}", frame.len(), &frame[6..12]);
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })??;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod sys;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::task::{Context, Poll};

use rustix::io::Errno;
use shimmer_io::net::{LinkState, MacAddr, Net, NetStats, ETHERNET_HEADER_LEN};
use shimmer_io::page::{Buf, Page, PagePool, PAGE_SIZE};
use shimmer_io::{Error, Result};

use crate::reactor::{Interest, Reactor, Ready, Registration};

/// The largest MTU a [`TapDevice`] takes: a frame (`MTU + 14` bytes) then
/// leaves at least one byte of its page free, which is how a truncated,
/// oversized frame is told apart (see the [module doc](self)).
pub const MAX_MTU: usize = PAGE_SIZE - ETHERNET_HEADER_LEN - 1;
const _: () = assert!(MAX_MTU + ETHERNET_HEADER_LEN < PAGE_SIZE);

/// The smallest MTU (IPv4's minimum, and the kernel's for Ethernet).
pub const MIN_MTU: usize = 68;

/// Frames read ahead per readiness edge. Enough that a burst costs few
/// wakeups; small enough that pages held by the queue stay few.
const RX_BATCH: usize = 32;

/// How [`TapDevice::open_with`] opens the device.
///
/// ```
/// use shimmer_unix::tap::TapOptions;
/// let options = TapOptions { mtu: Some(1500), ..TapOptions::new() };
/// assert!(options.bring_up);
/// ```
#[derive(Clone, Debug)]
pub struct TapOptions {
    /// Sets the interface's MTU (`MIN_MTU..=MAX_MTU`; needs
    /// `CAP_NET_ADMIN`). `None` keeps the interface's, which must then be
    /// at most [`MAX_MTU`].
    pub mtu: Option<usize>,
    /// The device's own MAC (the stack's address on the link, not the
    /// interface's; a unicast address). `None`: derived from the interface's
    /// (see the [module doc](self)).
    pub mac: Option<MacAddr>,
    /// Brings the interface up if it is down (needs `CAP_NET_ADMIN` then).
    /// Default: `true`.
    pub bring_up: bool,
    /// The pool frames are read into. `None`: [`PagePool::current`].
    pub pool: Option<PagePool>,
}

impl TapOptions {
    /// The defaults: the interface's MTU, a derived MAC, brought up, the
    /// thread's current pool.
    pub fn new() -> TapOptions {
        TapOptions {
            mtu: None,
            mac: None,
            bring_up: true,
            pool: None,
        }
    }
}

impl Default for TapOptions {
    fn default() -> TapOptions {
        TapOptions::new()
    }
}

/// The device's counters, one `Cell` each (no borrow on the hot path).
#[derive(Default)]
struct Counters {
    rx_frames: Cell<u64>,
    rx_bytes: Cell<u64>,
    tx_frames: Cell<u64>,
    tx_bytes: Cell<u64>,
    rx_dropped: Cell<u64>,
    tx_dropped: Cell<u64>,
    tx_errors: Cell<u64>,
}

fn bump(c: &Cell<u64>, by: u64) {
    c.set(c.get().wrapping_add(by));
}

/// A TAP interface as a [`Net`] (see the [module doc](self)).
pub struct TapDevice {
    /// Registered with the reactor until drop (taken out there, so that the
    /// fd leaves the epoll set before it is closed).
    reg: Option<Registration>,
    fd: OwnedFd,
    /// For the `SIOC*` requests (flags), in the tap's network namespace.
    ctl: OwnedFd,
    name: String,
    mac: MacAddr,
    mtu: usize,
    pool: PagePool,
    /// Frames read ahead, oldest first; at most `RX_BATCH`.
    rx: RefCell<VecDeque<Buf>>,
    /// The page `send` fills (taken while `fill` runs, so a `fill` that
    /// sends again gets a page of its own instead of a borrow panic).
    tx_page: Cell<Option<Page>>,
    /// A write answered `EAGAIN`: `send` refuses until `poll_send_ready`
    /// has seen the fd writable again.
    tx_blocked: Cell<bool>,
    /// Write readiness last observed by `poll_send_ready`, to clear it
    /// when a write then answers `EAGAIN`.
    tx_ready: Cell<Option<Ready>>,
    /// The interface is gone (tun answered `EBADFD`).
    gone: Cell<bool>,
    stats: Counters,
}

impl TapDevice {
    /// Opens TAP interface `name` with the default [`TapOptions`] (creating
    /// it if absent, bringing it up if down).
    ///
    /// # Errors
    /// As [`open_with`](Self::open_with).
    pub fn open(name: &str) -> io::Result<TapDevice> {
        TapDevice::open_with(name, TapOptions::new())
    }

    /// Opens TAP interface `name` (`IFF_TAP | IFF_NO_PI`, nonblocking,
    /// close-on-exec), creating it if absent (an empty name lets the kernel
    /// choose one: see [`name`](Self::name)), and registers it with this
    /// thread's reactor.
    ///
    /// # Errors
    /// `InvalidInput` for a name of 16 bytes or more, an MTU outside
    /// `MIN_MTU..=MAX_MTU` (asked for, or the interface's own when none is
    /// asked for) or a multicast MAC; `PermissionDenied` without the
    /// privilege needed (see the module doc); `EBUSY` if another process
    /// has the tap open; an error if there is no shimmer-unix reactor on
    /// this thread (open it inside [`block_on`](crate::block_on)).
    pub fn open_with(name: &str, options: TapOptions) -> io::Result<TapDevice> {
        let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
        sys::IfReq::new(name)?;
        if let Some(mtu) = options.mtu {
            if !(MIN_MTU..=MAX_MTU).contains(&mtu) {
                return Err(invalid(format!(
                    "MTU {mtu} outside {MIN_MTU}..={MAX_MTU} (a frame must fit a page)"
                )));
            }
        }
        if let Some(mac) = options.mac {
            if mac.is_multicast() {
                return Err(invalid(format!("{mac} is a group address")));
            }
        }
        let reactor = Reactor::current()
            .ok_or_else(|| io::Error::other("no shimmer-unix reactor on this thread"))?;
        let (fd, name) = sys::open_tap(name).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("tap {name:?}: /dev/net/tun, TUNSETIFF: {e}"),
            )
        })?;
        let ctl = sys::control_socket()?;
        let context =
            |what: &str, e: io::Error| io::Error::new(e.kind(), format!("tap {name}: {what}: {e}"));
        let mtu = match options.mtu {
            Some(mtu) => {
                if sys::mtu(&ctl, &name).map_err(|e| context("SIOCGIFMTU", e))? != mtu {
                    sys::set_mtu(&ctl, &name, mtu).map_err(|e| context("setting the MTU", e))?;
                }
                mtu
            }
            None => {
                let mtu = sys::mtu(&ctl, &name).map_err(|e| context("SIOCGIFMTU", e))?;
                if !(MIN_MTU..=MAX_MTU).contains(&mtu) {
                    return Err(invalid(format!(
                        "tap {name}: MTU {mtu} outside {MIN_MTU}..={MAX_MTU} (a frame must fit \
                         a page); set TapOptions::mtu"
                    )));
                }
                mtu
            }
        };
        let mac = match options.mac {
            Some(mac) => mac,
            None => {
                let own = sys::hwaddr(&ctl, &name).map_err(|e| context("SIOCGIFHWADDR", e))?;
                device_mac(own)
            }
        };
        if options.bring_up {
            let flags = sys::flags(&ctl, &name).map_err(|e| context("SIOCGIFFLAGS", e))?;
            if flags & sys::IFF_UP == 0 {
                sys::set_flags(&ctl, &name, flags | sys::IFF_UP)
                    .map_err(|e| context("bringing it up", e))?;
            }
        }
        let pool = options.pool.unwrap_or_else(PagePool::current);
        let tx_page = pool
            .try_alloc()
            .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e.as_str()))?;
        let reg = reactor.register(&fd, Interest::Both)?;
        Ok(TapDevice {
            reg: Some(reg),
            fd,
            ctl,
            name,
            mac,
            mtu,
            pool,
            rx: RefCell::new(VecDeque::with_capacity(RX_BATCH)),
            tx_page: Cell::new(Some(tx_page)),
            tx_blocked: Cell::new(false),
            tx_ready: Cell::new(None),
            gone: Cell::new(false),
            stats: Counters::default(),
        })
    }

    /// The interface's name (the kernel's choice if opened with `""`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pool received frames come from.
    pub fn pool(&self) -> &PagePool {
        &self.pool
    }

    fn reg(&self) -> &Registration {
        self.reg.as_ref().expect("registered until drop")
    }

    /// The device went away: drop what was read ahead, answer `DeviceGone`
    /// from now on.
    fn set_gone(&self) -> Error {
        self.gone.set(true);
        let dropped = {
            let mut rx = self.rx.borrow_mut();
            let n = rx.len();
            rx.clear();
            n
        };
        bump(&self.stats.rx_dropped, dropped as u64);
        Error::DeviceGone
    }

    /// Reads frames into the queue until `EAGAIN` (clearing `ready`) or the
    /// queue is full. An error is returned only if no frame was read (a
    /// later call meets it again otherwise).
    fn read_ahead(&self, ready: Ready) -> Result<()> {
        let mut rx = self.rx.borrow_mut();
        let mut page: Option<Page> = None;
        while rx.len() < RX_BATCH {
            let mut p = match page.take() {
                Some(p) => p,
                None => match self.pool.try_alloc() {
                    Ok(p) => p,
                    Err(e) if rx.is_empty() => return Err(e),
                    Err(_) => break,
                },
            };
            match rustix::io::read(&self.fd, &mut p[..]) {
                Ok(n) if n >= PAGE_SIZE => {
                    // Truncated: the frame was longer than a page.
                    bump(&self.stats.rx_dropped, 1);
                    page = Some(p);
                }
                Ok(n) => {
                    let mut frame = p.freeze();
                    frame.truncate(n);
                    rx.push_back(frame);
                }
                Err(Errno::AGAIN) => {
                    self.reg().clear_read_ready(ready);
                    break;
                }
                Err(Errno::INTR) => page = Some(p),
                Err(Errno::BADFD) => {
                    drop(rx);
                    return Err(self.set_gone());
                }
                Err(e) if rx.is_empty() => return Err(crate::error::from_errno(e)),
                Err(_) => break,
            }
        }
        Ok(())
    }

    /// Writes one frame; maps the kernel's answer (see the module doc).
    fn write_frame(&self, frame: &[u8]) -> Result<()> {
        loop {
            return match rustix::io::write(&self.fd, frame) {
                Ok(_) => {
                    bump(&self.stats.tx_frames, 1);
                    bump(&self.stats.tx_bytes, frame.len() as u64);
                    Ok(())
                }
                Err(Errno::IO) => {
                    // The interface is down: the frame is lost on the wire.
                    bump(&self.stats.tx_frames, 1);
                    bump(&self.stats.tx_bytes, frame.len() as u64);
                    bump(&self.stats.tx_dropped, 1);
                    Ok(())
                }
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => {
                    self.tx_blocked.set(true);
                    if let Some(ready) = self.tx_ready.take() {
                        self.reg().clear_write_ready(ready);
                    }
                    bump(&self.stats.tx_errors, 1);
                    Err(Error::WouldBlock)
                }
                Err(Errno::BADFD) => Err(self.set_gone()),
                Err(e) => {
                    bump(&self.stats.tx_errors, 1);
                    Err(crate::error::from_errno(e))
                }
            };
        }
    }
}

/// The device's MAC derived from the interface's `own`: locally
/// administered, unicast, and never equal to `own`.
fn device_mac(own: [u8; 6]) -> MacAddr {
    let mut mac = own;
    mac[0] = (mac[0] | 0x02) & !0x01;
    mac[5] ^= 0x01;
    MacAddr(mac)
}

impl Net for TapDevice {
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<Buf>> {
        loop {
            if let Some(frame) = self.rx.borrow_mut().pop_front() {
                bump(&self.stats.rx_frames, 1);
                bump(&self.stats.rx_bytes, frame.len() as u64);
                return Poll::Ready(Ok(frame));
            }
            if self.gone.get() {
                return Poll::Ready(Err(Error::DeviceGone));
            }
            let ready = match self.reg().poll_read_ready(cx) {
                Poll::Ready(ready) => ready,
                Poll::Pending => return Poll::Pending,
            };
            // Either frames were queued, or EAGAIN cleared readiness and the
            // next turn registers the waker (or finds a newer edge).
            if let Err(e) = self.read_ahead(ready) {
                return Poll::Ready(Err(e));
            }
        }
    }

    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if self.gone.get() {
            return Poll::Ready(Err(Error::DeviceGone));
        }
        if !self.tx_blocked.get() {
            return Poll::Ready(Ok(()));
        }
        match self.reg().poll_write_ready(cx) {
            Poll::Ready(ready) => {
                self.tx_ready.set(Some(ready));
                self.tx_blocked.set(false);
                Poll::Ready(Ok(()))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn send<F: FnOnce(&mut [u8]) -> usize>(&self, len: usize, fill: F) -> Result<()> {
        if self.gone.get() {
            return Err(Error::DeviceGone);
        }
        let refuse = |e| {
            bump(&self.stats.tx_errors, 1);
            Err(e)
        };
        if len > self.max_frame_len() {
            return refuse(Error::TooLarge);
        }
        if self.tx_blocked.get() {
            return refuse(Error::WouldBlock);
        }
        let mut page = match self.tx_page.take() {
            Some(page) => page,
            None => match self.pool.try_alloc() {
                Ok(page) => page,
                Err(e) => return refuse(e),
            },
        };
        // No stale bytes of an earlier frame in this one's padding.
        page[..len].fill(0);
        let used = fill(&mut page[..len]);
        let r = if used > len || used < ETHERNET_HEADER_LEN {
            // More than it was given, or not even an Ethernet header (the
            // kernel would refuse it with EINVAL).
            refuse(Error::InvalidInput)
        } else {
            self.write_frame(&page[..used])
        };
        // Keep one page for the next send (a nested send's may be there).
        self.tx_page.set(Some(page));
        r
    }

    fn mac(&self) -> MacAddr {
        self.mac
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn link(&self) -> LinkState {
        if self.gone.get() {
            return LinkState::Down;
        }
        match sys::flags(&self.ctl, &self.name) {
            Ok(f) if f & (sys::IFF_UP | sys::IFF_RUNNING) == sys::IFF_UP | sys::IFF_RUNNING => {
                LinkState::Up
            }
            _ => LinkState::Down,
        }
    }

    fn stats(&self) -> NetStats {
        let c = &self.stats;
        let mut s = NetStats::default();
        s.rx_frames = c.rx_frames.get();
        s.rx_bytes = c.rx_bytes.get();
        s.tx_frames = c.tx_frames.get();
        s.tx_bytes = c.tx_bytes.get();
        s.rx_dropped = c.rx_dropped.get();
        s.tx_dropped = c.tx_dropped.get();
        s.tx_errors = c.tx_errors.get();
        s
    }
}

impl AsFd for TapDevice {
    /// The tun fd (for `TUN*` ioctls the device does not wrap). Reading or
    /// writing it directly bypasses the device's queue and counters.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl fmt::Debug for TapDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TapDevice")
            .field("name", &self.name)
            .field("mac", &self.mac)
            .field("mtu", &self.mtu)
            .finish_non_exhaustive()
    }
}

impl Drop for TapDevice {
    fn drop(&mut self) {
        if let Some(reg) = self.reg.take() {
            let _ = reg.deregister(&self.fd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_mac_is_local_unicast_and_distinct() {
        for own in [
            [0x02, 0, 0, 0, 0, 0],
            [0xff; 6],
            [0x00, 0x16, 0x3e, 1, 2, 3],
        ] {
            let mac = device_mac(own);
            assert_ne!(mac.0, own);
            assert!(mac.is_local() && !mac.is_multicast(), "{mac}");
        }
    }

    #[test]
    fn bad_options_are_refused_before_any_syscall() {
        let big = TapOptions {
            mtu: Some(MAX_MTU + 1),
            ..TapOptions::new()
        };
        let e = TapDevice::open_with("x", big).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let group = TapOptions {
            mac: Some(MacAddr::BROADCAST),
            ..TapOptions::new()
        };
        let e = TapDevice::open_with("x", group).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = TapDevice::open("0123456789abcdefg").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
