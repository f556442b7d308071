//! `Sleep`: a future that completes at a deadline.
//!
//! Its wheel entry lives inside it (the future is `!Unpin`), so a sleep costs
//! no allocation. Dropping a registered `Sleep` unlinks it from the wheel.

use core::cell::Cell;
use core::future::Future;
use core::marker::PhantomPinned;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};
use core::time::Duration;

use super::wheel::TimerEntry;
use super::Instant;
use crate::executor::context;
use crate::executor::Core;

/// Waits until `duration` has passed on the current executor's clock.
///
/// The deadline is measured from this call when it is made inside an
/// executor; a `Sleep` made outside one (say, `ex.block_on(sleep(d))`)
/// measures it from its first poll.
///
/// # Panics
/// If polled outside a shimmer executor.
pub fn sleep(duration: Duration) -> Sleep {
    let sleep = Sleep::new(Instant::ZERO);
    match context::current_now() {
        Some(now) => sleep.deadline.set(now + duration),
        None => sleep.after.set(Some(duration)),
    }
    sleep
}

/// Waits until `deadline` on the current executor's clock. A deadline in
/// the past completes at the next poll.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline)
}

/// The future returned by [`sleep`] and [`sleep_until`].
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    deadline: Cell<Instant>,
    /// Made outside an executor: the deadline is this long after the first
    /// poll (or the first `deadline()` call).
    after: Cell<Option<Duration>>,
    entry: TimerEntry,
    /// The executor whose wheel holds `entry` while it is registered.
    core: Cell<Option<NonNull<Core>>>,
    done: Cell<bool>,
    _pinned: PhantomPinned,
    _not_send: core::marker::PhantomData<*const ()>,
}

impl Sleep {
    fn new(deadline: Instant) -> Sleep {
        Sleep {
            deadline: Cell::new(deadline),
            after: Cell::new(None),
            entry: TimerEntry::new(),
            core: Cell::new(None),
            done: Cell::new(false),
            _pinned: PhantomPinned,
            _not_send: core::marker::PhantomData,
        }
    }

    /// When this sleep completes.
    ///
    /// # Panics
    /// For a [`sleep`] made outside an executor and not yet polled, if
    /// called outside an executor (there is no clock to start from).
    #[track_caller]
    pub fn deadline(&self) -> Instant {
        if let Some(duration) = self.after.get() {
            let now = context::with_current("Sleep::deadline", |core| core.now());
            self.deadline.set(now + duration);
            self.after.set(None);
        }
        self.deadline.get()
    }

    /// Whether the deadline was reached (the future returned `Ready`).
    pub fn is_elapsed(&self) -> bool {
        self.done.get()
    }

    /// Moves the deadline; the sleep waits again even if it had completed.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.into_ref().get_ref();
        this.unregister();
        // Forget the old registration, so a stale "fired" mark is not read
        // as this deadline's.
        this.core.set(None);
        this.after.set(None);
        this.deadline.set(deadline);
        this.done.set(false);
    }

    fn unregister(&self) {
        if !self.entry.is_registered() {
            return;
        }
        if let Some(core) = self.core.get() {
            // SAFETY: a registered entry's wheel is alive: an executor
            // clears its wheel (unregistering every entry) before it goes.
            let core = unsafe { core.as_ref() };
            // SAFETY: the entry is registered in this core's wheel.
            unsafe { core.remove_timer(Pin::new_unchecked(&self.entry)) };
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.into_ref().get_ref();
        if this.done.get() {
            return Poll::Ready(());
        }
        if this.entry.is_registered() {
            this.entry.set_waker(cx.waker());
            return Poll::Pending;
        }
        if this.core.get().is_some() && this.entry.has_fired() {
            this.done.set(true);
            this.core.set(None);
            return Poll::Ready(());
        }
        // Not registered: the first poll, or the wheel it was in was
        // cleared (its executor went away) — register with the current one.
        context::with_current("Sleep::poll", |core| {
            let deadline = this.deadline();
            // SAFETY: `this` is pinned (we were given `Pin<&mut Self>`), and
            // `Drop` unregisters it before the memory goes; it is not in any
            // other wheel (checked above).
            let entry = unsafe { Pin::new_unchecked(&this.entry) };
            // SAFETY: see above.
            let inserted = unsafe { core.insert_timer(entry, deadline, cx.waker()) };
            if inserted {
                this.core.set(Some(NonNull::from(core)));
                Poll::Pending
            } else {
                this.done.set(true);
                Poll::Ready(())
            }
        })
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.unregister();
    }
}

impl core::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline.get())
            .field("after", &self.after.get())
            .field("elapsed", &self.done.get())
            .finish()
    }
}
