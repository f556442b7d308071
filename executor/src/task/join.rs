//! `JoinHandle`: await a spawned task's result, abort it, or detach it.
//!
//! A handle is `!Send`: it lives on the executor's thread, like the task's
//! output it may drop, so an output is never dropped on another thread.

use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::header::{TaskRef, ABORT, COMPLETE, CONSUMED, HANDLE, QUEUED, RUNNING};

/// An owned permission to await a spawned task's output.
///
/// Awaiting it gives `Ok(output)`, or `Err(JoinError)` if the task was
/// cancelled (aborted, or its executor was dropped) or panicked. Dropping it
/// detaches the task, which keeps running; [`abort`](Self::abort) cancels it.
#[must_use = "dropping a JoinHandle detaches the task; call .abort() to cancel it"]
pub struct JoinHandle<T> {
    task: TaskRef,
    _marker: PhantomData<(T, *const ())>,
}

impl<T> JoinHandle<T> {
    /// # Safety
    /// `task` is a `Task<F>` block with `F::Output = T`, its `HANDLE` flag is
    /// set, and the owner claim is held for this handle.
    pub(crate) unsafe fn new(task: TaskRef) -> JoinHandle<T> {
        JoinHandle {
            task,
            _marker: PhantomData,
        }
    }

    /// Lets the task run on with nobody awaiting it: its output is dropped
    /// when it finishes. The same as dropping the handle, said out loud.
    pub fn detach(self) {}

    /// Cancels the task: its future is dropped by the executor at its next
    /// chance (at once if it is not running; after the current poll if the
    /// task aborts itself) and awaiting the handle gives
    /// [`JoinError::is_cancelled`]. A task that already finished keeps its
    /// result.
    pub fn abort(&self) {
        let state = self.task.state();
        if state & COMPLETE != 0 {
            return;
        }
        self.task.set_state(state | ABORT);
        if state & (RUNNING | QUEUED) == 0 {
            // SAFETY: the task's block keeps its `Shared` alive.
            let shared = unsafe { self.task.header().shared.as_ref() };
            // SAFETY: the task is not complete, so its executor is alive (an
            // executor completes every task before it goes away), and we are
            // on its thread (the handle is !Send).
            let core = unsafe { shared.core() };
            core.schedule(self.task);
        }
    }

    /// Cancels the task now if that can be done here: its future is
    /// dropped before this returns when we are inside its executor and it
    /// is not the task being polled; otherwise this is [`abort`](Self::abort).
    pub(crate) fn cancel_now(&self) {
        let state = self.task.state();
        if state & COMPLETE != 0 {
            return;
        }
        // SAFETY: the task's block keeps its `Shared` alive.
        let shared = unsafe { self.task.header().shared.as_ref() };
        // SAFETY: not complete, so the executor is alive; we are on its
        // thread (the handle is !Send).
        let core = unsafe { shared.core() };
        let inside = core::ptr::eq(crate::executor::context::current_ptr(), core);
        if inside && state & RUNNING == 0 {
            core.cancel_now(self.task);
        } else {
            self.abort();
        }
    }

    /// Whether the task has finished (completed, panicked or cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.state() & COMPLETE != 0
    }
}

// The handle is a pointer; the output is never pinned.
impl<T> Unpin for JoinHandle<T> {}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let header = self.task.header();
        if self.task.state() & COMPLETE == 0 {
            let waker = header.awaiter.take();
            match waker {
                Some(w) if w.will_wake(cx.waker()) => header.awaiter.set(Some(w)),
                _ => header.awaiter.set(Some(cx.waker().clone())),
            }
            return Poll::Pending;
        }
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: the block's output type is `T` (constructor contract) and
        // `out` is a valid slot of the type `take_output` writes.
        unsafe { (header.vtable.take_output)(self.task, &mut out as *mut _ as *mut ()) };
        self.task.set_state(self.task.state() | CONSUMED);
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let header = self.task.header();
        drop(header.awaiter.take());
        let state = self.task.state() & !HANDLE;
        self.task.set_state(state);
        if state & COMPLETE != 0 {
            if state & CONSUMED == 0 {
                // SAFETY: owner thread, the task is complete so nobody polls it.
                unsafe { (header.vtable.drop_stage)(self.task) };
            }
            if state & (QUEUED | RUNNING) == 0 {
                crate::task::waker::release_owner_claim(self.task);
            }
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a task gave no output.
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    #[cfg(feature = "std")]
    Panicked(std::boxed::Box<dyn core::any::Any + Send + 'static>),
}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    #[cfg(feature = "std")]
    pub(crate) fn panicked(
        payload: std::boxed::Box<dyn core::any::Any + Send + 'static>,
    ) -> JoinError {
        JoinError {
            repr: Repr::Panicked(payload),
        }
    }

    /// The task was aborted or its executor was dropped before it finished.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task panicked (only with `std`; without it a panic aborts).
    pub fn is_panic(&self) -> bool {
        !self.is_cancelled()
    }

    /// The panic payload, to re-raise with `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the task was cancelled rather than panicked.
    #[cfg(feature = "std")]
    pub fn into_panic(self) -> std::boxed::Box<dyn core::any::Any + Send + 'static> {
        self.try_into_panic()
            .unwrap_or_else(|_| panic!("shimmer: JoinError::into_panic on a cancelled task"))
    }

    /// The panic payload, or the error itself if the task was cancelled.
    #[cfg(feature = "std")]
    pub fn try_into_panic(
        self,
    ) -> Result<std::boxed::Box<dyn core::any::Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panicked(payload) => Ok(payload),
            Repr::Cancelled => Err(self),
        }
    }

    fn panic_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Cancelled => None,
            #[cfg(feature = "std")]
            Repr::Panicked(p) => p
                .downcast_ref::<&'static str>()
                .copied()
                .or_else(|| p.downcast_ref::<std::string::String>().map(|s| s.as_str())),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_cancelled() {
            return f.write_str("task was cancelled");
        }
        match self.panic_message() {
            Some(msg) => write!(f, "task panicked: {msg}"),
            None => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_cancelled() {
            return f.write_str("JoinError::Cancelled");
        }
        match self.panic_message() {
            Some(msg) => write!(f, "JoinError::Panic({msg:?})"),
            None => f.write_str("JoinError::Panic(..)"),
        }
    }
}

impl core::error::Error for JoinError {}
