//! The image's global allocator.
//!
//! Why `linked_list_allocator`: a small, widely used `no_std` first-fit
//! allocator that manages one contiguous region handed to it at run time —
//! exactly what the boot has (the range [`super::memory`] picks from the
//! memory map). Its `LockedHeap` wraps the heap in a spin lock; the image
//! has one vCPU and no interrupts, so the lock is never contended (and an
//! allocation from a panic inside the allocator cannot happen: the
//! allocator does not panic). shimmer's hot paths avoid the global
//! allocator anyway (page pool, intrusive timers), so first-fit is enough.
//!
//! An allocation that fails goes to Rust's default `no_std` allocation-error
//! handler, which panics ("memory allocation of N bytes failed"); the panic
//! handler prints it and crashes the domain.

#[cfg(not(test))]
use super::memory::PhysRange;

#[cfg(not(test))]
static HEAP: linked_list_allocator::LockedHeap = linked_list_allocator::LockedHeap::empty();

/// The image's global allocator: [`image_main!`](crate::image_main) names
/// it in a `#[global_allocator]` static of the image itself. (Declared there
/// rather than here, a host build that merely compiles this crate with the
/// `image` feature, next to `std`, carries no second allocator.)
#[cfg(not(test))]
pub struct Allocator;

// SAFETY: every call is forwarded unchanged to `HEAP`, a `LockedHeap`, whose
// `GlobalAlloc` implementation upholds the contract (its spin lock
// serialises the heap; one vCPU, no interrupts).
#[cfg(not(test))]
unsafe impl core::alloc::GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `GlobalAlloc::alloc`'s, passed on.
        unsafe { core::alloc::GlobalAlloc::alloc(&HEAP, layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: core::alloc::Layout) {
        // SAFETY: the caller's contract is `GlobalAlloc::dealloc`'s: `ptr`
        // came from `alloc` above, i.e. from `HEAP`, with this `layout`.
        unsafe { core::alloc::GlobalAlloc::dealloc(&HEAP, ptr, layout) }
    }
}

/// Hands `range` to the global allocator.
///
/// # Safety
/// Called once, before any allocation. `range` is identity-mapped RAM,
/// writable, used by nothing else for the rest of the program, and not
/// empty.
#[cfg(not(test))]
pub(crate) unsafe fn init(range: PhysRange) {
    // SAFETY: the caller's contract is `Heap::init`'s: a valid, otherwise
    // unused region, initialised once.
    unsafe {
        HEAP.lock()
            .init(range.start as usize as *mut u8, range.len() as usize);
    }
}

/// Bytes of the heap in use and free (for diagnostics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes handed out.
    pub used: usize,
    /// Bytes still free.
    pub free: usize,
}

/// The global heap's current use.
pub fn stats() -> HeapStats {
    #[cfg(not(test))]
    {
        let heap = HEAP.lock();
        HeapStats {
            used: heap.used(),
            free: heap.free(),
        }
    }
    #[cfg(test)]
    HeapStats { used: 0, free: 0 }
}
