//! `Semaphore`: a count of permits with a FIFO of waiters (tokio's
//! `Semaphore`, single-threaded).
//!
//! Strictly FIFO: the oldest waiter is served first even when it asks for
//! more permits than a later one, so a large request is never starved by a
//! stream of small ones (tokio does the same). Permits released while the
//! oldest waiter still needs more simply accumulate until it can be
//! served; `try_acquire` does not take them from under it. Permits are
//! granted (deducted) before the waiter runs; a waiter dropped after its
//! grant gives them back, which may serve the next one.

use core::cell::Cell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::wait_queue::{State, WaitNode, WaitQueue, Wake};

/// A counting semaphore with FIFO waiters.
///
/// ```
/// use std::rc::Rc;
/// use shimmer_executor::{block_on, spawn, yield_now, sync::Semaphore};
///
/// block_on(async {
///     // At most two tasks in the section at once.
///     let sem = Rc::new(Semaphore::new(2));
///     let inside = Rc::new(std::cell::Cell::new(0));
///     let mut tasks = Vec::new();
///     for _ in 0..5 {
///         let (sem, inside) = (sem.clone(), inside.clone());
///         tasks.push(spawn(async move {
///             let _permit = sem.acquire().await.unwrap();
///             inside.set(inside.get() + 1);
///             assert!(inside.get() <= 2);
///             yield_now().await;
///             inside.set(inside.get() - 1);
///         }));
///     }
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert_eq!(sem.available_permits(), 2);
/// });
/// ```
pub struct Semaphore {
    permits: Cell<usize>,
    closed: Cell<bool>,
    /// Each waiter's slot holds the number of permits it asks for.
    /// Invariant: when non-empty, the oldest asks for more than `permits`.
    waiters: WaitQueue<usize>,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            permits: Cell::new(permits),
            closed: Cell::new(false),
            waiters: WaitQueue::new(),
        }
    }

    /// Permits available right now.
    pub fn available_permits(&self) -> usize {
        self.permits.get()
    }

    /// Tasks waiting for permits.
    pub fn waiters(&self) -> usize {
        self.waiters.len()
    }

    /// Waits for one permit.
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits, taken all at once. A request for more permits
    /// than will ever be available waits until the semaphore is closed.
    pub fn acquire_many(&self, n: usize) -> Acquire<'_> {
        Acquire {
            semaphore: self,
            n,
            node: WaitNode::with_slot(&self.waiters, Some(n)),
        }
    }

    /// Takes one permit if one is free now and nobody is waiting.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free now and nobody is waiting.
    pub fn try_acquire_many(&self, n: usize) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        if self.closed.get() {
            Err(TryAcquireError::Closed)
        } else if self.waiters.is_empty() && self.permits.get() >= n {
            self.permits.set(self.permits.get() - n);
            Ok(SemaphorePermit { semaphore: self, n })
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }

    /// Adds `n` permits, serving waiters in order.
    ///
    /// # Panics
    /// If the count would overflow `usize`.
    pub fn add_permits(&self, n: usize) {
        let permits = self
            .permits
            .get()
            .checked_add(n)
            .expect("semaphore permit count overflow");
        self.permits.set(permits);
        self.serve();
    }

    /// Removes up to `n` available permits for good; returns how many.
    pub fn forget_permits(&self, n: usize) -> usize {
        let n = n.min(self.permits.get());
        self.permits.set(self.permits.get() - n);
        n
    }

    /// Closes the semaphore: every waiter and every later `acquire` fails
    /// with [`AcquireError`]. Permits already held stay valid and are
    /// returned as usual.
    pub fn close(&self) {
        self.closed.set(true);
        self.waiters.wake_all(Wake::Closed);
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// Grants permits to the oldest waiters while they fit.
    fn serve(&self) {
        while let Some(want) = self.waiters.front_slot() {
            let permits = self.permits.get();
            if want > permits {
                break;
            }
            self.permits.set(permits - want);
            match self.waiters.pop_front(Wake::HandOff) {
                // State is consistent before the foreign wake runs.
                Some(wakeup) => wakeup.wake(),
                None => unreachable!("front waiter vanished"),
            }
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.permits.get())
            .field("closed", &self.closed.get())
            .field("waiters", &self.waiters.len())
            .finish()
    }
}

pin_project! {
    /// The future returned by [`Semaphore::acquire`] and
    /// [`Semaphore::acquire_many`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Acquire<'a> {
        semaphore: &'a Semaphore,
        n: usize,
        #[pin]
        node: WaitNode<usize, &'a WaitQueue<usize>>,
    }

    impl<'a> PinnedDrop for Acquire<'a> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            match this.node.cancel() {
                // Granted but never taken: give the permits back.
                State::Woken(Wake::HandOff) => this.semaphore.add_permits(*this.n),
                // We may have been the front waiter, blocking smaller ones.
                State::Queued => this.semaphore.serve(),
                _ => {}
            }
        }
    }
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let semaphore: &'a Semaphore = this.semaphore;
        let n = *this.n;
        let node = this.node.into_ref();
        if node.state() == State::Idle {
            if semaphore.closed.get() {
                return Poll::Ready(Err(AcquireError(())));
            }
            if semaphore.waiters.is_empty() && semaphore.permits.get() >= n {
                semaphore.permits.set(semaphore.permits.get() - n);
                return Poll::Ready(Ok(SemaphorePermit { semaphore, n }));
            }
            node.enqueue();
        }
        match node.poll_wait(cx) {
            Poll::Ready(wake) => {
                node.reset();
                match wake {
                    Wake::HandOff => Poll::Ready(Ok(SemaphorePermit { semaphore, n })),
                    _ => Poll::Ready(Err(AcquireError(()))),
                }
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("n", &self.n)
            .field("node", &self.node)
            .finish()
    }
}

/// Permits held from a [`Semaphore`]; returned to it on drop.
#[must_use = "the permits are returned as soon as this is dropped"]
pub struct SemaphorePermit<'a> {
    semaphore: &'a Semaphore,
    n: usize,
}

impl SemaphorePermit<'_> {
    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// Drops the permits without returning them to the semaphore.
    pub fn forget(mut self) {
        self.n = 0;
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.n > 0 {
            self.semaphore.add_permits(self.n);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("n", &self.n)
            .finish()
    }
}

/// [`Semaphore::acquire`] failed: the semaphore was closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl core::error::Error for AcquireError {}

/// Why [`Semaphore::try_acquire`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits now, or others are waiting for them.
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl core::error::Error for TryAcquireError {}
