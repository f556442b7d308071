//! `yield_now`: Lwt.pause for shimmer.
//!
//! A plain self-wake (`wake_by_ref` + `Pending`) puts the task back at the
//! end of the run queue: it runs again before the executor polls I/O, so a
//! loop of those can delay I/O until the fairness budget runs out. Lwt's
//! `Lwt.pause ()` promises more: the paused thread resumes after everything
//! that is ready now *and* after one round of I/O polling. `yield_now` does
//! exactly that. Its waker is kept in the executor's deferred list and woken
//! only after the next park (which the executor makes a zero-timeout one
//! while anything is deferred). Any number of tasks yielding in one turn
//! share that one park.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::executor::context;

/// Yields to every other ready task and to one I/O poll, then resumes.
pub fn yield_now() -> YieldNow {
    YieldNow { turn: None }
}

/// The future returned by [`yield_now`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct YieldNow {
    /// The executor's park count when we first yielded.
    turn: Option<u64>,
}

impl Future for YieldNow {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        context::with_current("yield_now", |core| {
            let now = core.turn_count();
            match self.turn {
                Some(turn) if turn != now => Poll::Ready(()),
                _ => {
                    self.turn.get_or_insert(now);
                    core.defer(cx.waker());
                    Poll::Pending
                }
            }
        })
    }
}
