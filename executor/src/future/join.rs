//! `join`, `join3`, `join_all`: wait for every future (Lwt.both / Lwt.all).

use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::pinned_slice::PinnedSlice;

pin_project_lite::pin_project! {
    /// A future's progress inside a join: still running, its output, or
    /// taken.
    #[project = MaybeDoneProj]
    #[project_replace = MaybeDoneReplace]
    pub(crate) enum MaybeDone<F: Future> {
        Running { #[pin] future: F },
        Done { output: F::Output },
        Taken,
    }
}

impl<F: Future> MaybeDone<F> {
    pub(crate) fn new(future: F) -> MaybeDone<F> {
        MaybeDone::Running { future }
    }

    /// Polls the future if it is still running; true once it is done.
    pub(crate) fn poll_done(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        let output = match self.as_mut().project() {
            MaybeDoneProj::Running { future } => match future.poll(cx) {
                Poll::Ready(output) => output,
                Poll::Pending => return false,
            },
            _ => return true,
        };
        self.project_replace(MaybeDone::Done { output });
        true
    }

    /// Takes the output of a done future.
    pub(crate) fn take(self: Pin<&mut Self>) -> F::Output {
        match self.project_replace(MaybeDone::Taken) {
            MaybeDoneReplace::Done { output } => output,
            _ => panic!("shimmer: join output taken twice or before it was ready"),
        }
    }
}

/// Waits for both futures, polling them in place; outputs in order.
/// Like `Lwt.both` (`<&>`), except that a panic is not turned into a
/// rejected promise: it unwinds through the join.
pub fn join<A: Future, B: Future>(a: A, b: B) -> Join<A, B> {
    Join {
        a: MaybeDone::new(a),
        b: MaybeDone::new(b),
    }
}

/// Waits for three futures; see [`join`].
pub fn join3<A: Future, B: Future, C: Future>(a: A, b: B, c: C) -> Join3<A, B, C> {
    Join3 {
        a: MaybeDone::new(a),
        b: MaybeDone::new(b),
        c: MaybeDone::new(c),
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`join`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Join<A: Future, B: Future> {
        #[pin] a: MaybeDone<A>,
        #[pin] b: MaybeDone<B>,
    }
}

impl<A: Future, B: Future> Future for Join<A, B> {
    type Output = (A::Output, B::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let a = this.a.as_mut().poll_done(cx);
        let b = this.b.as_mut().poll_done(cx);
        if a && b {
            Poll::Ready((this.a.take(), this.b.take()))
        } else {
            Poll::Pending
        }
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`join3`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Join3<A: Future, B: Future, C: Future> {
        #[pin] a: MaybeDone<A>,
        #[pin] b: MaybeDone<B>,
        #[pin] c: MaybeDone<C>,
    }
}

impl<A: Future, B: Future, C: Future> Future for Join3<A, B, C> {
    type Output = (A::Output, B::Output, C::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let a = this.a.as_mut().poll_done(cx);
        let b = this.b.as_mut().poll_done(cx);
        let c = this.c.as_mut().poll_done(cx);
        if a && b && c {
            Poll::Ready((this.a.take(), this.b.take(), this.c.take()))
        } else {
            Poll::Pending
        }
    }
}

/// Waits for every future of `futures`, polling them in place; the outputs
/// come back in the same order (`Lwt.all`). One allocation for the whole
/// set. Every wake-up polls every unfinished future, so for hundreds of
/// long-lived futures spawn tasks and await their handles instead.
pub fn join_all<I>(futures: I) -> JoinAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let slots = PinnedSlice::new(futures.into_iter().map(MaybeDone::new));
    JoinAll {
        pending: slots.len(),
        slots,
    }
}

/// The future returned by [`join_all`].
#[must_use = "futures do nothing unless polled"]
pub struct JoinAll<F: Future> {
    slots: PinnedSlice<MaybeDone<F>>,
    pending: usize,
}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `JoinAll` is Unpin: its futures live pinned in their own box.
        let this = self.get_mut();
        let mut pending = 0;
        for i in 0..this.slots.len() {
            if !this.slots.get_pin_mut(i).poll_done(cx) {
                pending += 1;
            }
        }
        this.pending = pending;
        if pending > 0 {
            return Poll::Pending;
        }
        let outputs = (0..this.slots.len())
            .map(|i| this.slots.get_pin_mut(i).take())
            .collect();
        Poll::Ready(outputs)
    }
}

impl<F: Future> Unpin for JoinAll<F> {}
