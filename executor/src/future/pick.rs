//! `pick` and `race`: the first future to finish wins; the others are
//! dropped, which is how shimmer cancels (Lwt.pick).

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::pinned_slice::PinnedSlice;

/// Polls every future of `futures` (in order, each turn) and returns the
/// output of the first to finish; the others are dropped right then, in
/// place (`Lwt.pick`). Polling order is the tie-break: when several are
/// ready in the same turn, the earliest in the list wins.
///
/// # Panics
/// If `futures` is empty (like `Lwt.pick []`, there would be nothing to
/// wait for).
#[track_caller]
pub fn pick<I>(futures: I) -> Pick<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let slots = PinnedSlice::new(futures.into_iter().map(Some));
    assert!(slots.len() > 0, "shimmer: pick of no futures");
    Pick { slots }
}

/// The future returned by [`pick`].
#[must_use = "futures do nothing unless polled"]
pub struct Pick<F> {
    slots: PinnedSlice<Option<F>>,
}

impl<F> Unpin for Pick<F> {}

impl<F: Future> Future for Pick<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        for i in 0..this.slots.len() {
            let slot = this.slots.get_pin_mut(i).as_pin_mut();
            let Some(future) = slot else { continue };
            if let Poll::Ready(output) = future.poll(cx) {
                // Cancel the losers now, not whenever the Pick is dropped.
                for j in 0..this.slots.len() {
                    this.slots.set(j, None);
                }
                return Poll::Ready(output);
            }
        }
        Poll::Pending
    }
}

/// Two futures with the same output: the first to finish wins, the other
/// is dropped (Lwt's `pick [a; b]` without the list). `a` is polled first.
pub fn race<A, B>(a: A, b: B) -> Race<A, B>
where
    A: Future,
    B: Future<Output = A::Output>,
{
    Race {
        a: Some(a),
        b: Some(b),
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`race`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Race<A, B> {
        #[pin] a: Option<A>,
        #[pin] b: Option<B>,
    }
}

impl<A, B> Future for Race<A, B>
where
    A: Future,
    B: Future<Output = A::Output>,
{
    type Output = A::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<A::Output> {
        let mut this = self.project();
        let ready = match this.a.as_mut().as_pin_mut().map(|a| a.poll(cx)) {
            Some(Poll::Ready(v)) => Some(v),
            _ => match this.b.as_mut().as_pin_mut().map(|b| b.poll(cx)) {
                Some(Poll::Ready(v)) => Some(v),
                _ => None,
            },
        };
        match ready {
            Some(v) => {
                this.a.set(None);
                this.b.set(None);
                Poll::Ready(v)
            }
            None => Poll::Pending,
        }
    }
}
