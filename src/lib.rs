//! shimmer: a single-threaded async runtime for unikernels — what Lwt is to
//! MirageOS, for Rust.
//!
//! ```ignore
//! #[shimmer::main(options(port = "TCP port to listen on (default 7)"))]
//! async fn main() -> Result<(), shimmer::Error> {
//!     let port = shimmer::args().parse_or("port", 7u16);
//!     let listener = shimmer::net::stack().await?.tcp_listen(port).await?;
//!     loop {
//!         let (conn, _) = listener.accept().await?;
//!         shimmer::spawn(async move { /* conn is a Flow */ });
//!     }
//! }
//! ```
//!
//! One set of names whatever the backend, picked with a cargo feature:
//! `unix` (the default: a Linux process over epoll) or `xen` (a PVH image;
//! lands with the Xen boot work). Exactly one must be on.
//!
//! * `#[shimmer::main]` ([`main`]): the entry point; runtime options
//!   (`--net`, `--tap`, `--ipv4`, `--block`, see [`mod@config`]) and the
//!   unikernel's own ([`args`]) are parsed before it starts.
//! * [`net`]: [`net::stack`] (TCP/UDP) and [`net::device`] (raw frames);
//!   [`block::open`]; [`console`]; [`println!`]; [`time`].
//! * The executor ([`spawn`], [`Scope`], combinators, [`sync`]) and the io
//!   traits and buffers ([`io`]).
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod args;
mod backend;
pub mod block;
pub mod config;
mod error;
mod logging;
pub mod net;
pub mod time;

#[doc(hidden)]
pub mod rt;
#[doc(hidden)]
pub use rt as __rt;

pub use args::{args, Args};
pub use error::{Error, ErrorKind, Result};
pub use shimmer_macros::main;

/// The `log` crate: its records go to the console (level: `--log LEVEL`).
pub use log;

/// The console as a [`Flow`]: stdin and stdout on Unix, the PV console ring
/// on Xen (`xl console` types into it; output goes out beside
/// [`println!`]'s).
pub type Console = backend::console::Console;

/// Opens the console.
pub fn console() -> Result<Console> {
    backend::console::open()
}

/// Says the unikernel is ready: prints `shimmer: ready` once (on the
/// console on Xen, where the test bed starts its clients on that line; on
/// stderr on Unix). The runtime calls it when `main` starts unless the
/// attribute says `#[shimmer::main(ready = "manual")]`; a server that
/// declares that calls it once it accepts connections. Later calls do
/// nothing.
pub fn ready() {
    backend::ready()
}

/// The configuration the runtime was started with.
pub fn config() -> &'static config::Config {
    rt::config()
}

pub use shimmer_executor::{
    interval, interval_at, sleep, sleep_until, spawn, timeout, timeout_at, yield_now, Duration,
    Elapsed, Executor, Instant, Interval, JoinError, JoinHandle, MissedTickBehavior, Park, Sleep,
    Timeout, Unpark, YieldNow,
};

#[cfg(feature = "std")]
pub use shimmer_executor::{block_on, StdPark, StdUnparker};

pub use shimmer_executor::{choose, join, join3, join_all, nchoose, pick, race, shield};
pub use shimmer_executor::{future, introspect, scope, task, Scope};

pub use shimmer_executor::sync;

/// The executor crate, for the items the facade does not re-export by name.
pub use shimmer_executor as executor;

/// The io crate: the FLOW / BLOCK / NET / CLOCK traits and the page pool.
pub use shimmer_io as io;
pub use shimmer_io::flow::Flow;

/// Prints to the console (stdout on Unix, the console ring on Xen).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::__rt::print(::core::format_args!($($arg)*)) };
}

/// Prints a line to the console (stdout on Unix, the console ring on Xen).
/// A closed console is not an error (no panic, unlike `std::println!`).
#[macro_export]
macro_rules! println {
    () => { $crate::__rt::print(::core::format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::__rt::print(::core::format_args!("{}\n", ::core::format_args!($($arg)*)))
    };
}

/// Prints a line to the error console (stderr on Unix; the console on Xen).
#[macro_export]
macro_rules! eprintln {
    () => { $crate::__rt::eprint(::core::format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::__rt::eprint(::core::format_args!("{}\n", ::core::format_args!($($arg)*)))
    };
}
