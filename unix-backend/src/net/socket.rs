//! [`Io`]: one nonblocking socket and its readiness registration, and the
//! one way every socket type runs a syscall.
//!
//! Why not [`AsyncFd`](crate::AsyncFd): `AsyncFd::read_with` waits for
//! readiness *before* the first attempt, so a fresh socket (whose first
//! edge has not been dispatched yet) or data that arrived since the last
//! park would cost a trip through the park. Here the syscall always goes
//! first and readiness is consulted only after `EAGAIN`; and a stream's
//! `close(&self)` needs to take the descriptor out while the stream lives,
//! which an `AsyncFd` owning its fd for good cannot do.
//!
//! Why the `EAGAIN` path is correct: the reactor only records events while
//! the executor parks, and a poll never parks, so between our `EAGAIN` and
//! the readiness check no event can be recorded. A ready flag seen there is
//! therefore stale (set before the attempt that just failed) and is cleared
//! with its own token; then the waker is stored and the next edge wakes us.
//! The registration is edge-triggered and made once per descriptor: nothing
//! is re-armed per operation.
//!
//! Why stream reads go further ([`Io::poll_read_stream`]): a `recv` that
//! returns less than it was asked for has emptied the socket, so the next
//! read would only hear `EAGAIN`. Clearing readiness right there lets that
//! read wait for the next edge without the syscall: an echo round trip is
//! then `recv`, `send`, `epoll_wait` — what a hand-written level-triggered
//! loop costs — instead of four syscalls. The one trap is a state the
//! kernel announces once (end of stream, a reset) that arrived with or
//! before the data: the reactor remembers those
//! ([`Registration::clear_read_ready_drained`] then keeps readiness set).

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::task::{Context, Poll};

use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketAddrAny, SocketFlags, SocketType};

use crate::reactor::{Interest, Reactor, Registration};

/// A nonblocking socket registered (edge-triggered, both directions) with
/// this thread's reactor.
///
/// Dropping it removes the descriptor from the epoll set, then closes it
/// (the reactor's deregistration rule: a descriptor whose open file lives on
/// elsewhere, in a forked child say, would otherwise keep reporting events).
pub(crate) struct Io {
    /// `Some` until drop.
    reg: Option<Registration>,
    fd: OwnedFd,
    /// The read-ready flag can be trusted to be `false` only when the fd is
    /// empty: set once a read met `EAGAIN` or came back short (before that,
    /// a fresh registration's flag is `false` for want of a first event).
    read_flag_exact: Cell<bool>,
}

impl Io {
    /// Registers `fd` (which must be nonblocking) with the current reactor.
    pub(crate) fn new(fd: OwnedFd) -> io::Result<Io> {
        let reactor = Reactor::current().ok_or_else(|| {
            io::Error::other(
                "no shimmer-unix reactor on this thread (run inside shimmer_unix::block_on)",
            )
        })?;
        let reg = reactor.register(fd.as_fd(), Interest::Both)?;
        Ok(Io {
            reg: Some(reg),
            fd,
            read_flag_exact: Cell::new(false),
        })
    }

    #[inline]
    fn reg(&self) -> &Registration {
        self.reg.as_ref().expect("registered until drop")
    }

    /// The descriptor.
    #[inline]
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Runs `op` (a nonblocking syscall) now; on `EAGAIN`, arranges to be
    /// woken at the next read edge and returns `Pending`. `EINTR` retries.
    #[inline]
    pub(crate) fn poll_read<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(BorrowedFd<'_>) -> rustix::io::Result<R>,
    ) -> Poll<rustix::io::Result<R>> {
        self.poll_op(cx, op, Dir::Read)
    }

    /// A stream read of at most `want` bytes (`want > 0`) by `op`: as
    /// [`poll_read`](Io::poll_read), and moreover a read that comes back
    /// short (fewer bytes than asked for, but some) has emptied the kernel's
    /// queue, so read readiness is cleared
    /// ([`Registration::clear_read_ready_drained`]) and the next read waits
    /// for an edge without trying the syscall that would say `EAGAIN`. An
    /// edge (new data, end of stream, a reset) sets readiness again; a hang-up
    /// or error the kernel had already reported keeps it set.
    #[inline]
    pub(crate) fn poll_read_stream(
        &self,
        cx: &mut Context<'_>,
        want: usize,
        mut op: impl FnMut(BorrowedFd<'_>) -> rustix::io::Result<usize>,
    ) -> Poll<rustix::io::Result<usize>> {
        let reg = self.reg();
        let token = match reg.poll_read_ready(cx) {
            Poll::Ready(token) => Some(token),
            // Known empty, and no edge since: the waker is stored.
            Poll::Pending if self.read_flag_exact.get() => return Poll::Pending,
            Poll::Pending => None,
        };
        let r = self.poll_read(cx, &mut op);
        match &r {
            Poll::Ready(Ok(n)) if *n > 0 && *n < want => {
                // Short: the queue was emptied. Events recorded before
                // `token` are covered by this read; any later one sets the
                // flag again. With no token, the flag is already clear.
                if let Some(token) = token {
                    reg.clear_read_ready_drained(token);
                }
                self.read_flag_exact.set(true);
            }
            Poll::Pending => self.read_flag_exact.set(true),
            _ => {}
        }
        r
    }

    /// As [`poll_read`](Io::poll_read), waiting for a write edge.
    #[inline]
    pub(crate) fn poll_write<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(BorrowedFd<'_>) -> rustix::io::Result<R>,
    ) -> Poll<rustix::io::Result<R>> {
        self.poll_op(cx, op, Dir::Write)
    }

    #[inline]
    fn poll_op<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(BorrowedFd<'_>) -> rustix::io::Result<R>,
        dir: Dir,
    ) -> Poll<rustix::io::Result<R>> {
        loop {
            match op(self.fd.as_fd()) {
                Err(Errno::AGAIN) => {}
                Err(Errno::INTR) => continue,
                r => return Poll::Ready(r),
            }
            if self.poll_ready(cx, dir).is_pending() {
                return Poll::Pending;
            }
            // Not reached in practice: a flag set before the failed attempt
            // has just been cleared. If it were, trying again is correct.
        }
    }

    /// After `EAGAIN`: clears a stale ready flag and stores the waker.
    /// `Ready` only if an edge was recorded after the flag was cleared,
    /// which cannot happen within one poll (see the module doc).
    fn poll_ready(&self, cx: &mut Context<'_>, dir: Dir) -> Poll<()> {
        let poll = |cx: &mut Context<'_>| match dir {
            Dir::Read => self.reg().poll_read_ready(cx),
            Dir::Write => self.reg().poll_write_ready(cx),
        };
        match poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(stale) => {
                match dir {
                    Dir::Read => self.reg().clear_read_ready(stale),
                    Dir::Write => self.reg().clear_write_ready(stale),
                }
                poll(cx).map(|_| ())
            }
        }
    }

    /// Waits for a write edge (a nonblocking `connect` completing).
    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.reg().poll_write_ready(cx).map(|_| ())
    }

    /// After a spurious write edge: forget it and wait for the next one.
    pub(crate) fn poll_write_again(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_ready(cx, Dir::Write)
    }

    /// Wakes every task waiting on this socket (before it is closed).
    pub(crate) fn wake_all(&self) {
        self.reg().wake_all();
    }
}

impl Drop for Io {
    fn drop(&mut self) {
        if let Some(reg) = self.reg.take() {
            // Fails only if the descriptor is not in the set any more, which
            // is what we want anyway.
            let _ = reg.deregister(&self.fd);
        }
        // The descriptor closes after this, with the field.
    }
}

#[derive(Clone, Copy)]
enum Dir {
    Read,
    Write,
}

/// A new nonblocking, close-on-exec socket for `addr`'s family.
pub(crate) fn socket_for(addr: &SocketAddr, ty: SocketType) -> io::Result<OwnedFd> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    Ok(rustix::net::socket_with(
        family,
        ty,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?)
}

/// An IP socket address from the kernel's, or an error for another family.
pub(crate) fn ip_addr(addr: Option<SocketAddrAny>) -> io::Result<SocketAddr> {
    let addr = addr.ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
    Ok(SocketAddr::try_from(addr)?)
}

/// The socket's own address.
pub(crate) fn local_addr(fd: BorrowedFd<'_>) -> io::Result<SocketAddr> {
    ip_addr(Some(rustix::net::getsockname(fd)?))
}

/// The connected peer's address.
pub(crate) fn peer_addr(fd: BorrowedFd<'_>) -> io::Result<SocketAddr> {
    ip_addr(rustix::net::getpeername(fd)?)
}
