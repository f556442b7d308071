//! shimmer-executor: the single-threaded async executor at the heart of
//! shimmer, a runtime for unikernels (what Lwt is to MirageOS).
//!
//! * **Tasks** cost one heap allocation (header + future/output in one
//!   block), are spawned lazily, need not be `Send`, and are owned by the
//!   executor: dropping it drops their futures on its thread.
//! * **Wakers** are `Send + Sync`. On the executor's thread a wake is a push
//!   onto an intrusive FIFO with no atomic operation and no allocation; from
//!   anywhere else it goes through a lock-free queue and the backend's
//!   [`Unpark`]. A waker that outlives the executor only holds memory.
//! * **Time** is a hierarchical timer wheel (16 µs ticks) whose entries live
//!   inside the [`Sleep`] futures: sleeping allocates nothing.
//! * **[`Park`]** is the only interface to a backend (epoll on Unix, event
//!   channels on Xen); [`StdPark`] runs everything without one.
//! * **[`yield_now`]** has Lwt.pause semantics: resume after every ready task
//!   and one I/O poll.
//!
//! Panics: with the `std` feature (default) a panicking task is caught and
//! reported through its [`JoinHandle`] as [`JoinError::is_panic`]; it never
//! takes the executor down. Without `std` (the Xen image) a panic aborts the
//! unikernel: there is no unwinding in a freestanding image.
//!
//! The executor and its handles stay on their thread; only wakers travel:
//!
//! ```compile_fail
//! fn is_send<T: Send>() {}
//! is_send::<shimmer_executor::Executor>();
//! ```
//! ```compile_fail
//! fn is_send<T: Send>() {}
//! is_send::<shimmer_executor::JoinHandle<()>>();
//! ```
//! ```compile_fail
//! fn is_send<T: Send>() {}
//! is_send::<shimmer_executor::Sleep>();
//! ```
//!
//! ```
//! use shimmer_executor::{block_on, spawn, sleep, Duration};
//!
//! let sum = block_on(async {
//!     let a = spawn(async { 1 });
//!     let b = spawn(async {
//!         sleep(Duration::from_millis(1)).await;
//!         2
//!     });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(sum, 3);
//! ```
#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(any(feature = "std", loom))]
extern crate std;

mod executor;
pub mod future;
pub mod introspect;
mod loom;
mod park;
mod scope;
pub mod sync;
pub mod task;
mod time;
mod yield_now;

pub use core::time::Duration;
pub use executor::{Executor, BUDGET};
pub use future::{choose, join, join3, join_all, nchoose, pick, race, shield};
pub use introspect::{Dump, Stats};
pub use park::{Park, Unpark};
#[cfg(any(feature = "std", loom))]
pub use park::{StdPark, StdUnparker};
pub use scope::{scope, Scope, ScopeRun};
pub use task::{spawn, JoinError, JoinHandle};
pub use time::{
    interval, interval_at, sleep, sleep_until, timeout, timeout_at, Elapsed, Instant, Interval,
    MissedTickBehavior, Sleep, Timeout,
};
pub use yield_now::{yield_now, YieldNow};

/// Runs `future` to completion on a fresh executor over [`StdPark`], then
/// drops the executor (cancelling every task still running).
///
/// # Panics
/// Inside a running executor on this thread, or if `future` panics.
#[cfg(any(feature = "std", loom))]
#[track_caller]
pub fn block_on<F: core::future::Future>(future: F) -> F::Output {
    Executor::new(StdPark::new()).block_on(future)
}
