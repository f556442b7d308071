//! Recycling of task blocks.
//!
//! A server spawns and finishes tasks all the time, and the global allocator
//! is a poor fit for that: on Linux glibc returns the freed top of the heap
//! to the kernel (so the next burst of spawns page-faults it back in), and
//! in a unikernel the allocator is a simple one. So each executor keeps the
//! blocks of its finished tasks, by size class, and reuses them for the next
//! spawns: a spawn then costs no call to the global allocator at all.
//!
//! A block is returned to the cache only when it is freed on the executor's
//! thread while the executor is running (the common case); a block freed
//! elsewhere (its last waker dropped on another thread) goes back to the
//! global allocator. The cache holds at most [`CACHE_MAX_BYTES`], and is
//! emptied when the executor is dropped. Under loom every block goes through
//! loom's tracked allocator instead, so leaks stay visible.

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::NonNull;

/// Block sizes are rounded up to a multiple of this.
const GRANULE: usize = 32;
/// Blocks up to `GRANULE * CLASSES` bytes are recycled; larger ones are not.
const CLASSES: usize = 32;
/// Alignment of every block (task headers need 8; 16 covers most futures).
const BLOCK_ALIGN: usize = 16;
/// Most bytes of freed blocks one executor keeps for reuse.
pub(crate) const CACHE_MAX_BYTES: usize = 4 << 20;

/// The layout a block of a `T` is really allocated with: the size rounded
/// up to the size class, so that any block of the class fits any `T` of it.
pub(crate) const fn block_layout<T>() -> Layout {
    let size = core::mem::size_of::<T>();
    let align = core::mem::align_of::<T>();
    let align = if align > BLOCK_ALIGN {
        align
    } else {
        BLOCK_ALIGN
    };
    let rounded = size.div_ceil(GRANULE) * GRANULE;
    match Layout::from_size_align(rounded, align) {
        Ok(layout) => layout,
        Err(_) => panic!("task too large"),
    }
}

/// Which free list a layout belongs to, if it is recyclable.
fn class_of(layout: Layout) -> Option<usize> {
    if cfg!(loom) {
        return None; // every block through loom's tracked allocator
    }
    if layout.align() != BLOCK_ALIGN || layout.size() > GRANULE * CLASSES {
        return None;
    }
    Some(layout.size() / GRANULE - 1)
}

/// A freed block, linked through its first word.
struct FreeBlock {
    next: Option<NonNull<FreeBlock>>,
}

pub(crate) struct BlockCache {
    free: [Cell<Option<NonNull<FreeBlock>>>; CLASSES],
    bytes: Cell<usize>,
}

impl BlockCache {
    pub(crate) const fn new() -> BlockCache {
        BlockCache {
            free: [const { Cell::new(None) }; CLASSES],
            bytes: Cell::new(0),
        }
    }

    /// A block for `layout` (from [`block_layout`]): a recycled one if the
    /// class has one, else a fresh one from the global allocator.
    #[inline]
    pub(crate) fn alloc(&self, layout: Layout) -> NonNull<u8> {
        if let Some(class) = class_of(layout) {
            if let Some(block) = self.free[class].get() {
                // SAFETY: blocks in the free list are ours, unused, and start
                // with a `FreeBlock` written by `free`.
                let next = unsafe { block.as_ref().next };
                self.free[class].set(next);
                self.bytes.set(self.bytes.get() - layout.size());
                return block.cast();
            }
        }
        global_alloc(layout)
    }

    /// Takes back a block of `layout` whose contents were dropped.
    ///
    /// # Safety
    /// `block` came from [`BlockCache::alloc`] or [`global_alloc`] with the
    /// same layout and is not used any more.
    #[inline]
    pub(crate) unsafe fn free(&self, block: NonNull<u8>, layout: Layout) {
        if let Some(class) = class_of(layout) {
            if self.bytes.get() + layout.size() <= CACHE_MAX_BYTES {
                let block = block.cast::<FreeBlock>();
                // SAFETY: the block is unused, at least GRANULE bytes and
                // BLOCK_ALIGN-aligned: room for the link.
                unsafe {
                    block.as_ptr().write(FreeBlock {
                        next: self.free[class].get(),
                    })
                };
                self.free[class].set(Some(block));
                self.bytes.set(self.bytes.get() + layout.size());
                return;
            }
        }
        // SAFETY: the caller's contract.
        unsafe { global_dealloc(block, layout) }
    }
}

impl Drop for BlockCache {
    fn drop(&mut self) {
        for (class, list) in self.free.iter().enumerate() {
            let layout = Layout::from_size_align((class + 1) * GRANULE, BLOCK_ALIGN)
                .expect("valid class layout");
            let mut next = list.take();
            while let Some(block) = next {
                // SAFETY: a free-list block, unused, starting with its link.
                next = unsafe { block.as_ref().next };
                // SAFETY: allocated with this class's layout.
                unsafe { global_dealloc(block.cast(), layout) };
            }
        }
    }
}

/// A fresh block from the global allocator.
pub(crate) fn global_alloc(layout: Layout) -> NonNull<u8> {
    #[cfg(not(loom))]
    // SAFETY: task layouts have a non-zero size (they contain a header).
    let ptr = unsafe { alloc::alloc::alloc(layout) };
    #[cfg(loom)]
    // SAFETY: as above.
    let ptr = unsafe { loom::alloc::alloc(layout) };
    NonNull::new(ptr).unwrap_or_else(|| alloc::alloc::handle_alloc_error(layout))
}

/// Returns a block to the global allocator.
///
/// # Safety
/// `block` came from [`global_alloc`] (or a cache) with `layout` and its
/// contents were dropped.
pub(crate) unsafe fn global_dealloc(block: NonNull<u8>, layout: Layout) {
    #[cfg(not(loom))]
    // SAFETY: the caller's contract.
    unsafe {
        alloc::alloc::dealloc(block.as_ptr(), layout)
    };
    #[cfg(loom)]
    // SAFETY: the caller's contract.
    unsafe {
        loom::alloc::dealloc(block.as_ptr(), layout)
    };
}
