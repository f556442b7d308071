//! [`TcpListener`]: a listening kernel socket that hands out [`TcpStream`]s.
//!
//! Why `accept4`: the accepted socket comes out nonblocking and
//! close-on-exec in the same syscall, so an accept costs one syscall (plus
//! `TCP_NODELAY` when asked for) and its registration with the reactor. The
//! attempt is made before looking at readiness, as for every socket here,
//! and a connection is taken from the kernel only inside a poll that returns
//! it, so a dropped `accept` future loses no connection.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;

use rustix::io::Errno;
use rustix::net::{sockopt, SocketFlags, SocketType};
use shimmer_io::page::PagePool;

use super::options::TcpOptions;
use super::socket::{self, Io};
use super::tcp::TcpStream;

/// A listening TCP socket.
///
/// One task accepts at a time: the reactor keeps one waker per direction,
/// so of several tasks waiting in [`accept`](Self::accept) on the same
/// listener only the last is woken. Accept in one loop and spawn a task per
/// connection (below); for several accepting executors, give each its own
/// listener with [`TcpOptions::reuse_port`].
///
/// ```no_run
/// use shimmer_io::flow::Flow;
/// use shimmer_unix::net::TcpListener;
///
/// shimmer_unix::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:8080".parse().unwrap())?;
///     loop {
///         let (stream, _peer) = listener.accept().await?;
///         shimmer_executor::spawn(async move {
///             while let Ok(Some(buf)) = stream.read().await {
///                 if stream.write_buf(buf).await.is_err() {
///                     break;
///                 }
///             }
///         });
///     }
///     #[allow(unreachable_code)]
///     Ok::<(), std::io::Error>(())
/// })??;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    io: Io,
    nodelay: bool,
    pool: PagePool,
}

impl TcpListener {
    /// Listens on `addr` with [`TcpOptions::default`] (`SO_REUSEADDR`,
    /// backlog 1024, accepted streams with `TCP_NODELAY`). Port 0 picks a
    /// free port (see [`local_addr`](TcpListener::local_addr)).
    ///
    /// # Errors
    /// The kernel's (`AddrInUse`, `PermissionDenied`, …); an error outside a
    /// shimmer-unix executor (no reactor on this thread).
    pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::bind_with(addr, &TcpOptions::default())
    }

    /// Listens on `addr` with `options`. Accepted streams take their read
    /// pages from [`PagePool::current`] (see [`with_pool`](Self::with_pool)).
    ///
    /// # Errors
    /// As [`bind`](TcpListener::bind).
    pub fn bind_with(addr: SocketAddr, options: &TcpOptions) -> io::Result<TcpListener> {
        let fd = socket::socket_for(&addr, SocketType::STREAM)?;
        if options.reuse_address {
            sockopt::set_socket_reuseaddr(&fd, true)?;
        }
        if options.reuse_port {
            sockopt::set_socket_reuseport(&fd, true)?;
        }
        rustix::net::bind(&fd, &addr)?;
        let backlog = i32::try_from(options.backlog).unwrap_or(i32::MAX);
        rustix::net::listen(&fd, backlog)?;
        Ok(TcpListener {
            io: Io::new(fd)?,
            nodelay: options.nodelay,
            pool: PagePool::current(),
        })
    }

    /// The listener, with accepted streams reading into pages of `pool`.
    pub fn with_pool(mut self, pool: PagePool) -> TcpListener {
        self.pool = pool;
        self
    }

    /// The next connection and its peer's address.
    ///
    /// Cancellation: dropping the future loses no connection (one is taken
    /// from the kernel only by the poll that returns it).
    ///
    /// # Errors
    /// The kernel's: `EMFILE`/`ENFILE` (out of descriptors: the connection
    /// stays queued, try again later), `ENOBUFS`, …. A connection reset
    /// before it was accepted is skipped, not reported.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        let (fd, peer) = poll_fn(|cx| loop {
            match self
                .io
                .poll_read(cx, |fd| rustix::net::acceptfrom_with(fd, flags))
            {
                std::task::Poll::Ready(Err(Errno::CONNABORTED)) => continue,
                other => return other,
            }
        })
        .await?;
        if self.nodelay {
            sockopt::set_tcp_nodelay(&fd, true)?;
        }
        let peer = socket::ip_addr(peer)?;
        let stream = TcpStream::from_io(Io::new(fd)?, self.pool.clone());
        Ok((stream, peer))
    }

    /// The address listened on (with the port the kernel chose, for port 0).
    ///
    /// # Errors
    /// The kernel's.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(self.io.fd())
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpListener");
        d.field("fd", &self.io.fd());
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        d.field("nodelay", &self.nodelay).finish()
    }
}
