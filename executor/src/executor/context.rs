//! The current executor of this thread.
//!
//! `spawn`, `sleep`, `yield_now` and friends are free functions: they find
//! their executor here. The slot also decides a waker's fast path: a wake
//! whose task belongs to the executor found here is on the owner thread and
//! may use the task's owner half (plain `Cell`s) without atomics.
//!
//! With `std` the slot is a thread-local. Without `std` (a unikernel) there
//! is one thread of execution, and the slot is a global; code running in an
//! interrupt handler must not wake tasks through the fast path (shimmer's
//! Xen backend polls event channels and takes no interrupts).

use core::ptr;

use super::Core;

#[cfg(all(feature = "std", not(loom)))]
std::thread_local! {
    static CURRENT: core::cell::Cell<*const Core> = const { core::cell::Cell::new(ptr::null()) };
}

#[cfg(loom)]
loom::thread_local! {
    static CURRENT: core::cell::Cell<*const Core> = core::cell::Cell::new(ptr::null());
}

#[cfg(any(all(feature = "std", not(loom)), loom))]
fn get() -> *const Core {
    CURRENT.with(|c| c.get())
}

#[cfg(any(all(feature = "std", not(loom)), loom))]
fn set(core: *const Core) {
    CURRENT.with(|c| c.set(core))
}

#[cfg(not(any(feature = "std", loom)))]
static CURRENT: crate::loom::AtomicPtr<Core> = crate::loom::AtomicPtr::new(ptr::null_mut());

#[cfg(not(any(feature = "std", loom)))]
fn get() -> *const Core {
    CURRENT.load(crate::loom::Ordering::Relaxed)
}

#[cfg(not(any(feature = "std", loom)))]
fn set(core: *const Core) {
    CURRENT.store(core as *mut Core, crate::loom::Ordering::Relaxed)
}

/// The current executor's core, or null. A non-null pointer is valid for as
/// long as the [`Entered`] guard that set it lives (the guard borrows the
/// core), which is longer than any use made of it on this thread.
#[inline]
pub(crate) fn current_ptr() -> *const Core {
    get()
}

/// Runs `f` with the current executor's core.
///
/// # Panics
/// Outside a shimmer executor, naming `what` was called there.
#[track_caller]
pub(crate) fn with_current<R>(what: &str, f: impl FnOnce(&Core) -> R) -> R {
    let core = get();
    if core.is_null() {
        outside(what)
    }
    // SAFETY: a non-null slot points at the core of an executor whose
    // `Entered` guard is alive further up this thread's stack.
    f(unsafe { &*core })
}

/// The current executor's clock, if there is a current executor.
pub(crate) fn current_now() -> Option<crate::Instant> {
    let core = get();
    // SAFETY: as in `with_current`.
    (!core.is_null()).then(|| unsafe { &*core }.now())
}

#[cold]
#[track_caller]
fn outside(what: &str) -> ! {
    panic!("shimmer: {what} called outside a shimmer executor (inside Executor::block_on or shimmer::block_on only)")
}

/// While alive, `core` is this thread's current executor; dropping it puts
/// back whatever was current before.
pub(crate) struct Entered<'a> {
    previous: *const Core,
    _core: core::marker::PhantomData<&'a Core>,
}

impl<'a> Entered<'a> {
    /// Enter `core` for `block_on`.
    ///
    /// # Panics
    /// If an executor is already running its `block_on` on this thread: a
    /// nested `block_on` would block the outer executor's tasks.
    #[track_caller]
    pub(crate) fn block_on(core: &'a Core) -> Entered<'a> {
        if !get().is_null() {
            panic!("shimmer: block_on called inside a running executor; nested block_on would block it (spawn the future instead)");
        }
        Entered::nested(core)
    }

    /// Enter `core` whatever is current now (used while an executor is
    /// dropped, possibly from inside another executor's task).
    pub(crate) fn nested(core: &'a Core) -> Entered<'a> {
        let previous = get();
        set(core);
        Entered {
            previous,
            _core: core::marker::PhantomData,
        }
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        set(self.previous);
    }
}
