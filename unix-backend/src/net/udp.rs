//! [`UdpSocket`]: kernel datagrams.
//!
//! Why it copies into the caller's buffer rather than a pool page: a
//! datagram's size is the sender's choice (up to 64 KiB), so the caller, who
//! knows its protocol, picks the buffer; a datagram longer than the buffer
//! is truncated (its tail is dropped by the kernel), never an error or a
//! panic. As for streams, each call tries the syscall first and waits for
//! readiness only on `EAGAIN`, and sends use `MSG_NOSIGNAL`.
//!
//! Cancellation: a datagram is sent or received only inside the poll that
//! returns its result, so a dropped future sent nothing and lost nothing.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;

use rustix::net::{RecvFlags, SendFlags, SocketType};

use super::socket::{self, Io};

/// A UDP socket.
///
/// ```no_run
/// use shimmer_unix::net::UdpSocket;
///
/// shimmer_unix::block_on(async {
///     let socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
///     let mut buf = [0u8; 1500];
///     let (n, from) = socket.recv_from(&mut buf).await?;
///     socket.send_to(&buf[..n], from).await?; // echo it back
///     Ok::<(), std::io::Error>(())
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    io: Io,
}

impl UdpSocket {
    /// A socket bound to `addr` (port 0: a free port).
    ///
    /// # Errors
    /// The kernel's (`AddrInUse`, …); an error outside a shimmer-unix
    /// executor (no reactor on this thread).
    pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
        let fd = socket::socket_for(&addr, SocketType::DGRAM)?;
        rustix::net::bind(&fd, &addr)?;
        Ok(UdpSocket { io: Io::new(fd)? })
    }

    /// Sets the default destination for [`send`](Self::send) and keeps
    /// [`recv`](Self::recv) to datagrams from `addr` (the kernel filters).
    ///
    /// # Errors
    /// The kernel's.
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        Ok(rustix::net::connect(self.io.fd(), &addr)?)
    }

    /// Sends `data` as one datagram to `to`; returns its length.
    ///
    /// # Errors
    /// The kernel's: `EMSGSIZE` for a datagram too large, …
    pub async fn send_to(&self, data: &[u8], to: SocketAddr) -> io::Result<usize> {
        Ok(poll_fn(|cx| {
            self.io.poll_write(cx, |fd| {
                rustix::net::sendto(fd, data, SendFlags::NOSIGNAL, &to)
            })
        })
        .await?)
    }

    /// Receives one datagram into `buf`: the bytes kept (at most
    /// `buf.len()`; the rest of a longer datagram is dropped) and the sender.
    ///
    /// # Errors
    /// The kernel's.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = poll_fn(|cx| {
            self.io.poll_read(cx, |fd| {
                rustix::net::recvfrom(fd, &mut *buf, RecvFlags::empty()).map(|(n, _, a)| (n, a))
            })
        })
        .await?;
        Ok((n, socket::ip_addr(from)?))
    }

    /// Sends `data` as one datagram to the [`connect`](Self::connect)ed
    /// address.
    ///
    /// # Errors
    /// `NotConnected` before `connect`; `ConnectionRefused` when an earlier
    /// datagram met a closed port; the kernel's.
    pub async fn send(&self, data: &[u8]) -> io::Result<usize> {
        Ok(poll_fn(|cx| {
            self.io
                .poll_write(cx, |fd| rustix::net::send(fd, data, SendFlags::NOSIGNAL))
        })
        .await?)
    }

    /// Receives one datagram from the connected address into `buf`
    /// (truncated as with [`recv_from`](Self::recv_from)).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(poll_fn(|cx| {
            self.io.poll_read(cx, |fd| {
                rustix::net::recv(fd, &mut *buf, RecvFlags::empty()).map(|(n, _)| n)
            })
        })
        .await?)
    }

    /// The bound address (with the port the kernel chose, for port 0).
    ///
    /// # Errors
    /// The kernel's.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(self.io.fd())
    }

    /// The connected address.
    ///
    /// # Errors
    /// `NotConnected` before [`connect`](Self::connect).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        socket::peer_addr(self.io.fd())
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UdpSocket");
        d.field("fd", &self.io.fd());
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        d.finish()
    }
}
