//! `Mutex<T>`: Lwt_mutex holding a value, with FIFO hand-off.
//!
//! Single-threaded, so the lock is a `Cell<bool>` and taking a free lock is
//! a load and a store. What needs care is waiting: the lock is **handed
//! off** on unlock to the oldest waiter (it stays locked, and the waiter
//! owns it before it even runs), so waiters get it in the order they came
//! and a task that unlocks and re-locks in a loop cannot starve the others
//! (Lwt_mutex behaves the same way). A waiter dropped after the hand-off
//! passes the lock on to the next one.

use core::cell::{Cell, UnsafeCell};
use core::fmt;
use core::future::Future;
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::wait_queue::{State, WaitNode, WaitQueue, Wake};

/// An async mutual-exclusion lock protecting a `T` (Lwt_mutex).
///
/// `lock().await` waits while another task holds the lock; waiters get it
/// in FIFO order. The guard unlocks on drop. `!Sync`: share it between the
/// tasks of one executor by reference or through an `Rc`.
///
/// ```
/// use std::rc::Rc;
/// use shimmer_executor::{block_on, spawn, yield_now, sync::Mutex};
///
/// let log = block_on(async {
///     let m = Rc::new(Mutex::new(Vec::new()));
///     let mut tasks = Vec::new();
///     for i in 0..3 {
///         let m = m.clone();
///         tasks.push(spawn(async move {
///             let mut guard = m.lock().await;
///             yield_now().await; // others queue up meanwhile
///             guard.push(i);
///         }));
///     }
///     for t in tasks {
///         t.await.unwrap();
///     }
///     Rc::try_unwrap(m).ok().unwrap().into_inner()
/// });
/// assert_eq!(log, [0, 1, 2]);
/// ```
pub struct Mutex<T: ?Sized> {
    locked: Cell<bool>,
    /// Invariant: non-empty only while `locked`.
    waiters: WaitQueue,
    value: UnsafeCell<T>,
}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            locked: Cell::new(false),
            waiters: WaitQueue::new(),
            value: UnsafeCell::new(value),
        }
    }

    /// The protected value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock (FIFO) and returns a guard that unlocks on drop.
    ///
    /// Cancel-safe: dropping the future leaves the queue, and if the lock
    /// had already been handed to it, hands it to the next waiter.
    pub fn lock(&self) -> Lock<'_, T> {
        Lock {
            mutex: self,
            node: None,
        }
    }

    /// Takes the lock if it is free now (it is not free while anyone
    /// waits: the lock goes to them first).
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        if self.locked.get() {
            Err(TryLockError(()))
        } else {
            self.locked.set(true);
            Ok(MutexGuard { mutex: self })
        }
    }

    /// Whether some guard holds the lock, or the lock is being handed to a
    /// waiter (Lwt_mutex.is_locked).
    pub fn is_locked(&self) -> bool {
        self.locked.get()
    }

    /// Tasks waiting for the lock (Lwt_mutex.is_empty is `waiters() == 0`).
    pub fn waiters(&self) -> usize {
        self.waiters.len()
    }

    /// The value, through a unique borrow of the mutex (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// Releases the lock held by a guard: to the oldest waiter if any.
    #[inline]
    fn unlock(&self) {
        if self.waiters.is_empty() {
            self.locked.set(false);
        } else {
            self.hand_off();
        }
    }

    /// Out of line, so that the uncontended lock/unlock stays small.
    #[cold]
    #[inline(never)]
    fn hand_off(&self) {
        match self.waiters.pop_front(Wake::HandOff) {
            // Still locked: the waiter owns it now.
            Some(wakeup) => wakeup.wake(),
            None => self.locked.set(false),
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutex")
            .field("locked", &self.locked.get())
            .field("waiters", &self.waiters.len())
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// The future returned by [`Mutex::lock`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Lock<'a, T: ?Sized> {
        mutex: &'a Mutex<T>,
        // Made only if the lock is taken: the uncontended path never
        // builds (or drops) a node.
        #[pin]
        node: Option<WaitNode<(), &'a WaitQueue>>,
    }

    impl<'a, T: ?Sized> PinnedDrop for Lock<'a, T> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(node) = this.node.as_pin_mut() {
                if node.cancel() == State::Woken(Wake::HandOff) {
                    // We were given the lock and never took it: pass it on.
                    this.mutex.unlock();
                }
            }
        }
    }
}

impl<'a, T: ?Sized> Future for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let mutex: &'a Mutex<T> = this.mutex;
        if this.node.is_none() {
            if !mutex.locked.get() {
                mutex.locked.set(true);
                return Poll::Ready(MutexGuard { mutex });
            }
            this.node.set(Some(WaitNode::new(&mutex.waiters)));
        }
        let node = this.node.into_ref().as_pin_ref().expect("made above");
        if node.state() == State::Idle {
            if !mutex.locked.get() {
                mutex.locked.set(true);
                return Poll::Ready(MutexGuard { mutex });
            }
            node.enqueue();
        }
        match node.poll_wait(cx) {
            Poll::Ready(wake) => {
                debug_assert_eq!(wake, Wake::HandOff);
                node.reset();
                Poll::Ready(MutexGuard { mutex })
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: ?Sized> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").field("node", &self.node).finish()
    }
}

/// Proof of holding a [`Mutex`]; derefs to the value and unlocks on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks (an associated function, so that it does
    /// not shadow a method of `T`). [`Condition::wait_with`] uses it to
    /// unlock and re-lock.
    ///
    /// [`Condition::wait_with`]: super::Condition::wait_with
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.mutex
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard is the only holder of the lock, so no `&mut T`
        // exists elsewhere; the borrow lives no longer than the guard.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this borrow unique
        // among the guard's own borrows.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// [`Mutex::try_lock`] failed: the lock is held (or promised to a waiter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mutex is locked")
    }
}

impl core::error::Error for TryLockError {}
