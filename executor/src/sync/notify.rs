//! `Notify`: wake one task or all of them, with no data (tokio's
//! `Notify`, single-threaded).
//!
//! `notify_one` stores a permit when nobody waits, so a notification sent
//! just before the receiver gets to wait is not lost — the mistake that
//! mirage-xen's `Activations.wait` documents. A waiter that was handed a
//! `notify_one` and is dropped before it saw it passes it on (to the next
//! waiter, or back into the permit). `notify_waiters` wakes the waiters
//! present at the call, including `Notified` futures created before it and
//! not yet polled, and stores nothing.

use core::cell::Cell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::wait_queue::{State, WaitNode, WaitQueue, Wake};

/// Notifies one task or every waiting task.
///
/// ```
/// use std::rc::Rc;
/// use shimmer_executor::{block_on, spawn, sync::Notify};
///
/// block_on(async {
///     let notify = Rc::new(Notify::new());
///     let n = notify.clone();
///     let waiter = spawn(async move {
///         n.notified().await;
///         "woken"
///     });
///     // Even if this runs before the task waits, the permit is kept.
///     notify.notify_one();
///     assert_eq!(waiter.await.unwrap(), "woken");
/// });
/// ```
pub struct Notify {
    permit: Cell<bool>,
    /// Number of `notify_waiters` calls so far.
    generation: Cell<u64>,
    waiters: WaitQueue,
}

impl Notify {
    /// A `Notify` with no stored permit.
    pub fn new() -> Notify {
        Notify {
            permit: Cell::new(false),
            generation: Cell::new(0),
            waiters: WaitQueue::new(),
        }
    }

    /// Waits for a notification. Consumes a stored permit at once if there
    /// is one.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            generation: self.generation.get(),
            node: WaitNode::new(&self.waiters),
        }
    }

    /// Wakes the oldest waiter, or stores a permit for the next
    /// `notified()` if none waits (at most one permit is stored).
    pub fn notify_one(&self) {
        match self.waiters.pop_front(Wake::HandOff) {
            Some(wakeup) => wakeup.wake(),
            None => self.permit.set(true),
        }
    }

    /// Wakes every task waiting now, and every [`Notified`] created before
    /// this call; stores no permit. Returns the number of queued waiters
    /// woken.
    pub fn notify_waiters(&self) -> usize {
        self.generation.set(self.generation.get() + 1);
        self.waiters.wake_all(Wake::All)
    }

    /// Tasks waiting.
    pub fn waiters(&self) -> usize {
        self.waiters.len()
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify")
            .field("permit", &self.permit.get())
            .field("waiters", &self.waiters.len())
            .finish()
    }
}

pin_project! {
    /// The future returned by [`Notify::notified`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Notified<'a> {
        notify: &'a Notify,
        generation: u64,
        #[pin]
        node: WaitNode<(), &'a WaitQueue>,
    }

    impl<'a> PinnedDrop for Notified<'a> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if this.node.cancel() == State::Woken(Wake::HandOff) {
                // A `notify_one` we never saw: pass it on.
                this.notify.notify_one();
            }
        }
    }
}

impl Notified<'_> {
    /// Joins the queue now, without polling: a `notify_one` from here on
    /// reaches this future (or consumes the stored permit now) even if it
    /// is first polled later.
    pub fn enable(self: Pin<&mut Self>) {
        let this = self.project();
        let node = this.node.into_ref();
        if node.state() == State::Idle {
            if this.notify.generation.get() != *this.generation {
                node.set_woken(Wake::All);
            } else if this.notify.permit.replace(false) {
                node.set_woken(Wake::HandOff);
            } else {
                node.enqueue();
            }
        }
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.as_mut().enable();
        let node = self.project().node.into_ref();
        match node.poll_wait(cx) {
            Poll::Ready(_) => {
                node.reset();
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("node", &self.node)
            .finish()
    }
}
