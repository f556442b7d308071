//! [`Net`]: an Ethernet device (Mirage's NETWORK): netfront, a TAP device,
//! a simulated link.
//!
//! The trait is poll-based so that a synchronous network stack drives it
//! with no copy and no lost frame: smoltcp's `Device` hands out tokens that
//! are consumed inside its `poll`, with no `.await` in between. Receiving
//! gives the page the device filled ([`Net::poll_recv`], zero-copy);
//! sending asks for readiness first ([`Net::poll_send_ready`]) and then
//! fills a device page in place with a synchronous [`Net::send`] — the
//! shape of smoltcp's `TxToken::consume(len, f)` and of Mirage_net's
//! `write ~size fill`.
//!
//! Frames are Ethernet frames without the FCS: destination, source,
//! EtherType, payload; at most [`max_frame_len`](Net::max_frame_len) bytes
//! (`mtu() + 14`), and at most a page.
//!
//! # Contract (checked by `conformance::net`)
//!
//! * A frame sent is received whole and unchanged, or not at all (a link
//!   may lose, duplicate, reorder or delay frames — Ethernet is not
//!   reliable — but never corrupts or truncates one).
//! * `Ready(Ok(()))` from `poll_send_ready` means the next `send` from the
//!   same task, with no await in between, will not fail with
//!   [`Error::WouldBlock`](crate::Error::WouldBlock).
//! * `send` with `len` above `max_frame_len()` is [`Error::TooLarge`], a
//!   `fill` that returns more than `len` is [`Error::InvalidInput`]; in
//!   both cases nothing is sent and nothing panics.
//! * A device that has gone away answers `poll_recv`, `poll_send_ready` and
//!   `send` with [`Error::DeviceGone`](crate::Error::DeviceGone), never a
//!   frame.
//!
//! # Cancellation
//!
//! A frame leaves the device only when `poll_recv` returns it, so dropping a
//! `recv()` future loses nothing. `send` is synchronous: the frame is queued
//! (or not) when it returns.
//!
//! [`Error::TooLarge`]: crate::Error::TooLarge
//! [`Error::InvalidInput`]: crate::Error::InvalidInput
//!
//! ```
//! use shimmer_io::mem::{link, LinkConfig};
//! use shimmer_io::net::Net;
//! use shimmer_io::page::PagePool;
//!
//! shimmer_executor::block_on(async {
//!     let (a, b) = link(PagePool::new(), LinkConfig::new());
//!     a.send_ready().await?;
//!     a.send(60, |frame| {
//!         frame[..6].copy_from_slice(&b.mac().0);  // to b
//!         frame[6..12].copy_from_slice(&a.mac().0); // from a
//!         frame[12..14].copy_from_slice(&[0x88, 0xb5]);
//!         60
//!     })?;
//!     let frame = b.recv().await?;                  // the page a filled
//!     assert_eq!(&frame[..6], &b.mac().0);
//!     assert_eq!(b.stats().rx_frames, 1);
//!     Ok::<(), shimmer_io::Error>(())
//! })?;
//! # Ok::<(), shimmer_io::Error>(())
//! ```

use core::fmt;
use core::future::poll_fn;
use core::task::{Context, Poll};

use crate::page::Buf;
use crate::Result;

/// Length of an Ethernet header (no VLAN tag).
pub const ETHERNET_HEADER_LEN: usize = 14;

/// An Ethernet MAC address.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// Whether the group bit is set (broadcast or multicast).
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    /// Whether the locally-administered bit is set.
    pub const fn is_local(&self) -> bool {
        self.0[0] & 2 == 2
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddr({self})")
    }
}

/// Whether the link is up.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LinkState {
    /// Frames can flow.
    Up,
    /// The cable is out (frames sent are dropped, none arrive).
    Down,
}

/// Checksum work the device does, so the stack can skip it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Offload {
    /// Received IPv4/TCP/UDP checksums were verified by the device (frames
    /// with bad ones were dropped): the stack need not check them.
    pub rx_checksum: bool,
    /// The device fills in TCP/UDP checksums of frames sent: the stack may
    /// leave them (netfront's `NETTXF_csum_blank`).
    pub tx_checksum: bool,
}

impl Offload {
    /// No offload: the stack computes and checks every checksum.
    pub const NONE: Offload = Offload {
        rx_checksum: false,
        tx_checksum: false,
    };

    /// Offload with the given receive and transmit checksum support.
    pub const fn new(rx_checksum: bool, tx_checksum: bool) -> Offload {
        Offload {
            rx_checksum,
            tx_checksum,
        }
    }
}

/// A device's counters since it was made.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct NetStats {
    /// Frames handed to the stack by `poll_recv`.
    pub rx_frames: u64,
    /// Their bytes.
    pub rx_bytes: u64,
    /// Frames queued by `send`.
    pub tx_frames: u64,
    /// Their bytes.
    pub tx_bytes: u64,
    /// Frames received but dropped by the device (no buffer, link down).
    pub rx_dropped: u64,
    /// Frames sent but dropped by the device or the link.
    pub tx_dropped: u64,
    /// Refused `send`s (too large, bad fill, not ready).
    pub tx_errors: u64,
}

/// An Ethernet device (see the [module doc](self) for the contract).
#[allow(async_fn_in_trait)]
pub trait Net {
    /// The next received frame: the page the device filled, zero-copy.
    /// `Pending` (with `cx`'s waker registered) while there is none.
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<Buf>>;

    /// Whether a `send` would be accepted now; `Pending` (with `cx`'s waker
    /// registered) while the device's transmit queue is full.
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<Result<()>>;

    /// Sends one frame of at most `len` bytes: `fill` writes it into a
    /// device page of `len` bytes and returns how many it used (the frame's
    /// length, at most `len`). Synchronous: the frame is queued when this
    /// returns. `fill` is not called when the send is refused.
    ///
    /// Errors: [`Error::WouldBlock`](crate::Error::WouldBlock) if the device
    /// is not ready, [`Error::TooLarge`](crate::Error::TooLarge),
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) (fill returned
    /// more than `len`; nothing is sent),
    /// [`Error::DeviceGone`](crate::Error::DeviceGone).
    fn send<F: FnOnce(&mut [u8]) -> usize>(&self, len: usize, fill: F) -> Result<()>;

    /// The device's MAC address.
    fn mac(&self) -> MacAddr;

    /// The largest IP packet a frame carries (1500 on most links).
    fn mtu(&self) -> usize;

    /// The largest frame `send` takes: `mtu()` plus the Ethernet header.
    fn max_frame_len(&self) -> usize {
        self.mtu() + ETHERNET_HEADER_LEN
    }

    /// Whether the link is up now.
    fn link(&self) -> LinkState;

    /// Checksum offload the device does. Default: none.
    fn offload(&self) -> Offload {
        Offload::NONE
    }

    /// The device's counters.
    fn stats(&self) -> NetStats;

    /// The next received frame (`poll_recv` as a future).
    ///
    /// Cancellation: dropping the future loses no frame.
    async fn recv(&self) -> Result<Buf> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Waits until a `send` would be accepted (`poll_send_ready` as a
    /// future).
    ///
    /// Cancellation: nothing to undo.
    async fn send_ready(&self) -> Result<()> {
        poll_fn(|cx| self.poll_send_ready(cx)).await
    }
}

/// `&N` and `Rc<N>` are Nets too: every method forwards.
macro_rules! forward_net {
    ($($ptr:ty),*) => {$(
        impl<N: Net + ?Sized> Net for $ptr {
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<Buf>> {
        (**self).poll_recv(cx)
    }
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        (**self).poll_send_ready(cx)
    }
    fn send<F: FnOnce(&mut [u8]) -> usize>(&self, len: usize, fill: F) -> Result<()> {
        (**self).send(len, fill)
    }
    fn mac(&self) -> MacAddr {
        (**self).mac()
    }
    fn mtu(&self) -> usize {
        (**self).mtu()
    }
    fn max_frame_len(&self) -> usize {
        (**self).max_frame_len()
    }
    fn link(&self) -> LinkState {
        (**self).link()
    }
    fn offload(&self) -> Offload {
        (**self).offload()
    }
    fn stats(&self) -> NetStats {
        (**self).stats()
    }
}
    )*};
}

forward_net!(&N, alloc::rc::Rc<N>);

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn mac_display_and_bits() {
        let m = MacAddr([0x02, 0, 0x5e, 0x10, 0xab, 0xff]);
        assert_eq!(m.to_string(), "02:00:5e:10:ab:ff");
        assert!(m.is_local() && !m.is_multicast());
        assert!(MacAddr::BROADCAST.is_multicast());
    }
}
