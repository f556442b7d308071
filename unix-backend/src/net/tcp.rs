//! [`TcpStream`]: a kernel TCP connection as a [`Flow`].
//!
//! Why it is built this way (the hot path of every server on the Unix
//! backend):
//!
//! * **One syscall per operation when the kernel is ready.** Each read or
//!   write tries `recv`/`send` at once and looks at readiness only after
//!   `EAGAIN` (the loop in `net::socket`); the edge-triggered registration is
//!   made once, at connect or accept, and never re-armed. A read that comes
//!   back short has emptied the socket, so the next one waits for an edge
//!   without trying the `recv` that would say `EAGAIN`.
//! * **Reads fill a fresh pool page.** [`Flow::read`] takes a page from the
//!   stream's [`PagePool`], `recv`s up to 4096 bytes into it and hands it
//!   back as a [`Buf`]: no copy in user space, no global allocation. On
//!   `EAGAIN` the page goes straight back to the pool (an O(1) push), so a
//!   connection waiting for data holds no page: ten thousand idle
//!   connections cost no buffer memory.
//! * **Writes never raise `SIGPIPE`.** Every write is `send`/`sendmsg` with
//!   `MSG_NOSIGNAL`: writing to a peer that is gone is
//!   [`Error::BrokenPipe`] (or [`Error::Reset`]), never a signal that kills
//!   the process. That is also why the vectored writes use `sendmsg` rather
//!   than `writev(2)`, which has no such flag: one syscall for all the
//!   slices (up to 64 at a time, from an array on the stack), partial writes
//!   continued where the kernel stopped.
//! * **Shutdown and close are local state first.** `shutdown(Read)` makes
//!   reads here return end of stream at once (the kernel would still hand
//!   out data queued before it), `shutdown(Write)` makes writes here
//!   [`Error::Closed`] (the kernel would say `EPIPE`), as the [`Flow`]
//!   contract asks. [`Flow::close`] closes the descriptor at once (the peer
//!   reads the data then end of stream, or a reset if data sent to us was
//!   left unread, as with `close(2)`), after waking any task waiting on it,
//!   which then sees [`Error::Closed`].
//!
//! # One waiting task per direction
//!
//! The reactor keeps one waker per direction of a descriptor, so one task
//! may wait to read while another waits to write (the usual split), but two
//! tasks waiting to *read* the same stream at once (or two writing) is not
//! supported: only the one that waited last is woken. Give each direction
//! one owner task.
//!
//! # Cancellation
//!
//! The data moves inside the syscall, and a syscall is made only while the
//! future is being polled, so: a dropped `read`/`read_into` consumed
//! nothing; a dropped write sent a prefix of its data (whatever the
//! completed `send`s took) and the stream stays usable.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::fd::BorrowedFd;
use std::task::{Context, Poll};
use std::time::Duration;

use rustix::io::Errno;
use rustix::net::{sockopt, RecvFlags, SendAncillaryBuffer, SendFlags, SocketType};
use shimmer_io::flow::{Flow, Shutdown};
use shimmer_io::page::{Buf, BufChain, PagePool};
use shimmer_io::{Error, Result};

use super::socket::{self, Io};
use crate::error::from_errno;

/// Most slices one `sendmsg` is given (the array lives on the stack).
const MAX_IOV: usize = 64;

/// A TCP connection (see the [module doc](self)).
///
/// ```no_run
/// use shimmer_io::flow::Flow;
/// use shimmer_unix::net::TcpStream;
///
/// shimmer_unix::block_on(async {
///     let stream = TcpStream::connect("127.0.0.1:7".parse().unwrap()).await?;
///     stream.write(b"ping").await?;
///     if let Some(reply) = stream.read().await? {
///         println!("{} bytes back", reply.len()); // a view of a pool page
///     }
///     stream.close().await?;
///     Ok::<(), std::io::Error>(())
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    /// `None` once [`Flow::close`]d.
    io: RefCell<Option<Io>>,
    read_shut: Cell<bool>,
    write_shut: Cell<bool>,
    pool: PagePool,
}

impl TcpStream {
    pub(super) fn from_io(io: Io, pool: PagePool) -> TcpStream {
        TcpStream {
            io: RefCell::new(Some(io)),
            read_shut: Cell::new(false),
            write_shut: Cell::new(false),
            pool,
        }
    }

    /// Connects to `addr`: a nonblocking `connect`, then a wait for the
    /// socket to become writable and a look at `SO_ERROR`. Reads take their
    /// pages from [`PagePool::current`].
    ///
    /// Cancellation: dropping the future closes the half-made socket.
    ///
    /// # Errors
    /// The kernel's: `ConnectionRefused` when nothing listens on `addr`,
    /// `TimedOut`, `NetworkUnreachable`, …; an error outside a shimmer-unix
    /// executor (no reactor on this thread).
    pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        let fd = socket::socket_for(&addr, SocketType::STREAM)?;
        // Registered after `connect`, so that epoll never sees the socket in
        // its unconnected state (which it reports as a hang-up).
        let pending = match rustix::net::connect(&fd, &addr) {
            Ok(()) => false,
            Err(Errno::INPROGRESS | Errno::INTR) => true,
            Err(e) => return Err(e.into()),
        };
        let io = Io::new(fd)?;
        if pending {
            poll_fn(|cx| io.poll_write_ready(cx)).await;
            loop {
                if let Err(e) = sockopt::socket_error(io.fd())? {
                    return Err(e.into());
                }
                match rustix::net::getpeername(io.fd()) {
                    Ok(_) => break,
                    // A write edge before the handshake finished: wait on.
                    Err(Errno::NOTCONN) => poll_fn(|cx| io.poll_write_again(cx)).await,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(TcpStream::from_io(io, PagePool::current()))
    }

    /// The stream, with reads taking their pages from `pool` instead.
    pub fn with_pool(mut self, pool: PagePool) -> TcpStream {
        self.pool = pool;
        self
    }

    /// The pool reads take their pages from.
    pub fn pool(&self) -> &PagePool {
        &self.pool
    }

    fn with_fd<R>(&self, f: impl FnOnce(BorrowedFd<'_>) -> rustix::io::Result<R>) -> io::Result<R> {
        match &*self.io.borrow() {
            Some(io) => Ok(f(io.fd())?),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Turns Nagle's algorithm off (`true`: small writes leave at once) or on.
    ///
    /// # Errors
    /// `NotConnected` after [`Flow::close`]; the kernel's.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.with_fd(|fd| sockopt::set_tcp_nodelay(fd, nodelay))
    }

    /// Whether Nagle's algorithm is off.
    ///
    /// # Errors
    /// As [`set_nodelay`](TcpStream::set_nodelay).
    pub fn nodelay(&self) -> io::Result<bool> {
        self.with_fd(|fd| sockopt::tcp_nodelay(fd))
    }

    /// `SO_LINGER`. `Some(Duration::ZERO)` makes closing the stream abort
    /// the connection: the peer gets a reset ([`Error::Reset`]) rather than
    /// end of stream, and unsent data is discarded.
    ///
    /// # Errors
    /// As [`set_nodelay`](TcpStream::set_nodelay).
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.with_fd(|fd| sockopt::set_socket_linger(fd, linger))
    }

    /// This end's address.
    ///
    /// # Errors
    /// As [`set_nodelay`](TcpStream::set_nodelay).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match &*self.io.borrow() {
            Some(io) => socket::local_addr(io.fd()),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// The peer's address.
    ///
    /// # Errors
    /// As [`set_nodelay`](TcpStream::set_nodelay).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        match &*self.io.borrow() {
            Some(io) => socket::peer_addr(io.fd()),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn poll_read_buf(&self, cx: &mut Context<'_>) -> Poll<Result<Option<Buf>>> {
        let io = self.io.borrow();
        let Some(io) = io.as_ref() else {
            return Poll::Ready(Err(Error::Closed));
        };
        if self.read_shut.get() {
            return Poll::Ready(Ok(None));
        }
        let mut page = match self.pool.try_alloc() {
            Ok(page) => page,
            Err(e) => return Poll::Ready(Err(e)),
        };
        // On `Pending` the page is dropped here, back to the pool.
        let n = match io.poll_read_stream(cx, page.len(), |fd| {
            rustix::net::recv(fd, &mut page[..], RecvFlags::empty()).map(|(n, _)| n)
        }) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(from_errno(e))),
        };
        if n == 0 {
            return Poll::Ready(Ok(None));
        }
        let mut buf = page.freeze();
        buf.truncate(n);
        Poll::Ready(Ok(Some(buf)))
    }

    fn poll_read_into(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<Result<usize>> {
        let io = self.io.borrow();
        let Some(io) = io.as_ref() else {
            return Poll::Ready(Err(Error::Closed));
        };
        if self.read_shut.get() || buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        io.poll_read_stream(cx, buf.len(), |fd| {
            rustix::net::recv(fd, &mut *buf, RecvFlags::empty()).map(|(n, _)| n)
        })
        .map(|r| r.map_err(from_errno))
    }

    /// One `send` (or `sendmsg` for several slices) of what is left of
    /// `bufs` from slice `at.0`, byte `at.1`: how many bytes it took.
    fn poll_send<S: AsRef<[u8]>>(
        &self,
        cx: &mut Context<'_>,
        bufs: &[S],
        at: (usize, usize),
    ) -> Poll<Result<usize>> {
        let io = self.io.borrow();
        let Some(io) = io.as_ref() else {
            return Poll::Ready(Err(Error::Closed));
        };
        if self.write_shut.get() {
            return Poll::Ready(Err(Error::Closed));
        }
        let rest = &bufs[at.0..];
        let sent = if let [one] = rest {
            // One slice (`write`, `write_buf`): no iovec array to fill.
            let data = &one.as_ref()[at.1..];
            if data.is_empty() {
                return Poll::Ready(Ok(0));
            }
            io.poll_write(cx, |fd| rustix::net::send(fd, data, SendFlags::NOSIGNAL))
        } else {
            let mut iov = [IoSlice::new(&[]); MAX_IOV];
            let mut count = 0;
            for (k, b) in rest.iter().enumerate() {
                let s = if k == 0 {
                    &b.as_ref()[at.1..]
                } else {
                    b.as_ref()
                };
                if s.is_empty() {
                    continue;
                }
                if count == MAX_IOV {
                    break;
                }
                iov[count] = IoSlice::new(s);
                count += 1;
            }
            match count {
                0 => return Poll::Ready(Ok(0)),
                1 => io.poll_write(cx, |fd| {
                    rustix::net::send(fd, &iov[0][..], SendFlags::NOSIGNAL)
                }),
                _ => io.poll_write(cx, |fd| {
                    rustix::net::sendmsg(
                        fd,
                        &iov[..count],
                        &mut SendAncillaryBuffer::default(),
                        SendFlags::NOSIGNAL,
                    )
                }),
            }
        };
        match sent {
            Poll::Pending => Poll::Pending,
            // A stream socket takes at least a byte or fails; never spin.
            Poll::Ready(Ok(0)) => Poll::Ready(Err(Error::Io)),
            Poll::Ready(Ok(n)) => Poll::Ready(Ok(n)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(from_errno(e))),
        }
    }

    /// Sends all of `bufs`, in as few syscalls as the kernel allows.
    async fn send_all<S: AsRef<[u8]>>(&self, bufs: &[S]) -> Result<()> {
        let (mut i, mut off) = (0, 0);
        loop {
            let mut left = poll_fn(|cx| self.poll_send(cx, bufs, (i, off))).await?;
            // Move past what was sent, and past empty slices.
            while i < bufs.len() {
                let rest = bufs[i].as_ref().len() - off;
                if left < rest {
                    off += left;
                    break;
                }
                left -= rest;
                i += 1;
                off = 0;
            }
            if i == bufs.len() {
                return Ok(());
            }
        }
    }
}

impl Flow for TcpStream {
    /// Up to 4096 bytes, in a page of the stream's pool; one `recv` when data
    /// is waiting.
    async fn read(&self) -> Result<Option<Buf>> {
        poll_fn(|cx| self.poll_read_buf(cx)).await
    }

    async fn read_into(&self, buf: &mut [u8]) -> Result<usize> {
        poll_fn(|cx| self.poll_read_into(cx, buf)).await
    }

    async fn write(&self, data: &[u8]) -> Result<()> {
        self.send_all(&[data]).await
    }

    /// The kernel copies the page's bytes; the page goes back to its pool
    /// when the write returns.
    async fn write_buf(&self, buf: Buf) -> Result<()> {
        self.send_all(&[buf]).await
    }

    /// One `sendmsg` for all the slices (64 at a time), continued after a
    /// partial write.
    async fn writev(&self, bufs: &[&[u8]]) -> Result<()> {
        self.send_all(bufs).await
    }

    /// As [`writev`](Flow::writev), over the chain's pages.
    async fn write_chain(&self, chain: BufChain) -> Result<()> {
        self.send_all(chain.as_slice()).await
    }

    async fn shutdown(&self, how: Shutdown) -> Result<()> {
        let io = self.io.borrow();
        let Some(io) = io.as_ref() else {
            return Err(Error::Closed);
        };
        let read = how.reads() && !self.read_shut.get();
        let write = how.writes() && !self.write_shut.get();
        let kernel = match (read, write) {
            (false, false) => return Ok(()),
            (true, false) => rustix::net::Shutdown::Read,
            (false, true) => rustix::net::Shutdown::Write,
            (true, true) => rustix::net::Shutdown::Both,
        };
        self.read_shut.set(self.read_shut.get() || read);
        self.write_shut.set(self.write_shut.get() || write);
        // Tasks waiting to read or write here must see the new state.
        io.wake_all();
        match rustix::net::shutdown(io.fd(), kernel) {
            // Already disconnected (the peer reset): the direction is ended.
            Ok(()) | Err(Errno::NOTCONN) => Ok(()),
            Err(e) => Err(from_errno(e)),
        }
    }

    async fn close(&self) -> Result<()> {
        let io = self.io.borrow_mut().take();
        if let Some(io) = io {
            io.wake_all();
            drop(io); // close(2)
        }
        Ok(())
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpStream");
        match &*self.io.borrow() {
            Some(io) => {
                d.field("fd", &io.fd());
                if let Ok(addr) = socket::local_addr(io.fd()) {
                    d.field("local", &addr);
                }
                if let Ok(addr) = socket::peer_addr(io.fd()) {
                    d.field("peer", &addr);
                }
            }
            None => {
                d.field("closed", &true);
            }
        }
        d.field("read_shut", &self.read_shut.get())
            .field("write_shut", &self.write_shut.get())
            .finish()
    }
}
