//! shimmer-unix: the Unix backend (epoll `Park`, kernel sockets as FLOW, a TAP
//! device as NET, files as BLOCK, console, signals).
//!
//! * [`park::UnixPark`]: the executor's park over one epoll (eventfd unpark,
//!   sub-millisecond deadlines); [`reactor`]: readiness registration;
//!   [`AsyncFd`] on top; [`block_on`].
//! * [`net`]: kernel sockets (`TcpListener`, `TcpStream: Flow`, `UdpSocket`).
//! * [`tap`]: a TAP device as `Net`.
//! * [`file_block`]: a file or block device as `Block`.
//! * [`console`], [`signal`], [`clock`]: stdin/stdout as a `Flow`, signals as
//!   futures, the kernel clocks as `Clock`.

pub mod async_fd;
pub mod clock;
pub mod console;
pub mod error;
pub mod file_block;
pub mod net;
pub mod park;
pub mod reactor;
pub mod signal;
pub mod tap;

pub use async_fd::AsyncFd;
pub use reactor::{Interest, Reactor, Ready, Registration};

pub use park::{UnixClock, UnixPark, UnixUnparker};

/// Runs `fut` to completion on a fresh executor over a [`UnixPark`].
pub fn block_on<F: core::future::Future>(fut: F) -> std::io::Result<F::Output> {
    let park = UnixPark::new()?;
    Ok(shimmer_executor::Executor::new(park).block_on(fut))
}
