//! `shield`: work that must not be cut half way (Lwt.protected).
//!
//! Dropping a future cancels it — usually what you want, but not for a
//! block write whose pages a backend is still reading, or a grant being
//! revoked. `shield(work)` runs `work` as a task of its own: awaiting the
//! shield waits for it, and dropping the shield (because a `timeout`
//! expired, a `pick` was lost or a scope ended) only stops waiting — the
//! work runs to its end.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::choose::unwrap_join;
use crate::task::{spawn, JoinHandle};

/// Runs `future` so that dropping the returned future does not cancel it.
/// Costs one task (one allocation).
///
/// ```
/// use shimmer_executor::future::shield;
/// use shimmer_executor::{block_on, sleep, timeout, Duration};
/// use std::{cell::Cell, rc::Rc};
///
/// block_on(async {
///     let written = Rc::new(Cell::new(false));
///     let w = written.clone();
///     let write = shield(async move {
///         sleep(Duration::from_millis(20)).await;
///         w.set(true);
///     });
///     // The caller gives up waiting after 1 ms...
///     assert!(timeout(Duration::from_millis(1), write).await.is_err());
///     // ...but the write still completes.
///     sleep(Duration::from_millis(40)).await;
///     assert!(written.get());
/// });
/// ```
///
/// # Panics
/// Outside a shimmer executor; awaiting it re-raises a panic of `future`.
#[track_caller]
pub fn shield<F>(future: F) -> Shield<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    Shield {
        handle: spawn(future),
    }
}

/// The future returned by [`shield`].
#[must_use = "the work runs anyway; await the shield to get its output"]
pub struct Shield<T> {
    handle: JoinHandle<T>,
}

impl<T> Shield<T> {
    /// Whether the shielded work has finished.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

impl<T> Future for Shield<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.handle).poll(cx).map(unwrap_join)
    }
}
