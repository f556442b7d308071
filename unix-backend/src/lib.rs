//! shimmer-unix: the Unix backend (epoll `Park`, kernel sockets as FLOW, a TAP
//! device as NET, files as BLOCK, signals).
//!
//! First slice: the epoll [`park::UnixPark`] (eventfd unpark, sub-millisecond
//! deadlines) and [`block_on`]. Readiness registration in [`reactor`], [`AsyncFd`] on top.

pub mod async_fd;
pub mod park;
pub mod reactor;

pub use async_fd::AsyncFd;
pub use reactor::{Interest, Reactor, Ready, Registration};

pub use park::{UnixClock, UnixPark, UnixUnparker};

/// Runs `fut` to completion on a fresh executor over a [`UnixPark`].
pub fn block_on<F: core::future::Future>(fut: F) -> std::io::Result<F::Output> {
    let park = UnixPark::new()?;
    Ok(shimmer_executor::Executor::new(park).block_on(fut))
}
