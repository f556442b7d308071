//! `Condition<T>`: Lwt_condition — wait for a value that someone signals
//! (to one waiter) or broadcasts (to all of them).
//!
//! Like Lwt_condition and unlike a thread condition variable, a wake-up
//! carries a value, and a signal with nobody waiting is simply dropped:
//! pair the condition with state under a [`Mutex`] and re-check it, as the
//! example shows. [`Condition::wait_with`] is Lwt's `wait ~mutex`: it
//! unlocks, waits and locks again, joining the queue *before* it unlocks so
//! that no signal sent in between is missed.
//!
//! A `signal` goes to one waiter; if that waiter is dropped before it
//! returns the value (including while `wait_with` re-locks), the value goes
//! to the next waiter instead. A `broadcast` reaches every waiter present at
//! the call, each with its own clone, and is not passed on.

use core::fmt;
use core::future::{poll_fn, Future};
use core::pin::{pin, Pin};
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::mutex::{Mutex, MutexGuard};
use super::wait_queue::{State, WaitNode, WaitQueue, Wake};

/// A condition that tasks wait on for a value of type `T` (Lwt_condition).
///
/// ```
/// use std::rc::Rc;
/// use shimmer_executor::{block_on, spawn, sync::{Condition, Mutex}};
///
/// block_on(async {
///     let state = Rc::new((Mutex::new(0u32), Condition::<()>::new()));
///     let s = state.clone();
///     let waiter = spawn(async move {
///         let (m, cond) = &*s;
///         let mut guard = m.lock().await;
///         while *guard < 3 {
///             guard = cond.wait_with(guard).await.1;
///         }
///         *guard
///     });
///     for _ in 0..3 {
///         let (m, cond) = &*state;
///         *m.lock().await += 1;
///         cond.broadcast(());
///         shimmer_executor::yield_now().await;
///     }
///     assert_eq!(waiter.await.unwrap(), 3);
/// });
/// ```
pub struct Condition<T = ()> {
    waiters: WaitQueue<T>,
}

impl<T> Condition<T> {
    /// A condition with no waiters.
    pub fn new() -> Condition<T> {
        Condition {
            waiters: WaitQueue::new(),
        }
    }

    /// Waits for the next [`signal`](Self::signal) or
    /// [`broadcast`](Self::broadcast) and returns its value. The future
    /// joins the queue when first polled (or at
    /// [`Wait::enable`]).
    pub fn wait(&self) -> Wait<'_, T> {
        Wait {
            condition: self,
            node: WaitNode::new(&self.waiters),
        }
    }

    /// Lwt's `wait ~mutex`: joins the queue, unlocks `guard`'s mutex, waits
    /// for a value, locks the mutex again and returns both.
    ///
    /// Cancel-safe: dropped while waiting, it leaves the queue (the mutex
    /// stays unlocked); dropped after a `signal` reached it, that signal's
    /// value goes to the next waiter.
    pub async fn wait_with<'a, U: ?Sized>(
        &'a self,
        guard: MutexGuard<'a, U>,
    ) -> (T, MutexGuard<'a, U>) {
        let mutex: &'a Mutex<U> = MutexGuard::mutex(&guard);
        let mut wait = pin!(self.wait());
        wait.as_mut().enable();
        drop(guard);
        let (value, wake) = poll_fn(|cx| wait.as_mut().poll_kind(cx)).await;
        let mut relay = Relay {
            condition: self,
            value: Some(value),
            pass_on: wake == Wake::HandOff,
        };
        let guard = mutex.lock().await;
        let value = relay.value.take().expect("the value is still here");
        (value, guard)
    }

    /// Wakes the oldest waiter with `value`. Returns `false` (and drops
    /// `value`) if nobody waits.
    pub fn signal(&self, value: T) -> bool {
        match self.waiters.pop_front_give(u64::MAX, Wake::HandOff, value) {
            Ok(wakeup) => {
                wakeup.wake();
                true
            }
            Err(_value) => false,
        }
    }

    /// Wakes every task waiting now, each with a clone of `value`; returns
    /// how many.
    pub fn broadcast(&self, value: T) -> usize
    where
        T: Clone,
    {
        let before = self.waiters.mark();
        let mut n = 0;
        loop {
            // `clone` is user code: run it with nothing of ours borrowed.
            let copy = value.clone();
            match self.waiters.pop_front_give(before, Wake::All, copy) {
                Ok(wakeup) => {
                    n += 1;
                    wakeup.wake();
                }
                Err(_copy) => return n,
            }
        }
    }

    /// Tasks waiting.
    pub fn waiters(&self) -> usize {
        self.waiters.len()
    }
}

impl<T> Default for Condition<T> {
    fn default() -> Self {
        Condition::new()
    }
}

impl<T> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("waiters", &self.waiters.len())
            .finish()
    }
}

/// Passes a signalled value on if `wait_with` is dropped while re-locking.
struct Relay<'a, T> {
    condition: &'a Condition<T>,
    value: Option<T>,
    pass_on: bool,
}

impl<T> Drop for Relay<'_, T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            if self.pass_on {
                self.condition.signal(value);
            }
        }
    }
}

pin_project! {
    /// The future returned by [`Condition::wait`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Wait<'a, T> {
        condition: &'a Condition<T>,
        #[pin]
        node: WaitNode<T, &'a WaitQueue<T>>,
    }

    impl<'a, T> PinnedDrop for Wait<'a, T> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if this.node.cancel() == State::Woken(Wake::HandOff) {
                if let Some(value) = this.node.take_slot() {
                    // A signal we never returned: pass it on.
                    this.condition.signal(value);
                }
            }
        }
    }
}

impl<T> Wait<'_, T> {
    /// Joins the queue now, without polling, so that a signal sent before
    /// the first poll reaches this future.
    pub fn enable(self: Pin<&mut Self>) {
        let node = self.project().node.into_ref();
        if node.state() == State::Idle {
            node.enqueue();
        }
    }

    fn poll_kind(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(T, Wake)> {
        self.as_mut().enable();
        let node = self.project().node.into_ref();
        match node.poll_wait(cx) {
            Poll::Ready(wake) => {
                node.reset();
                let value = node.take_slot().expect("a woken waiter holds a value");
                Poll::Ready((value, wake))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Future for Wait<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.poll_kind(cx).map(|(value, _)| value)
    }
}

impl<T> fmt::Debug for Wait<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait").field("node", &self.node).finish()
    }
}
