//! `choose` and `nchoose`: the first to finish wins and the others go on
//! running as tasks (Lwt.choose / Lwt.nchoose).

use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::task::{spawn, JoinError, JoinHandle};

/// Runs every future of `futures` as a task and returns the output of the
/// first to finish. The others keep running, detached (`Lwt.choose`); drop
/// is not cancellation here — use [`pick`](super::pick) for that. The tasks
/// are spawned when the `Choose` is first polled.
///
/// # Panics
/// When polled: if `futures` is empty, outside a shimmer executor, or
/// (re-raised) if the winning task panicked.
pub fn choose<I>(futures: I) -> Choose<I::IntoIter>
where
    I: IntoIterator,
    I::Item: Future + 'static,
    <I::Item as Future>::Output: 'static,
{
    Choose {
        futures: Some(futures.into_iter()),
        handles: Vec::new(),
    }
}

/// The future returned by [`choose`].
#[must_use = "futures do nothing unless polled"]
pub struct Choose<I: Iterator<Item: Future>> {
    futures: Option<I>,
    handles: Vec<JoinHandle<<I::Item as Future>::Output>>,
}

impl<I: Iterator<Item: Future>> Unpin for Choose<I> {}

/// Spawns the futures of `pending` (first poll only).
#[track_caller]
fn start<I>(
    pending: &mut Option<I>,
    handles: &mut Vec<JoinHandle<<I::Item as Future>::Output>>,
    what: &str,
) where
    I: Iterator<Item: Future + 'static>,
    <I::Item as Future>::Output: 'static,
{
    if let Some(futures) = pending.take() {
        handles.extend(futures.map(spawn));
        assert!(!handles.is_empty(), "shimmer: {what} of no futures");
    }
}

impl<I> Future for Choose<I>
where
    I: Iterator<Item: Future + 'static>,
    <I::Item as Future>::Output: 'static,
{
    type Output = <I::Item as Future>::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        start(&mut this.futures, &mut this.handles, "choose");
        for i in 0..this.handles.len() {
            if let Poll::Ready(result) = Pin::new(&mut this.handles[i]).poll(cx) {
                // Dropping the other handles detaches their tasks.
                this.handles.clear();
                return Poll::Ready(unwrap_join(result));
            }
        }
        Poll::Pending
    }
}

/// Runs every future of `futures` as a task, waits until at least one has
/// finished, and returns the outputs of all that have finished by then, in
/// list order (`Lwt.nchoose`). The others keep running, detached. The tasks
/// are spawned when the `NChoose` is first polled.
///
/// # Panics
/// When polled: if `futures` is empty, outside a shimmer executor, or
/// (re-raised) if a returned task panicked.
pub fn nchoose<I>(futures: I) -> NChoose<I::IntoIter>
where
    I: IntoIterator,
    I::Item: Future + 'static,
    <I::Item as Future>::Output: 'static,
{
    NChoose {
        futures: Some(futures.into_iter()),
        handles: Vec::new(),
    }
}

/// The future returned by [`nchoose`].
#[must_use = "futures do nothing unless polled"]
pub struct NChoose<I: Iterator<Item: Future>> {
    futures: Option<I>,
    handles: Vec<JoinHandle<<I::Item as Future>::Output>>,
}

impl<I: Iterator<Item: Future>> Unpin for NChoose<I> {}

impl<I> Future for NChoose<I>
where
    I: Iterator<Item: Future + 'static>,
    <I::Item as Future>::Output: 'static,
{
    type Output = Vec<<I::Item as Future>::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        start(&mut this.futures, &mut this.handles, "nchoose");
        if !this.handles.iter().any(|h| h.is_finished()) {
            // Register with every task; the first to finish wakes us.
            for h in &mut this.handles {
                let _ = Pin::new(h).poll(cx);
            }
            if !this.handles.iter().any(|h| h.is_finished()) {
                return Poll::Pending;
            }
        }
        let mut done = Vec::new();
        for mut h in this.handles.drain(..) {
            if h.is_finished() {
                if let Poll::Ready(result) = Pin::new(&mut h).poll(cx) {
                    done.push(unwrap_join(result));
                }
            }
        }
        Poll::Ready(done)
    }
}

/// A finished task's output, re-raising its panic.
#[track_caller]
pub(crate) fn unwrap_join<T>(result: Result<T, JoinError>) -> T {
    match result {
        Ok(v) => v,
        #[cfg(feature = "std")]
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("shimmer: a chosen task did not finish: {e}"),
    }
}
