//! The current pool: the one installed for this thread (with `std`), or the
//! program's global one (a `no_std` unikernel). See "Which pool" in the
//! [module doc](super).

use super::PagePool;

#[cfg(feature = "std")]
std::thread_local! {
    static CURRENT: core::cell::RefCell<Option<PagePool>> = const { core::cell::RefCell::new(None) };
}

#[cfg(not(feature = "std"))]
struct GlobalSlot(core::cell::UnsafeCell<Option<PagePool>>);

// SAFETY: the slot is written only by `PagePool::set_global`, whose contract
// makes the program promise that the slot and the pool in it are used from
// one thread of execution only (a unikernel's).
#[cfg(not(feature = "std"))]
unsafe impl Sync for GlobalSlot {}

#[cfg(not(feature = "std"))]
static GLOBAL: GlobalSlot = GlobalSlot(core::cell::UnsafeCell::new(None));

impl PagePool {
    /// The current pool, if one is installed on this thread (with `std`) or
    /// in the program (without `std`).
    pub fn try_current() -> Option<PagePool> {
        #[cfg(feature = "std")]
        {
            CURRENT
                .try_with(|c| c.borrow().as_ref().cloned())
                .ok()
                .flatten()
        }
        #[cfg(not(feature = "std"))]
        {
            // SAFETY: `set_global`'s contract: only this thread of execution
            // uses the slot, and nothing writes it while we read.
            unsafe { (*GLOBAL.0.get()).clone() }
        }
    }

    /// The current pool (see "Which pool" in the [module doc](super)). With
    /// `std`, a thread with none installed gets a new default pool, which
    /// then stays its current one.
    ///
    /// # Panics
    /// Without `std`, if no pool was installed with
    /// [`set_global`](PagePool::set_global). With `std`, if called while
    /// the thread's locals are being destroyed.
    #[track_caller]
    pub fn current() -> PagePool {
        #[cfg(feature = "std")]
        {
            CURRENT.with(|c| c.borrow_mut().get_or_insert_with(PagePool::new).clone())
        }
        #[cfg(not(feature = "std"))]
        {
            match PagePool::try_current() {
                Some(pool) => pool,
                None => panic!("shimmer-io: no current PagePool (the runtime installs one with PagePool::set_global)"),
            }
        }
    }

    /// Makes this pool the current one for good: the program's only pool in
    /// a `no_std` unikernel (with `std`: this thread's, as with
    /// `enter` never undone). The runtime calls it once,
    /// at boot, before any task runs.
    ///
    /// # Safety
    /// Without `std` the pool is kept in a global: from this call on, the
    /// program must call `set_global`, `current` and `try_current` from one
    /// thread of execution only, and not from an interrupt handler that may
    /// run while that thread is inside one of them. (With `std` this
    /// function is safe to call.)
    pub unsafe fn set_global(self) {
        #[cfg(feature = "std")]
        {
            CURRENT.with(|c| *c.borrow_mut() = Some(self));
        }
        #[cfg(not(feature = "std"))]
        {
            // SAFETY: the caller's contract: no other thread of execution
            // reads or writes the slot.
            let old = unsafe { (*GLOBAL.0.get()).replace(self) };
            drop(old);
        }
    }

    /// Makes this pool the thread's current one until the guard is dropped
    /// (then the previous one, if any, is current again). What a runtime
    /// does around `block_on`; also how a test gives its tasks a small,
    /// capped pool.
    ///
    /// ```
    /// use shimmer_io::page::{PagePool, PoolConfig};
    /// let small = PagePool::with_config(PoolConfig::new().max_pages(2))?;
    /// {
    ///     let _guard = small.enter();
    ///     assert!(PagePool::ptr_eq(&PagePool::current(), &small));
    /// }
    /// assert!(!PagePool::ptr_eq(&PagePool::current(), &small));
    /// # Ok::<(), shimmer_io::Error>(())
    /// ```
    #[cfg(feature = "std")]
    pub fn enter(&self) -> PoolGuard {
        let previous = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        PoolGuard {
            previous,
            _not_send: core::marker::PhantomData,
        }
    }
}

/// Keeps a pool current on this thread ([`PagePool::enter`]).
#[cfg(feature = "std")]
#[must_use = "the pool is current only while the guard lives"]
pub struct PoolGuard {
    previous: Option<PagePool>,
    _not_send: core::marker::PhantomData<*const ()>,
}

#[cfg(feature = "std")]
impl Drop for PoolGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|c| {
            let ours = core::mem::replace(&mut *c.borrow_mut(), previous);
            drop(ours);
        });
    }
}

#[cfg(feature = "std")]
impl core::fmt::Debug for PoolGuard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PoolGuard").finish_non_exhaustive()
    }
}
