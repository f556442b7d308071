//! shimmer: a single-threaded async runtime for unikernels — what Lwt is to
//! MirageOS, for Rust.
//!
//! This facade re-exports the runtime a unikernel is written against. Today
//! that is the executor ([`shimmer_executor`]); the I/O traits, the Unix and
//! Xen backends, `#[shimmer::main]` and the backend features join it as they
//! land.
#![cfg_attr(not(feature = "std"), no_std)]

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
