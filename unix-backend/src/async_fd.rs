//! `AsyncFd`: why a thin owner. It ties a nonblocking fd to a
//! [`Registration`] so tasks can await readiness and retry on EAGAIN, and it
//! removes the fd from the epoll set on drop, before the fd is closed.

use std::future::poll_fn;
use std::io;
use std::os::fd::AsFd;

use crate::reactor::{Interest, Reactor, Registration};

/// A nonblocking fd registered with this thread's reactor.
pub struct AsyncFd<T: AsFd> {
    reg: Option<Registration>,
    inner: T,
}

impl<T: AsFd> AsyncFd<T> {
    /// Registers `inner` (which must be nonblocking) for read and write.
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        let reactor = Reactor::current()
            .ok_or_else(|| io::Error::other("no shimmer-unix reactor on this thread"))?;
        let reg = reactor.register(inner.as_fd(), Interest::Both)?;
        Ok(AsyncFd {
            reg: Some(reg),
            inner,
        })
    }

    /// The wrapped fd.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    fn reg(&self) -> &Registration {
        self.reg.as_ref().expect("registered until drop")
    }

    /// Waits until the fd is reported readable.
    pub async fn readable(&self) {
        poll_fn(|cx| self.reg().poll_read_ready(cx)).await;
    }

    /// Waits until the fd is reported writable.
    pub async fn writable(&self) {
        poll_fn(|cx| self.reg().poll_write_ready(cx)).await;
    }

    /// Runs `f` until it returns something other than `WouldBlock`, waiting
    /// for read readiness in between.
    pub async fn read_with<R>(&self, mut f: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        loop {
            let ready = poll_fn(|cx| self.reg().poll_read_ready(cx)).await;
            match f(&self.inner) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.reg().clear_read_ready(ready)
                }
                r => return r,
            }
        }
    }

    /// Runs `f` until it returns something other than `WouldBlock`, waiting
    /// for write readiness in between.
    pub async fn write_with<R>(&self, mut f: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        loop {
            let ready = poll_fn(|cx| self.reg().poll_write_ready(cx)).await;
            match f(&self.inner) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.reg().clear_write_ready(ready)
                }
                r => return r,
            }
        }
    }
}

impl<T: AsFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        if let Some(reg) = self.reg.take() {
            let _ = reg.deregister(self.inner.as_fd());
        }
    }
}
