//! The one place that chooses between real and model-checked primitives.
//!
//! Under `cfg(loom)` (see `loom-tests/`) every atomic, the task allocator and
//! the thread-local current-executor slot come from loom, so its model
//! checker sees every cross-thread step of the remote-wake protocol and
//! reports leaked task allocations. Everything else in the crate imports
//! these names from here and never from `core`/`std` directly.

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex};
#[cfg(all(feature = "std", not(loom)))]
pub(crate) use std::sync::{Arc, Condvar, Mutex};

use core::alloc::Layout;
use core::ptr::NonNull;

/// Moves `value` into a fresh heap block of its own and leaks it as a raw
/// pointer; [`dealloc`] gives it back.
pub(crate) fn alloc<T>(value: T) -> NonNull<T> {
    #[cfg(not(loom))]
    {
        let boxed = alloc::boxed::Box::new(value);
        NonNull::from(alloc::boxed::Box::leak(boxed))
    }
    #[cfg(loom)]
    {
        let layout = Layout::new::<T>();
        // SAFETY: every `T` allocated here has a non-zero size (task headers).
        let ptr = unsafe { loom::alloc::alloc(layout) } as *mut T;
        let ptr = NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        // SAFETY: `ptr` is a fresh block sized and aligned for `T`.
        unsafe { ptr.as_ptr().write(value) };
        ptr
    }
}

/// Drops the value behind `ptr` and frees its block.
///
/// # Safety
/// `ptr` came from [`alloc`] with the same `T` and is not used afterwards.
pub(crate) unsafe fn dealloc<T>(ptr: NonNull<T>) {
    let _layout = Layout::new::<T>();
    #[cfg(not(loom))]
    // SAFETY: the caller hands back the unique owner of a block `alloc` boxed.
    drop(unsafe { alloc::boxed::Box::from_raw(ptr.as_ptr()) });
    #[cfg(loom)]
    // SAFETY: as above; the block came from `loom::alloc::alloc(_layout)`.
    unsafe {
        core::ptr::drop_in_place(ptr.as_ptr());
        loom::alloc::dealloc(ptr.as_ptr() as *mut u8, _layout);
    }
}

/// Aborts the process (or, without `std`, panics — the Xen image aborts on
/// panic). Used when a reference count would overflow.
#[cold]
pub(crate) fn abort() -> ! {
    #[cfg(feature = "std")]
    std::process::abort();
    #[cfg(not(feature = "std"))]
    panic!("shimmer: reference count overflow");
}
