//! Kernel sockets: [`TcpListener`], [`TcpStream`] (a
//! [`Flow`](shimmer_io::flow::Flow)) and [`UdpSocket`].
//!
//! On Unix the host kernel's TCP/IP is the default network stack of a
//! shimmer program, so these types are the hot path of every server the
//! runtime is measured by (TCP echo, HTTP). What they are built around:
//!
//! * **Readiness, not completion.** Each socket is registered once with the
//!   thread's [`Reactor`](crate::Reactor), edge-triggered, for both
//!   directions; nothing is re-armed afterwards. An operation tries its
//!   syscall first and waits for the next edge only when the kernel says
//!   `EAGAIN`, so data already there costs exactly one syscall, and a fresh
//!   socket is usable before the park has reported anything about it. A
//!   stream read that comes back short has emptied the socket, so the next
//!   one waits for an edge without the `EAGAIN` syscall: an echo round trip
//!   is `recv`, `send` and (shared by every ready socket) `epoll_wait`.
//! * **Pool pages, no allocation per operation.** A read fills a page from
//!   the stream's [`PagePool`](shimmer_io::page::PagePool) and returns it as
//!   a zero-copy [`Buf`](shimmer_io::page::Buf); a page is taken only for an
//!   attempt and goes back at once on `EAGAIN`, so an idle connection holds
//!   no buffer at all (its cost is the stream, its reactor slot and the
//!   kernel's socket). Vectored writes build their `iovec` array on the
//!   stack.
//! * **No `SIGPIPE`.** Writes are `send`/`sendmsg` with `MSG_NOSIGNAL`: a
//!   vanished peer is an error value
//!   ([`Error::BrokenPipe`](shimmer_io::Error::BrokenPipe) or
//!   [`Error::Reset`](shimmer_io::Error::Reset)), never a signal.
//! * **Cancellation for free.** Bytes move only inside the syscall made by
//!   the poll that returns them, so a dropped read consumed nothing, a
//!   dropped accept took no connection, and a dropped write sent a prefix.
//! * **Two error types, on purpose.** Setting up (bind, connect, accept)
//!   keeps the kernel's [`std::io::Error`], whose kinds say *why*
//!   (`AddrInUse`, `ConnectionRefused`); the `Flow` methods speak
//!   [`shimmer_io::Error`], mapped in [`crate::error`].
//!
//! The pieces: [`options`] ([`TcpOptions`]), `socket` (the shared
//! syscall-then-readiness loop), [`tcp`], [`listener`], [`udp`].
//!
//! ```
//! use shimmer_io::flow::Flow;
//! use shimmer_unix::net::{TcpListener, TcpStream};
//!
//! shimmer_unix::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
//!     let addr = listener.local_addr()?;
//!     let client = TcpStream::connect(addr).await?;
//!     let (server, _) = listener.accept().await?;
//!     client.write(b"hello").await?;
//!     let buf = server.read().await?.expect("data");
//!     assert_eq!(&buf[..], b"hello");
//!     Ok::<(), std::io::Error>(())
//! })??;
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod listener;
pub mod options;
mod socket;
pub mod tcp;
pub mod udp;

pub use listener::TcpListener;
pub use options::TcpOptions;
pub use tcp::TcpStream;
pub use udp::UdpSocket;
