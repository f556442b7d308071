//! Helpers shared by the suites.

use alloc::boxed::Box;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use crate::page::{PagePool, PoolConfig};

/// How long any single step may take before the suite calls it a hang.
pub(crate) const HANG: Duration = Duration::from_secs(10);

/// The poll counts at which an operation is cancelled: every one of the
/// first 64 await points, then every doubling (the later await points of a
/// long transfer are alike, and testing each would be quadratic), up to
/// 2^20 (an operation must finish long before).
pub(crate) fn cancel_points() -> impl Iterator<Item = usize> {
    (0..64).chain((6..=20).map(|shift| 1usize << shift))
}

/// Panics with the suite, case and message.
#[track_caller]
pub(crate) fn fail(suite: &str, case: &str, msg: core::fmt::Arguments<'_>) -> ! {
    panic!("conformance::{suite}: {case}: {msg}")
}

/// `assert!` naming the suite and case.
macro_rules! check {
    ($suite:expr, $case:expr, $cond:expr, $($msg:tt)+) => {
        if !$cond {
            $crate::conformance::support::fail($suite, $case, format_args!($($msg)+))
        }
    };
}
pub(crate) use check;

/// `f`, or a failure if it takes longer than [`HANG`].
pub(crate) async fn bounded<F: Future>(suite: &str, case: &str, f: F) -> F::Output {
    match shimmer_executor::timeout(HANG, f).await {
        Ok(v) => v,
        Err(_) => fail(suite, case, format_args!("hung (no answer in {HANG:?})")),
    }
}

/// The pool a suite gives its devices: 16 MiB at most, so a leak or a
/// runaway shows as an error rather than eating the machine.
pub(crate) fn suite_pool() -> PagePool {
    PagePool::with_config(PoolConfig::new().chunk_pages(16).max_pages(4096))
        .expect("a valid configuration")
}

/// Fails unless every page of `pool` is back.
pub(crate) async fn check_no_leak(suite: &str, case: &str, pool: &PagePool) {
    // Let tasks the device spawned notice it is gone.
    for _ in 0..3 {
        shimmer_executor::yield_now().await;
    }
    let in_use = pool.stats().in_use;
    check!(
        suite,
        case,
        in_use == 0,
        "{in_use} pages not returned to the pool (a leak)"
    );
}

/// How an operation run by [`cancel_after`] ended.
pub(crate) enum Outcome<T> {
    /// It completed within the polls allowed.
    Done(T),
    /// It was dropped after that many polls, all pending.
    Cancelled,
}

/// Polls `fut` at most `polls` times; if it is still pending then, drops it
/// (cancels it) at the await point it reached. `polls = 0` drops it before
/// its first poll.
pub(crate) async fn cancel_after<F: Future>(polls: usize, fut: F) -> Outcome<F::Output> {
    let mut fut: Option<Pin<Box<F>>> = Some(Box::pin(fut));
    let mut left = polls;
    core::future::poll_fn(move |cx: &mut Context<'_>| {
        let Some(f) = fut.as_mut() else {
            return Poll::Ready(Outcome::Cancelled);
        };
        if left == 0 {
            fut = None;
            return Poll::Ready(Outcome::Cancelled);
        }
        left -= 1;
        match f.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready(Outcome::Done(v)),
            Poll::Pending if left == 0 => {
                fut = None;
                Poll::Ready(Outcome::Cancelled)
            }
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// A recognisable byte pattern: byte `i` of stream `seed`.
pub(crate) fn pattern(seed: u8, len: usize) -> alloc::vec::Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u8)
                .wrapping_mul(151)
                .wrapping_add((i >> 8) as u8)
                .wrapping_add(seed)
        })
        .collect()
}
